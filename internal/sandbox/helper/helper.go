package helper

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Name is the helper executable's file name, beside the coordinator, and the name of its
// sealed copy ("/memfd:sandbox_helper (deleted)" in its exe link).
const Name = "sandbox_helper"

// Descriptors the helper receives (exec.Cmd.ExtraFiles, in this order), then JobFDs per job.
const (
	MntNS = 3 + iota
	PidNS
	NetNS
	IPCNS
	UTSNS
	CgroupNS
	Root
	// Self is the helper's own sealed image: executed through /proc/self/fd, then closed.
	Self
	// Status receives the helper's Records.
	Status
	// Control is read before each job: once the sandbox closed its end, no job starts.
	Control
	firstJob
)

// Namespaces are the target's namespace files the helper receives, in descriptor order from
// MntNS.
var Namespaces = []string{"ns/mnt", "ns/pid", "ns/net", "ns/ipc", "ns/uts", "ns/cgroup"}

// Per job, in this order from JobFD(j, 0): the fingerprint executable (its sealed copy) and
// the fingerprint's standard input, output and error.
const (
	JobExe = iota
	JobStdin
	JobStdout
	JobStderr
	fdsPerJob
)

// MaxJobs bounds the jobs of one helper (and so its descriptors).
const MaxJobs = 16

// JobFD is the descriptor number of the which-th descriptor (JobExe …) of job j.
func JobFD(j, which int) int { return firstJob + fdsPerJob*j + which }

// Exit statuses with which the helper says it could not start any job; it then wrote one line
// starting with ErrPrefix on standard error.
const (
	ExitSetup = 125
	ErrPrefix = "sandbox helper: "
)

// Args is what the helper needs besides its descriptors.
type Args struct {
	UID, GID uint32
	LastCap  int
	Jobs     [][]string // each job's argv, argv[0] included
}

// Encode returns the helper's command-line arguments (after its argv[0]): the ids, then the
// number of jobs and, for each, the length of its argv and the argv.
func (a Args) Encode() []string {
	out := []string{
		strconv.FormatUint(uint64(a.UID), 10), strconv.FormatUint(uint64(a.GID), 10),
		strconv.Itoa(a.LastCap), "--", strconv.Itoa(len(a.Jobs)),
	}
	for _, argv := range a.Jobs {
		out = append(append(out, strconv.Itoa(len(argv))), argv...)
	}
	return out
}

// DecodeArgs reverses Encode.
func DecodeArgs(args []string) (Args, error) {
	if len(args) < 5 || args[3] != "--" {
		return Args{}, fmt.Errorf("usage: %s UID GID LASTCAP -- JOBS {ARGC ARGV...}... (with the descriptors the sandbox passes)", Name)
	}
	uid, err1 := strconv.ParseUint(args[0], 10, 32)
	gid, err2 := strconv.ParseUint(args[1], 10, 32)
	lastCap, err3 := strconv.Atoi(args[2])
	if err1 != nil || err2 != nil || err3 != nil || lastCap < 0 || lastCap > 255 {
		return Args{}, fmt.Errorf("bad arguments %q", args[:3])
	}
	a := Args{UID: uint32(uid), GID: uint32(gid), LastCap: lastCap}
	n, err := strconv.Atoi(args[4])
	if err != nil || n < 1 || n > MaxJobs {
		return Args{}, fmt.Errorf("bad number of jobs %q (1 to %d)", args[4], MaxJobs)
	}
	rest := args[5:]
	for range n {
		if len(rest) == 0 {
			return Args{}, errors.New("missing job")
		}
		argc, err := strconv.Atoi(rest[0])
		if err != nil || argc < 1 || argc > len(rest)-1 {
			return Args{}, fmt.Errorf("bad job argument count %q", rest[0])
		}
		a.Jobs = append(a.Jobs, rest[1:1+argc])
		rest = rest[1+argc:]
	}
	if len(rest) != 0 {
		return Args{}, fmt.Errorf("%d arguments after the last job", len(rest))
	}
	return a, nil
}

