package release

import (
	"context"
	"crypto/rand"
	"debug/buildinfo"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rt "k8s.io/cri-api/pkg/apis/runtime/v1"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/openshift/insights-runtime-extractor/test/localnode"
)

// runDaemonSetPod imports the images pushed by make build-image into a
// private containerd (test/localnode) and runs the pod of each variant
// of the DaemonSet (Kubernetes, then OpenShift; the exporter and the
// extractor, not kube-rbac-proxy) through CRI, translated as the kubelet
// translates it: host PID namespace, the privileged extractor with
// the CRI socket, the unprivileged exporter as 65532 with no capabilities
// and no_new_privs, read-only root file systems, and /data an emptyDir
// owned by the pod's fsGroup. Next to it runs the go-server sample. The
// exporter's answer must be exactly the three containers, and the result
// directory must be gone afterwards (the exporter, not root, deletes it).
func runDaemonSetPod(ctx context.Context, t *testing.T, repo, workDir, imageRegistry, tag string) {
	for _, port := range []int{3000, 8000} {
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			t.Fatalf("the DaemonSet's pod uses the node's network here (no CNI) and needs port %d, which is taken: %v", port, err)
		}
		l.Close()
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	node, err := localnode.Start(ctx, localnode.Options{Dir: filepath.Join(workDir, "node"), Log: log})
	if err != nil {
		t.Fatalf("start containerd: %v", err)
	}
	defer func() {
		if err := node.Stop(); err != nil {
			t.Errorf("stop containerd: %v", err)
		}
	}()
	samples, err := (&localnode.Builder{RepoDir: repo, WorkDir: filepath.Join(workDir, "samples"), Log: log}).Build(ctx, "go-server")
	if err != nil {
		t.Fatalf("build the go-server sample: %v", err)
	}
	if err := node.Import(ctx, samples.Archive); err != nil {
		t.Fatal(err)
	}
	local := map[string]string{}
	for _, component := range []string{"extractor", "exporter"} {
		// The manifest list's image of this machine's architecture.
		ref := localnode.ImagePrefix + "insights-runtime-" + component + ":" + tag
		archive := filepath.Join(workDir, component+".tar")
		pull := exec.CommandContext(ctx, "skopeo", "copy", "-q", "--src-tls-verify=false",
			"docker://"+imageRegistry+"/insights-runtime-"+component+":"+tag, "docker-archive:"+archive+":"+ref)
		if out, err := pull.CombinedOutput(); err != nil {
			t.Fatalf("skopeo copy %s: %v: %s", component, err, out)
		}
		if err := node.Import(ctx, archive); err != nil {
			t.Fatal(err)
		}
		local[component] = ref
	}

	app, err := node.RunPod(ctx, localnode.PodSpec{Name: "go-server", Namespace: "samples",
		Containers: []localnode.ContainerSpec{samples.Sample("go-server").Container("app")}})
	if err != nil {
		t.Fatal(err)
	}
	goVersion := func(path string) string {
		bi, err := buildinfo.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return bi.GoVersion
	}
	goServer := map[string]any{"containerd://" + app.Containers[0].ID: map[string]any{
		"kind": "Golang", "kindVersion": goVersion(samples.Sample("go-server").GoBinary)}}
	// The OpenShift variant's pod too: on this containerd its CRI-O socket
	// mount gets containerd's socket, the rest is as on a CRI-O node.
	for _, variant := range []string{"kubernetes", "openshift"} {
		t.Run(variant+" variant", func(t *testing.T) {
			ds := renderedDaemonSet(t, repo, variant)
			dataDir := emptyDir(t, filepath.Join(workDir, variant), ds)
			pod := runPodOf(ctx, t, node, ds, local, dataDir)
			defer func() {
				if _, err := node.Runtime().StopPodSandbox(ctx, &rt.StopPodSandboxRequest{PodSandboxId: pod.sandbox}); err != nil {
					t.Errorf("stop the DaemonSet's pod: %v", err)
				}
				if _, err := node.Runtime().RemovePodSandbox(ctx, &rt.RemovePodSandboxRequest{PodSandboxId: pod.sandbox}); err != nil {
					t.Errorf("remove the DaemonSet's pod: %v", err)
				}
			}()
			checkDaemonSetPod(t, pod, goServer, dataDir)
			checkLivenessProbe(ctx, t, node, pod, pinnedCrictl(t, repo))
		})
	}
}

