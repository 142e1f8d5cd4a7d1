package cri

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	rt "k8s.io/cri-api/pkg/apis/runtime/v1"
)

func running(info string) *rt.ContainerStatusResponse {
	return &rt.ContainerStatusResponse{
		Status: &rt.ContainerStatus{State: rt.ContainerState_CONTAINER_RUNNING},
		Info:   map[string]string{"info": info},
	}
}

func criOInfo(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "cri-o-status-info.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m["info"]
}

// TestRunningContainersOneCallEach checks, against a CRI-O-like runtime,
// the keys, the calls made (one list of each kind, one status per running
// container) and that containers vanishing during the scan are skipped.
func TestRunningContainersOneCallEach(t *testing.T) {
	ctr := func(id, name string, state rt.ContainerState) *rt.Container {
		return &rt.Container{Id: id, PodSandboxId: "s1", State: state, Metadata: &rt.ContainerMetadata{Name: name}}
	}
	f := &fakeRuntime{
		name: "cri-o",
		containers: []*rt.Container{
			ctr("aa11", "app", rt.ContainerState_CONTAINER_RUNNING),
			ctr("bb22", "removed-meanwhile", rt.ContainerState_CONTAINER_RUNNING),
			ctr("cc33", "exited-meanwhile", rt.ContainerState_CONTAINER_RUNNING),
			ctr("dd44", "task-gone", rt.ContainerState_CONTAINER_RUNNING),
			ctr("ee55", "listed-though-exited", rt.ContainerState_CONTAINER_EXITED),
		},
		sandboxes: []*rt.PodSandbox{{Id: "s1", Metadata: &rt.PodSandboxMetadata{Name: "web", Namespace: "shop", Uid: "u1"}}},
		status: map[string]*rt.ContainerStatusResponse{
			"aa11": running(criOInfo(t)),
			"cc33": {Status: &rt.ContainerStatus{State: rt.ContainerState_CONTAINER_EXITED}, Info: map[string]string{"info": `{"pid":0}`}},
			"dd44": running(`{"pid":0}`),
			"ee55": running(`{"pid":5}`),
		},
	}
	c, err := Dial(context.Background(), serve(t, f))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	got, err := c.RunningContainers(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []Container{{ID: "aa11", Name: "app", PodName: "web", PodNamespace: "shop", PodUID: "u1", Runtime: "cri-o", PID: 48213}}
	if !slices.Equal(got, want) {
		t.Fatalf("RunningContainers:\n got %+v\nwant %+v", got, want)
	}
	if k := got[0].Key(); k != "cri-o://aa11" {
		t.Errorf("Key() = %q, want cri-o://aa11", k)
	}
	wantCalls := map[string]int{"Version": 1, "ListContainers": 1, "ListPodSandbox": 1, "ContainerStatus": 4}
	for call, n := range wantCalls {
		if f.calls[call] != n {
			t.Errorf("%s called %d times, want %d (all calls: %v)", call, f.calls[call], n, f.calls)
		}
	}
	if s := f.reqs[0].GetFilter().GetState().GetState(); s != rt.ContainerState_CONTAINER_RUNNING {
		t.Errorf("ListContainers filter state = %v, want CONTAINER_RUNNING", s)
	}
}

// A pid the caller already knows spares exactly that container's
// ContainerStatus call; the two list calls are made once whatever is known.
func TestRunningContainersSkipsStatusOfKnownPIDs(t *testing.T) {
	ctrs := []*rt.Container{
		{Id: "aa", PodSandboxId: "s", State: rt.ContainerState_CONTAINER_RUNNING, Metadata: &rt.ContainerMetadata{Name: "a"}},
		{Id: "bb", PodSandboxId: "s", State: rt.ContainerState_CONTAINER_RUNNING, Metadata: &rt.ContainerMetadata{Name: "b"}},
		{Id: "cc", PodSandboxId: "s", State: rt.ContainerState_CONTAINER_RUNNING, Metadata: &rt.ContainerMetadata{Name: "c"}},
	}
	ok := map[string]*rt.ContainerStatusResponse{"aa": running(`{"pid": 10}`), "bb": running(`{"pid": 20}`), "cc": running(`{"pid": 30}`)}
	knows := func(m map[string]int) KnownPIDs {
		return func(key string) (int, bool) { pid, ok := m[key]; return pid, ok }
	}
	for _, tc := range []struct {
		name       string
		known      KnownPIDs
		status     map[string]*rt.ContainerStatusResponse
		statusErr  map[string]error
		wantStatus []string       // ids asked, in any order
		wantPIDs   map[string]int // id -> pid returned
	}{
		{
			name: "nothing known: every container is asked", known: nil, status: ok,
			wantStatus: []string{"aa", "bb", "cc"}, wantPIDs: map[string]int{"aa": 10, "bb": 20, "cc": 30},
		},
		{
			name: "a known pid is returned as is, unasked", known: knows(map[string]int{"containerd://aa": 110}), status: ok,
			wantStatus: []string{"bb", "cc"}, wantPIDs: map[string]int{"aa": 110, "bb": 20, "cc": 30},
		},
		{
			name: "everything known: no status call", status: ok,
			known:      knows(map[string]int{"containerd://aa": 10, "containerd://bb": 20, "containerd://cc": 30}),
			wantStatus: nil, wantPIDs: map[string]int{"aa": 10, "bb": 20, "cc": 30},
		},
		{
			name: "known is asked by key, not by bare id", known: knows(map[string]int{"aa": 110}), status: ok,
			wantStatus: []string{"aa", "bb", "cc"}, wantPIDs: map[string]int{"aa": 10, "bb": 20, "cc": 30},
		},
		{
			name: "a known pid that is no pid is asked", known: knows(map[string]int{"containerd://aa": 0}), status: ok,
			wantStatus: []string{"aa", "bb", "cc"}, wantPIDs: map[string]int{"aa": 10, "bb": 20, "cc": 30},
		},
		{
			name: "the others' status failing does not hide the known one", known: knows(map[string]int{"containerd://aa": 10}),
			statusErr:  map[string]error{"bb": status.Error(codes.Unavailable, "x"), "cc": status.Error(codes.Unavailable, "y")},
			wantStatus: []string{"bb", "cc"}, wantPIDs: map[string]int{"aa": 10},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeRuntime{name: "containerd", containers: ctrs, status: tc.status, statusErr: tc.statusErr}
			c, err := Dial(context.Background(), serve(t, f))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			got, err := c.RunningContainers(context.Background(), tc.known)
			if err != nil {
				t.Fatal(err)
			}
			pids := map[string]int{}
			for _, c := range got {
				pids[c.ID] = c.PID
			}
			if !maps.Equal(pids, tc.wantPIDs) {
				t.Errorf("pids = %v, want %v", pids, tc.wantPIDs)
			}
			slices.Sort(f.statusOf)
			if !slices.Equal(f.statusOf, tc.wantStatus) {
				t.Errorf("ContainerStatus asked for %q, want %q", f.statusOf, tc.wantStatus)
			}
			if f.calls["ListContainers"] != 1 || f.calls["ListPodSandbox"] != 1 {
				t.Errorf("calls %v, want one ListContainers and one ListPodSandbox", f.calls)
			}
		})
	}
}