// Events of a Record.
const (
	// EventStarted: the job's reaper runs; Value is its pid (in the helper's, the host's, pid
	// namespace).
	EventStarted = 1 + iota
	// EventExited: the job's reaper ended; Value is its wait status (that of the fingerprint:
	// the reaper exits with it, a SIGKILL passed on as a SIGKILL).
	EventExited
	// EventNotExecuted: the kernel refused to execute the job's fingerprint; Value is the errno.
	EventNotExecuted
	// EventUsage follows EventExited: Value is the CPU time, user and system in microseconds,
	// of the job's reaper and everything it reaped (the fingerprint and what it ran).
	EventUsage
)

// RecordSize is the size of an encoded Record: below PIPE_BUF, so each write is atomic.
const RecordSize = 12

// Record is what the helper tells of a job, on Status.
type Record struct {
	Job, Event, Value uint32
}

// Encode returns the record's bytes (little endian).
func (r Record) Encode() [RecordSize]byte {
	var b [RecordSize]byte
	binary.LittleEndian.PutUint32(b[0:], r.Job)
	binary.LittleEndian.PutUint32(b[4:], r.Event)
	binary.LittleEndian.PutUint32(b[8:], r.Value)
	return b
}

// DecodeRecord reverses Encode.
func DecodeRecord(b [RecordSize]byte) Record {
	return Record{Job: binary.LittleEndian.Uint32(b[0:]), Event: binary.LittleEndian.Uint32(b[4:]), Value: binary.LittleEndian.Uint32(b[8:])}
}

// Main is the helper's whole life (its main, on the main thread, locked): it joins the target
// and gives up every privilege once, then runs the jobs one after the other, each through a
// reaper that forks its fingerprint, and tells each job's start and end on Status. It returns 0
// once every job ran, ExitSetup when it could not enter.
func Main(args []string) int {
	fail := func(err error) int {
		fmt.Fprintf(os.Stderr, "%s%v\n", ErrPrefix, err)
		return ExitSetup
	}
	a, err := DecodeArgs(args)
	if err != nil {
		return fail(err)
	}
	unix.Close(Self)
	// Go opened nothing yet; the sandbox passed these without close-on-exec: no fingerprint
	// may inherit them.
	for fd := MntNS; fd < JobFD(len(a.Jobs), 0); fd++ {
		if fd == Self {
			continue
		}
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFD, unix.FD_CLOEXEC); err != nil {
			return fail(fmt.Errorf("descriptor %d: %w", fd, err))
		}
	}
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return fail(fmt.Errorf("not dumpable: %w", err))
	}
	// Before entering: the container's /proc does not know this process.
	ppid, err := childParentPID()
	if err != nil {
		return fail(err)
	}
	filter, err := seccompFilter()
	if err != nil {
		return fail(err)
	}
	envv, err := syscall.SlicePtrFromStrings(os.Environ())
	if err != nil {
		return fail(err)
	}
	if err := enterThread(a, filter); err != nil {
		return fail(err)
	}
	if err := unix.SetNonblock(Control, true); err != nil {
		return fail(fmt.Errorf("control descriptor: %w", err))
	}
	for j, argv := range a.Jobs {
		if stopped() {
			return 0
		}
		if err := runJob(j, argv, envv, ppid); err != nil {
			return fail(fmt.Errorf("job %d: %w", j, err))
		}
	}
	return 0
}