// checkDaemonSetPod asks the pod's exporter for everything (hash=false): the
// answer must be exactly the go-server sample and the pod's own two
// containers (static Go binaries of this toolchain, scratch base: no OS),
// and the result directory must be gone afterwards.
func checkDaemonSetPod(t *testing.T, pod *daemonPod, goServer map[string]any, dataDir string) {

	var body []byte
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://127.0.0.1:8000/gather_runtime_info?hash=false")
		if err == nil {
			body, _ = io.ReadAll(io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
			if resp.StatusCode == http.StatusInternalServerError && strings.Contains(string(body), "connect to extractor") && time.Now().Before(deadline) {
				// The exporter listens before extractor_server does, as in a starting pod.
				time.Sleep(200 * time.Millisecond)
				continue
			}
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("exporter answered %d: %s\nextractor log:\n%s", resp.StatusCode, body, containerLog(pod, "extractor"))
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the exporter of the DaemonSet pod does not answer on :8000: %v\nexporter log:\n%s", err, containerLog(pod, "exporter"))
		}
		time.Sleep(200 * time.Millisecond)
	}

	golang := map[string]any{"kind": "Golang", "kindVersion": goEnv(t, "GOVERSION")}
	want := map[string]any{
		"samples": map[string]any{"go-server": goServer},
		pod.namespace: map[string]any{pod.name: map[string]any{
			"containerd://" + pod.ids["extractor"]: golang,
			"containerd://" + pod.ids["exporter"]:  golang,
		}},
	}
	var got any
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("answer is not JSON: %v: %s", err, body)
	}
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if string(g) != string(w) {
		t.Errorf("answer of the DaemonSet pod\n got %s\nwant %s\nextractor log:\n%s", g, w, containerLog(pod, "extractor"))
	}
	left, _ := filepath.Glob(filepath.Join(dataDir, "out-*"))
	if len(left) != 0 {
		t.Errorf("result directories left in /data: the unprivileged exporter could not delete them: %v\nexporter log:\n%s", left, containerLog(pod, "exporter"))
	}
}

// renderedDaemonSet renders manifests/<variant> and returns its DaemonSet.
func renderedDaemonSet(t *testing.T, repo, variant string) *appsv1.DaemonSet {
	t.Helper()
	m, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), filepath.Join(repo, "manifests", variant))
	if err != nil {
		t.Fatal(err)
	}
	stream, err := m.AsYaml()
	if err != nil {
		t.Fatal(err)
	}
	o, err := decodeStrict(stream)
	if err != nil || len(o.daemonSets) != 1 {
		t.Fatalf("manifests/%s: %v", variant, err)
	}
	return &o.daemonSets[0]
}

