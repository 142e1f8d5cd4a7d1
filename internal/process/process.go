// Package process finds, from the host's /proc, the process of a container
// that is its workload (SPEC §6) and describes it: name, command line,
// environment, working directory, uid/gid, start time and its pid inside the
// container's pid namespace.
//
// A scan takes one Snapshot of /proc (one stat read per process) and then
// asks it for the workload of each container's init pid; only the chosen
// process's own files are read after that.
package process

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/prometheus/procfs"

	"github.com/openshift/insights-runtime-extractor/internal/procargs"
)

const (
	// MaxDescendants bounds how many processes below a container's init pid
	// are walked looking for leaves (a fork bomb must not stall the scan).
	MaxDescendants = 10000
)

// ErrGone means the process (or the whole container) exited, or its pid was
// reused, between the snapshot and the read of its details.
var ErrGone = errors.New("process gone")

// Process describes the workload process of a container.
type Process struct {
	PID       int      // in the host's pid namespace
	NSPID     int      // in the container's pid namespace (last field of NSpid)
	Name      string   // comm
	Cmdline   []string // truncated to procargs.MaxBytes
	Env       []string // "KEY=value", truncated to procargs.MaxBytes
	Cwd       string   // as the process sees it (inside the container)
	Exe       string   // its executable as the kernel records it, inside the container; "" when unknown
	UID, GID  uint32   // effective ids: what the process accesses files as
	StartTime uint64   // clock ticks after boot: with PID, identifies the process over time
}

// Tree is one snapshot of the process table: who is whose child, and each
// process's name and start time.
type Tree struct {
	fs       procfs.FS
	root     string
	procs    map[int]entry
	children map[int][]int // ordered by start time, then pid
}

type entry struct {
	ppid   int
	comm   string
	start  uint64
	zombie bool
}

// Snapshot reads the process table under procRoot ("/proc" on a host) once.
//
// The tree comes from the parent pid in each /proc/<pid>/stat rather than
// from /proc/<pid>/task/<tid>/children: stat's ppid is the parent's thread
// group, so a child forked by any thread of a process is found, the whole
// table costs one read per process instead of one per thread, and it does not
// depend on CONFIG_PROC_CHILDREN (the children files are, by proc(5)'s own
// warning, only accurate for stopped processes anyway).
// Processes that exit while it walks are simply absent.
func Snapshot(procRoot string) (*Tree, error) {
	pfs, err := procfs.NewFS(procRoot)
	if err != nil {
		return nil, fmt.Errorf("open proc file system %s: %w", procRoot, err)
	}
	all, err := pfs.AllProcs()
	if err != nil {
		return nil, fmt.Errorf("list processes in %s: %w", procRoot, err)
	}
	t := &Tree{
		fs:       pfs,
		root:     procRoot,
		procs:    make(map[int]entry, len(all)),
		children: make(map[int][]int, len(all)),
	}
	for _, p := range all {
		st, err := p.Stat()
		if err != nil {
			continue // exited since the directory was listed, or unreadable: not a candidate
		}
		t.procs[p.PID] = entry{ppid: st.PPID, comm: st.Comm, start: st.Starttime, zombie: st.State == "Z"}
	}
	for pid, e := range t.procs {
		if e.ppid != pid {
			t.children[e.ppid] = append(t.children[e.ppid], pid)
		}
	}
	for _, kids := range t.children {
		slices.SortFunc(kids, func(a, b int) int {
			return cmp.Or(cmp.Compare(t.procs[a].start, t.procs[b].start), cmp.Compare(a, b))
		})
	}
	return t, nil
}

// Len returns the number of processes in the snapshot.
func (t *Tree) Len() int { return len(t.procs) }

// StartTime returns pid's start time (clock ticks after boot) as the snapshot
// read it, without reading /proc again. A zombie is reported absent: it has
// exited, so it can no longer stand for a running container's init.
func (t *Tree) StartTime(pid int) (uint64, bool) {
	e, ok := t.procs[pid]
	if !ok || e.zombie {
		return 0, false
	}
	return e.start, true
}

// Workload returns the process of the container whose init is pid that
// SPEC §6 fingerprints: among the leaves of pid's descendants (pid itself
// when it has no children), the first whose name recognizes accepts,
// otherwise the first leaf. Wrappers such as "sh -c", tini or dumb-init are
// never leaves while their child runs, so they are passed over; a runtime's
// own helper processes (runtimeHelpers) are not leaves. Leaves are
// ordered depth first, siblings by start time. When the chosen process
// exited meanwhile, the next candidate is taken; ErrGone when none is left.
func (t *Tree) Workload(pid int, recognizes func(name string) bool) (Process, error) {
	if e, ok := t.procs[pid]; !ok || e.zombie {
		return Process{}, fmt.Errorf("pid %d: not in the process snapshot: %w", pid, ErrGone)
	}
	leaves := t.leaves(pid)
	candidates := make([]int, 0, len(leaves)+1)
	if recognizes != nil {
		for _, l := range leaves {
			if recognizes(t.procs[l].comm) {
				candidates = append(candidates, l)
			}
		}
	}
	for _, l := range leaves {
		if !slices.Contains(candidates, l) {
			candidates = append(candidates, l)
		}
	}
	if !slices.Contains(candidates, pid) {
		candidates = append(candidates, pid) // all leaves exited: the init itself is better than nothing
	}
	var errs []error
	for _, c := range candidates {
		p, err := t.describe(c)
		if err == nil {
			return p, nil
		}
		if !errors.Is(err, ErrGone) {
			return Process{}, fmt.Errorf("workload of pid %d: %w", pid, err)
		}
		errs = append(errs, err)
	}
	return Process{}, fmt.Errorf("workload of pid %d: %w", pid, errors.Join(errs...))
}

