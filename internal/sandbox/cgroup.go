package sandbox

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/containerd/cgroups/v3"
	"github.com/containerd/cgroups/v3/cgroup1"
	"github.com/containerd/cgroups/v3/cgroup2"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/prometheus/procfs"
	"golang.org/x/sys/unix"
)

const (
	cgroupMount = "/sys/fs/cgroup"
	cpuPeriodUS = 100000
	// drainWait bounds how long a kill waits for the cgroup to empty before rmdir.
	drainWait = 2 * time.Second
)

// v1Subsystems are the controllers a fingerprint's cgroup is made of on cgroup v1.
var v1Subsystems = []cgroup1.Name{cgroup1.Memory, cgroup1.Pids, cgroup1.Cpu}

// cgroupParent is the sandbox's own cgroup, parent of one cgroup per run.
type cgroupParent interface {
	newRun(name string, l Limits) (runCgroup, error)
	// dir returns the cgroup directory of controller ("memory", "pids", "cpu" on v1; any on v2).
	dir(controller string) string
	remove() error
}

// runCgroup is the cgroup of one run.
type runCgroup interface {
	// enter is called on the locked thread that is about to fork the helper, and arranges for
	// that child to be born in the cgroup.
	enter(tid int, attr *syscall.SysProcAttr) error
	// leave undoes what enter did to the thread, once the child exists. Not on the locked thread.
	leave(tid int) error
	// kill kills every process in the cgroup and waits (bounded) for it to be empty.
	kill() error
	// events reports the limit events recorded so far.
	events() limitEvents
	// reusable says whether another run may use the cgroup once it is empty.
	reusable() bool
	// dir returns the cgroup directory of controller ("memory", "pids", "cpu" on v1; any on v2).
	dir(controller string) string
	remove() error
}

type limitEvents struct {
	oomKills, pidsMax uint64
}

func newCgroupParent(parent, name string, log *slog.Logger) (cgroupParent, error) {
	switch cgroups.Mode() {
	case cgroups.Unified:
		return newV2Parent(cgroupMount, parent, name, true, log)
	case cgroups.Legacy, cgroups.Hybrid:
		return newV1Parent(parent, name, log)
	default:
		return nil, errors.New("no cgroup file system mounted at " + cgroupMount)
	}
}

// ---- cgroup v1 ----

type v1Parent struct {
	cg   cgroup1.Cgroup
	path cgroup1.Path
	own  cgroup1.Cgroup // this process's cgroups, where the locked thread returns after a fork
	swap bool           // memory.memsw.* exist: limit memory+swap too
}

func v1Hierarchy() ([]cgroup1.Subsystem, error) {
	return []cgroup1.Subsystem{
		cgroup1.NewMemory(cgroupMount),
		cgroup1.NewPids(cgroupMount),
		cgroup1.NewCpu(cgroupMount),
	}, nil
}

func newV1Parent(parent, name string, log *slog.Logger) (*v1Parent, error) {
	for _, s := range v1Subsystems {
		if _, err := os.Stat(filepath.Join(cgroupMount, string(s), "cgroup.procs")); err != nil {
			return nil, fmt.Errorf("cgroup v1 controller %s not mounted: %w", s, err)
		}
	}
	own, err := readV1OwnPaths()
	if err != nil {
		return nil, err
	}
	base := own
	if parent != "" {
		base = map[cgroup1.Name]string{}
		for _, s := range v1Subsystems {
			base[s] = filepath.Join("/", parent)
		}
	}
	path := func(n cgroup1.Name) (string, error) {
		b, ok := base[n]
		if !ok {
			return "", cgroup1.ErrControllerNotActive
		}
		return filepath.Join(b, name), nil
	}
	for _, s := range v1Subsystems {
		sweepStale(filepath.Join(cgroupMount, string(s), base[s]), log)
	}
	ownCg, err := cgroup1.Load(func(n cgroup1.Name) (string, error) {
		if p, ok := own[n]; ok {
			return p, nil
		}
		return "", cgroup1.ErrControllerNotActive
	}, cgroup1.WithHierarchy(v1Hierarchy))
	if err != nil {
		return nil, fmt.Errorf("load own cgroup v1 %v: %w", own, err)
	}
	cg, err := cgroup1.New(path, &specs.LinuxResources{}, cgroup1.WithHierarchy(v1Hierarchy))
	if err != nil {
		return nil, fmt.Errorf("create cgroup v1 %s: %w", name, err)
	}
	p := &v1Parent{cg: cg, path: path, own: ownCg}
	if dir, err := path(cgroup1.Memory); err == nil {
		_, err := os.Stat(filepath.Join(cgroupMount, "memory", dir, "memory.memsw.limit_in_bytes"))
		p.swap = err == nil
	}
	return p, nil
}

