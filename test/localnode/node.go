package localnode

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	rt "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/openshift/insights-runtime-extractor/test/debpkg"
)

// ImagePrefix names every image the harness builds: "<prefix><sample>:e2e".
const ImagePrefix = "localhost/insights-runtime-extractor/"

// PauseImage is the sandbox image: built locally from runtime-samples/pause,
// never pulled.
const PauseImage = ImagePrefix + "pause:e2e"

// Options configure a private node.
type Options struct {
	// Runtime is the container runtime to run: Containerd (also when
	// empty) or CRIO.
	Runtime Runtime
	// Dir holds the runtime's root, state, logs and the pods' logs. Empty: a
	// new directory under /var/tmp. Stop removes it either way.
	Dir string
	// CRIO, when set with Runtime CRIO, attaches to a CRI-O that is already
	// running (started by systemd, say) instead of starting a private one.
	CRIO *CRIOAttach
	// Log receives progress; nil discards it.
	Log *slog.Logger
}

// Node is a running container runtime with its CRI API: a private
// containerd or CRI-O, or an attached CRI-O.
type Node struct {
	kind   Runtime
	id     string
	dir    string
	runDir string
	log    *slog.Logger
	cmd    *exec.Cmd
	exited chan error
	// stopReaping ends reapAdoptedContainerZombies.
	stopReaping chan struct{}
	conn        *grpc.ClientConn
	runtime     rt.RuntimeServiceClient
	// crio is set on a CRI-O node.
	crio *crioNode
}

// Start starts a private node of opts.Runtime (see startContainerd and
// startCRIO), or attaches to a running CRI-O (opts.CRIO). Stop it with
// Stop, also when a later step fails.
func Start(ctx context.Context, opts Options) (*Node, error) {
	if os.Geteuid() != 0 {
		return nil, errors.New("a local node needs root")
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	kind, err := ParseRuntime(string(opts.Runtime))
	if err != nil {
		return nil, err
	}
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	n := &Node{kind: kind, id: "ire-" + hex.EncodeToString(b[:]), log: log, exited: make(chan error, 1)}
	switch {
	case kind == CRIO && opts.CRIO != nil:
		return n.attachCRIO(ctx, opts)
	case kind == CRIO:
		return n.startCRIO(ctx, opts)
	case opts.CRIO != nil:
		return nil, errors.New("options: CRIO (attach) needs Runtime crio")
	}
	return n.startContainerd(ctx, opts)
}

// startContainerd installs containerd and runc when missing and starts a
// private containerd: its own config, root, state, socket and runc root, the
// CRI plugin configured for this kind of machine (see research/containerd.md:
// no systemd, no CAP_SYS_RESOURCE) and sandboxes from PauseImage.
func (n *Node) startContainerd(ctx context.Context, opts Options) (*Node, error) {
	log := n.log
	if err := debpkg.Ensure(ctx, log, "containerd", "runc"); err != nil {
		return nil, err
	}
	// The socket path must stay under 108 bytes: keep it short under /run.
	n.runDir = filepath.Join("/run", n.id)
	n.dir = opts.Dir
	if err := n.makeDirs(); err != nil {
		return nil, err
	}
	cfgPath := filepath.Join(n.dir, "containerd.toml")
	if err := os.WriteFile(cfgPath, []byte(n.config()), 0o600); err != nil {
		return nil, err
	}
	if err := n.startDaemon(ctx, exec.Command("containerd", "--config", cfgPath)); err != nil {
		return nil, err
	}
	return n, nil
}

// makeDirs creates the node's directories: Dir (a new one under /var/tmp
// when it is empty) and the short one under /run for the sockets.
func (n *Node) makeDirs() error {
	if n.dir == "" {
		d, err := os.MkdirTemp("/var/tmp", n.id+"-")
		if err != nil {
			return err
		}
		n.dir = d
	}
	for _, d := range []string{n.runDir, n.dir} {
		if d == "" {
			continue
		}
		if err := os.MkdirAll(d, 0o700); err != nil {
			return err
		}
	}
	return nil
}

// startDaemon starts the runtime's daemon with its output in the node's
// log and waits until its CRI socket answers. On error the node is stopped.
func (n *Node) startDaemon(ctx context.Context, cmd *exec.Cmd) error {
	logf, err := os.Create(n.logPath())
	if err != nil {
		n.cleanupDirs()
		return err
	}
	defer logf.Close()
	// containerd daemonizes its shims, CRI-O its conmons: make this process
	// their reaper, so that Stop can wait for them instead of leaving
	// zombies to a PID 1 that may reap late (research/containerd.md).
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		n.cleanupDirs()
		return fmt.Errorf("become subreaper: %w", err)
	}
	n.cmd = cmd
	n.cmd.Stdout, n.cmd.Stderr = logf, logf
	// Its own process group: a Ctrl-C on the terminal reaches the test, which
	// then tears the node down in order, instead of killing the runtime first.
	n.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := n.cmd.Start(); err != nil {
		n.cmd = nil
		n.cleanupDirs()
		return fmt.Errorf("start %s: %w", n.kind, err)
	}
	go func() { n.exited <- n.cmd.Wait() }()
	n.stopReaping = make(chan struct{})
	go reapAdoptedContainerZombies(n.stopReaping)
	if err := n.connect(ctx); err != nil {
		n.Stop()
		return err
	}
	n.log.Info(string(n.kind)+" started", "socket", n.Socket(), "dir", n.dir)
	return nil
}