// emptyDir makes the pod's /data as the kubelet makes an emptyDir for a pod
// with an fsGroup: mode 0777, group fsGroup, set-group-id.
func emptyDir(t *testing.T, workDir string, ds *appsv1.DaemonSet) string {
	t.Helper()
	dir := filepath.Join(workDir, "emptydir-data")
	if err := os.MkdirAll(workDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	if psc := ds.Spec.Template.Spec.SecurityContext; psc != nil && psc.FSGroup != nil {
		if err := os.Chown(dir, 0, int(*psc.FSGroup)); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(dir, 0o777|os.ModeSetgid); err != nil {
			t.Fatal(err)
		}
	} else if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	return dir
}

// daemonPod is the DaemonSet's pod running on the local node.
type daemonPod struct {
	name, namespace, uid, sandbox string
	ids                           map[string]string // container name -> id
	logDir                        string
}

// runPodOf translates the DaemonSet's pod template to CRI and runs it.
func runPodOf(ctx context.Context, t *testing.T, node *localnode.Node, ds *appsv1.DaemonSet, images map[string]string, dataDir string) *daemonPod {
	t.Helper()
	spec := ds.Spec.Template.Spec
	uid, err := randomUID()
	if err != nil {
		t.Fatal(err)
	}
	p := &daemonPod{name: ds.Name + "-" + uid[:5], namespace: ds.Namespace, uid: uid, ids: map[string]string{}}
	p.logDir = filepath.Join(node.Dir(), "pods", p.namespace+"_"+p.name)
	if err := os.MkdirAll(p.logDir, 0o755); err != nil {
		t.Fatal(err)
	}
	pidMode := rt.NamespaceMode_CONTAINER
	if spec.HostPID {
		pidMode = rt.NamespaceMode_NODE
	}
	// No CNI on this node: the pod shares the node's network.
	ns := &rt.NamespaceOption{Network: rt.NamespaceMode_NODE, Pid: pidMode, Ipc: rt.NamespaceMode_POD}
	privileged := false
	for _, c := range spec.Containers {
		if c.SecurityContext != nil && c.SecurityContext.Privileged != nil && *c.SecurityContext.Privileged {
			privileged = true
		}
	}
	var groups []int64
	if spec.SecurityContext != nil && spec.SecurityContext.FSGroup != nil {
		groups = []int64{*spec.SecurityContext.FSGroup}
	}
	labels := map[string]string{"io.kubernetes.pod.name": p.name, "io.kubernetes.pod.namespace": p.namespace, "io.kubernetes.pod.uid": p.uid}
	for k, v := range ds.Spec.Template.Labels {
		labels[k] = v
	}
	sandbox := &rt.PodSandboxConfig{
		Metadata:     &rt.PodSandboxMetadata{Name: p.name, Namespace: p.namespace, Uid: p.uid},
		LogDirectory: p.logDir,
		DnsConfig:    &rt.DNSConfig{Servers: []string{"127.0.0.1"}},
		Labels:       labels,
		Linux: &rt.LinuxPodSandboxConfig{
			CgroupParent: "/" + node.ID() + "/pod" + p.uid,
			SecurityContext: &rt.LinuxSandboxSecurityContext{
				NamespaceOptions: ns, Privileged: privileged, SupplementalGroups: groups,
			},
		},
	}
	resp, err := node.Runtime().RunPodSandbox(ctx, &rt.RunPodSandboxRequest{Config: sandbox})
	if err != nil {
		t.Fatalf("run the DaemonSet's pod sandbox: %v", err)
	}
	p.sandbox = resp.PodSandboxId
	volumes := map[string]corev1.Volume{}
	for _, v := range spec.Volumes {
		volumes[v.Name] = v
	}
	for _, c := range spec.Containers {
		if c.Name == "kube-rbac-proxy" {
			// Not one of our images, and it needs the API server (TokenReview,
			// SubjectAccessReview) and a TLS secret: the test asks the
			// exporter on its loopback port, as kube-rbac-proxy would.
			continue
		}
		if _, ok := images[c.Name]; !ok {
			t.Fatalf("the DaemonSet's container %s runs no image of ours and this translation does not know it", c.Name)
		}
		var mounts []*rt.Mount
		for _, m := range c.VolumeMounts {
			v := volumes[m.Name]
			switch {
			case v.EmptyDir != nil:
				mounts = append(mounts, &rt.Mount{ContainerPath: m.MountPath, HostPath: dataDir, Readonly: m.ReadOnly})
			case v.HostPath != nil && v.HostPath.Type != nil && *v.HostPath.Type == corev1.HostPathSocket:
				// The node's CRI socket, wherever this private containerd has it.
				mounts = append(mounts, &rt.Mount{ContainerPath: m.MountPath, HostPath: node.Socket(), Readonly: m.ReadOnly})
			default:
				t.Fatalf("container %s mounts volume %s, which this translation does not know", c.Name, m.Name)
			}
		}
		var envs []*rt.KeyValue
		for _, e := range c.Env {
			envs = append(envs, &rt.KeyValue{Key: e.Name, Value: []byte(e.Value)})
		}
		sc := &rt.LinuxContainerSecurityContext{NamespaceOptions: ns, SupplementalGroups: groups,
			Seccomp: &rt.SecurityProfile{ProfileType: rt.SecurityProfile_RuntimeDefault}}
		if s := c.SecurityContext; s != nil {
			sc.Privileged = s.Privileged != nil && *s.Privileged
			sc.ReadonlyRootfs = s.ReadOnlyRootFilesystem != nil && *s.ReadOnlyRootFilesystem
			if s.RunAsUser != nil {
				sc.RunAsUser = &rt.Int64Value{Value: *s.RunAsUser}
			}
			if s.RunAsGroup != nil {
				sc.RunAsGroup = &rt.Int64Value{Value: *s.RunAsGroup}
			}
			sc.NoNewPrivs = s.AllowPrivilegeEscalation != nil && !*s.AllowPrivilegeEscalation
			if s.Capabilities != nil {
				sc.Capabilities = &rt.Capability{}
				for _, d := range s.Capabilities.Drop {
					sc.Capabilities.DropCapabilities = append(sc.Capabilities.DropCapabilities, string(d))
				}
				for _, a := range s.Capabilities.Add {
					sc.Capabilities.AddCapabilities = append(sc.Capabilities.AddCapabilities, string(a))
				}
			}
		}
		cfg := &rt.ContainerConfig{
			Metadata: &rt.ContainerMetadata{Name: c.Name},
			Image:    &rt.ImageSpec{Image: images[c.Name]},
			Command:  c.Command,
			Args:     c.Args,
			Envs:     envs,
			Mounts:   mounts,
			Labels: map[string]string{"io.kubernetes.container.name": c.Name, "io.kubernetes.pod.name": p.name,
				"io.kubernetes.pod.namespace": p.namespace, "io.kubernetes.pod.uid": p.uid},
			LogPath: c.Name + ".log",
			Linux:   &rt.LinuxContainerConfig{SecurityContext: sc},
		}
		created, err := node.Runtime().CreateContainer(ctx, &rt.CreateContainerRequest{PodSandboxId: p.sandbox, Config: cfg, SandboxConfig: sandbox})
		if err != nil {
			t.Fatalf("create the %s container of the DaemonSet's pod: %v", c.Name, err)
		}
		if _, err := node.Runtime().StartContainer(ctx, &rt.StartContainerRequest{ContainerId: created.ContainerId}); err != nil {
			t.Fatalf("start the %s container of the DaemonSet's pod: %v", c.Name, err)
		}
		p.ids[c.Name] = created.ContainerId
	}
	return p
}

func randomUID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:]), nil
}