// runJob forks the reaper of job j, which forks the fingerprint, reports the reaper's start
// and end on Status, and closes the job's descriptors, so that the caller sees the end of its
// output once nothing of the job is left.
func runJob(j int, args []string, envv []*byte, ppid uintptr) error {
	defer func() {
		for which := range fdsPerJob {
			unix.Close(JobFD(j, which))
		}
	}()
	// Everything the children need is prepared before the fork: after it, they run no Go code
	// but childReap and childExec.
	argv, err := syscall.SlicePtrFromStrings(args)
	if err != nil {
		return err
	}
	empty, _ := syscall.BytePtrFromString("")
	children, _ := syscall.BytePtrFromString("/proc/thread-self/children")
	r := &reaper{children: children, fds: [4]int{JobFD(j, JobExe), JobFD(j, JobStdin), JobFD(j, JobStdout), JobFD(j, JobStderr)}}
	var errPipe [2]int
	if err := unix.Pipe2(errPipe[:], unix.O_CLOEXEC); err != nil {
		return fmt.Errorf("pipe: %w", err)
	}
	pid, _, errno := syscall.RawSyscall6(syscall.SYS_CLONE, uintptr(syscall.SIGCHLD), 0, 0, 0, 0, 0)
	if errno != 0 {
		unix.Close(errPipe[0])
		unix.Close(errPipe[1])
		return fmt.Errorf("fork: %w", errno)
	}
	if pid == 0 {
		childReap(errPipe[1], argv, envv, empty, ppid, r)
	}
	unix.Close(errPipe[1])
	report(Record{Job: uint32(j), Event: EventStarted, Value: uint32(pid)})

	// The fingerprint's process reports a failed execveat as one errno on the pipe; EOF means
	// it executed.
	var buf [4]byte
	n, _ := unix.Read(errPipe[0], buf[:])
	unix.Close(errPipe[0])
	var ws syscall.WaitStatus
	var ru syscall.Rusage
	for {
		_, err := syscall.Wait4(int(pid), &ws, 0, &ru)
		if err != syscall.EINTR {
			break
		}
	}
	if n == len(buf) {
		report(Record{Job: uint32(j), Event: EventNotExecuted, Value: binary.NativeEndian.Uint32(buf[:])})
		return nil
	}
	report(Record{Job: uint32(j), Event: EventExited, Value: uint32(ws)})
	cpu := (ru.Utime.Nano() + ru.Stime.Nano()) / 1000
	report(Record{Job: uint32(j), Event: EventUsage, Value: uint32(min(cpu, 1<<32-1))})
	return nil
}

// stopped tells whether the sandbox closed its end of Control (or wrote on it).
func stopped() bool {
	var b [1]byte
	for {
		_, err := unix.Read(Control, b[:])
		if err != unix.EINTR {
			return err != unix.EAGAIN
		}
	}
}

// report writes r on Status. The sandbox reads it while the helper lives; if it stopped
// reading, it is killing the helper anyway.
func report(r Record) {
	b := r.Encode()
	_, _ = unix.Write(Status, b[:])
}

// enterThread puts the calling (locked) thread into the target's mount namespace, root, net,
// ipc, uts and cgroup namespaces and pid namespace (for its children), then leaves it with the
// target's ids, no supplementary groups, no capabilities in any set, no_new_privs and the
// seccomp filter: what the fingerprint runs from the container (a --version) must see the
// container's network, hostname and IPC, not the extractor's. Credentials are per thread in Linux and Go's
// syscall.Setuid changes every thread: the raw system calls change this one only, which is the
// one that forks.
func enterThread(a Args, filter []unix.SockFilter) error {
	// Without its own fs struct, a thread of a multi-threaded process cannot join a mount ns.
	if err := unix.Unshare(unix.CLONE_FS); err != nil {
		return fmt.Errorf("unshare(CLONE_FS): %w", err)
	}
	if err := unix.Setns(MntNS, unix.CLONE_NEWNS); err != nil {
		return fmt.Errorf("setns mnt: %w", err)
	}
	// setns put the thread at the namespace's root mount; the target's root may be a directory
	// below it (a chroot'ed container), and that is where the fingerprint must be.
	if err := unix.Fchdir(Root); err != nil {
		return fmt.Errorf("fchdir to the target's root: %w", err)
	}
	if err := unix.Chroot("."); err != nil {
		return fmt.Errorf("chroot to the target's root: %w", err)
	}
	if err := unix.Chdir("/"); err != nil {
		return fmt.Errorf("chdir /: %w", err)
	}
	for fd, ns := range map[int]int{PidNS: unix.CLONE_NEWPID, NetNS: unix.CLONE_NEWNET,
		IPCNS: unix.CLONE_NEWIPC, UTSNS: unix.CLONE_NEWUTS, CgroupNS: unix.CLONE_NEWCGROUP} {
		if err := unix.Setns(fd, ns); err != nil {
			return fmt.Errorf("setns %s: %w", Namespaces[fd-MntNS], err)
		}
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("set no_new_privs: %w", err)
	}
	for c := 0; c <= a.LastCap; c++ {
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil {
			return fmt.Errorf("drop capability %d from the bounding set: %w", c, err)
		}
	}
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil {
		return fmt.Errorf("clear ambient capabilities: %w", err)
	}
	if _, _, e := syscall.RawSyscall(syscall.SYS_SETGROUPS, 0, 0, 0); e != 0 {
		return fmt.Errorf("setgroups: %w", e)
	}
	if _, _, e := syscall.RawSyscall(syscall.SYS_SETRESGID, uintptr(a.GID), uintptr(a.GID), uintptr(a.GID)); e != 0 {
		return fmt.Errorf("setresgid %d: %w", a.GID, e)
	}
	if _, _, e := syscall.RawSyscall(syscall.SYS_SETRESUID, uintptr(a.UID), uintptr(a.UID), uintptr(a.UID)); e != 0 {
		return fmt.Errorf("setresuid %d: %w", a.UID, e)
	}
	// A uid change from 0 cleared the permitted and effective sets; a root target keeps them
	// until this. Without CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH, the execute-only
	// fingerprint cannot be read by its execve caller, so the kernel makes it non-dumpable.
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3} // Pid 0: this thread
	var data [2]unix.CapUserData
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capset: %w", err)
	}
	// Last: it denies setns.
	return loadSeccomp(filter)
}

