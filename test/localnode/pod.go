package localnode

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	rt "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// PodSpec describes a pod the way the kubelet hands it to the runtime.
type PodSpec struct {
	Name, Namespace string
	// InitContainers are restartable init containers (sidecars): started
	// first, in order, and left running, as the kubelet does for an init
	// container with restartPolicy Always.
	InitContainers []ContainerSpec
	Containers     []ContainerSpec
	// HostPID shares the node's pid namespace (the DaemonSet's pod).
	HostPID bool
}

// ContainerSpec is one container of a pod.
type ContainerSpec struct {
	Name  string
	Image string
	// Command and Args replace the image's entrypoint and cmd when set.
	Command, Args []string
	Env           []string // "KEY=value"
	WorkingDir    string
	// RunAsUser and RunAsGroup set the container's uid/gid when not nil.
	RunAsUser, RunAsGroup *int64
	// AddCapabilities are added to the default set, e.g. "SYS_PTRACE".
	AddCapabilities []string
	// DropAllCapabilities drops every capability (after AddCapabilities).
	DropAllCapabilities bool
	// Privileged and ReadOnlyRootfs are the securityContext fields of the
	// same names.
	Privileged, ReadOnlyRootfs bool
	// Mounts are bind mounts of node paths (a hostPath or emptyDir volume).
	Mounts []Mount
	// WaitFor is the name (comm) of a process that must run in the container
	// before RunPod returns: a wrapper shell or a launcher script is started
	// first, the workload a moment later.
	WaitFor string
}

// privileged says whether a container of the pod is: the runtime then wants
// the sandbox privileged too, as the kubelet asks.
func (spec PodSpec) privileged() bool {
	for _, c := range append(append([]ContainerSpec{}, spec.InitContainers...), spec.Containers...) {
		if c.Privileged {
			return true
		}
	}
	return false
}

// Mount is a bind mount of a node path into a container.
type Mount struct {
	HostPath, ContainerPath string
	ReadOnly                bool
}

// Pod is a running pod.
type Pod struct {
	Name, Namespace, UID string
	SandboxID            string
	// Containers in start order: init containers first.
	Containers []Container
	// sandbox is the config the pod was created with: the runtime wants it
	// again with every container created in the pod (RunContainer).
	sandbox *rt.PodSandboxConfig
}

// Container is a running container of a pod.
type Container struct {
	Name string
	// ID is the runtime's 64-hex id; Kubernetes shows it as
	// Node.KeyPrefix() + ID ("containerd://<ID>", "cri-o://<ID>").
	ID string
	// PID is the host pid of the container's init process.
	PID     int
	Sidecar bool
}

// ContainerIDs maps container names to their ids.
func (p *Pod) ContainerIDs() map[string]string {
	m := make(map[string]string, len(p.Containers))
	for _, c := range p.Containers {
		m[c.Name] = c.ID
	}
	return m
}

// Container returns the container with that name.
func (p *Pod) Container(name string) (Container, bool) {
	for _, c := range p.Containers {
		if c.Name == name {
			return c, true
		}
	}
	return Container{}, false
}

