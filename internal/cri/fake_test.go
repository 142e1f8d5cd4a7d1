package cri

import (
	"context"
	"net"
	"path/filepath"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	rt "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// fakeRuntime is a CRI RuntimeService answering from fixed data, used to
// test one client function at a time against answers a real runtime gives
// only by accident (a container vanishing between two calls, errors).
type fakeRuntime struct {
	rt.UnimplementedRuntimeServiceServer

	name       string
	containers []*rt.Container
	sandboxes  []*rt.PodSandbox
	status     map[string]*rt.ContainerStatusResponse // missing: NotFound
	statusErr  map[string]error
	listErr    error
	noVersion  bool

	mu       sync.Mutex
	calls    map[string]int
	reqs     []*rt.ListContainersRequest
	statusOf []string // the container id of every ContainerStatus call
}

func (f *fakeRuntime) count(call string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.calls == nil {
		f.calls = map[string]int{}
	}
	f.calls[call]++
}

func (f *fakeRuntime) Version(ctx context.Context, _ *rt.VersionRequest) (*rt.VersionResponse, error) {
	f.count("Version")
	if f.noVersion {
		return f.UnimplementedRuntimeServiceServer.Version(ctx, nil)
	}
	return &rt.VersionResponse{Version: "0.1.0", RuntimeName: f.name, RuntimeVersion: "1.0.0", RuntimeApiVersion: "v1"}, nil
}

func (f *fakeRuntime) ListContainers(_ context.Context, req *rt.ListContainersRequest) (*rt.ListContainersResponse, error) {
	f.count("ListContainers")
	f.mu.Lock()
	f.reqs = append(f.reqs, req)
	f.mu.Unlock()
	if f.listErr != nil {
		return nil, f.listErr
	}
	return &rt.ListContainersResponse{Containers: f.containers}, nil
}

func (f *fakeRuntime) ListPodSandbox(context.Context, *rt.ListPodSandboxRequest) (*rt.ListPodSandboxResponse, error) {
	f.count("ListPodSandbox")
	return &rt.ListPodSandboxResponse{Items: f.sandboxes}, nil
}

func (f *fakeRuntime) ContainerStatus(_ context.Context, req *rt.ContainerStatusRequest) (*rt.ContainerStatusResponse, error) {
	f.count("ContainerStatus")
	f.mu.Lock()
	f.statusOf = append(f.statusOf, req.GetContainerId())
	f.mu.Unlock()
	if err := f.statusErr[req.GetContainerId()]; err != nil {
		return nil, err
	}
	s, ok := f.status[req.GetContainerId()]
	if !ok {
		// What CRI-O and containerd answer for a container removed meanwhile.
		return nil, status.Errorf(codes.NotFound, "could not find container %q", req.GetContainerId())
	}
	if !req.GetVerbose() {
		return &rt.ContainerStatusResponse{Status: s.GetStatus()}, nil
	}
	return s, nil
}

// serve starts the fake on a unix socket and returns its endpoint.
func serve(t *testing.T, f *fakeRuntime) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "cri.sock")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer()
	rt.RegisterRuntimeServiceServer(s, f)
	go func() { _ = s.Serve(l) }()
	t.Cleanup(s.Stop)
	return "unix://" + path
}
