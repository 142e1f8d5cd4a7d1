// Package cri lists the containers running on this node through the
// Container Runtime Interface (k8s.io/cri-api v1 over gRPC), the same API the
// kubelet uses, so that every container is named exactly as Kubernetes names
// it: "<runtime>://<id>", with its pod name, pod namespace and host pid.
//
// It speaks to CRI-O and containerd alike and never shells out to crictl.
package cri

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	rt "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// EndpointEnv is the environment variable read when no endpoint is given; the
// kubelet and crictl use the same name.
const EndpointEnv = "CONTAINER_RUNTIME_ENDPOINT"

// DefaultEndpoints returns the sockets tried in order when neither an
// endpoint nor $CONTAINER_RUNTIME_ENDPOINT is set: CRI-O first because
// OpenShift nodes run it.
func DefaultEndpoints() []string {
	return []string{
		"unix:///run/crio/crio.sock",
		"unix:///run/containerd/containerd.sock",
	}
}

const (
	// defaultCallTimeout bounds every single CRI call: a runtime that does
	// not answer in that time is treated as unavailable.
	defaultCallTimeout = 10 * time.Second
	// defaultProbeTimeout bounds the Version call used to choose among the
	// default sockets, so a dead default socket does not stall the scan.
	defaultProbeTimeout = 3 * time.Second
	// defaultConcurrency bounds the ContainerStatus calls in flight: enough
	// to hide the round trips, small enough not to load the runtime.
	defaultConcurrency = 4
	// maxMessageSize bounds what the runtime may send in one answer. A
	// verbose ContainerStatus carries the OCI spec (a few KiB); 16 MiB leaves
	// room for ListContainers on a node with thousands of containers.
	maxMessageSize = 16 << 20
)

// Container is one running container as the kubelet sees it.
type Container struct {
	ID           string // the runtime's id: 64 hex digits on CRI-O and containerd
	Name         string // container name in its pod (metadata.name)
	PodName      string
	PodNamespace string
	PodUID       string
	Runtime      string // the runtime's name from Version: "cri-o", "containerd"
	PID          int    // the container's init process, in the host's pid namespace
}

// Key returns the container id exactly as Kubernetes shows it in
// pod.status.containerStatuses[].containerID: the kubelet joins the runtime
// name from Version and the container id with "://".
func (c Container) Key() string {
	return c.Runtime + "://" + c.ID
}

// Option changes how a Client behaves.
type Option func(*options)

type options struct {
	log         *slog.Logger
	callTimeout time.Duration
	concurrency int
	env         func(string) string
	defaults    []string
}

// WithLogger sets the logger for what the client skips (containers that
// vanished, answers it cannot use). The default discards.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) {
		if l != nil {
			o.log = l
		}
	}
}

// WithCallTimeout sets the deadline of each CRI call (default 10s).
func WithCallTimeout(d time.Duration) Option {
	return func(o *options) {
		if d > 0 {
			o.callTimeout = d
		}
	}
}

// WithConcurrency sets how many ContainerStatus calls may be in flight at once (default 4).
func WithConcurrency(n int) Option {
	return func(o *options) {
		if n > 0 {
			o.concurrency = n
		}
	}
}

// Client is a connection to one container runtime.
type Client struct {
	conn     *grpc.ClientConn
	rs       rt.RuntimeServiceClient
	endpoint string
	runtime  string
	version  string
	opts     options
}

// Dial connects to the container runtime. The endpoint is "unix:///path" (or
// an absolute socket path); when empty, $CONTAINER_RUNTIME_ENDPOINT is used,
// and when that is empty too, the first of DefaultEndpoints() that answers.
// Dial calls Version to learn the runtime's name, which prefixes container keys.
func Dial(ctx context.Context, endpoint string, opts ...Option) (*Client, error) {
	o := options{
		log:         slog.New(slog.DiscardHandler),
		callTimeout: defaultCallTimeout,
		concurrency: defaultConcurrency,
		env:         os.Getenv,
		defaults:    DefaultEndpoints(),
	}
	for _, opt := range opts {
		opt(&o)
	}
	if endpoint == "" {
		endpoint = strings.TrimSpace(o.env(EndpointEnv))
	}
	if endpoint != "" {
		return dialOne(ctx, endpoint, o, o.callTimeout)
	}
	var errs []error
	for _, ep := range o.defaults {
		c, err := dialOne(ctx, ep, o, min(o.callTimeout, defaultProbeTimeout))
		if err == nil {
			return c, nil
		}
		o.log.Debug("container runtime endpoint not usable", "endpoint", ep, "error", err)
		errs = append(errs, err)
	}
	return nil, fmt.Errorf("no container runtime answers on the default sockets (set -runtime-endpoint or $%s): %w",
		EndpointEnv, errors.Join(errs...))
}