// logPath is the daemon's output.
func (n *Node) logPath() string { return filepath.Join(n.dir, string(n.kind)+".log") }

// config is containerd's configuration; every path is private to this node.
func (n *Node) config() string {
	return fmt.Sprintf(`version = 2
root = %[1]q
state = %[2]q

[grpc]
  address = %[3]q
[ttrpc]
  address = %[4]q
[debug]
  level = "info"

[plugins]
  [plugins."io.containerd.internal.v1.opt"]
    path = %[5]q
  [plugins."io.containerd.grpc.v1.cri"]
    sandbox_image = %[6]q
    disable_apparmor = true
    # This machine lacks CAP_SYS_RESOURCE: runc cannot lower oom_score_adj.
    restrict_oom_score_adj = true
    [plugins."io.containerd.grpc.v1.cri".containerd]
      snapshotter = "overlayfs"
      default_runtime_name = "runc"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
        runtime_type = "io.containerd.runc.v2"
        [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
          # No systemd here: the cgroupfs driver.
          SystemdCgroup = false
          Root = %[7]q
    [plugins."io.containerd.grpc.v1.cri".cni]
      # Pods use the host network: no CNI network is ever created.
      conf_dir = %[8]q
`, filepath.Join(n.dir, "root"), filepath.Join(n.dir, "state"), n.Socket(), n.Socket()+".ttrpc",
		filepath.Join(n.dir, "opt"), PauseImage, filepath.Join(n.runDir, "runc"), filepath.Join(n.dir, "cni"))
}

