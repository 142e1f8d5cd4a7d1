package sandbox

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// capSysPtrace is CAP_SYS_PTRACE's bit in /proc/<pid>/status capability masks.
const capSysPtrace = 19

// ptraceCapableWatcher returns the host pid of a process that can see a fingerprint born in
// the pid namespace of targetPID and could hold CAP_SYS_PTRACE: a process of that namespace
// or of one of its ancestors below ours, with the capability in any of its sets (the
// bounding, inheritable and ambient sets count: exec can turn them into effective ones).
// 0 if there is none.
//
// Why: between its fork and its execve, a fingerprint still shares this process's memory
// (Go forks with CLONE_VM|CLONE_VFORK) and descriptors, and it is already in the container's
// pid namespace. Not being dumpable keeps every other process of the container from
// attaching to it; CAP_SYS_PTRACE overrides that.
func ptraceCapableWatcher(targetPID int) (int, error) {
	chain, err := pidNSChain(targetPID)
	if err != nil {
		return 0, err
	}
	if len(chain) == 0 {
		return 0, nil // the target shares our pid namespace: nothing there is new
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, fmt.Errorf("list /proc: %w", err)
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		var st unix.Stat_t
		if unix.Stat("/proc/"+e.Name()+"/ns/pid", &st) != nil || !chain[nsID{st.Dev, st.Ino}] {
			continue // gone, or cannot see the fingerprint
		}
		if mayPtrace(pid) {
			return pid, nil
		}
	}
	return 0, nil
}

type nsID struct{ dev, ino uint64 }

// pidNSChain returns the pid namespace of pid and its ancestors, up to but without ours.
func pidNSChain(pid int) (map[nsID]bool, error) {
	var self unix.Stat_t
	if err := unix.Stat("/proc/self/ns/pid", &self); err != nil {
		return nil, fmt.Errorf("own pid namespace: %w", err)
	}
	fd, err := unix.Open(fmt.Sprintf("/proc/%d/ns/pid", pid), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, targetErr(pid, err)
	}
	chain := map[nsID]bool{}
	for depth := 0; depth < 64; depth++ { // the kernel nests at most 32 pid namespaces
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			unix.Close(fd)
			return nil, fmt.Errorf("stat pid namespace: %w", err)
		}
		if st.Dev == self.Dev && st.Ino == self.Ino {
			break
		}
		chain[nsID{st.Dev, st.Ino}] = true
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
	sc := bufio.NewScanner(f)
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