func dialOne(ctx context.Context, endpoint string, o options, versionTimeout time.Duration) (*Client, error) {
	path, err := socketPath(endpoint)
	if err != nil {
		return nil, err
	}
	// Connecting once by hand first turns the three common failures into
	// errors that say what happened; gRPC would report them all as
	// "Unavailable" with the cause only in the message text.
	if err := probeSocket(ctx, path, versionTimeout); err != nil {
		return nil, fmt.Errorf("container runtime at %s: %w", endpoint, err)
	}
	conn, err := grpc.NewClient("unix://"+path,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxMessageSize)),
	)
	if err != nil {
		return nil, fmt.Errorf("container runtime at %s: %w", endpoint, err)
	}
	c := &Client{conn: conn, rs: rt.NewRuntimeServiceClient(conn), endpoint: endpoint, opts: o}
	vctx, cancel := context.WithTimeout(ctx, versionTimeout)
	defer cancel()
	v, err := c.rs.Version(vctx, &rt.VersionRequest{})
	if err != nil {
		_ = conn.Close()
		return nil, wrapCall(endpoint, "Version", err)
	}
	name := v.GetRuntimeName()
	if !validRuntimeName(name) {
		_ = conn.Close()
		return nil, fmt.Errorf("container runtime at %s: Version: runtime name %q: %w", endpoint, name, ErrBadResponse)
	}
	c.runtime, c.version = name, v.GetRuntimeVersion()
	o.log.Debug("connected to container runtime", "endpoint", endpoint, "runtime", name, "version", c.version)
	return c, nil
}

// socketPath accepts "unix:///abs/path" and "/abs/path", the forms the kubelet accepts.
func socketPath(endpoint string) (string, error) {
	path := endpoint
	if scheme, rest, ok := strings.Cut(endpoint, "://"); ok {
		if scheme != "unix" {
			return "", fmt.Errorf("container runtime endpoint %q: only unix:// sockets are supported", endpoint)
		}
		path = rest
	}
	if !strings.HasPrefix(path, "/") {
		return "", fmt.Errorf("container runtime endpoint %q: want unix:///absolute/path", endpoint)
	}
	return path, nil
}

// validRuntimeName keeps the key "<runtime>://<id>" parseable: the name is
// one short token, as "cri-o" and "containerd" are.
func validRuntimeName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

// Runtime returns the runtime's name from Version ("cri-o", "containerd").
func (c *Client) Runtime() string { return c.runtime }

// RuntimeVersion returns the runtime's version from Version.
func (c *Client) RuntimeVersion() string { return c.version }

// Endpoint returns the endpoint the client is connected to.
func (c *Client) Endpoint() string { return c.endpoint }

// Close closes the connection.
func (c *Client) Close() error {
	if err := c.conn.Close(); err != nil {
		return fmt.Errorf("close connection to %s: %w", c.endpoint, err)
	}
	return nil
}

// KnownPIDs answers, for a container key ("<runtime>://<id>", as
// Container.Key), the host pid of its init that the caller already knows.
type KnownPIDs func(key string) (pid int, ok bool)