// readV1OwnPaths returns this process's memory, pids and cpu cgroups, each relative to its
// hierarchy's directory under /sys/fs/cgroup.
func readV1OwnPaths() (map[cgroup1.Name]string, error) {
	fs, self, err := procSelf()
	if err != nil {
		return nil, fmt.Errorf("own cgroup: %w", err)
	}
	cgroups, err := self.Cgroups()
	if err != nil {
		return nil, fmt.Errorf("own cgroup: %w", err)
	}
	mounts, err := fs.GetProcMounts(self.PID)
	if err != nil {
		return nil, fmt.Errorf("own mounts: %w", err)
	}
	return v1OwnPaths(cgroups, mounts)
}

// procSelf is this process in the /proc of its pid namespace: what /proc/self names.
func procSelf() (procfs.FS, procfs.Proc, error) {
	fs, err := procfs.NewDefaultFS()
	if err != nil {
		return procfs.FS{}, procfs.Proc{}, err
	}
	self, err := fs.Self()
	return fs, self, err
}

// v1OwnPaths does readV1OwnPaths's work on this process's cgroups and mounts. /proc/self/cgroup
// names cgroups from the hierarchy's real root, while the directory mounted here may be a
// cgroup below it: in a container, its own cgroup is mounted at /sys/fs/cgroup/<controller>,
// and mountinfo's root field says which. (cgroup1's NestedPath does this for every hierarchy
// in /proc/self/cgroup and fails on the first one not mounted, as some are not in a
// container.)
func v1OwnPaths(cgroups []procfs.Cgroup, mounts []*procfs.MountInfo) (map[cgroup1.Name]string, error) {
	roots := map[cgroup1.Name]string{}
	for _, m := range mounts {
		if m.FSType != "cgroup" {
			continue
		}
		for opt := range m.SuperOptions {
			n := cgroup1.Name(opt)
			if _, seen := roots[n]; !seen || m.MountPoint == filepath.Join(cgroupMount, opt) {
				roots[n] = m.Root
			}
		}
	}
	own := map[cgroup1.Name]string{}
	for _, c := range cgroups {
		for _, ctrl := range c.Controllers {
			own[cgroup1.Name(ctrl)] = c.Path
		}
	}
	rel := map[cgroup1.Name]string{}
	for _, s := range v1Subsystems {
		p, ok := own[s]
		root, mounted := roots[s]
		if !ok || !mounted {
			return nil, fmt.Errorf("cgroup v1 controller %s: not in /proc/self/cgroup or not mounted", s)
		}
		r, err := filepath.Rel(root, p)
		if err != nil || strings.HasPrefix(r, "..") {
			return nil, fmt.Errorf("cgroup v1 controller %s: own cgroup %s is outside the mounted %s", s, p, root)
		}
		rel[s] = filepath.Join("/", r)
	}
	return rel, nil
}

func (p *v1Parent) newRun(name string, l Limits) (runCgroup, error) {
	quota := int64(l.CPUPercent) * cpuPeriodUS / 100
	period := uint64(cpuPeriodUS)
	mem := specs.LinuxMemory{Limit: &l.MemoryBytes}
	if p.swap {
		mem.Swap = &l.MemoryBytes // memory+swap: no swap on top of the memory limit
	}
	res := &specs.LinuxResources{
		Memory: &mem,
		Pids:   &specs.LinuxPids{Limit: &l.MaxPids},
		CPU:    &specs.LinuxCPU{Quota: &quota, Period: &period},
	}
	cg, err := p.cg.New(name, res)
	if err != nil {
		r := &v1Run{parent: p, name: name}
		_ = r.removeDirs()
		return nil, fmt.Errorf("create cgroup v1 %s: %w", name, err)
	}
	return &v1Run{parent: p, name: name, cg: cg}, nil
}