// runtimeHelpers are processes a runtime starts for itself, never the
// workload: BEAM forks erl_child_setup at boot to spawn its ports (and
// inet_gethost below it), which would otherwise be the leaf of every Erlang
// or Elixir container. Their parent stands for them.
var runtimeHelpers = map[string]bool{"erl_child_setup": true}

// leaves walks pid's descendants depth first, at most MaxDescendants of
// them, and returns the live processes that have no live children other
// than runtime helpers.
func (t *Tree) leaves(pid int) []int {
	var (
		leaves  []int
		visited = map[int]bool{pid: true}
		stack   = []int{pid}
	)
	for len(stack) > 0 {
		p := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		var live []int
		for _, c := range t.children[p] {
			// visited guards against a cycle, which a real /proc cannot have
			// but a pid reused during the walk could fake.
			if !visited[c] && !t.procs[c].zombie && !runtimeHelpers[t.procs[c].comm] {
				live = append(live, c)
			}
		}
		if len(live) == 0 {
			leaves = append(leaves, p)
			continue
		}
		if room := MaxDescendants + 1 - len(visited); len(live) > room {
			live = live[:max(room, 0)]
		}
		for i := len(live) - 1; i >= 0; i-- { // reversed so the oldest child is walked first
			visited[live[i]] = true
			stack = append(stack, live[i])
		}
	}
	return leaves
}

// describe reads the chosen process's own files. The start time is checked
// last so that a pid reused while they were read is not mistaken for the
// process of the snapshot. Any failure is checked the same way: a process
// that exited (or became a zombie, whose files refuse to be read) is
// ErrGone, not a failure of the scan.
func (t *Tree) describe(pid int) (Process, error) {
	e := t.procs[pid]
	p, err := t.fs.Proc(pid)
	if errors.Is(err, fs.ErrNotExist) {
		return Process{}, fmt.Errorf("pid %d: %w: %w", pid, ErrGone, err)
	} else if err != nil {
		return Process{}, fmt.Errorf("pid %d: %w", pid, err)
	}
	out := Process{PID: pid, Name: e.comm, StartTime: e.start}
	dir := filepath.Join(t.root, strconv.Itoa(pid))
	if out.Cmdline, err = procargs.Read(filepath.Join(dir, "cmdline")); err != nil {
		return Process{}, t.failed(p, e, err)
	}
	if out.Env, err = procargs.Read(filepath.Join(dir, "environ")); err != nil {
		return Process{}, t.failed(p, e, err)
	}
	if out.Cwd, err = os.Readlink(filepath.Join(dir, "cwd")); err != nil {
		return Process{}, t.failed(p, e, err)
	}
	// The kernel's record of the executable, read here with the privileges
	// the fingerprint lacks: a process without capabilities may not follow
	// /proc/<pid>/exe of a target that holds some (ptrace access rules).
	if exe, err := os.Readlink(filepath.Join(dir, "exe")); err == nil {
		out.Exe = strings.TrimSuffix(exe, " (deleted)")
	}
	st, err := p.NewStatus()
	if err != nil {
		return Process{}, t.failed(p, e, err)
	}
	out.UID, out.GID = uint32(st.UIDs[1]), uint32(st.GIDs[1])
	out.NSPID = pid
	if n := len(st.NSpids); n > 0 {
		out.NSPID = int(st.NSpids[n-1])
	}
	if err := sameLiveProcess(p, e); err != nil {
		return Process{}, err
	}
	return out, nil
}

// sameLiveProcess fails with ErrGone unless p still runs and is the
// process of the snapshot entry e (same start time: the pid was not reused).
func sameLiveProcess(p procfs.Proc, e entry) error {
	now, err := p.Stat()
	switch {
	case err != nil:
		return fmt.Errorf("pid %d: %w: %w", p.PID, ErrGone, err)
	case now.Starttime != e.start:
		return fmt.Errorf("pid %d: reused by another process since the snapshot: %w", p.PID, ErrGone)
	case now.State == "Z":
		return fmt.Errorf("pid %d: exited since the snapshot: %w", p.PID, ErrGone)
	}
	return nil
}

// failed turns an error reading p's files into ErrGone when p is no longer
// the live process of the snapshot, and otherwise returns it with context.
func (t *Tree) failed(p procfs.Proc, e entry, err error) error {
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("pid %d: %w: %w", p.PID, ErrGone, err)
	}
	if goneErr := sameLiveProcess(p, e); goneErr != nil {
		return fmt.Errorf("%w (%w)", goneErr, err)
	}
	return fmt.Errorf("pid %d: %w", p.PID, err)
}
