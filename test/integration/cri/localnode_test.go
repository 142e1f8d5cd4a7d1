package cri_test

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	rt "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/openshift/insights-runtime-extractor/internal/cri"
	"github.com/openshift/insights-runtime-extractor/internal/process"
	"github.com/openshift/insights-runtime-extractor/test/localnode"
)

// captureStatus, when set, makes the local node test write the Info map of
// one real verbose ContainerStatus to that file: how
// testdata/containerd-*-status-info.json and cri-o-1.34.0-status-info.json
// were made.
var captureStatus = flag.String("capture-status", "", "write one real verbose ContainerStatus Info map (JSON) to this file")

// TestRunningContainersOnLocalNode runs pods on a private, real runtime
// (the shared local node, $IRE_NODE: Debian's containerd with runc by
// default, or CRI-O with runc and conmon) and checks that
// RunningContainers names them exactly as the kubelet would, with the right
// host pids, and that Select finds them.
func TestRunningContainersOnLocalNode(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("skipped: needs root to run a private container runtime")
	}
	kind, err := localnode.ParseRuntime(os.Getenv("IRE_NODE"))
	if err != nil {
		t.Fatal(err)
	}
	// The runtime's name as Version gives it, the one Kubernetes puts in
	// containerIDs, and the other runtime's.
	name, other := "containerd", "cri-o"
	if kind == localnode.CRIO {
		name, other = other, name
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	log := slog.New(slog.NewTextHandler(t.Output(), nil))
	repo, err := localnode.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	images, err := (&localnode.Builder{RepoDir: repo, WorkDir: t.TempDir(), Log: log}).Build(ctx, "pause")
	if err != nil {
		t.Fatal(err)
	}
	node, err := localnode.Start(ctx, localnode.Options{Runtime: kind, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := node.Stop(); err != nil {
			t.Error(err)
		}
	})
	if err := node.Import(ctx, images.Archive); err != nil {
		t.Fatal(err)
	}
	pause := images.Sample("pause")

	// Pod "web" in namespace "shop": the app, a sidecar and a container
	// that already stopped (it must not be listed). Pod "db" in
	// namespace "store": containers are added until two ids share their
	// first hex digit, so that an ambiguous prefix exists.
	web, err := node.RunPod(ctx, localnode.PodSpec{
		Name: "web", Namespace: "shop",
		Containers: []localnode.ContainerSpec{sleeper(pause, "app"), sleeper(pause, "sidecar"), sleeper(pause, "finished")},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []cri.Container{expected(name, web, web.Containers[0]), expected(name, web, web.Containers[1])}
	stopped := web.Containers[2]
	if err := node.StopContainer(ctx, stopped.ID); err != nil {
		t.Fatal(err)
	}
	if *captureStatus != "" {
		writeStatus(t, ctx, node, web.Containers[0].ID, *captureStatus)
	}
	db, err := node.RunPod(ctx, localnode.PodSpec{Name: "db", Namespace: "store"})
	if err != nil {
		t.Fatal(err)
	}
	ambiguous := ""
	for i := 0; ambiguous == "" && i < 17; i++ { // 17 ids cannot all differ in the first of 16 digits
		ctr, err := node.RunContainer(ctx, db, sleeper(pause, "db-"+strconv.Itoa(i)))
		if err != nil {
			t.Fatal(err)
		}
		c := expected(name, db, ctr)
		for _, o := range want {
			if o.ID[0] == c.ID[0] {
				ambiguous = c.ID[:1]
			}
		}
		want = append(want, c)
	}

	client, err := cri.Dial(ctx, node.Endpoint())
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer client.Close()
	if client.Runtime() != name {
		t.Fatalf("Runtime() = %q, want %s", client.Runtime(), name)
	}

	got, err := client.RunningContainers(ctx, nil)
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
		if k := c.Key(); k != node.KeyPrefix()+c.ID {
			t.Errorf("Key() = %q, want %s%s", k, node.KeyPrefix(), c.ID)
		}
		checkContainerProcess(t, c, hostPidNS)
		// What the coordinator does next: the workload as seen from the
		// host's /proc, with the container's view of pid and cwd.
		p, err := procs.Workload(c.PID, nil)
		if err != nil {
			t.Errorf("%s: Workload(%d): %v", c.Name, c.PID, err)
			continue
		}
		if p.PID != c.PID || p.NSPID != 1 || p.Name != "pause" || !slices.Equal(p.Cmdline, []string{"/pause", c.Name}) ||
			p.Cwd != "/ctr-workdir" || p.UID != 0 || !slices.Contains(p.Env, "PATH=/") {
			t.Errorf("%s: Workload(%d) = %+v; want pid %d, NSPID 1, pause, cwd /ctr-workdir, uid 0, PATH=/", c.Name, c.PID, p, c.PID)
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
			{"with runtime prefix", []string{name + "://" + app.ID}, []string{app.ID}, nil},
			{"prefix with runtime prefix", []string{name + "://" + sidecar.ID[:12]}, []string{sidecar.ID}, nil},
			{"other runtime's prefix", []string{other + "://" + app.ID}, nil, []string{other + "://" + app.ID}},
			{"unknown id", []string{"0123456789abcdefx"}, nil, []string{"0123456789abcdefx"}},
			{"stopped container", []string{stopped.ID}, nil, []string{stopped.ID}},
			{"ambiguous prefix", []string{ambiguous}, nil, []string{ambiguous}},
			{"mixed", []string{sidecar.ID, "nope", app.ID[:5]}, []string{app.ID, sidecar.ID}, []string{"nope"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				sel, unknown := cri.Select(got, tc.ids)
				var ids []string
				for _, c := range sel {
					ids = append(ids, c.ID)
				}
				if !slices.Equal(ids, tc.wantIDs) || !slices.Equal(unknown, tc.wantUnknown) {
					t.Errorf("Select(%q) = %q, unknown %q; want %q, unknown %q", tc.ids, ids, unknown, tc.wantIDs, tc.wantUnknown)
				}
			})
		}
		if _, err := cri.Find(got, ambiguous); !errors.Is(err, cri.ErrAmbiguousID) {
			t.Errorf("Find(%q) error = %v, want ErrAmbiguousID", ambiguous, err)
		}
	})

	t.Run("Dial chooses the endpoint", func(t *testing.T) {
		sock := node.Socket()
		// Choosing among the default sockets: TestDialTakesTheFirstDefaultThatAnswers
		// (internal/cri), on a fake runtime.
		for _, tc := range []struct {
			name     string
			endpoint string
			env      string // $CONTAINER_RUNTIME_ENDPOINT
		}{
			{"explicit socket path", sock, ""},
			{"from the environment", "", node.Endpoint()},
		} {
			t.Run(tc.name, func(t *testing.T) {
				t.Setenv(cri.EndpointEnv, tc.env)
				c, err := cri.Dial(ctx, tc.endpoint)
				if err != nil {
					t.Fatalf("Dial: %v", err)
				}
				defer c.Close()
				if c.Runtime() != name || !strings.HasSuffix(c.Endpoint(), sock) {
					t.Errorf("connected to %s (%s), want %s at %s", c.Endpoint(), c.Runtime(), name, sock)
				}
			})
		}
	})

	t.Run("ContainerPID of a running container", func(t *testing.T) {
		for _, c := range got {
			if pid, err := client.ContainerPID(ctx, c.ID); err != nil || pid != c.PID {
				t.Errorf("ContainerPID(%s) = %d, %v; want %d", c.Name, pid, err, c.PID)
			}
		}
	})

	t.Run("container gone", func(t *testing.T) {
		if _, err := client.ContainerPID(ctx, stopped.ID); !errors.Is(err, cri.ErrContainerGone) {
			t.Errorf("ContainerPID(stopped) error = %v, want ErrContainerGone", err)
		}
		if _, err := client.ContainerPID(ctx, strings.Repeat("0", 64)); !errors.Is(err, cri.ErrContainerGone) {
			t.Errorf("ContainerPID(never existed) error = %v, want ErrContainerGone", err)
		}
	})

	t.Run("runtime stopped", func(t *testing.T) {
		if err := node.Stop(); err != nil {
			t.Fatal(err)
		}
		if _, err := client.RunningContainers(ctx, nil); !errors.Is(err, cri.ErrUnavailable) {
			t.Errorf("RunningContainers after %s stopped: error = %v, want ErrUnavailable", name, err)
		}
		if _, err := cri.Dial(ctx, node.Socket()); !errors.Is(err, cri.ErrSocketMissing) && !errors.Is(err, cri.ErrUnavailable) {
			t.Errorf("Dial after %s stopped: error = %v, want cri.ErrSocketMissing or ErrUnavailable", name, err)
		}
	})
}