func (p *v1Parent) dir(controller string) string {
	base, err := p.path(cgroup1.Name(controller))
	if err != nil {
		return ""
	}
	return filepath.Join(cgroupMount, controller, base)
}

func (p *v1Parent) remove() error {
	if err := p.cg.Delete(); err != nil {
		return fmt.Errorf("remove cgroup v1: %w", err)
	}
	return nil
}

type v1Run struct {
	parent *v1Parent
	name   string
	cg     cgroup1.Cgroup
}

func (r *v1Run) dir(controller string) string {
	if d := r.parent.dir(controller); d != "" {
		return filepath.Join(d, r.name)
	}
	return ""
}

// enter moves the calling thread only (v1 "tasks"), so the child it forks next is born inside.
func (r *v1Run) enter(tid int, _ *syscall.SysProcAttr) error {
	if err := r.cg.AddTask(cgroup1.Process{Pid: tid}); err != nil {
		return fmt.Errorf("move thread %d into cgroup v1: %w", tid, err)
	}
	return nil
}

func (r *v1Run) leave(tid int) error {
	err := r.parent.own.AddTask(cgroup1.Process{Pid: tid})
	if errors.Is(err, unix.ESRCH) {
		return nil // the thread is gone, and so out of every cgroup
	}
	if err != nil {
		return fmt.Errorf("move thread %d back to its cgroup v1: %w", tid, err)
	}
	return nil
}

func (r *v1Run) kill() error {
	return killAll(filepath.Join(r.dir(string(cgroup1.Pids)), "cgroup.procs"))
}

func (r *v1Run) reusable() bool { return true }

func (r *v1Run) events() limitEvents {
	return limitEvents{
		oomKills: readKeyed(filepath.Join(r.dir("memory"), "memory.oom_control"), "oom_kill"),
		pidsMax:  readKeyed(filepath.Join(r.dir("pids"), "pids.events"), "max"),
	}
}

func (r *v1Run) remove() error {
	if err := r.kill(); err != nil {
		return err
	}
	return r.removeDirs()
}