func (n *Node) connect(ctx context.Context) error {
	conn, err := grpc.NewClient("unix://"+n.Socket(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return fmt.Errorf("dial %s: %w", n.kind, err)
	}
	n.conn, n.runtime = conn, rt.NewRuntimeServiceClient(conn)
	deadline := time.Now().Add(30 * time.Second)
	for {
		cctx, cancel := context.WithTimeout(ctx, time.Second)
		_, err := n.runtime.Version(cctx, &rt.VersionRequest{})
		cancel()
		if err == nil {
			return nil
		}
		select {
		case werr := <-n.exited:
			n.exited <- werr
			return fmt.Errorf("%s exited at start (%v): %s", n.kind, werr, n.logTail())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s does not answer on %s: %v: %s", n.kind, n.Socket(), err, n.logTail())
		}
	}
}

func (n *Node) logTail() string {
	b, _ := os.ReadFile(n.logPath())
	return tail(string(b), 1500)
}

// Socket is the path of the runtime's CRI socket.
func (n *Node) Socket() string {
	if n.crio != nil {
		return n.crio.socket
	}
	return filepath.Join(n.runDir, "c.sock")
}

// Endpoint is the CRI endpoint, as passed to -runtime-endpoint.
func (n *Node) Endpoint() string { return "unix://" + n.Socket() }

// ID names this node; on a cgroupfs node its pods' cgroups live under /<ID>.
func (n *Node) ID() string { return n.id }

// Dir is the node's scratch directory.
func (n *Node) Dir() string { return n.dir }

// Kind is the node's container runtime.
func (n *Node) Kind() Runtime { return n.kind }

// KeyPrefix is what Kubernetes puts before a container id of this node's
// runtime in pod.status.containerStatuses[].containerID: "cri-o://" or
// "containerd://".
func (n *Node) KeyPrefix() string { return n.kind.KeyPrefix() }

// Runtime is the CRI runtime service of the node, for calls the harness
// does not wrap.
func (n *Node) Runtime() rt.RuntimeServiceClient { return n.runtime }

// Import loads a docker-format image archive (Images.Archive: every image
// of a Builder) into the runtime's image store; CRI-O also takes the OCI
// layout directory (Images.Layout), which it imports faster.
func (n *Node) Import(ctx context.Context, tarPath string) error {
	start := time.Now()
	var err error
	if n.crio != nil {
		err = n.importCRIO(ctx, tarPath)
	} else {
		err = runQuiet(ctx, "ctr", "-a", n.Socket(), "-n", "k8s.io", "images", "import", tarPath)
	}
	if err != nil {
		return fmt.Errorf("import %s: %w", tarPath, err)
	}
	n.log.Info("images imported", "runtime", n.kind, "archive", filepath.Base(tarPath), "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// Stop removes every pod (on an attached CRI-O: the pods this Node made),
// stops the runtime it started with its shims or conmons, and removes its
// directories, leftover mounts and the pods' cgroups. It is safe to call
// more than once.
func (n *Node) Stop() error {
	if n == nil {
		return nil
	}
	var errs []error
	start := time.Now()
	if n.runtime != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		if err := n.removeAllPods(ctx); err != nil {
			errs = append(errs, err)
		}
		cancel()
		n.conn.Close()
		n.runtime, n.conn = nil, nil
		n.log.Debug("pods removed", "took", time.Since(start))
	}
	if n.stopReaping != nil {
		close(n.stopReaping)
		n.stopReaping = nil
	}
	if n.cmd != nil && n.cmd.Process != nil {
		n.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-n.exited:
		case <-time.After(20 * time.Second):
			n.cmd.Process.Kill()
			<-n.exited
		}
		n.cmd = nil
		n.log.Debug(string(n.kind)+" stopped", "took", time.Since(start))
	}
	if !n.attached() {
		// What a failed removal left: processes in the node's cgroups, then
		// the monitors (shims, conmons) this process adopted.
		killCgroupProcs(n.id)
		if err := reapMonitors(10 * time.Second); err != nil {
			errs = append(errs, err)
		}
	}
	errs = append(errs, n.cleanupDirs())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("stop node %s: %w", n.id, err)
	}
	n.log.Info("node stopped and cleaned up", "id", n.id, "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// KeepLogEnv names a directory where Stop copies the runtime's own log
// (<node id>-<runtime>.log) before removing the node's directories: what to
// read when the runtime refused something.
const KeepLogEnv = "IRE_NODE_KEEP_LOG"

func (n *Node) keepLog() {
	dir := os.Getenv(KeepLogEnv)
	if dir == "" || n.dir == "" {
		return
	}
	if b, err := os.ReadFile(n.logPath()); err == nil && os.MkdirAll(dir, 0o755) == nil {
		os.WriteFile(filepath.Join(dir, n.id+"-"+string(n.kind)+".log"), b, 0o644)
	}
}

// cgroupParent is the cgroup parent of the pod with that uid.
func (n *Node) cgroupParent(uid string) string {
	if n.crio != nil {
		return cgroupParent(n.crio.cgroupManager, n.id, uid)
	}
	return cgroupParent("cgroupfs", n.id, uid)
}

// attached says whether the node uses a runtime it did not start.
func (n *Node) attached() bool { return n.crio != nil && n.crio.attach }

func (n *Node) removeAllPods(ctx context.Context) error {
	resp, err := n.runtime.ListPodSandbox(ctx, &rt.ListPodSandboxRequest{})
	if err != nil {
		return fmt.Errorf("list pods: %w", err)
	}
	var errs []error
	for _, p := range resp.Items {
		if n.attached() && !n.ownsPod(p.Id) {
			continue // not ours: the runtime is shared
		}
		errs = append(errs, n.removeSandbox(ctx, p.Id))
		if n.attached() && n.crio.cgroupManager == "systemd" {
			// As the kubelet does: the pod's slice goes with the pod.
			// (Not exercised here: no systemd on the test machines.)
			slice := cgroupParent("systemd", n.id, p.GetMetadata().GetUid())
			if err := runQuiet(ctx, "systemctl", "stop", slice); err != nil {
				n.log.Warn("pod slice not stopped", "slice", slice, "err", err)
			}
		}
	}
	return errors.Join(errs...)
}

// cleanupDirs unmounts what is left under the node's directories, removes
// them and removes the node's cgroups in every hierarchy.
func (n *Node) cleanupDirs() error {
	var dirs []string
	for _, d := range []string{n.runDir, n.dir} {
		if d != "" && d != "/" {
			dirs = append(dirs, d)
		}
	}
	var errs []error
	for _, m := range mountsUnder(dirs...) {
		if err := unix.Unmount(m, unix.MNT_DETACH); err != nil {
			errs = append(errs, fmt.Errorf("unmount %s: %w", m, err))
		}
	}
	n.keepLog()
	for _, d := range dirs {
		if err := os.RemoveAll(d); err != nil {
			errs = append(errs, err)
		}
	}
	if n.crio == nil || n.crio.cgroupManager == "cgroupfs" {
		// The pods' cgroups are under /<id>, also on an attached cgroupfs CRI-O.
		errs = append(errs, removeCgroups(n.id))
	}
	return errors.Join(errs...)
}

// mountsUnder lists mount points below the given directories, deepest first.
func mountsUnder(dirs ...string) []string {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		mp := unescapeMount(fields[4])
		for _, d := range dirs {
			if strings.HasPrefix(mp, d+"/") {
				out = append(out, mp)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out
}

// unescapeMount decodes the octal escapes of /proc/self/mountinfo.
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			var v int
			if _, err := fmt.Sscanf(s[i+1:i+4], "%03o", &v); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// removeCgroups removes /<name> and everything below it in every cgroup
// hierarchy (v1 controllers and the unified v2 tree), deepest first: the
// runtime leaves the empty pod and container cgroups behind.
func removeCgroups(name string) error {
	roots, _ := filepath.Glob("/sys/fs/cgroup/*")
	roots = append(roots, "/sys/fs/cgroup")
	var errs []error
	for _, r := range roots {
		top := filepath.Join(r, name)
		if _, err := os.Stat(top); err != nil {
			continue
		}
		var dirs []string
		filepath.WalkDir(top, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		for i := len(dirs) - 1; i >= 0; i-- {
			if err := rmdirRetry(dirs[i]); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// rmdirRetry retries a little: a cgroup stays busy for a moment after its
// last process was reaped.
func rmdirRetry(p string) error {
	var err error
	for i := 0; i < 50; i++ {
		if err = unix.Rmdir(p); err == nil || errors.Is(err, unix.ENOENT) {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("remove cgroup %s: %w", p, err)
}

// monitorComms are the names of the per-container monitor processes the
// runtimes daemonize: containerd's shims and CRI-O's conmon.
var monitorComms = []string{"containerd-shim", "conmon"}

// reapMonitors waits for the monitors (containerd shims, conmons) this
// process adopted as their subreaper: they exit once their containers are
// gone. One still running at the deadline (its pod could not be removed) is
// killed, and reaped too.
func reapMonitors(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	killed := false
	for {
		mons := adoptedMonitors()
		if len(mons) == 0 {
			return nil
		}
		for _, pid := range mons {
			var ws unix.WaitStatus
			unix.Wait4(pid, &ws, unix.WNOHANG, nil)
		}
		if time.Now().After(deadline) {
			if killed {
				return fmt.Errorf("container monitors %v do not exit", mons)
			}
			for _, pid := range mons {
				unix.Kill(pid, unix.SIGKILL)
			}
			killed, deadline = true, time.Now().Add(limit)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// reapAdoptedContainerZombies reaps, until the node stops, the
// zombies this process adopted as subreaper that live in a container's pid
// namespace: a fingerprint helper whose coordinator died first lands here,
// and until it is reaped its container's init cannot finish exiting, so that
// stopping that container hangs. Our own children (the daemon, the product's
// binaries) live in this pid namespace and are never touched: their
// exec.Cmd waits for them.
func reapAdoptedContainerZombies(stop <-chan struct{}) {
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	self := os.Getpid()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		for _, p := range Procs() {
			if p.PPID != self || !zombieInChildNamespace(p.PID) {
				continue
			}
			var ws unix.WaitStatus
			unix.Wait4(p.PID, &ws, unix.WNOHANG, nil)
		}
	}
}

// zombieInChildNamespace reports whether pid is a zombie with a pid in a
// nested pid namespace (two or more NSpid entries).
func zombieInChildNamespace(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return false
	}
	zombie, nested := false, false
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "State:"); ok {
			zombie = strings.HasPrefix(strings.TrimSpace(v), "Z")
		}
		if v, ok := strings.CutPrefix(line, "NSpid:"); ok {
			nested = len(strings.Fields(v)) > 1
		}
	}
	return zombie && nested
}

// adoptedMonitors lists this process's children that are container
// monitors (monitorComms).
func adoptedMonitors() []int {
	self := os.Getpid()
	var out []int
	for _, p := range Procs() {
		if p.PPID != self {
			continue
		}
		for _, c := range monitorComms {
			if strings.HasPrefix(p.Comm, c) {
				out = append(out, p.PID)
				break
			}
		}
	}
	return out
}

// killCgroupProcs kills every process left in /<name> or below, in every
// cgroup hierarchy: a container whose removal failed must not outlive the
// node (nor keep its cgroup busy).
func killCgroupProcs(name string) {
	roots, _ := filepath.Glob("/sys/fs/cgroup/*")
	roots = append(roots, "/sys/fs/cgroup")
	for _, r := range roots {
		top := filepath.Join(r, name)
		if _, err := os.Stat(top); err != nil {
			continue
		}
		filepath.WalkDir(top, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || d.Name() != "cgroup.procs" {
				return nil
			}
			b, _ := os.ReadFile(p)
			for _, f := range strings.Fields(string(b)) {
				if pid, err := strconv.Atoi(f); err == nil && pid > 1 && pid != os.Getpid() {
					unix.Kill(pid, unix.SIGKILL)
				}
			}
			return nil
		})
	}
}