// sleeper runs the pause program as a workload: with the container's name
// as its argument, so that its command line tells it from the sandbox's
// pause, and a working directory missing from the image and from the host
// (runc creates it): only the container's view can show it.
func sleeper(pause *localnode.Sample, name string) localnode.ContainerSpec {
	c := pause.Container(name)
	c.Args = []string{name}
	c.Env = []string{"PATH=/"}
	c.WorkingDir = "/ctr-workdir"
	return c
}

// expected is what RunningContainers should report for a container the
// local node started. Its pid is the runtime's own answer, read by the
// harness without pidFromInfo, and is checked against /proc later.
func expected(runtime string, p *localnode.Pod, c localnode.Container) cri.Container {
	return cri.Container{
		ID: c.ID, Name: c.Name, PodName: p.Name, PodNamespace: p.Namespace, PodUID: p.UID,
		Runtime: runtime, PID: c.PID,
	}
}

// writeStatus writes the Info map of the container's verbose status to path.
func writeStatus(t *testing.T, ctx context.Context, node *localnode.Node, id, path string) {
	t.Helper()
	st, err := node.Runtime().ContainerStatus(ctx, &rt.ContainerStatusRequest{ContainerId: id, Verbose: true})
	if err != nil {
		t.Fatalf("capture status: %v", err)
	}
	b, err := json.MarshalIndent(st.GetInfo(), "", "  ")
	if err == nil {
		err = os.WriteFile(path, append(b, '\n'), 0o644)
	}
	if err != nil {
		t.Fatalf("capture status: %v", err)
	}
}