// RunningContainers returns every running container of the node, init and
// sidecar containers included, with its pod and host pid. It makes one
// ListContainers, one ListPodSandbox and one verbose ContainerStatus per
// container whose pid known does not give (known may be nil): the status
// call, the bulk of a scan's runtime time, serves only to learn the pid, and
// a container's init never changes while its id lives. A pid from known is
// returned as is: the caller must check it still names the container's init,
// and ask ContainerPID when it does not.
// A container that stops or disappears meanwhile, or whose status cannot be
// used, is left out and logged; the scan fails only when the runtime itself
// fails: a list call, or every status call.
func (c *Client) RunningContainers(ctx context.Context, known KnownPIDs) ([]Container, error) {
	// Containers first, then sandboxes: a container's sandbox exists before
	// the container is created, so every listed container finds its sandbox
	// unless both were removed in between.
	lctx, cancel := context.WithTimeout(ctx, c.opts.callTimeout)
	lc, err := c.rs.ListContainers(lctx, &rt.ListContainersRequest{Filter: &rt.ContainerFilter{
		State: &rt.ContainerStateValue{State: rt.ContainerState_CONTAINER_RUNNING},
	}})
	cancel()
	if err != nil {
		return nil, wrapCall(c.endpoint, "ListContainers", err)
	}
	sctx, cancel := context.WithTimeout(ctx, c.opts.callTimeout)
	ls, err := c.rs.ListPodSandbox(sctx, &rt.ListPodSandboxRequest{})
	cancel()
	if err != nil {
		return nil, wrapCall(c.endpoint, "ListPodSandbox", err)
	}
	pids, err := c.pids(ctx, lc.GetContainers(), known)
	if err != nil {
		return nil, err
	}
	return assemble(c.runtime, lc.GetContainers(), ls.GetItems(), pids, c.opts.log), nil
}

// pids asks ContainerStatus(verbose) of every running container whose pid
// known does not give, a few at a time, and returns the host pid of those
// that answered with one, and of the known ones. It fails when the context
// ends or when no pid is known, no call succeeded and at least one failed
// for a reason other than the container being gone: then the runtime, not
// a container, is the problem.
func (c *Client) pids(ctx context.Context, ctrs []*rt.Container, known KnownPIDs) (map[string]int, error) {
	var (
		mu       sync.Mutex
		wg       sync.WaitGroup
		sem      = make(chan struct{}, c.opts.concurrency)
		pids     = make(map[string]int, len(ctrs))
		firstErr error
	)
	for _, ctr := range ctrs {
		if ctr.GetState() != rt.ContainerState_CONTAINER_RUNNING {
			continue // a runtime that ignores the state filter
		}
		id := ctr.GetId()
		if known != nil {
			if pid, ok := known(c.runtime + "://" + id); ok && pid > 0 {
				mu.Lock() // status calls of other containers may be writing
				pids[id] = pid
				mu.Unlock()
				continue
			}
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			pid, err := c.ContainerPID(ctx, id)
			key := c.runtime + "://" + id
			switch {
			case errors.Is(err, ErrContainerGone):
				c.opts.log.Info("container skipped: it stopped during the scan", "container", key, "error", err)
				return
			case err != nil:
				c.opts.log.Warn("container skipped", "container", key, "error", err)
				mu.Lock()
				if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
				return
			}
			mu.Lock()
			pids[id] = pid
			mu.Unlock()
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("list running containers: %w", err)
	}
	if len(pids) == 0 && firstErr != nil {
		return nil, fmt.Errorf("list running containers: no container status could be read: %w", firstErr)
	}
	return pids, nil
}

// ContainerPID reads the host pid of the container's init from its verbose
// ContainerStatus. The error wraps ErrContainerGone when the container no
// longer runs.
func (c *Client) ContainerPID(ctx context.Context, id string) (int, error) {
	cctx, cancel := context.WithTimeout(ctx, c.opts.callTimeout)
	defer cancel()
	st, err := c.rs.ContainerStatus(cctx, &rt.ContainerStatusRequest{ContainerId: id, Verbose: true})
	if err != nil {
		return 0, wrapCall(c.endpoint, "ContainerStatus "+id, err)
	}
	if s := st.GetStatus().GetState(); s != rt.ContainerState_CONTAINER_RUNNING {
		return 0, fmt.Errorf("ContainerStatus %s: state %s: %w", id, s, ErrContainerGone)
	}
	pid, err := pidFromInfo(st.GetInfo())
	if err != nil {
		return 0, fmt.Errorf("ContainerStatus %s: %w", id, err)
	}
	return pid, nil
}
