package sandbox

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// entry is what the locked goroutine needs to start one fingerprint.
type entry struct {
	hostPID int
	exePath string
	lastCap int
	cmd     *exec.Cmd
	cg      runCgroup
}

// startResult tells Run whether the child started, and which thread forked it.
type startResult struct {
	tid int
	err error
}

// enterAndRun runs on its own goroutine: it locks the OS thread for good (the runtime discards
// a goroutine's locked thread when the goroutine returns, and this thread is left in another
// mount namespace, root and pid namespace, with fewer privileges), starts the child from it,
// reports on started, then waits for the child from the same thread (Pdeathsig is tied to the
// forking thread) and reports on exited.
func enterAndRun(e entry, started chan<- startResult, exited chan<- error) {
	runtime.LockOSThread()
	if unix.Gettid() == unix.Getpid() {
		// The main thread is never discarded, and /proc/self (mountinfo, cgroup, ns, and the
		// resolution of every path by whatever goroutine it runs next) shows the main thread's
		// view: it must stay on the host. Hold it while another goroutine takes another
		// thread, then give it back untouched.
		locked := make(chan struct{})
		go func() {
			runtime.LockOSThread()
			close(locked)
			enterLocked(e, started, exited)
		}()
		<-locked
		runtime.UnlockOSThread()
		return
	}
	enterLocked(e, started, exited)
}

func enterLocked(e entry, started chan<- startResult, exited chan<- error) {
	tid := unix.Gettid()
	err := e.start(tid)
	started <- startResult{tid: tid, err: err}
	if err != nil {
		return
	}
	exited <- e.cmd.Wait()
}

func (e entry) start(tid int) error {
	// Everything that lives on the host is opened before leaving it.
	exe, err := openExecutable(e.exePath)
	if err != nil {
		return err
	}
	defer unix.Close(exe)

	proc, err := unix.Open("/proc/"+strconv.Itoa(e.hostPID), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return targetErr(e.hostPID, err)
	}
	defer unix.Close(proc)
	// Opened relative to the same /proc/<pid> descriptor: if the pid is reused meanwhile, these
	// fail instead of opening another process's namespaces.
	mntNS, err := unix.Openat(proc, "ns/mnt", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return targetErr(e.hostPID, err)
	}
	defer unix.Close(mntNS)
	pidNS, err := unix.Openat(proc, "ns/pid", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return targetErr(e.hostPID, err)
	}
	defer unix.Close(pidNS)
	root, err := unix.Openat(proc, "root", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return targetErr(e.hostPID, err)
	}
	defer unix.Close(root)

	if err := e.cg.enter(tid, e.cmd.SysProcAttr); err != nil {
		return err
	}

	// Without its own fs struct, a thread of a multi-threaded process cannot join a mount ns.
	if err := unix.Unshare(unix.CLONE_FS); err != nil {
		return fmt.Errorf("unshare(CLONE_FS): %w", err)
	}
	if err := unix.Setns(mntNS, unix.CLONE_NEWNS); err != nil {
		return targetErr(e.hostPID, fmt.Errorf("setns mnt: %w", err))
	}
	// setns put the thread at the namespace's root mount; the target's root may be a directory
	// below it (a chroot'ed container), and that is where the fingerprint must be.
	if err := unix.Fchdir(root); err != nil {
		return fmt.Errorf("fchdir to target root: %w", err)
	}
	if err := unix.Chroot("."); err != nil {
		return fmt.Errorf("chroot to target root: %w", err)
	}
	if err := unix.Chdir("/"); err != nil {
		return fmt.Errorf("chdir /: %w", err)
	}
	if err := unix.Setns(pidNS, unix.CLONE_NEWPID); err != nil {
		return targetErr(e.hostPID, fmt.Errorf("setns pid: %w", err))
	}
	if err := dropThreadPrivileges(e.lastCap); err != nil {
		return err
	}

	// The kernel resolves this in the container's /proc (the child is in its pid namespace) to
	// the executable opened above; the descriptor is close-on-exec, so the fingerprint keeps
	// no descriptor of a host file.
	e.cmd.Path = "/proc/self/fd/" + strconv.Itoa(exe)
	// Go's fork moves its error-report pipe to the first descriptor above the child's standard
	// streams, overwriting whatever is there: the executable's descriptor must be below them.
	stderr, ok := e.cmd.Stderr.(*os.File)
	if !ok {
		return errors.New("internal error: stderr is not a file")
	}
	hi, err := unix.FcntlInt(stderr.Fd(), unix.F_DUPFD_CLOEXEC, exe+1)
	if err != nil {
		return fmt.Errorf("dup stderr: %w", err)
	}
	highStderr := os.NewFile(uintptr(hi), "stderr")
	defer highStderr.Close()
	e.cmd.Stderr = highStderr
	// Go opens everything close-on-exec, but descriptors this process inherited are not, and
	// the fingerprint must not inherit them (a descriptor of a host directory is a way out).
	if err := cloexecFrom(3); err != nil {
		return err
	}
	if err := e.cmd.Start(); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("start (is /proc mounted in the container?): %w", err)
		}
		return fmt.Errorf("start: %w", err)
	}
	return nil
}