func TestRunningContainersRuntimeErrors(t *testing.T) {
	for _, tc := range []struct {
		code codes.Code
		want error
	}{
		{codes.Unavailable, ErrUnavailable},
		{codes.DeadlineExceeded, ErrUnavailable},
		{codes.PermissionDenied, ErrPermission},
		{codes.Unimplemented, ErrUnavailable},
	} {
		t.Run(tc.code.String(), func(t *testing.T) {
			f := &fakeRuntime{name: "containerd", listErr: status.Error(tc.code, "boom")}
			c, err := Dial(context.Background(), serve(t, f))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_, err = c.RunningContainers(context.Background(), nil)
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), "ListContainers") || !strings.Contains(err.Error(), "boom") {
				t.Errorf("error = %v, want %v naming ListContainers and the runtime's message", err, tc.want)
			}
		})
	}
}

func TestRunningContainersStatusFailures(t *testing.T) {
	ctrs := []*rt.Container{
		{Id: "aa", PodSandboxId: "s", State: rt.ContainerState_CONTAINER_RUNNING, Metadata: &rt.ContainerMetadata{Name: "a"}},
		{Id: "bb", PodSandboxId: "s", State: rt.ContainerState_CONTAINER_RUNNING, Metadata: &rt.ContainerMetadata{Name: "b"}},
	}
	for _, tc := range []struct {
		name      string
		status    map[string]*rt.ContainerStatusResponse
		statusErr map[string]error
		wantIDs   []string
		wantErr   error
	}{
		{
			name:      "one status fails: the other container is still reported",
			status:    map[string]*rt.ContainerStatusResponse{"aa": running(`{"pid": 10}`)},
			statusErr: map[string]error{"bb": status.Error(codes.Internal, "storage error")},
			wantIDs:   []string{"aa"},
		},
		{
			name:      "every status fails: the runtime is the problem",
			statusErr: map[string]error{"aa": status.Error(codes.Unavailable, "x"), "bb": status.Error(codes.Unavailable, "y")},
			wantErr:   ErrUnavailable,
		},
		{
			name:    "no status has a pid: the runtime is the problem",
			status:  map[string]*rt.ContainerStatusResponse{"aa": running(`{}`), "bb": running(`{}`)},
			wantErr: ErrBadResponse,
		},
		{
			name:    "every container gone: an empty node, not an error",
			wantIDs: nil,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeRuntime{name: "containerd", containers: ctrs, status: tc.status, statusErr: tc.statusErr}
			c, err := Dial(context.Background(), serve(t, f))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			got, err := c.RunningContainers(context.Background(), nil)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("RunningContainers = %v, %v; want error %v", got, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, c := range got {
				ids = append(ids, c.ID)
			}
			if !slices.Equal(ids, tc.wantIDs) {
				t.Errorf("RunningContainers ids = %q, want %q", ids, tc.wantIDs)
			}
		})
	}
}