// removeDirs removes the run's directories directly: cgroup1's Delete stops at the first
// controller that still lists a task, while a half-created cgroup must still go.
func (r *v1Run) removeDirs() error {
	var errs []error
	for _, s := range v1Subsystems {
		d := r.dir(string(s))
		if d == "" {
			continue
		}
		if err := rmdirRetry(d); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// ---- cgroup v2 ----

type v2Parent struct {
	mgr    *cgroup2.Manager
	mount  string
	group  string
	limits bool // the controllers are there: set limits (false only in tests of a controller-less hierarchy)
}

func newV2Parent(mount, parent, name string, limits bool, log *slog.Logger) (*v2Parent, error) {
	if parent == "" {
		own, err := readOwnV2()
		if err != nil {
			return nil, err
		}
		parent = own
		if limits { // without controllers (a hybrid host's unified tree) nothing needs delegating
			if parent, err = delegateV2(mount, own, log); err != nil {
				return nil, err
			}
		}
	}
	sweepStale(filepath.Join(mount, parent), log)
	group := filepath.Join("/", parent, name)
	res := &cgroup2.Resources{}
	if limits {
		res = &cgroup2.Resources{Memory: &cgroup2.Memory{}, Pids: &cgroup2.Pids{}, CPU: &cgroup2.CPU{}}
	}
	mgr, err := cgroup2.NewManager(mount, group, res)
	if err != nil {
		return nil, fmt.Errorf("create cgroup v2 %s (the parent must hold no process and offer the memory, pids and cpu controllers): %w", group, err)
	}
	if limits {
		if err := writeSubtreeControl(filepath.Join(mount, group), "+memory +pids +cpu"); err != nil {
			_ = mgr.Delete()
			return nil, fmt.Errorf("enable controllers in cgroup v2 %s: %w", group, err)
		}
	}
	return &v2Parent{mgr: mgr, mount: mount, group: group, limits: limits}, nil
}

func writeSubtreeControl(dir, value string) error {
	return os.WriteFile(filepath.Join(dir, "cgroup.subtree_control"), []byte(value), 0)
}

// V2Leaf is the cgroup below its own into which a process that delegates on cgroup v2 moves
// itself and every other process of its cgroup: a privileged pod container on OpenShift, or
// a systemd service with Delegate=yes.
const V2Leaf = "extractor"

// v2Controllers are the controllers every run's cgroup limits.
var v2Controllers = []string{"memory", "pids", "cpu"}

// readOwnV2 returns this process's cgroup v2 path, as /proc/self/cgroup names it: relative to
// the cgroup namespace's root, which is what is mounted at /sys/fs/cgroup in a container with
// a private cgroup namespace ("0::/").
func readOwnV2() (string, error) {
	_, self, err := procSelf()
	if err != nil {
		return "", fmt.Errorf("own cgroup v2: %w", err)
	}
	cgroups, err := self.Cgroups()
	if err != nil {
		return "", fmt.Errorf("own cgroup v2: %w", err)
	}
	for _, c := range cgroups {
		if c.HierarchyID == 0 && len(c.Controllers) == 0 && strings.HasPrefix(c.Path, "/") {
			return filepath.Clean(c.Path), nil
		}
	}
	return "", fmt.Errorf("own cgroup v2: no \"0::\" line in /proc/self/cgroup: %+v", cgroups)
}

// delegateV2 makes own (this process's cgroup) able to give the memory, pids and cpu
// controllers to the sandboxes' cgroups, and returns it as their parent. cgroup v2 lets a
// cgroup that holds processes have no child with controllers ("no internal processes";
// enabling them fails with EBUSY), so every process of own moves into own/V2Leaf first. Both
// container runtimes' exec (a liveness probe) then join the leaf of the container's init. A
// process already in such a leaf (a coordinator started by extractor_server) uses its parent.
// The root cgroup is exempt from the rule and is used as it is.
func delegateV2(mount, own string, log *slog.Logger) (string, error) {
	if parent := filepath.Dir(own); filepath.Base(own) == V2Leaf && hasAll(readWords(filepath.Join(mount, parent, "cgroup.subtree_control")), v2Controllers) {
		return parent, nil
	}
	dir := filepath.Join(mount, own)
	offered, err := os.ReadFile(filepath.Join(dir, "cgroup.controllers"))
	if err != nil {
		return "", fmt.Errorf("cgroup v2 %s: %w", own, err)
	}
	if !hasAll(strings.Fields(string(offered)), v2Controllers) {
		return "", fmt.Errorf("cgroup v2 %s offers the controllers %q, the sandbox needs %s: run the extractor in a cgroup that has them (a systemd unit with Delegate=yes, or a privileged container)",
			own, strings.TrimSpace(string(offered)), strings.Join(v2Controllers, ", "))
	}
	enable := "+" + strings.Join(v2Controllers, " +")
	if _, err := os.Stat(filepath.Join(dir, "cgroup.type")); errors.Is(err, os.ErrNotExist) {
		if err := writeSubtreeControl(dir, enable); err != nil { // the root cgroup
			return "", fmt.Errorf("enable controllers in the root cgroup v2: %w", err)
		}
		return own, nil
	}
	leaf := filepath.Join(dir, V2Leaf)
	if err := os.Mkdir(leaf, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return "", fmt.Errorf("create cgroup v2 leaf %s/%s (is /sys/fs/cgroup writable?): %w", own, V2Leaf, err)
	}
	// A process may fork or be exec'd into own while this runs: move, enable, and retry on
	// EBUSY a bounded number of times.
	var last error
	for range 20 {
		pids, err := readPids(filepath.Join(dir, "cgroup.procs"))
		if err != nil {
			return "", fmt.Errorf("cgroup v2 %s: %w", own, err)
		}
		for _, pid := range pids {
			err := os.WriteFile(filepath.Join(leaf, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0)
			if err != nil && !errors.Is(err, unix.ESRCH) {
				return "", fmt.Errorf("move process %d into cgroup v2 %s/%s: %w", pid, own, V2Leaf, err)
			}
		}
		if last = writeSubtreeControl(dir, enable); last == nil {
			log.Info("cgroup v2 delegated to the sandbox", "cgroup", own, "processes_moved_to", filepath.Join(own, V2Leaf), "moved", len(pids))
			return own, nil
		}
		if !errors.Is(last, unix.EBUSY) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	return "", fmt.Errorf("enable %s in cgroup v2 %s: %w", strings.Join(v2Controllers, ", "), own, last)
}

// readWords returns the space-separated words of a small file, nil when it cannot be read.
func readWords(path string) []string {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	return strings.Fields(string(b))
}

func hasAll(have, want []string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}

func (p *v2Parent) newRun(name string, l Limits) (runCgroup, error) {
	quota := int64(l.CPUPercent) * cpuPeriodUS / 100
	period := uint64(cpuPeriodUS)
	oomGroup := true // an OOM kills the whole run, not one random process of it
	zero := int64(0)
	res := &cgroup2.Resources{}
	if p.limits {
		res = &cgroup2.Resources{
			Memory: &cgroup2.Memory{Max: &l.MemoryBytes, Swap: &zero, OOMGroup: &oomGroup},
			Pids:   &cgroup2.Pids{Max: l.MaxPids},
			CPU:    &cgroup2.CPU{Max: cgroup2.NewCPUMax(&quota, &period)},
		}
		if _, err := os.Stat(filepath.Join(p.mount, p.group, "memory.swap.max")); err != nil {
			res.Memory.Swap = nil // no swap accounting on this host
		}
	}
	path := filepath.Join(p.mount, p.group, name)
	mgr, err := cgroup2.NewManager(p.mount, filepath.Join(p.group, name), res)
	if err != nil {
		_ = rmdirRetry(path)
		return nil, fmt.Errorf("create cgroup v2 %s: %w", name, err)
	}
	return &v2Run{mgr: mgr, path: path}, nil
}

func (p *v2Parent) dir(string) string { return filepath.Join(p.mount, p.group) }

func (p *v2Parent) remove() error {
	if err := p.mgr.Delete(); err != nil {
		return fmt.Errorf("remove cgroup v2: %w", err)
	}
	return nil
}

type v2Run struct {
	mgr    *cgroup2.Manager
	path   string
	fd     int
	killed bool // through cgroup.kill: see kill
}

func (r *v2Run) dir(string) string { return r.path }

// enter opens the cgroup directory for clone3(CLONE_INTO_CGROUP): the child is born inside.
func (r *v2Run) enter(_ int, attr *syscall.SysProcAttr) error {
	fd, err := unix.Open(r.path, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open cgroup v2 %s: %w", r.path, err)
	}
	r.fd = fd
	attr.UseCgroupFD = true
	attr.CgroupFD = fd
	return nil
}

func (r *v2Run) leave(int) error {
	if r.fd > 0 {
		unix.Close(r.fd)
		r.fd = 0
	}
	return nil
}

func (r *v2Run) kill() error {
	procs := filepath.Join(r.path, "cgroup.procs")
	if pids, err := readPids(procs); err == nil && len(pids) == 0 {
		return nil
	}
	// Some kernels kill every process later cloned into a cgroup that was killed this way
	// (CLONE_INTO_CGROUP compares the kill counts of two different cgroups): it is not reused.
	r.killed = true
	if err := os.WriteFile(filepath.Join(r.path, "cgroup.kill"), []byte("1"), 0); err == nil {
		return waitEmpty(procs)
	}
	return killAll(procs) // kernels before 5.14
}

func (r *v2Run) reusable() bool { return !r.killed }

func (r *v2Run) events() limitEvents {
	return limitEvents{
		oomKills: readKeyed(filepath.Join(r.path, "memory.events"), "oom_kill"),
		pidsMax:  readKeyed(filepath.Join(r.path, "pids.events"), "max"),
	}
}

func (r *v2Run) remove() error {
	if err := r.kill(); err != nil {
		return err
	}
	return rmdirRetry(r.path)
}

// ---- shared helpers ----

// sandboxPrefix starts the name of every sandbox's cgroup, followed by
// "<pid>-<start time>-<random hex>" of the process that made it.
const sandboxPrefix = "insights-runtime-extractor-sandbox-"

// ownerAlive says whether the process named by "<pid>-<start time>-<hex>" (a sandbox cgroup's
// name after sandboxPrefix) still runs: a live process with that pid and another start time
// took a dead owner's pid, which kill(pid, 0) cannot tell. A malformed name counts as alive:
// it is not ours to remove.
func ownerAlive(name string) bool {
	f := strings.SplitN(name, "-", 3)
	if len(f) != 3 {
		return true
	}
	pid, err1 := strconv.Atoi(f[0])
	start, err2 := strconv.ParseUint(f[1], 10, 64)
	if err1 != nil || err2 != nil || pid <= 0 {
		return true
	}
	st, err := startTimeOf(pid)
	switch {
	case errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ESRCH):
		return false
	case err != nil:
		return true // cannot tell: leave it
	}
	return st == start
}

// sweepStale removes what sandboxes of dead processes left in dir: their fingerprints (the
// child of a thread in another pid namespace cannot be tied to its parent's death, see Run)
// and their cgroups. A process that dies without Close leaves them; the next New cleans up.
func sweepStale(dir string, log *slog.Logger) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), sandboxPrefix)
		if !ok || !e.IsDir() {
			continue
		}
		if ownerAlive(rest) {
			continue
		}
		stale := filepath.Join(dir, e.Name())
		runs, _ := os.ReadDir(stale)
		var errs []error
		for _, r := range runs {
			if !r.IsDir() {
				continue
			}
			run := filepath.Join(stale, r.Name())
			if err := killAll(filepath.Join(run, "cgroup.procs")); err != nil {
				errs = append(errs, err)
			}
			if err := rmdirRetry(run); err != nil {
				errs = append(errs, err)
			}
		}
		if err := rmdirRetry(stale); err != nil {
			errs = append(errs, err)
		}
		if err := errors.Join(errs...); err != nil {
			log.Warn("removing a dead sandbox's cgroup", "cgroup", stale, "error", err)
		} else {
			log.Info("removed a dead sandbox's cgroup", "cgroup", stale)
		}
	}
}

