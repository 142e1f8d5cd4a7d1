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

	"github.com/openshift/insights-runtime-extractor/internal/debpkg"
)

// ImagePrefix names every image the harness builds: "<prefix><sample>:e2e".
const ImagePrefix = "localhost/insights-runtime-extractor/"

// PauseImage is the sandbox image: built locally from runtime-samples/pause,
// never pulled.
const PauseImage = ImagePrefix + "pause:e2e"

// Options configure a private containerd.
type Options struct {
	// Dir holds containerd's root, state, logs and the pods' logs. Empty: a
	// new directory under /var/tmp. Stop removes it either way.
	Dir string
	// Log receives progress; nil discards it.
	Log *slog.Logger
}

// Node is a running private containerd with its CRI plugin.
type Node struct {
	id      string
	dir     string
	runDir  string
	log     *slog.Logger
	cmd     *exec.Cmd
	exited  chan error
	conn    *grpc.ClientConn
	runtime rt.RuntimeServiceClient
}

// Start installs containerd and runc when missing and starts a private
// containerd: its own config, root, state, socket and runc root, the CRI
// plugin configured for this kind of machine (see research/containerd.md:
// no systemd, no CAP_SYS_RESOURCE) and sandboxes from PauseImage. Stop it
// with Stop, also when a later step fails.
func Start(ctx context.Context, opts Options) (*Node, error) {
	if os.Geteuid() != 0 {
		return nil, errors.New("a local node needs root")
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := debpkg.Ensure(ctx, log, "containerd", "runc"); err != nil {
		return nil, err
	}
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	n := &Node{id: "ire-" + hex.EncodeToString(b[:]), log: log, exited: make(chan error, 1)}
	// The socket path must stay under 108 bytes: keep it short under /run.
	n.runDir = filepath.Join("/run", n.id)
	n.dir = opts.Dir
	if n.dir == "" {
		d, err := os.MkdirTemp("/var/tmp", n.id+"-")
		if err != nil {
			return nil, err
		}
		n.dir = d
	}
	for _, d := range []string{n.runDir, n.dir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	cfgPath := filepath.Join(n.dir, "containerd.toml")
	if err := os.WriteFile(cfgPath, []byte(n.config()), 0o600); err != nil {
		return nil, err
	}
	logf, err := os.Create(filepath.Join(n.dir, "containerd.log"))
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	// containerd daemonizes its shims: make this process their reaper, so
	// that Stop can wait for them instead of leaving zombies to a PID 1 that
	// may reap late (research/containerd.md).
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return nil, fmt.Errorf("become subreaper: %w", err)
	}
	n.cmd = exec.Command("containerd", "--config", cfgPath)
	n.cmd.Stdout, n.cmd.Stderr = logf, logf
	// Its own process group: a Ctrl-C on the terminal reaches the test, which
	// then tears the node down in order, instead of killing containerd first.
	n.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := n.cmd.Start(); err != nil {
		n.cleanupDirs()
		return nil, fmt.Errorf("start containerd: %w", err)
	}
	go func() { n.exited <- n.cmd.Wait() }()
	if err := n.connect(ctx); err != nil {
		n.Stop()
		return nil, err
	}
	log.Info("containerd started", "socket", n.Socket(), "dir", n.dir)
	return n, nil
}

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
		return fmt.Errorf("dial containerd: %w", err)
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
			return fmt.Errorf("containerd exited at start (%v): %s", werr, n.logTail())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("containerd does not answer on %s: %v: %s", n.Socket(), err, n.logTail())
		}
	}
}

func (n *Node) logTail() string {
	b, _ := os.ReadFile(filepath.Join(n.dir, "containerd.log"))
	return tail(string(b), 1500)
}

// Socket is the path of containerd's CRI socket.
func (n *Node) Socket() string { return filepath.Join(n.runDir, "c.sock") }

// Endpoint is the CRI endpoint, as passed to -runtime-endpoint.
func (n *Node) Endpoint() string { return "unix://" + n.Socket() }

// ID names this node; its pods' cgroups live under /<ID>.
func (n *Node) ID() string { return n.id }