func TestDialErrors(t *testing.T) {
	dir := t.TempDir()
	regular := filepath.Join(dir, "regular")
	if err := os.WriteFile(regular, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	// A socket file nobody listens on, as a crashed runtime leaves behind.
	stale := filepath.Join(dir, "stale.sock")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: stale, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	l.SetUnlinkOnClose(false)
	l.Close()
	// A listener that accepts and never answers: a hung runtime.
	silent := filepath.Join(dir, "silent.sock")
	sl, err := net.Listen("unix", silent)
	if err != nil {
		t.Fatal(err)
	}
	defer sl.Close()
	go func() {
		for {
			conn, err := sl.Accept()
			if err != nil {
				return
			}
			defer conn.Close()
		}
	}()
	missing := filepath.Join(dir, "missing.sock")

	for _, tc := range []struct {
		name     string
		endpoint string
		opts     []Option
		want     error  // nil: any error
		contains string // in the message
	}{
		{name: "missing socket", endpoint: "unix://" + missing, want: ErrSocketMissing, contains: missing},
		{name: "not a socket", endpoint: regular, want: ErrSocketMissing, contains: "not a socket"},
		{name: "nobody listens", endpoint: "unix://" + stale, want: ErrUnavailable, contains: "nothing listens"},
		{name: "no answer in time", endpoint: "unix://" + silent, opts: []Option{WithCallTimeout(300 * time.Millisecond)}, want: ErrUnavailable, contains: "Version"},
		{name: "no CRI v1", endpoint: serve(t, &fakeRuntime{name: "x", noVersion: true}), want: ErrUnavailable, contains: "does not serve CRI v1"},
		{name: "empty runtime name", endpoint: serve(t, &fakeRuntime{name: ""}), want: ErrBadResponse},
		{name: "runtime name that would break keys", endpoint: serve(t, &fakeRuntime{name: "a://b"}), want: ErrBadResponse},
		{name: "tcp endpoint", endpoint: "tcp://127.0.0.1:1234", contains: "only unix://"},
		{name: "relative path", endpoint: "unix://run/crio.sock", contains: "absolute"},
		{name: "environment names a missing socket", opts: []Option{withEnv(map[string]string{EndpointEnv: "unix://" + missing})}, want: ErrSocketMissing},
		{name: "no default socket", opts: []Option{withEnv(nil), withDefaults("unix://"+missing, "unix://"+stale)}, want: ErrSocketMissing, contains: "no container runtime answers on the default sockets"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Dial(context.Background(), tc.endpoint, tc.opts...)
			if err == nil {
				c.Close()
				t.Fatal("Dial succeeded, want an error")
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("Dial error = %v, want %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.contains) {
				t.Errorf("Dial error = %q, want it to mention %q", err, tc.contains)
			}
		})
	}
}

func TestClassifyDial(t *testing.T) {
	for _, tc := range []struct {
		errno syscall.Errno
		want  error
	}{
		{syscall.EACCES, ErrPermission},
		{syscall.EPERM, ErrPermission},
		{syscall.ENOENT, ErrSocketMissing},
		{syscall.ECONNREFUSED, ErrUnavailable},
		{syscall.ETIMEDOUT, ErrUnavailable},
	} {
		err := classifyDial("/run/x.sock", &net.OpError{Op: "dial", Net: "unix", Err: os.NewSyscallError("connect", tc.errno)})
		if !errors.Is(err, tc.want) || !errors.Is(err, tc.errno) {
			t.Errorf("classifyDial(%v) = %v, want %v wrapping the errno", tc.errno, err, tc.want)
		}
	}
}

func TestWrapCall(t *testing.T) {
	for _, tc := range []struct {
		code codes.Code
		want error
	}{
		{codes.Unavailable, ErrUnavailable},
		{codes.DeadlineExceeded, ErrUnavailable},
		{codes.ResourceExhausted, ErrUnavailable},
		{codes.Unimplemented, ErrUnavailable},
		{codes.PermissionDenied, ErrPermission},
		{codes.Unauthenticated, ErrPermission},
		{codes.NotFound, ErrContainerGone},
		{codes.Canceled, context.Canceled},
	} {
		err := wrapCall("unix:///run/x.sock", "ListContainers", status.Error(tc.code, "detail"))
		if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), "unix:///run/x.sock: ListContainers") {
			t.Errorf("wrapCall(%v) = %v, want %v with endpoint and call", tc.code, err, tc.want)
		}
	}
	if err := wrapCall("e", "c", status.Error(codes.Internal, "x")); errors.Is(err, ErrUnavailable) || errors.Is(err, ErrContainerGone) {
		t.Errorf("wrapCall(Internal) = %v: no sentinel expected", err)
	}
}

// With no endpoint and no $CONTAINER_RUNTIME_ENDPOINT, Dial takes the first default socket
// that answers (on a real runtime: test/integration/cri).
func TestDialTakesTheFirstDefaultThatAnswers(t *testing.T) {
	missing := "unix://" + filepath.Join(t.TempDir(), "missing.sock")
	endpoint := serve(t, &fakeRuntime{name: "cri-o"})
	c, err := Dial(context.Background(), "", withEnv(nil), withDefaults(missing, endpoint))
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer c.Close()
	if c.Runtime() != "cri-o" || c.Endpoint() != endpoint {
		t.Errorf("connected to %s (%s), want cri-o at %s", c.Endpoint(), c.Runtime(), endpoint)
	}
}