// killAll SIGKILLs every process listed in procsFile until none is left (a process
// may fork between the read and the kill, hence the loop; the pids limit bounds it). The
// calling process is never killed: on v1 its locked thread is briefly a member of the cgroup.
func killAll(procsFile string) error {
	self := os.Getpid()
	deadline := time.Now().Add(drainWait)
	for {
		pids, err := readPids(procsFile)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil
			}
			return err
		}
		live := 0
		for _, pid := range pids {
			if pid == self || pid <= 0 {
				continue
			}
			live++
			_ = unix.Kill(pid, unix.SIGKILL)
		}
		if live == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: %d processes still alive after SIGKILL", procsFile, live)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func waitEmpty(procsFile string) error {
	deadline := time.Now().Add(drainWait)
	for {
		pids, err := readPids(procsFile)
		if err != nil || len(pids) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: %d processes still alive after cgroup.kill", procsFile, len(pids))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func readPids(procsFile string) ([]int, error) {
	b, err := os.ReadFile(procsFile)
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, f := range strings.Fields(string(b)) {
		pid, err := strconv.Atoi(f)
		if err != nil {
			return nil, fmt.Errorf("%s: bad pid %q", procsFile, f)
		}
		pids = append(pids, pid)
	}
	return pids, nil
}

// readKeyed returns the value of "key N" in a flat-keyed cgroup file, 0 if absent.
func readKeyed(path, key string) uint64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), " ")
		if ok && k == key {
			n, _ := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
			return n
		}
	}
	return 0
}

// rmdirRetry removes a cgroup directory; the kernel may answer EBUSY for a moment after the
// last task left.
func rmdirRetry(dir string) error {
	var err error
	for delay := 5 * time.Millisecond; delay < time.Second; delay *= 2 {
		err = unix.Rmdir(dir)
		if err == nil || errors.Is(err, unix.ENOENT) {
			return nil
		}
		if !errors.Is(err, unix.EBUSY) {
			break
		}
		time.Sleep(delay)
	}
	return fmt.Errorf("rmdir %s: %w", dir, err)
}
