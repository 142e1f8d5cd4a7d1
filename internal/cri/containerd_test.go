package cri

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	rt "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/openshift/insights-runtime-extractor/internal/process"
)

// captureStatus, when set, makes the containerd test write the Info map of
// one real verbose ContainerStatus to that file: how
// testdata/containerd-*-status-info.json was made.
var captureStatus = flag.String("capture-status", "", "write one real verbose ContainerStatus Info map (JSON) to this file")

const (
	pauseImage   = "localhost/cri-test/pause:1"
	sleeperImage = "localhost/cri-test/sleeper:1"
)

// TestRunningContainersOnContainerd runs pods on a private, real containerd
// (Debian's, with runc) and checks that RunningContainers names them exactly
// as the kubelet would, with the right host pids, and that Select finds them.
func TestRunningContainersOnContainerd(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("skipped: needs root to run a private containerd")
	}
	for _, bin := range []string{"containerd", "ctr", "runc"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("skipped: %s not installed (apt-get install -y containerd runc)", bin)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	cd := startContainerd(t, ctx)
	rs := cd.runtimeService(t)

	// Pod "web" in namespace "shop": the app, a sidecar and a container
	// that already stopped (it must not be listed). Pod "db" in
	// namespace "store": containers are added until two ids share their
	// first hex digit, so that an ambiguous prefix exists.
	web := cd.runPod(t, ctx, rs, "web", "shop", "uid-web")
	want := []Container{
		cd.runContainer(t, ctx, rs, web, "app"),
		cd.runContainer(t, ctx, rs, web, "sidecar"),
	}
	stopped := cd.runContainer(t, ctx, rs, web, "finished")
	if _, err := rs.StopContainer(ctx, &rt.StopContainerRequest{ContainerId: stopped.ID, Timeout: 2}); err != nil {
		t.Fatalf("StopContainer %s: %v", stopped.ID, err)
	}
	db := cd.runPod(t, ctx, rs, "db", "store", "uid-db")
	ambiguous := ""
	for i := 0; ambiguous == "" && i < 17; i++ { // 17 ids cannot all differ in the first of 16 digits
		c := cd.runContainer(t, ctx, rs, db, "db-"+strconv.Itoa(i))
		for _, o := range want {
			if o.ID[0] == c.ID[0] {
				ambiguous = c.ID[:1]
			}
		}
		want = append(want, c)
	}

	client, err := Dial(ctx, "unix://"+cd.sock)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer client.Close()
	if client.Runtime() != "containerd" {
		t.Fatalf("Runtime() = %q, want containerd", client.Runtime())
	}

	got, err := client.RunningContainers(ctx)
	if err != nil {
		t.Fatalf("RunningContainers: %v", err)
	}
	if !slices.Equal(got, sorted(want)) {
		t.Fatalf("RunningContainers:\n got %+v\nwant %+v", got, sorted(want))
	}
	hostPidNS, err := os.Readlink("/proc/self/ns/pid")
	if err != nil {
		t.Fatal(err)
	}
	procs, err := process.Snapshot("/proc")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range got {
		if k := c.Key(); k != "containerd://"+c.ID {
			t.Errorf("Key() = %q, want containerd://%s", k, c.ID)
		}
		checkContainerProcess(t, c, hostPidNS)
		// What the coordinator does next: the workload as seen from the
		// host's /proc, with the container's view of pid and cwd.
		p, err := procs.Workload(c.PID, nil)
		if err != nil {
			t.Errorf("%s: Workload(%d): %v", c.Name, c.PID, err)
			continue
		}
		if p.PID != c.PID || p.NSPID != 1 || p.Name != "sleeper" || !slices.Equal(p.Cmdline, []string{"/sleeper", c.Name}) ||
			p.Cwd != "/ctr-workdir" || p.UID != 0 || !slices.Contains(p.Env, "PATH=/") {
			t.Errorf("%s: Workload(%d) = %+v; want pid %d, NSPID 1, sleeper, cwd /ctr-workdir, uid 0, PATH=/", c.Name, c.PID, p, c.PID)
		}
	}

	t.Run("Select", func(t *testing.T) {
		app, sidecar := want[0], want[1]
		for _, tc := range []struct {
			name        string
			ids         []string
			wantIDs     []string
			wantUnknown []string
		}{
			{"full id", []string{app.ID}, []string{app.ID}, nil},
			{"unique prefix", []string{sidecar.ID[:12]}, []string{sidecar.ID}, nil},
			{"with runtime prefix", []string{"containerd://" + app.ID}, []string{app.ID}, nil},
			{"prefix with runtime prefix", []string{"containerd://" + sidecar.ID[:12]}, []string{sidecar.ID}, nil},
			{"other runtime's prefix", []string{"cri-o://" + app.ID}, nil, []string{"cri-o://" + app.ID}},
			{"unknown id", []string{"0123456789abcdefx"}, nil, []string{"0123456789abcdefx"}},
			{"stopped container", []string{stopped.ID}, nil, []string{stopped.ID}},
			{"ambiguous prefix", []string{ambiguous}, nil, []string{ambiguous}},
			{"mixed", []string{sidecar.ID, "nope", app.ID[:5]}, []string{app.ID, sidecar.ID}, []string{"nope"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				sel, unknown := Select(got, tc.ids)
				var ids []string
				for _, c := range sel {
					ids = append(ids, c.ID)
				}
				if !slices.Equal(ids, tc.wantIDs) || !slices.Equal(unknown, tc.wantUnknown) {
					t.Errorf("Select(%q) = %q, unknown %q; want %q, unknown %q", tc.ids, ids, unknown, tc.wantIDs, tc.wantUnknown)
				}
			})
		}
		if _, err := Find(got, ambiguous); !errors.Is(err, ErrAmbiguousID) {
			t.Errorf("Find(%q) error = %v, want ErrAmbiguousID", ambiguous, err)
		}
	})

	t.Run("Dial chooses the endpoint", func(t *testing.T) {
		missing := "unix://" + filepath.Join(cd.dir, "missing.sock")
		for _, tc := range []struct {
			name     string
			endpoint string
			opts     []Option
		}{
			{"explicit socket path", cd.sock, nil},
			{"from the environment", "", []Option{withEnv(map[string]string{EndpointEnv: "unix://" + cd.sock})}},
			{"first default that answers", "", []Option{withEnv(nil), withDefaults(missing, "unix://"+cd.sock)}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				c, err := Dial(ctx, tc.endpoint, tc.opts...)
				if err != nil {
					t.Fatalf("Dial: %v", err)
				}
				defer c.Close()
				if c.Runtime() != "containerd" || !strings.HasSuffix(c.Endpoint(), cd.sock) {
					t.Errorf("connected to %s (%s), want containerd at %s", c.Endpoint(), c.Runtime(), cd.sock)
				}
			})
		}
	})

	t.Run("container gone", func(t *testing.T) {
		if _, err := client.containerPID(ctx, stopped.ID); !errors.Is(err, ErrContainerGone) {
			t.Errorf("containerPID(stopped) error = %v, want ErrContainerGone", err)
		}
		if _, err := client.containerPID(ctx, strings.Repeat("0", 64)); !errors.Is(err, ErrContainerGone) {
			t.Errorf("containerPID(never existed) error = %v, want ErrContainerGone", err)
		}
	})

	t.Run("runtime stopped", func(t *testing.T) {
		cd.teardown(t)
		if _, err := client.RunningContainers(ctx); !errors.Is(err, ErrUnavailable) {
			t.Errorf("RunningContainers after containerd stopped: error = %v, want ErrUnavailable", err)
		}
		if _, err := Dial(ctx, cd.sock); !errors.Is(err, ErrSocketMissing) && !errors.Is(err, ErrUnavailable) {
			t.Errorf("Dial after containerd stopped: error = %v, want ErrSocketMissing or ErrUnavailable", err)
		}
	})
}