// childParentPID is what getppid() says in the forked child while the helper lives: 0 when the
// child is in the container's own pid namespace, which does not see the helper; the helper's
// pid when the target shares the helper's (a pod with hostPID).
func childParentPID() (uintptr, error) {
	var target, own unix.Stat_t
	if err := unix.Fstat(PidNS, &target); err != nil {
		return 0, fmt.Errorf("stat the target's pid namespace: %w", err)
	}
	if err := unix.Stat("/proc/self/ns/pid", &own); err != nil {
		return 0, fmt.Errorf("stat own pid namespace: %w", err)
	}
	if target.Dev == own.Dev && target.Ino == own.Ino {
		return uintptr(unix.Getpid()), nil
	}
	return 0, nil
}

// reaper is what the forked child needs besides the fingerprint's arguments, prepared before
// the fork: it may not allocate.
type reaper struct {
	fds      [4]int     // the job's descriptors, in JobExe … JobStderr order
	children *byte      // "/proc/thread-self/children"
	buf      [4096]byte // its contents
	sigdfl   [4]uint64  // a struct sigaction of SIG_DFL, no flags, empty mask
}

// childReap is all the forked child runs: a new session (its own process group, no controlling
// terminal), death with the helper, then, as the child subreaper of everything the fingerprint
// starts, it forks the fingerprint and reaps every descendant. Orphans of a fingerprint (a
// --version that daemonized, a fork bomb's children) are reparented to it, not to the
// container's init, which might never reap them: no zombie is left in the container. When the
// fingerprint has exited it kills its remaining children, reaps them all, and exits with the
// fingerprint's status (a signal as 128+signal, SIGKILL passed on as SIGKILL). Only raw
// system calls: the child is a copy of one thread of a Go program whose runtime it cannot use.
//
//go:nosplit
//go:norace
func childReap(errFD int, argv, envv []*byte, empty *byte, ppid uintptr, r *reaper) {
	syscall.RawSyscall(syscall.SYS_SETSID, 0, 0, 0)
	// Dies with the helper (which dies with the caller): nothing outlives a dead coordinator.
	syscall.RawSyscall(syscall.SYS_PRCTL, unix.PR_SET_PDEATHSIG, uintptr(syscall.SIGKILL), 0)
	// Unless the helper died before that: then the parent is a reaper, not the helper.
	if p, _, _ := syscall.RawSyscall(syscall.SYS_GETPPID, 0, 0, 0); p != ppid {
		exitNow(126)
	}
	// The Go runtime's handler, inherited, must not run in this copy when a child exits.
	syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(syscall.SIGCHLD), uintptr(unsafe.Pointer(&r.sigdfl)), 0, 8, 0, 0)
	syscall.RawSyscall6(syscall.SYS_PRCTL, unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0, 0)
	self, _, _ := syscall.RawSyscall(syscall.SYS_GETPID, 0, 0, 0)
	fp, _, errno := syscall.RawSyscall6(syscall.SYS_CLONE, uintptr(syscall.SIGCHLD), 0, 0, 0, 0, 0)
	if errno != 0 {
		code := uint32(errno)
		syscall.RawSyscall(syscall.SYS_WRITE, uintptr(errFD), uintptr(unsafe.Pointer(&code)), 4)
		exitNow(126)
	}
	if fp == 0 {
		childExec(errFD, argv, envv, empty, self, &r.fds)
	}
	syscall.RawSyscall(syscall.SYS_CLOSE, uintptr(errFD), 0, 0)

	var ws syscall.WaitStatus
	var status syscall.WaitStatus
	done := false
	for {
		pid, _, e := syscall.RawSyscall6(syscall.SYS_WAIT4, ^uintptr(0), uintptr(unsafe.Pointer(&ws)), unix.WALL, 0, 0, 0)
		if e == syscall.EINTR {
			continue
		}
		if e != 0 {
			break // ECHILD: nothing left
		}
		if pid == fp {
			status, done = ws, true
		}
		if done {
			r.killChildren()
		}
	}
	switch {
	case !done:
		exitNow(126)
	case status.Exited():
		exitNow(uintptr(status.ExitStatus()))
	case status.Signaled() && status.Signal() == syscall.SIGKILL:
		syscall.RawSyscall(syscall.SYS_KILL, self, uintptr(syscall.SIGKILL), 0)
	case status.Signaled():
		exitNow(128 + uintptr(status.Signal()))
	}
	exitNow(126)
}

