package sandbox

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// capSysPtrace is CAP_SYS_PTRACE's bit in /proc/<pid>/status capability masks.
const capSysPtrace = 19

// watcherTTL bounds how old the index of ptrace-capable processes may be. One /proc walk
// costs about 10 µs per process; a scan runs a few fingerprints per container, so the walk is
// shared by all of them. A process that gains the capability later is missed for at most this
// long, as one that enters the namespace after the check always is.
const watcherTTL = time.Second

// ptraceWatchers indexes, per pid namespace, a process that may hold CAP_SYS_PTRACE.
type ptraceWatchers struct {
	mu      sync.Mutex
	at      time.Time
	capable map[nsID]int // every pid namespace seen -> host pid of one such process, or 0
}

// find returns the host pid of a process that can see a fingerprint born in the pid
// namespace of targetPID and may hold CAP_SYS_PTRACE: a process of that namespace or of one
// of its ancestors below ours, with the capability in any of its sets (the bounding,
// inheritable and ambient sets count: an execve can turn them into effective ones). 0 if
// there is none.
//
// Why: between its fork and its execve, a fingerprint still shares this process's memory
// (Go forks with CLONE_VM|CLONE_VFORK) and descriptors, and it is already in the container's
// pid namespace. Not being dumpable keeps every other process of the container from
// attaching to it; CAP_SYS_PTRACE overrides that.
func (w *ptraceWatchers) find(targetPID int) (int, error) {
	chain, err := pidNSChain(targetPID)
	if err != nil {
		return 0, err
	}
	if len(chain) == 0 {
		return 0, nil // the target shares our pid namespace: nothing there is new
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, seen := w.capable[chain[0]]; !seen || time.Since(w.at) > watcherTTL {
		// A namespace the index has not seen is newer than the index.
		capable, err := indexPtraceCapable()
		if err != nil {
			return 0, err
		}
		w.capable, w.at = capable, time.Now()
	}
	for _, ns := range chain {
		if pid := w.capable[ns]; pid != 0 {
			return pid, nil
		}
	}
	return 0, nil
}

// indexPtraceCapable walks /proc once.
func indexPtraceCapable() (map[nsID]int, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("list /proc: %w", err)
	}
	capable := map[nsID]int{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		var st unix.Stat_t
		if unix.Stat("/proc/"+e.Name()+"/ns/pid", &st) != nil {
			continue // gone
		}
		ns := nsID{st.Dev, st.Ino}
		if capable[ns] != 0 {
			continue
		}
		capable[ns] = 0
		if mayPtrace(pid) {
			capable[ns] = pid
		}
	}
	return capable, nil
}

type nsID struct{ dev, ino uint64 }

// pidNSChain returns the pid namespace of pid and its ancestors, up to but without ours.
func pidNSChain(pid int) ([]nsID, error) {
	var self unix.Stat_t
	if err := unix.Stat("/proc/self/ns/pid", &self); err != nil {
		return nil, fmt.Errorf("own pid namespace: %w", err)
	}
	fd, err := unix.Open(fmt.Sprintf("/proc/%d/ns/pid", pid), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, targetErr(pid, err)
	}
	var chain []nsID
	for depth := 0; depth < 64; depth++ { // the kernel nests at most 32 pid namespaces
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			unix.Close(fd)
			return nil, fmt.Errorf("stat pid namespace: %w", err)
		}
		if st.Dev == self.Dev && st.Ino == self.Ino {
			break
		}
		chain = append(chain, nsID{st.Dev, st.Ino})
		parent, err := unix.IoctlRetInt(fd, unix.NS_GET_PARENT)
		unix.Close(fd)
		if errors.Is(err, unix.EPERM) {
			return chain, nil // outside our scope: we are not an ancestor (not expected)
		}
		if err != nil {
			return nil, fmt.Errorf("parent pid namespace: %w", err)
		}
		fd = parent
	}
	unix.Close(fd)
	return chain, nil
}

// mayPtrace tells whether pid holds CAP_SYS_PTRACE in any capability set. A process that
// vanished or whose status is unreadable is taken as harmless: it cannot attach anymore.
func mayPtrace(pid int) bool {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return false
	}
	defer f.Close()
	return statusMayPtrace(io.LimitReader(f, 64<<10))
}

// statusMayPtrace reads a /proc/<pid>/status: is CAP_SYS_PTRACE in any Cap* mask?
func statusMayPtrace(r io.Reader) bool {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || !strings.HasPrefix(k, "Cap") {
			continue
		}
		mask, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		if err == nil && mask&(1<<capSysPtrace) != 0 {
			return true
		}
	}
	return false
}
