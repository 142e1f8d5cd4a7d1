package sandbox

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"

	"github.com/prometheus/procfs"

	"github.com/openshift/insights-runtime-extractor/internal/sandbox/helper"
	"golang.org/x/sys/unix"
)

// entry is what the locked goroutine needs to start the helper.
type entry struct {
	hostPID   int
	startTime uint64     // 0: not checked
	self      *os.File   // the sealed copy of the helper executable
	files     []*os.File // the helper's descriptors from helper.Status on
	cmd       *exec.Cmd  // Path, Args and ExtraFiles are filled in by start
	cg        runCgroup
	helper    helper.Args
}

// startResult tells Run whether the helper started, and which thread forked it.
type startResult struct {
	tid int
	err error
}

// enterAndRun runs on its own goroutine locked to its OS thread, which it never unlocks: on
// cgroup v1 the thread itself is moved into the run's cgroup so that the helper is born there,
// and a thread that was moved is not worth returning to the pool. It starts the helper,
// reports on started, then waits for it and reports on exited.
func enterAndRun(e entry, started chan<- startResult, exited chan<- error) {
	runtime.LockOSThread()
	if unix.Gettid() == unix.Getpid() {
		// The main thread is never discarded, and /proc/self (mountinfo, cgroup) shows the
		// main thread's view: keep it out of this. Hold it while another goroutine takes
		// another thread, then give it back untouched.
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

// start opens what the helper needs, on the host, and starts it from its sealed copy, in the
// host's pid namespace, where no container can see it.
func (e entry) start(tid int) error {
	proc, err := unix.Open("/proc/"+strconv.Itoa(e.hostPID), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return targetErr(e.hostPID, err)
	}
	defer unix.Close(proc)
	// Opened relative to the same /proc/<pid> descriptor: if the pid is reused meanwhile, these
	// fail instead of opening another process's namespaces.
	names := append(append([]string{}, helper.Namespaces...), "root")
	files := make([]*os.File, len(names))
	for i, name := range names {
		flags := unix.O_RDONLY | unix.O_CLOEXEC
		if name == "root" {
			flags = unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC
		}
		fd, err := unix.Openat(proc, name, flags, 0)
		if err != nil {
			return targetErr(e.hostPID, err)
		}
		files[i] = os.NewFile(uintptr(fd), name)
		defer files[i].Close()
	}

	// After the opens, through the same descriptor: the files are the described process's.
	if e.startTime != 0 {
		st, err := startTimeAt(proc)
		if err != nil {
			return targetErr(e.hostPID, err)
		}
		if st != e.startTime {
			return fmt.Errorf("%w: pid %d now names a process started at %d, not %d", ErrTargetGone, e.hostPID, st, e.startTime)
		}
	}
	if err := e.cg.enter(tid, e.cmd.SysProcAttr); err != nil {
		return err
	}
	// Go opens everything close-on-exec, but descriptors this process inherited are not, and
	// the helper must not inherit them.
	if err := cloexecFrom(3); err != nil {
		return err
	}
	// The helper's image is the sealed copy, which the child of the fork finds at helper.Self
	// once its descriptors are in place: nothing the helper, or its fork in the container
	// before the execve, shows in exe or maps is a host file.
	e.cmd.Path = "/proc/self/fd/" + strconv.Itoa(helper.Self)
	e.cmd.Args = append([]string{helper.Name}, e.helper.Encode()...)
	e.cmd.ExtraFiles = append(append(files, e.self), e.files...)
	if err := e.cmd.Start(); err != nil {
		return fmt.Errorf("start the sandbox helper: %w", err)
	}
	return nil
}

// CheckMode says why Run refuses an executable whose stat(2) st_mode is mode, or returns nil:
// it must be a regular file that everyone may execute and nobody may read (see the package
// doc: dumpability), without set-id bits. extractor_server applies the same rule at start.
func CheckMode(mode uint32) error {
	switch {
	case mode&unix.S_IFMT != unix.S_IFREG:
		return errors.New("not a regular file")
	case mode&0o444 != 0:
		return fmt.Errorf("mode %04o is readable, want execute-only (e.g. 0111)", mode&0o7777)
	case mode&0o111 != 0o111:
		return fmt.Errorf("mode %04o is not executable by everyone", mode&0o7777)
	case mode&(unix.S_ISUID|unix.S_ISGID) != 0:
		return fmt.Errorf("mode %04o has set-id bits", mode&0o7777)
	}
	return nil
}

func targetErr(pid int, err error) error {
	if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ESRCH) {
		return fmt.Errorf("%w: pid %d: %w", ErrTargetGone, pid, err)
	}
	return fmt.Errorf("enter pid %d: %w", pid, err)
}

// readLastCap reads the highest capability number the running kernel knows.
func readLastCap() (int, error) {
	fs, err := procfs.NewDefaultFS()
	if err != nil {
		return 0, fmt.Errorf("read cap_last_cap: %w", err)
	}
	v, err := fs.SysctlInts("kernel.cap_last_cap")
	if err != nil {
		return 0, fmt.Errorf("read cap_last_cap: %w", err)
	}
	if len(v) != 1 || v[0] < unix.CAP_SETUID || v[0] > 255 {
		return 0, fmt.Errorf("bad cap_last_cap %v", v)
	}
	return v[0], nil
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
	// Before Linux 5.11: one by one, up to the descriptor table's limit.
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Errorf("getrlimit: %w", err)
	}
	for fd := lowest; uint64(fd) < min(lim.Cur, 1<<20); fd++ {
		_, _ = unix.FcntlInt(uintptr(fd), unix.F_SETFD, unix.FD_CLOEXEC)
	}
	return nil
}