// RunPod creates the pod sandbox and its containers through CRI, as the
// kubelet does: sandbox metadata, io.kubernetes.* labels, host network (no
// CNI), a pid namespace per container (CRI-O then needs no infra container)
// with the pod's namespace options repeated in every container's config, and
// a cgroup parent for the runtime's cgroup manager (cgroupfs: under the
// node's own cgroup). On error the pod is removed again.
func (n *Node) RunPod(ctx context.Context, spec PodSpec) (*Pod, error) {
	uid, err := newUID()
	if err != nil {
		return nil, err
	}
	pod := &Pod{Name: spec.Name, Namespace: spec.Namespace, UID: uid}
	ns := &rt.NamespaceOption{Network: rt.NamespaceMode_NODE, Pid: rt.NamespaceMode_CONTAINER, Ipc: rt.NamespaceMode_POD}
	if spec.HostPID {
		ns.Pid = rt.NamespaceMode_NODE
	}
	logDir := filepath.Join(n.dir, "pods", fmt.Sprintf("%s_%s_%s", spec.Namespace, spec.Name, uid))
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return nil, err
	}
	podLabels := map[string]string{
		"io.kubernetes.pod.name":      spec.Name,
		"io.kubernetes.pod.namespace": spec.Namespace,
		"io.kubernetes.pod.uid":       uid,
	}
	cfg := &rt.PodSandboxConfig{
		Metadata: &rt.PodSandboxMetadata{Name: spec.Name, Namespace: spec.Namespace, Uid: uid},
		// Empty with host network: runc cannot set a hostname in the host's UTS namespace.
		Hostname:     "",
		LogDirectory: logDir,
		// Keep pods off the host's resolver, which they may not reach.
		DnsConfig:   &rt.DNSConfig{Servers: []string{"127.0.0.1"}},
		Labels:      podLabels,
		Annotations: map[string]string{"kubernetes.io/config.source": "api"},
		Linux: &rt.LinuxPodSandboxConfig{
			CgroupParent:    n.cgroupParent(uid),
			SecurityContext: &rt.LinuxSandboxSecurityContext{NamespaceOptions: ns, Privileged: spec.privileged()},
		},
	}
	resp, err := n.runtime.RunPodSandbox(ctx, &rt.RunPodSandboxRequest{Config: cfg})
	if err != nil {
		return nil, fmt.Errorf("run pod sandbox %s/%s: %w", spec.Namespace, spec.Name, err)
	}
	pod.SandboxID, pod.sandbox = resp.PodSandboxId, cfg
	n.notePod(pod.SandboxID, true)
	all := append(append([]ContainerSpec{}, spec.InitContainers...), spec.Containers...)
	for i, c := range all {
		sidecar := i < len(spec.InitContainers)
		ctr, err := n.startContainer(ctx, pod, cfg, ns, c, sidecar)
		if err != nil {
			rerr := n.RemovePod(context.WithoutCancel(ctx), pod)
			return nil, errors.Join(fmt.Errorf("pod %s/%s: %w", spec.Namespace, spec.Name, err), rerr)
		}
		pod.Containers = append(pod.Containers, ctr)
	}
	return pod, nil
}