// killChildren sends SIGKILL to every child of the calling thread, as its /proc lists them (if
// the container has no /proc, the caller's kill of the run's cgroup ends them).
//
//go:nosplit
//go:norace
func (r *reaper) killChildren() {
	fd, _, e := syscall.RawSyscall6(syscall.SYS_OPENAT, ^uintptr(99), // AT_FDCWD (-100)
		uintptr(unsafe.Pointer(r.children)), uintptr(unix.O_RDONLY|unix.O_CLOEXEC), 0, 0, 0)
	if e != 0 {
		return
	}
	n, _, e := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&r.buf[0])), uintptr(len(r.buf)))
	syscall.RawSyscall(syscall.SYS_CLOSE, fd, 0, 0)
	if e != 0 {
		return
	}
	pid := uintptr(0)
	for i := uintptr(0); i < n; i++ {
		c := r.buf[i]
		if c >= '0' && c <= '9' {
			pid = pid*10 + uintptr(c-'0')
			continue
		}
		if pid > 0 {
			syscall.RawSyscall(syscall.SYS_KILL, pid, uintptr(syscall.SIGKILL), 0)
		}
		pid = 0
	}
	if pid > 0 {
		syscall.RawSyscall(syscall.SYS_KILL, pid, uintptr(syscall.SIGKILL), 0)
	}
}

//go:nosplit
//go:norace
func exitNow(code uintptr) {
	for {
		syscall.RawSyscall(syscall.SYS_EXIT_GROUP, code, 0, 0)
	}
}

// childExec is what the fingerprint's process runs until its execve: a session of its own,
// death with the reaper, the job's pipes as its standard streams, then the fingerprint through
// its descriptor, which does not depend on the container's /proc.
//
//go:nosplit
//go:norace
func childExec(errFD int, argv, envv []*byte, empty *byte, ppid uintptr, fds *[4]int) {
	// A session and process group of its own, as the fingerprint had before the reaper.
	syscall.RawSyscall(syscall.SYS_SETSID, 0, 0, 0)
	syscall.RawSyscall(syscall.SYS_PRCTL, unix.PR_SET_PDEATHSIG, uintptr(syscall.SIGKILL), 0)
	if p, _, _ := syscall.RawSyscall(syscall.SYS_GETPPID, 0, 0, 0); p != ppid {
		exitNow(126)
	}
	for std := range 3 {
		if _, _, e := syscall.RawSyscall(unix.SYS_DUP3, uintptr(fds[JobStdin+std]), uintptr(std), 0); e != 0 {
			code := uint32(e)
			syscall.RawSyscall(syscall.SYS_WRITE, uintptr(errFD), uintptr(unsafe.Pointer(&code)), 4)
			exitNow(126)
		}
	}
	_, _, errno := syscall.RawSyscall6(unix.SYS_EXECVEAT, uintptr(fds[JobExe]),
		uintptr(unsafe.Pointer(empty)), uintptr(unsafe.Pointer(&argv[0])), uintptr(unsafe.Pointer(&envv[0])),
		uintptr(unix.AT_EMPTY_PATH), 0)
	code := uint32(errno)
	syscall.RawSyscall(syscall.SYS_WRITE, uintptr(errFD), uintptr(unsafe.Pointer(&code)), 4)
	exitNow(126)
}