// Dir is the node's scratch directory.
func (n *Node) Dir() string { return n.dir }

// Runtime is the CRI runtime service of the node, for calls the harness
// does not wrap.
func (n *Node) Runtime() rt.RuntimeServiceClient { return n.runtime }

// Import loads an image archive (docker or OCI tar) into the CRI namespace.
func (n *Node) Import(ctx context.Context, tarPath string) error {
	start := time.Now()
	if err := runQuiet(ctx, "ctr", "-a", n.Socket(), "-n", "k8s.io", "images", "import", tarPath); err != nil {
		return fmt.Errorf("import %s: %w", tarPath, err)
	}
	n.log.Info("images imported", "archive", filepath.Base(tarPath), "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// Stop removes every pod, stops containerd and removes its directories,
// leftover mounts and the pods' cgroups. It is safe to call more than once.
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
	if n.cmd != nil && n.cmd.Process != nil {
		n.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-n.exited:
		case <-time.After(10 * time.Second):
			n.cmd.Process.Kill()
			<-n.exited
		}
		n.cmd = nil
		n.log.Debug("containerd stopped", "took", time.Since(start))
	}
	if err := reapShims(10 * time.Second); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, n.cleanupDirs())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("stop node %s: %w", n.id, err)
	}
	n.log.Info("node stopped and cleaned up", "id", n.id, "took", time.Since(start).Round(time.Millisecond))
	return nil
}

func (n *Node) removeAllPods(ctx context.Context) error {
	resp, err := n.runtime.ListPodSandbox(ctx, &rt.ListPodSandboxRequest{})
	if err != nil {
		return fmt.Errorf("list pods: %w", err)
	}
	var errs []error
	for _, p := range resp.Items {
		errs = append(errs, n.removeSandbox(ctx, p.Id))
	}
	return errors.Join(errs...)
}

// cleanupDirs unmounts what is left under the node's directories, removes
// them and removes the node's cgroups in every hierarchy.
func (n *Node) cleanupDirs() error {
	var errs []error
	for _, m := range mountsUnder(n.dir, n.runDir) {
		if err := unix.Unmount(m, unix.MNT_DETACH); err != nil {
			errs = append(errs, fmt.Errorf("unmount %s: %w", m, err))
		}
	}
	for _, d := range []string{n.runDir, n.dir} {
		if err := os.RemoveAll(d); err != nil {
			errs = append(errs, err)
		}
	}
	errs = append(errs, removeCgroups(n.id))
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

// reapShims waits for the containerd shims this process adopted as their
// subreaper: they exit once their tasks are deleted. A shim still running at
// the deadline (its pod could not be removed) is killed, and reaped too.
func reapShims(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	killed := false
	for {
		shims := adoptedShims()
		if len(shims) == 0 {
			return nil
		}
		for _, pid := range shims {
			var ws unix.WaitStatus
			unix.Wait4(pid, &ws, unix.WNOHANG, nil)
		}
		if time.Now().After(deadline) {
			if killed {
				return fmt.Errorf("containerd shims %v do not exit", shims)
			}
			for _, pid := range shims {
				unix.Kill(pid, unix.SIGKILL)
			}
			killed, deadline = true, time.Now().Add(limit)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// adoptedShims lists this process's children that are containerd shims.
func adoptedShims() []int {
	self := os.Getpid()
	matches, _ := filepath.Glob("/proc/[0-9]*/stat")
	var out []int
	for _, m := range matches {
		b, err := os.ReadFile(m)
		if err != nil {
			continue
		}
		// pid (comm) state ppid …; comm may hold spaces and parentheses.
		s := string(b)
		open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || end < open {
			continue
		}
		comm := s[open+1 : end]
		f := strings.Fields(s[end+1:])
		if len(f) < 2 || !strings.HasPrefix(comm, "containerd-shim") {
			continue
		}
		if ppid, _ := strconv.Atoi(f[1]); ppid == self {
			if pid, err := strconv.Atoi(strings.TrimSpace(s[:open])); err == nil {
				out = append(out, pid)
			}
		}
	}
	return out
}