// RunContainer starts one more container in a pod made by RunPod, after
// the pod's own containers, and adds it to pod.Containers. Tests use it to
// grow a pod step by step, e.g. until two container ids share a prefix.
func (n *Node) RunContainer(ctx context.Context, pod *Pod, spec ContainerSpec) (Container, error) {
	if pod == nil || pod.sandbox == nil {
		return Container{}, errors.New("run container: the pod was not started by RunPod")
	}
	ns := pod.sandbox.GetLinux().GetSecurityContext().GetNamespaceOptions()
	ctr, err := n.startContainer(ctx, pod, pod.sandbox, ns, spec, false)
	if err != nil {
		return Container{}, fmt.Errorf("pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	pod.Containers = append(pod.Containers, ctr)
	return ctr, nil
}

// StopContainer stops one container and leaves it in the pod, exited, as a
// container that finished: the runtime still lists it, no longer running.
// It is killed at once, as RemovePod does.
func (n *Node) StopContainer(ctx context.Context, id string) error {
	if _, err := n.runtime.StopContainer(ctx, &rt.StopContainerRequest{ContainerId: id, Timeout: 0}); err != nil {
		return fmt.Errorf("stop container %s: %w", id, err)
	}
	return nil
}

func (n *Node) startContainer(ctx context.Context, pod *Pod, sandbox *rt.PodSandboxConfig, ns *rt.NamespaceOption, c ContainerSpec, sidecar bool) (Container, error) {
	var envs []*rt.KeyValue
	for _, e := range c.Env {
		k, v, _ := strings.Cut(e, "=")
		envs = append(envs, &rt.KeyValue{Key: k, Value: []byte(v)})
	}
	sc := &rt.LinuxContainerSecurityContext{NamespaceOptions: ns}
	if c.RunAsUser != nil {
		sc.RunAsUser = &rt.Int64Value{Value: *c.RunAsUser}
	}
	if c.RunAsGroup != nil {
		sc.RunAsGroup = &rt.Int64Value{Value: *c.RunAsGroup}
	}
	if len(c.AddCapabilities) > 0 || c.DropAllCapabilities {
		sc.Capabilities = &rt.Capability{AddCapabilities: c.AddCapabilities}
		if c.DropAllCapabilities {
			sc.Capabilities.DropCapabilities = []string{"ALL"}
		}
	}
	sc.Privileged, sc.ReadonlyRootfs = c.Privileged, c.ReadOnlyRootfs
	var mounts []*rt.Mount
	for _, m := range c.Mounts {
		mounts = append(mounts, &rt.Mount{HostPath: m.HostPath, ContainerPath: m.ContainerPath, Readonly: m.ReadOnly})
	}
	annotations := map[string]string{
		"io.kubernetes.container.restartCount":             "0",
		"io.kubernetes.container.terminationMessagePath":   "/dev/termination-log",
		"io.kubernetes.container.terminationMessagePolicy": "File",
		"io.kubernetes.pod.terminationGracePeriod":         "30",
	}
	cfg := &rt.ContainerConfig{
		Metadata: &rt.ContainerMetadata{Name: c.Name},
		// As the kubelet: the image as the pod spec names it too (CRI-O
		// verifies its signature policy against it).
		Image:      &rt.ImageSpec{Image: c.Image, UserSpecifiedImage: c.Image},
		Command:    c.Command,
		Args:       c.Args,
		WorkingDir: c.WorkingDir,
		Envs:       envs,
		Mounts:     mounts,
		Labels: map[string]string{
			"io.kubernetes.container.name": c.Name,
			"io.kubernetes.pod.name":       pod.Name,
			"io.kubernetes.pod.namespace":  pod.Namespace,
			"io.kubernetes.pod.uid":        pod.UID,
		},
		Annotations: annotations,
		LogPath:     filepath.Join(c.Name, "0.log"),
		Linux:       &rt.LinuxContainerConfig{SecurityContext: sc},
	}
	// As the kubelet: the container's log directory exists before it is
	// created (conmon does not make it; containerd's shim does).
	if err := os.MkdirAll(filepath.Join(sandbox.LogDirectory, c.Name), 0o755); err != nil {
		return Container{}, err
	}
	created, err := n.runtime.CreateContainer(ctx, &rt.CreateContainerRequest{PodSandboxId: pod.SandboxID, Config: cfg, SandboxConfig: sandbox})
	if err != nil {
		return Container{}, fmt.Errorf("create container %s: %w", c.Name, err)
	}
	if _, err := n.runtime.StartContainer(ctx, &rt.StartContainerRequest{ContainerId: created.ContainerId}); err != nil {
		return Container{}, fmt.Errorf("start container %s: %w", c.Name, err)
	}
	pid, err := n.ContainerPID(ctx, created.ContainerId)
	if err != nil {
		return Container{}, err
	}
	if c.WaitFor != "" {
		if err := waitForProcess(ctx, pid, c.WaitFor, 2*time.Minute); err != nil {
			return Container{}, fmt.Errorf("container %s: %w; its log: %s", c.Name, err, n.containerLog(pod, c.Name))
		}
	}
	return Container{Name: c.Name, ID: created.ContainerId, PID: pid, Sidecar: sidecar}, nil
}

func (n *Node) containerLog(pod *Pod, name string) string {
	b, _ := os.ReadFile(filepath.Join(n.dir, "pods", fmt.Sprintf("%s_%s_%s", pod.Namespace, pod.Name, pod.UID), name, "0.log"))
	return tail(string(b), 1000)
}

// ContainerPID returns the host pid of a container's init process, from the
// verbose status (the CRI structs have no pid field).
func (n *Node) ContainerPID(ctx context.Context, id string) (int, error) {
	st, err := n.runtime.ContainerStatus(ctx, &rt.ContainerStatusRequest{ContainerId: id, Verbose: true})
	if err != nil {
		return 0, fmt.Errorf("container status %s: %w", id, err)
	}
	var info struct {
		PID int `json:"pid"`
	}
	if err := json.Unmarshal([]byte(st.Info["info"]), &info); err != nil || info.PID <= 0 {
		return 0, fmt.Errorf("no pid in the status of container %s (%v)", id, err)
	}
	return info.PID, nil
}

// ContainerRunning says whether the container is in the running state.
func (n *Node) ContainerRunning(ctx context.Context, id string) (bool, error) {
	st, err := n.runtime.ContainerStatus(ctx, &rt.ContainerStatusRequest{ContainerId: id})
	if err != nil {
		return false, fmt.Errorf("container status %s: %w", id, err)
	}
	return st.Status.State == rt.ContainerState_CONTAINER_RUNNING, nil
}

// ExecResult is the outcome of a command run in a container.
type ExecResult struct {
	Stdout, Stderr string
	ExitCode       int32
}

// ExecSync runs cmd inside a running container and waits for it, as
// `kubectl exec` does.
func (n *Node) ExecSync(ctx context.Context, id string, timeout time.Duration, cmd ...string) (ExecResult, error) {
	resp, err := n.runtime.ExecSync(ctx, &rt.ExecSyncRequest{ContainerId: id, Cmd: cmd, Timeout: int64(timeout / time.Second)})
	if err != nil {
		return ExecResult{}, fmt.Errorf("exec %q in %s: %w", cmd, id, err)
	}
	return ExecResult{Stdout: string(resp.Stdout), Stderr: string(resp.Stderr), ExitCode: resp.ExitCode}, nil
}

// RemovePod stops and removes a pod with its containers. Containers are
// killed at once: the samples do not need a graceful stop, and a shell or
// sleep as pid 1 would ignore SIGTERM anyway.
func (n *Node) RemovePod(ctx context.Context, pod *Pod) error {
	if pod == nil || pod.SandboxID == "" {
		return nil
	}
	return n.removeSandbox(ctx, pod.SandboxID)
}

func (n *Node) removeSandbox(ctx context.Context, id string) error {
	cs, err := n.runtime.ListContainers(ctx, &rt.ListContainersRequest{Filter: &rt.ContainerFilter{PodSandboxId: id}})
	if err != nil {
		return fmt.Errorf("list containers of %s: %w", id, err)
	}
	var errs []error
	for _, c := range cs.Containers {
		if _, err := n.runtime.StopContainer(ctx, &rt.StopContainerRequest{ContainerId: c.Id, Timeout: 0}); err != nil {
			errs = append(errs, fmt.Errorf("stop container %s: %w", c.Id, err))
		}
		if _, err := n.runtime.RemoveContainer(ctx, &rt.RemoveContainerRequest{ContainerId: c.Id}); err != nil {
			errs = append(errs, fmt.Errorf("remove container %s: %w", c.Id, err))
		}
	}
	if _, err := n.runtime.StopPodSandbox(ctx, &rt.StopPodSandboxRequest{PodSandboxId: id}); err != nil {
		errs = append(errs, fmt.Errorf("stop pod %s: %w", id, err))
	}
	if _, err := n.runtime.RemovePodSandbox(ctx, &rt.RemovePodSandboxRequest{PodSandboxId: id}); err != nil {
		errs = append(errs, fmt.Errorf("remove pod %s: %w", id, err))
	} else {
		n.notePod(id, false)
	}
	return errors.Join(errs...)
}

// waitForProcess waits until a process named comm runs in the process tree
// rooted at pid.
func waitForProcess(ctx context.Context, pid int, comm string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		if _, ok := FindInTree(pid, comm); ok {
			return nil
		}
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err != nil {
			return fmt.Errorf("its process %d exited before %q started", pid, comm)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no process %q after %s", comm, limit)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// FindInTree returns the host pid of the first process named comm in the
// tree rooted at pid (breadth first), following /proc/<pid>/task/*/children.
func FindInTree(pid int, comm string) (int, bool) {
	queue := []int{pid}
	for seen := 0; len(queue) > 0 && seen < 10000; seen++ {
		p := queue[0]
		queue = queue[1:]
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", p))
		if err == nil && strings.TrimSpace(string(b)) == comm {
			return p, true
		}
		tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", p))
		for _, t := range tasks {
			b, err := os.ReadFile(t)
			if err != nil {
				continue
			}
			for _, f := range strings.Fields(string(b)) {
				if c, err := strconv.Atoi(f); err == nil {
					queue = append(queue, c)
				}
			}
		}
	}
	return 0, false
}

// newUID makes a pod uid shaped like Kubernetes' (a random UUID).
func newUID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]), nil
}
