package localnode

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	rt "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// TestNodeRunsPodsAndCleansUp proves the harness on a real runtime
// ($IRE_NODE: containerd, the default, or crio) with the small scratch
// samples: a pod with a sidecar and a main container gets kubelet-like
// metadata, its processes run, and Stop leaves nothing behind.
func TestNodeRunsPodsAndCleansUp(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("local node: needs root (private container runtime)")
	}
	kind, err := ParseRuntime(os.Getenv("IRE_NODE"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	log := slog.New(slog.NewTextHandler(testWriter{t}, nil))
	repo := repoRoot(t)
	b := &Builder{RepoDir: repo, WorkDir: t.TempDir(), OCILayout: kind == CRIO, Log: log}
	images, err := b.Build(ctx, "go-server")
	if err != nil {
		t.Fatal(err)
	}
	node, err := Start(ctx, Options{Runtime: kind, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	defer func() {
		if !stopped {
			node.Stop()
		}
	}()
	if err := node.Import(ctx, importPath(images)); err != nil {
		t.Fatal(err)
	}
	gs := images.Sample("go-server")
	pod, err := node.RunPod(ctx, PodSpec{
		Name: "two", Namespace: "harness",
		InitContainers: []ContainerSpec{gs.Container("sidecar")},
		Containers:     []ContainerSpec{gs.Container("main")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := len(pod.Containers); got != 2 || !pod.Containers[0].Sidecar || pod.Containers[1].Sidecar {
		t.Fatalf("containers = %+v, want sidecar then main", pod.Containers)
	}
	// A container added to the running pod gets the same metadata (checked
	// with the others below) and is listed after the pod's own.
	extra, err := node.RunContainer(ctx, pod, gs.Container("extra"))
	if err != nil {
		t.Fatal(err)
	}
	if len(pod.Containers) != 3 || pod.Containers[2] != extra || extra.Name != "extra" || extra.Sidecar {
		t.Fatalf("containers after RunContainer = %+v, want sidecar, main, extra", pod.Containers)
	}
	list, err := node.Runtime().ListContainers(ctx, &rt.ListContainersRequest{Filter: &rt.ContainerFilter{PodSandboxId: pod.SandboxID}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range list.Containers {
		want := map[string]string{
			"io.kubernetes.container.name": c.Metadata.Name,
			"io.kubernetes.pod.name":       "two",
			"io.kubernetes.pod.namespace":  "harness",
			"io.kubernetes.pod.uid":        pod.UID,
		}
		for k, v := range want {
			if c.Labels[k] != v {
				t.Errorf("container %s label %s = %q, want %q", c.Metadata.Name, k, c.Labels[k], v)
			}
		}
		if c.State != rt.ContainerState_CONTAINER_RUNNING {
			t.Errorf("container %s state %s", c.Metadata.Name, c.State)
		}
	}
	for _, c := range pod.Containers {
		exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", c.PID))
		if err != nil || exe != "/go-server" {
			t.Errorf("container %s: pid %d exe = %q (%v), want /go-server", c.Name, c.PID, exe, err)
		}
		if _, err := os.Stat(fmt.Sprintf("/proc/%d/root/etc/os-release", c.PID)); err == nil {
			t.Errorf("container %s: the scratch image has an os-release", c.Name)
		}
	}
	if kind == CRIO {
		t.Run("attach", func(t *testing.T) { testAttach(t, ctx, log, node, images, pod) })
	}
	// A stopped container stays in the pod, exited; the others keep running.
	if err := node.StopContainer(ctx, extra.ID); err != nil {
		t.Fatal(err)
	}
	for _, c := range pod.Containers {
		running, err := node.ContainerRunning(ctx, c.ID)
		if err != nil || running != (c.ID != extra.ID) {
			t.Errorf("container %s: running = %v (%v) after stopping %s", c.Name, running, err, extra.Name)
		}
	}
	if _, err := os.Stat(fmt.Sprintf("/proc/%d", extra.PID)); err == nil {
		t.Errorf("container %s: pid %d still runs after StopContainer", extra.Name, extra.PID)
	}
	list, err = node.Runtime().ListContainers(ctx, &rt.ListContainersRequest{Filter: &rt.ContainerFilter{Id: extra.ID}})
	if err != nil || len(list.Containers) != 1 || list.Containers[0].State != rt.ContainerState_CONTAINER_EXITED {
		t.Errorf("stopped container %s listed as %v (%v), want one, exited", extra.Name, list.GetContainers(), err)
	}
	dir, runDir := node.Dir(), filepath.Dir(node.Socket())
	if got, want := node.KeyPrefix(), map[Runtime]string{Containerd: "containerd://", CRIO: "cri-o://"}[kind]; got != want {
		t.Errorf("KeyPrefix() = %q, want %q", got, want)
	}
	if v, err := node.Runtime().Version(ctx, &rt.VersionRequest{}); err != nil || v.RuntimeName+"://" != node.KeyPrefix() {
		t.Errorf("the runtime calls itself %q (%v); KeyPrefix() = %q", v.GetRuntimeName(), err, node.KeyPrefix())
	}
	if m := mountsUnder(dir, runDir); len(m) == 0 {
		t.Errorf("no rootfs or namespace mount under %s or %s while pods run: the cleanup check below would prove nothing", dir, runDir)
	}
	if err := node.Stop(); err != nil {
		t.Fatal(err)
	}
	stopped = true
	for _, c := range pod.Containers {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", c.PID)); err == nil {
			t.Errorf("container %s: pid %d still runs after Stop", c.Name, c.PID)
		}
	}
	for _, p := range []string{dir, runDir, "/sys/fs/cgroup/memory/" + node.ID(), "/sys/fs/cgroup/unified/" + node.ID()} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s still exists after Stop", p)
		}
	}
	if out, _ := exec.Command("pgrep", "-f", node.Socket()).Output(); len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("processes still use the node's socket: %s", out)
	}
	if out, _ := exec.Command("pgrep", "-f", dir).Output(); len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("processes (a conmon?) still name the node's directory: %s", out)
	}
	if m := mountsUnder(dir, runDir); len(m) > 0 {
		t.Errorf("mounts left after Stop: %q", m)
	}
}

func TestParseRuntime(t *testing.T) {
	for in, want := range map[string]Runtime{"": Containerd, "containerd": Containerd, "crio": CRIO, "cri-o": CRIO} {
		if got, err := ParseRuntime(in); err != nil || got != want {
			t.Errorf("ParseRuntime(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"docker", "CRIO", "openshift"} {
		if _, err := ParseRuntime(in); err == nil {
			t.Errorf("ParseRuntime(%q) accepted", in)
		}
	}
	if Containerd.KeyPrefix() != "containerd://" || CRIO.KeyPrefix() != "cri-o://" {
		t.Errorf("KeyPrefix: containerd %q, crio %q", Containerd.KeyPrefix(), CRIO.KeyPrefix())
	}
}

// The cgroup parent the kubelet passes for a best-effort pod, per cgroup driver.
func TestCgroupParent(t *testing.T) {
	uid := "0f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a0b"
	for _, tc := range []struct{ manager, want string }{
		{"systemd", "kubepods-besteffort-pod0f1e2d3c_4b5a_4978_8a6b_5c4d3e2f1a0b.slice"},
		{"cgroupfs", "/ire-12345678/pod0f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a0b"},
	} {
		if got := cgroupParent(tc.manager, "ire-12345678", uid); got != tc.want {
			t.Errorf("cgroupParent(%s) = %q, want %q", tc.manager, got, tc.want)
		}
	}
}

func repoRoot(t *testing.T) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// testAttach attaches a second Node to the running CRI-O, as the VM e2e
// attaches to a CRI-O systemd runs (there with the systemd cgroup manager):
// images copied into its storage, a pod run, and Stop removing that pod
// only, leaving CRI-O and the other pods running.
func testAttach(t *testing.T, ctx context.Context, log *slog.Logger, owner *Node, images *Images, ownerPod *Pod) {
	c := owner.crio
	a, err := Start(ctx, Options{Runtime: CRIO, Log: log, CRIO: &CRIOAttach{
		Socket: c.socket, StorageDriver: c.driver, StorageRoot: c.root, StorageRunRoot: c.runroot, CgroupManager: "cgroupfs",
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Stop()
	if a.Socket() != owner.Socket() || a.KeyPrefix() != "cri-o://" {
		t.Errorf("attached node: socket %s, key prefix %s", a.Socket(), a.KeyPrefix())
	}
	// The docker archive here; the owner imported the OCI layout.
	if err := a.Import(ctx, images.Archive); err != nil {
		t.Fatal(err)
	}
	p, err := a.RunPod(ctx, PodSpec{Name: "attached", Namespace: "harness", Containers: []ContainerSpec{images.Sample("go-server").Container("main")}})
	if err != nil {
		t.Fatal(err)
	}
	cg, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", p.Containers[0].PID))
	if !strings.Contains(string(cg), "/"+a.ID()+"/pod"+p.UID+"/crio-"+p.Containers[0].ID) {
		t.Errorf("attached pod's container is not under /%s/pod%s: %s", a.ID(), p.UID, cg)
	}
	if _, err := Start(ctx, Options{Runtime: CRIO, CRIO: &CRIOAttach{Socket: c.socket, CgroupManager: "systemd"}}); err == nil {
		t.Error("attach without the storage locations was accepted")
	}
	if err := a.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(fmt.Sprintf("/proc/%d", p.Containers[0].PID)); err == nil {
		t.Errorf("the attached node's container still runs after its Stop")
	}
	for _, d := range []string{a.Dir(), "/sys/fs/cgroup/memory/" + a.ID()} {
		if _, err := os.Stat(d); err == nil {
			t.Errorf("%s still exists after the attached node's Stop", d)
		}
	}
	for _, ctr := range ownerPod.Containers {
		if running, err := owner.ContainerRunning(ctx, ctr.ID); err != nil || !running {
			t.Errorf("the owner's container %s: running = %v (%v) after the attached node stopped", ctr.Name, running, err)
		}
	}
	if !fileExists(c.socket) {
		t.Errorf("the attached node's Stop removed CRI-O's socket")
	}
}

// importPath is the OCI layout when the Builder wrote one (CRI-O), else the
// docker archive.
func importPath(im *Images) string {
	if im.Layout != "" {
		return im.Layout
	}
	return im.Archive
}