func containerLog(p *daemonPod, name string) string {
	b, _ := os.ReadFile(filepath.Join(p.logDir, name+".log"))
	return tail(b, 3000)
}

// checkLivenessProbe runs, as the kubelet runs an exec probe, the liveness
// probe that the Insights Operator gives the extractor container: with the
// container's environment (CONTAINER_RUNTIME_ENDPOINT=unix:///crio.sock), it
// must answer, and crictl must be the pinned version of tools/crictl/go.mod.
func checkLivenessProbe(ctx context.Context, t *testing.T, node *localnode.Node, pod *daemonPod, version string) {
	t.Helper()
	tests := []struct {
		cmd        []string
		wantStdout string
	}{
		{cmd: []string{"crictl", "--timeout", "10s", "info"}, wantStdout: `"RuntimeReady"`},
		{cmd: []string{"crictl", "--version"}, wantStdout: "crictl version " + version + "\n"},
	}
	for _, tc := range tests {
		resp, err := node.Runtime().ExecSync(ctx, &rt.ExecSyncRequest{ContainerId: pod.ids["extractor"], Cmd: tc.cmd, Timeout: 20})
		if err != nil {
			t.Errorf("exec %q in the extractor container: %v", tc.cmd, err)
			continue
		}
		if resp.ExitCode != 0 || !strings.Contains(string(resp.Stdout), tc.wantStdout) {
			t.Errorf("%q in the extractor container: exit %d, stdout %q, stderr %q; want exit 0 and %q",
				tc.cmd, resp.ExitCode, tail(resp.Stdout, 500), tail(resp.Stderr, 500), tc.wantStdout)
		}
	}
}

// pinnedCrictl is the version of cri-tools that tools/crictl/go.mod requires.
func pinnedCrictl(t *testing.T, repo string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repo, "tools", "crictl", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(data)) {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "sigs.k8s.io/cri-tools" {
			return f[1]
		}
	}
	t.Fatal("tools/crictl/go.mod requires no sigs.k8s.io/cri-tools")
	return ""
}