// openExecutable opens the fingerprint executable as an O_PATH descriptor and checks it is a
// regular, executable file that nobody may read (see the package doc: dumpability).
func openExecutable(path string) (int, error) {
	fd, err := unix.Open(path, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("%w: %w", ErrBadExecutable, err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("%w: stat %s: %w", ErrBadExecutable, path, err)
	}
	mode := st.Mode
	switch {
	case mode&unix.S_IFMT != unix.S_IFREG:
		err = errors.New("not a regular file")
	case mode&0o444 != 0:
		err = fmt.Errorf("mode %04o is readable, want execute-only (e.g. 0111)", mode&0o7777)
	case mode&0o111 != 0o111:
		err = fmt.Errorf("mode %04o is not executable by everyone", mode&0o7777)
	case mode&(unix.S_ISUID|unix.S_ISGID) != 0:
		err = fmt.Errorf("mode %04o has set-id bits", mode&0o7777)
	}
	if err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("%w: %s: %w", ErrBadExecutable, path, err)
	}
	return fd, nil
}

func targetErr(pid int, err error) error {
	if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ESRCH) {
		return fmt.Errorf("%w: pid %d: %w", ErrTargetGone, pid, err)
	}
	return fmt.Errorf("enter pid %d: %w", pid, err)
}

// dropThreadPrivileges leaves the calling thread (and so every child it forks) with no_new_privs,
// empty bounding, inheritable and ambient capability sets, and only CAP_SETUID and CAP_SETGID
// permitted and effective, which the child needs to take the target's ids and loses with them
// (or, for a root target, at execve: with the bounding and inheritable sets empty, root gains
// nothing from execve).
func dropThreadPrivileges(lastCap int) error {
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("set no_new_privs: %w", err)
	}
	for c := 0; c <= lastCap; c++ {
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil {
			return fmt.Errorf("drop capability %d from the bounding set: %w", c, err)
		}
	}
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil {
		return fmt.Errorf("clear ambient capabilities: %w", err)
	}
	keep := uint32(1)<<unix.CAP_SETUID | uint32(1)<<unix.CAP_SETGID
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3} // Pid 0: this thread
	data := [2]unix.CapUserData{{Effective: keep, Permitted: keep}}
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capset: %w", err)
	}
	return nil
}

// readLastCap reads the highest capability number the running kernel knows.
func readLastCap() (int, error) {
	b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	if err != nil {
		return 0, fmt.Errorf("read cap_last_cap: %w", err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || n < unix.CAP_SETUID || n > 255 {
		return 0, fmt.Errorf("bad cap_last_cap %q", b)
	}
	return n, nil
}

// cloexecFrom marks every descriptor of the process from lowest on close-on-exec.
func cloexecFrom(lowest int) error {
	err := unix.CloseRange(uint(lowest), ^uint(0), unix.CLOSE_RANGE_CLOEXEC)
	if err == nil {
		return nil
	}
	if !errors.Is(err, unix.ENOSYS) && !errors.Is(err, unix.EINVAL) {
		return fmt.Errorf("close_range: %w", err)
	}
	// Before Linux 5.11: one by one. /proc/self is the container's here, so ask the kernel
	// for the table size instead of listing it.
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Errorf("getrlimit: %w", err)
	}
	for fd := lowest; uint64(fd) < min(lim.Cur, 1<<20); fd++ {
		_, _ = unix.FcntlInt(uintptr(fd), unix.F_SETFD, unix.FD_CLOEXEC)
	}
	return nil
}