// checkContainerProcess checks against /proc that pid is the container's
// init: in its own pid namespace as pid 1, in the container's cgroup,
// running pause with the container's name as its argument.
func checkContainerProcess(t *testing.T, c cri.Container, hostPidNS string) {
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
	if !nsPIDIsOne(string(status)) {
		t.Errorf("%s: pid %d is not pid 1 of its namespace:\n%s", c.Name, c.PID, status)
	}
	cgroup, _ := os.ReadFile(proc + "/cgroup")
	if !strings.Contains(string(cgroup), c.ID) {
		t.Errorf("%s: pid %d is not in the container's cgroup:\n%s", c.Name, c.PID, cgroup)
	}
	cmdline, _ := os.ReadFile(proc + "/cmdline")
	if want := "/pause\x00" + c.Name + "\x00"; string(cmdline) != want {
		t.Errorf("%s: pid %d runs %q, want %q", c.Name, c.PID, cmdline, want)
	}
	// Its parent is the runtime's monitor: CRI-O's conmon, containerd's shim.
	monitor := map[string]string{"cri-o": "conmon", "containerd": "containerd-shim"}[c.Runtime]
	if parent := parentComm(c.PID); monitor == "" || !strings.HasPrefix(parent, monitor) {
		t.Errorf("%s: pid %d's parent is %q, want %s's %q", c.Name, c.PID, parent, c.Runtime, monitor)
	}
}

// parentComm is the name of a process's parent.
func parentComm(pid int) string {
	b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 2 {
		return ""
	}
	comm, _ := os.ReadFile("/proc/" + f[1] + "/comm")
	return strings.TrimSpace(string(comm))
}

// nsPIDIsOne says whether the innermost pid of a /proc/<pid>/status is 1.
func nsPIDIsOne(status string) bool {
	for _, line := range strings.Split(status, "\n") {
		if f := strings.Fields(line); len(f) > 2 && f[0] == "NSpid:" {
			return f[len(f)-1] == "1"
		}
	}
	return false
}

func sorted(cs []cri.Container) []cri.Container {
	out := slices.Clone(cs)
	slices.SortFunc(out, func(a, b cri.Container) int {
		return strings.Compare(a.PodNamespace+"/"+a.PodName+"/"+a.Name, b.PodNamespace+"/"+b.PodName+"/"+b.Name)
	})
	return out
}