// checkContainerProcess checks against /proc that pid is the container's
// init: in its own pid namespace as pid 1, in the container's cgroup,
// running the sleeper with the container's name as its argument.
func checkContainerProcess(t *testing.T, c Container, hostPidNS string) {
	t.Helper()
	proc := "/proc/" + strconv.Itoa(c.PID)
	ns, err := os.Readlink(proc + "/ns/pid")
	if err != nil {
		t.Errorf("%s: %v", c.Name, err)
		return
	}
	if ns == hostPidNS {
		t.Errorf("%s: pid %d is in the host's pid namespace %s", c.Name, c.PID, ns)
	}
	status, _ := os.ReadFile(proc + "/status")
	if !regexpNSpidOne(string(status)) {
		t.Errorf("%s: pid %d is not pid 1 of its namespace:\n%s", c.Name, c.PID, status)
	}
	cgroup, _ := os.ReadFile(proc + "/cgroup")
	if !strings.Contains(string(cgroup), c.ID) {
		t.Errorf("%s: pid %d is not in the container's cgroup:\n%s", c.Name, c.PID, cgroup)
	}
	cmdline, _ := os.ReadFile(proc + "/cmdline")
	if want := "/sleeper\x00" + c.Name + "\x00"; string(cmdline) != want {
		t.Errorf("%s: pid %d runs %q, want %q", c.Name, c.PID, cmdline, want)
	}
}

func regexpNSpidOne(status string) bool {
	for _, line := range strings.Split(status, "\n") {
		if f := strings.Fields(line); len(f) > 2 && f[0] == "NSpid:" {
			return f[len(f)-1] == "1"
		}
	}
	return false
}

func sorted(cs []Container) []Container {
	out := slices.Clone(cs)
	slices.SortFunc(out, func(a, b Container) int {
		return strings.Compare(a.PodNamespace+"/"+a.PodName+"/"+a.Name, b.PodNamespace+"/"+b.PodName+"/"+b.Name)
	})
	return out
}

// privateContainerd is a containerd started for one test, on its own
// socket, root and state directories, as research/containerd.md describes.
type privateContainerd struct {
	dir, sock string
	cgroup    string // the pods' cgroup parent, removed at the end
	cmd       *exec.Cmd
	logPath   string
	stopped   bool
	// undo holds the removals of what the test created, run in reverse
	// order by teardown before containerd stops, so no shim or container
	// outlives the test.
	undo []func()
}

func startContainerd(t *testing.T, ctx context.Context) *privateContainerd {
	t.Helper()
	// A short directory: the socket path must stay under 108 bytes.
	dir, err := os.MkdirTemp("", "cri")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	cd := &privateContainerd{
		dir:     dir,
		sock:    filepath.Join(dir, "run", "containerd.sock"),
		cgroup:  "/" + filepath.Base(dir),
		logPath: filepath.Join(dir, "containerd.log"),
	}
	images := buildImages(t, ctx, dir)
	for _, d := range []string{"run", "root", "state", "opt", "net.d", "logs"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	// restrict_oom_score_adj: these machines lack CAP_SYS_RESOURCE, and
	// runc would fail to lower the pause container's oom_score_adj.
	// SystemdCgroup = false: there is no systemd.
	config := fmt.Sprintf(`version = 2
root = %[1]q
state = %[2]q
[grpc]
  address = %[3]q
[ttrpc]
  address = %[4]q
[plugins]
  [plugins."io.containerd.internal.v1.opt"]
    path = %[5]q
  [plugins."io.containerd.grpc.v1.cri"]
    sandbox_image = %[6]q
    disable_apparmor = true
    restrict_oom_score_adj = true
    [plugins."io.containerd.grpc.v1.cri".containerd]
      snapshotter = "overlayfs"
      default_runtime_name = "runc"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
        runtime_type = "io.containerd.runc.v2"
        [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
          SystemdCgroup = false
          Root = %[7]q
    [plugins."io.containerd.grpc.v1.cri".cni]
      conf_dir = %[8]q
`, filepath.Join(dir, "root"), filepath.Join(dir, "state"), cd.sock, cd.sock+".ttrpc",
		filepath.Join(dir, "opt"), pauseImage, filepath.Join(dir, "run", "runc"), filepath.Join(dir, "net.d"))
	configPath := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(configPath, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	logFile, err := os.Create(cd.logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	cd.cmd = exec.Command("containerd", "--config", configPath)
	cd.cmd.Stdout, cd.cmd.Stderr = logFile, logFile
	if err := cd.cmd.Start(); err != nil {
		t.Fatalf("start containerd: %v", err)
	}
	t.Cleanup(func() {
		cd.teardown(t)
		if t.Failed() {
			if b, err := os.ReadFile(cd.logPath); err == nil {
				t.Logf("containerd log (last 4 KiB):\n%s", tail(b, 4096))
			}
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		if out, err := exec.CommandContext(ctx, "ctr", "-a", cd.sock, "version").CombinedOutput(); err == nil {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("containerd did not answer within 20s: %v\n%s", err, out)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, img := range images {
		if out, err := exec.CommandContext(ctx, "ctr", "-a", cd.sock, "-n", "k8s.io", "images", "import", img).CombinedOutput(); err != nil {
			t.Fatalf("ctr images import %s: %v\n%s", img, err, out)
		}
	}
	return cd
}

// teardown removes the containers and pods, then stops containerd and
// waits for it, so no zombie is left for PID 1 to reap. The shims are not
// containerd's children; they exit once their containers are removed.
func (cd *privateContainerd) teardown(t *testing.T) {
	t.Helper()
	for i := len(cd.undo) - 1; i >= 0; i-- {
		cd.undo[i]()
	}
	cd.undo = nil
	if cd.stopped || cd.cmd == nil || cd.cmd.Process == nil {
		return
	}
	cd.stopped = true
	defer removeCgroups(cd.cgroup)
	_ = cd.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = cd.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = cd.cmd.Process.Kill()
		<-done
	}
}

func (cd *privateContainerd) runtimeService(t *testing.T) rt.RuntimeServiceClient {
	t.Helper()
	conn, err := grpc.NewClient("unix://"+cd.sock, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return rt.NewRuntimeServiceClient(conn)
}

type pod struct {
	id     string
	config *rt.PodSandboxConfig
}

// runPod starts a host-network pod with the metadata and labels the kubelet
// gives a pod, and removes it at the end of the test.
func (cd *privateContainerd) runPod(t *testing.T, ctx context.Context, rs rt.RuntimeServiceClient, podName, namespace, uid string) pod {
	t.Helper()
	cfg := &rt.PodSandboxConfig{
		Metadata:     &rt.PodSandboxMetadata{Name: podName, Namespace: namespace, Uid: uid},
		Hostname:     "", // a host-network pod shares the host's UTS namespace
		LogDirectory: filepath.Join(cd.dir, "logs", podName),
		DnsConfig:    &rt.DNSConfig{Servers: []string{"127.0.0.1"}},
		Labels: map[string]string{
			labelPodName: podName, labelPodNamespace: namespace, labelPodUID: uid,
		},
		Linux: &rt.LinuxPodSandboxConfig{
			CgroupParent: cd.cgroup,
			SecurityContext: &rt.LinuxSandboxSecurityContext{NamespaceOptions: &rt.NamespaceOption{
				Network: rt.NamespaceMode_NODE, Pid: rt.NamespaceMode_CONTAINER, Ipc: rt.NamespaceMode_POD,
			}},
		},
	}
	resp, err := rs.RunPodSandbox(ctx, &rt.RunPodSandboxRequest{Config: cfg})
	if err != nil {
		t.Fatalf("RunPodSandbox %s/%s: %v", namespace, podName, err)
	}
	id := resp.GetPodSandboxId()
	cd.undo = append(cd.undo, func() {
		// Fresh deadlines: the test's context may have expired.
		c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := rs.StopPodSandbox(c, &rt.StopPodSandboxRequest{PodSandboxId: id}); err != nil {
			t.Errorf("StopPodSandbox %s: %v", id, err)
		}
		if _, err := rs.RemovePodSandbox(c, &rt.RemovePodSandboxRequest{PodSandboxId: id}); err != nil {
			t.Errorf("RemovePodSandbox %s: %v", id, err)
		}
	})
	return pod{id: id, config: cfg}
}

// runContainer starts a sleeper container named name in p, labelled as
// the kubelet labels containers, and returns what RunningContainers should
// report for it.
func (cd *privateContainerd) runContainer(t *testing.T, ctx context.Context, rs rt.RuntimeServiceClient, p pod, ctrName string) Container {
	t.Helper()
	md := p.config.GetMetadata()
	resp, err := rs.CreateContainer(ctx, &rt.CreateContainerRequest{
		PodSandboxId:  p.id,
		SandboxConfig: p.config,
		Config: &rt.ContainerConfig{
			Metadata: &rt.ContainerMetadata{Name: ctrName},
			Image:    &rt.ImageSpec{Image: sleeperImage},
			Args:     []string{ctrName},
			// Missing from the image (runc creates it) and from the host:
			// only the container's view can show it.
			WorkingDir: "/ctr-workdir",
			Labels: map[string]string{
				labelContainerName: ctrName,
				labelPodName:       md.GetName(), labelPodNamespace: md.GetNamespace(), labelPodUID: md.GetUid(),
			},
			LogPath: ctrName + ".log",
			Linux: &rt.LinuxContainerConfig{SecurityContext: &rt.LinuxContainerSecurityContext{
				NamespaceOptions: p.config.GetLinux().GetSecurityContext().GetNamespaceOptions(),
			}},
		},
	})
	if err != nil {
		t.Fatalf("CreateContainer %s: %v", ctrName, err)
	}
	id := resp.GetContainerId()
	cd.undo = append(cd.undo, func() {
		c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := rs.StopContainer(c, &rt.StopContainerRequest{ContainerId: id, Timeout: 2}); err != nil {
			t.Errorf("StopContainer %s: %v", id, err)
		}
		if _, err := rs.RemoveContainer(c, &rt.RemoveContainerRequest{ContainerId: id}); err != nil {
			t.Errorf("RemoveContainer %s: %v", id, err)
		}
	})
	if _, err := rs.StartContainer(ctx, &rt.StartContainerRequest{ContainerId: id}); err != nil {
		t.Fatalf("StartContainer %s: %v", ctrName, err)
	}
	st, err := rs.ContainerStatus(ctx, &rt.ContainerStatusRequest{ContainerId: id, Verbose: true})
	if err != nil {
		t.Fatalf("ContainerStatus %s: %v", ctrName, err)
	}
	if *captureStatus != "" && ctrName == "app" {
		b, err := json.MarshalIndent(st.GetInfo(), "", "  ")
		if err == nil {
			err = os.WriteFile(*captureStatus, append(b, '\n'), 0o644)
		}
		if err != nil {
			t.Fatalf("capture status: %v", err)
		}
	}
	// The expected pid comes from the runtime's own answer, read here
	// without pidFromInfo, and is checked against /proc later.
	var info struct {
		PID int `json:"pid"`
	}
	if err := json.Unmarshal([]byte(st.GetInfo()["info"]), &info); err != nil || info.PID <= 0 {
		t.Fatalf("ContainerStatus %s: no pid in verbose info (%v): %.200s", ctrName, err, st.GetInfo()["info"])
	}
	return Container{
		ID: id, Name: ctrName, PodName: md.GetName(), PodNamespace: md.GetNamespace(), PodUID: md.GetUid(),
		Runtime: "containerd", PID: info.PID,
	}
}

// buildImages compiles the idle program statically and packs it as the
// pause and the sleeper images, returning the image archives.
func buildImages(t *testing.T, ctx context.Context, dir string) []string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	bin := filepath.Join(dir, "idle")
	build := exec.CommandContext(ctx, goBin, "build", "-trimpath", "-buildvcs=false", "-ldflags=-s -w", "-o", bin, "./testdata/idle")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build testdata/idle: %v\n%s", err, out)
	}
	program, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	var tars []string
	for _, img := range []struct{ ref, path string }{{pauseImage, "/pause"}, {sleeperImage, "/sleeper"}} {
		out := filepath.Join(dir, filepath.Base(img.path)+".tar")
		if err := writeImage(out, img.ref, img.path, program); err != nil {
			t.Fatalf("image %s: %v", img.ref, err)
		}
		tars = append(tars, out)
	}
	return tars
}

// writeImage writes a one-layer image holding program at path, its entrypoint.
func writeImage(out, ref, path string, program []byte) error {
	var layer bytes.Buffer
	tw := tar.NewWriter(&layer)
	if err := tw.WriteHeader(&tar.Header{Name: strings.TrimPrefix(path, "/"), Mode: 0o755, Size: int64(len(program)), Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	if _, err := tw.Write(program); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layer.Bytes())), nil
	})
	if err != nil {
		return err
	}
	img, err := mutate.AppendLayers(empty.Image, l)
	if err != nil {
		return err
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return err
	}
	cfg = cfg.DeepCopy()
	cfg.Architecture, cfg.OS = runtime.GOARCH, "linux"
	cfg.Config = v1.Config{Entrypoint: []string{path}, Env: []string{"PATH=/"}}
	if img, err = mutate.ConfigFile(img, cfg); err != nil {
		return err
	}
	tag, err := name.NewTag(ref)
	if err != nil {
		return err
	}
	return tarball.WriteToFile(out, tag, img)
}

// removeCgroups removes the pods' (by then empty) cgroup parent in every
// hierarchy, v1 or v2; containerd leaves it behind.
func removeCgroups(parent string) {
	dirs, _ := filepath.Glob("/sys/fs/cgroup/*" + parent)
	dirs = append(dirs, "/sys/fs/cgroup"+parent)
	for _, d := range dirs {
		subs, _ := filepath.Glob(d + "/*/")
		for _, s := range subs {
			if fi, err := os.Stat(s); err == nil && fi.IsDir() {
				_ = os.Remove(s)
			}
		}
		_ = os.Remove(d)
	}
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
