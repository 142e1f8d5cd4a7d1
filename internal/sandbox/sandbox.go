package sandbox

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/openshift/insights-runtime-extractor/internal/bounded"
	"github.com/openshift/insights-runtime-extractor/internal/sandbox/helper"
)

// Errors a Run can return, testable with errors.Is.
var (
	// ErrTimeout: the fingerprint did not finish within Limits.Timeout or the context's
	// deadline; its whole process group and cgroup were killed. (A cancelled context kills it
	// the same way and returns the context's error.)
	ErrTimeout = errors.New("fingerprint timed out")
	// ErrTargetGone: the target process no longer exists (or its namespaces cannot be opened).
	ErrTargetGone = errors.New("target process gone")
	// ErrOutputTooLarge: the fingerprint printed more than Limits.MaxOutput bytes; it was killed.
	ErrOutputTooLarge = errors.New("fingerprint output too large")
	// ErrFailed: the fingerprint exited with a non-zero status or was killed by a signal.
	ErrFailed = errors.New("fingerprint failed")
	// ErrMemoryLimit: the fingerprint failed and its cgroup recorded an OOM kill. Wraps ErrFailed.
	ErrMemoryLimit = fmt.Errorf("%w: memory limit reached", ErrFailed)
	// ErrPidsLimit: the fingerprint failed and its cgroup refused a fork. Wraps ErrFailed.
	ErrPidsLimit = fmt.Errorf("%w: pids limit reached", ErrFailed)
	// ErrNotStarted: the fingerprint never ran: ErrBadExecutable, or the kernel refused to
	// execute it inside the target (ENOENT for a dynamic one whose loader the container lacks,
	// ENOEXEC for another architecture's). Unlike a fingerprint that failed, it fails for every
	// container: an installation problem.
	ErrNotStarted = errors.New("fingerprint could not start")
	// ErrBadExecutable: the executable is not a regular file, or is readable by someone (it must
	// be execute-only, e.g. mode 0111, so that the kernel keeps the fingerprint non-dumpable).
	// Wraps ErrNotStarted.
	ErrBadExecutable = fmt.Errorf("%w: unsuitable fingerprint executable", ErrNotStarted)
)

// Defaults applied to zero fields of Limits.
const (
	DefaultTimeout     = 10 * time.Second
	DefaultMemoryBytes = 256 << 20
	DefaultMaxPids     = 64
	DefaultCPUPercent  = 100
	DefaultMaxOutput   = 64 << 10
)

// stderrKept bounds how much of a failing fingerprint's standard error is quoted in the error.
const stderrKept = 512

// killGrace bounds how long Run waits, after the fingerprint's cgroup was killed, for its
// output pipes to close; a descendant that escaped the kill must not hold Run forever.
const killGrace = 2 * time.Second

// Target is the container process whose namespaces and identity a fingerprint takes.
type Target struct {
	HostPID  int    // pid in the caller's pid namespace
	UID, GID uint32 // the fingerprint runs with these ids and no supplementary groups
	// StartTime is the process's start time (field 22 of /proc/<pid>/stat) when it was
	// described: Run checks it after opening the namespaces, so that a pid reused meanwhile
	// fails with ErrTargetGone instead of entering another process. 0: not checked.
	StartTime uint64
}

// Limits bound one run. Zero fields take the Default* values.
type Limits struct {
	Timeout     time.Duration // wall clock, from the start of Run
	MemoryBytes int64         // cgroup memory limit (and memory+swap on v1 when accounted)
	MaxPids     int64         // cgroup pids limit (processes and threads)
	CPUPercent  int           // CPU bandwidth, 100 = one full CPU
	MaxOutput   int           // bytes of standard output accepted
}

func (l Limits) withDefaults() Limits {
	if l.Timeout == 0 {
		l.Timeout = DefaultTimeout
	}
	if l.MemoryBytes == 0 {
		l.MemoryBytes = DefaultMemoryBytes
	}
	if l.MaxPids == 0 {
		l.MaxPids = DefaultMaxPids
	}
	if l.CPUPercent == 0 {
		l.CPUPercent = DefaultCPUPercent
	}
	if l.MaxOutput == 0 {
		l.MaxOutput = DefaultMaxOutput
	}
	return l
}

func (l Limits) validate() error {
	switch {
	case l.Timeout < 0:
		return fmt.Errorf("negative timeout %s", l.Timeout)
	case l.MemoryBytes < 1<<20:
		return fmt.Errorf("memory limit %d below 1 MiB", l.MemoryBytes)
	case l.MaxPids < 1:
		return fmt.Errorf("pids limit %d below 1", l.MaxPids)
	case l.CPUPercent < 1 || l.CPUPercent > 100*1024:
		return fmt.Errorf("cpu percent %d out of range", l.CPUPercent)
	case l.MaxOutput < 1:
		return fmt.Errorf("output limit %d below 1", l.MaxOutput)
	}
	return nil
}

// Options configure a Sandbox.
type Options struct {
	// Helper is the sandbox helper executable (cmd/sandbox_helper; HelperBeside finds the
	// one installed with a program). New copies it once; every run starts the copy.
	Helper string
	// CgroupParent is the cgroup (a path as in /proc/self/cgroup, e.g. "/insights") under which
	// the sandbox creates its own cgroup. Empty: under this process's own cgroup, which keeps
	// the fingerprints accounted to the extractor's pod; on v2 its processes first move into
	// a leaf below it (see delegateV2).
	CgroupParent string
	// Logger receives one line per failed run; nil discards.
	Logger *slog.Logger
}

// Sandbox runs fingerprints. It owns a parent cgroup, created by New and removed by Close.
// Run is safe for concurrent use.
type Sandbox struct {
	log     *slog.Logger
	cg      cgroupParent
	lastCap int
	exes    exeCopies
	helper  *os.File // the sealed copy of Options.Helper
	runSeq  atomic.Uint64
	closed  atomic.Bool
}

// HelperBeside returns the path of the sandbox helper installed beside the executable exe
// (the coordinator's image ships them in one directory).
func HelperBeside(exe string) string { return filepath.Join(filepath.Dir(exe), helper.Name) }

// New copies the helper and prepares the sandbox's parent cgroup (v1 or v2, as the host
// mounts them).
func New(opts Options) (*Sandbox, error) {
	return newWith(opts, func(name string, log *slog.Logger) (cgroupParent, error) {
		return newCgroupParent(opts.CgroupParent, name, log)
	})
}

// Check creates and removes a sandbox's cgroup as New does. A server calls it at start, so
// that a node where fingerprints cannot be limited fails there, with the reason, instead of
// at every scan. On cgroup v2 with no CgroupParent it leaves this process's cgroup delegated
// (see delegateV2), which is what the coordinators it starts then use.
func Check(opts Options) error {
	s, err := New(opts)
	if err != nil {
		return err
	}
	return s.Close()
}

// newWith is New with the choice of cgroup hierarchy left to the caller (tests).
func newWith(opts Options, parent func(name string, log *slog.Logger) (cgroupParent, error)) (*Sandbox, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	lastCap, err := readLastCap()
	if err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	var suffix [4]byte
	if _, err := rand.Read(suffix[:]); err != nil {
		return nil, fmt.Errorf("sandbox: random cgroup name: %w", err)
	}
	// The start time with the pid: sweepStale tells a dead owner from a reused pid.
	start, err := startTimeOf(os.Getpid())
	if err != nil {
		return nil, fmt.Errorf("sandbox: own start time: %w", err)
	}
	name := fmt.Sprintf("%s%d-%d-%s", sandboxPrefix, os.Getpid(), start, hex.EncodeToString(suffix[:]))
	self, err := helperCopy(opts.Helper)
	if err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	cg, err := parent(name, log)
	if err != nil {
		self.Close()
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	return &Sandbox{log: log, cg: cg, lastCap: lastCap, helper: self}, nil
}

// Close removes the sandbox's parent cgroup. Runs must have returned.
func (s *Sandbox) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	s.exes.close()
	s.helper.Close()
	if err := s.cg.remove(); err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	return nil
}

// Run executes the host executable exePath with args inside t's pid and mount namespaces,
// deprivileged and limited by l, feeds it stdin and returns its standard output (at most
// l.MaxOutput bytes). On any error the output is nil.
func (s *Sandbox) Run(ctx context.Context, t Target, exePath string, args []string, stdin []byte, l Limits) ([]byte, error) {
	out, err := s.run(ctx, t, exePath, args, stdin, l)
	if err != nil {
		s.log.Debug("fingerprint run failed", "target_pid", t.HostPID, "executable", exePath, "error", err)
		return nil, fmt.Errorf("sandbox: run %s in pid %d: %w", exePath, t.HostPID, err)
	}
	return out, nil
}

func (s *Sandbox) run(ctx context.Context, t Target, exePath string, args []string, stdin []byte, l Limits) ([]byte, error) {
	if s.closed.Load() {
		return nil, errors.New("sandbox closed")
	}
	if t.HostPID <= 0 {
		return nil, fmt.Errorf("invalid target pid %d", t.HostPID)
	}
	l = l.withDefaults()
	if err := l.validate(); err != nil {
		return nil, fmt.Errorf("limits: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("not started: %w", context.Cause(ctx))
	}
	ctx, cancel := context.WithTimeout(ctx, l.Timeout)
	defer cancel()
	exe, err := s.exes.executable(exePath)
	if err != nil {
		return nil, err
	}

	cg, err := s.cg.newRun(fmt.Sprintf("run-%d", s.runSeq.Add(1)), l)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err := cg.remove(); err != nil {
			s.log.Warn("removing fingerprint cgroup", "error", err)
		}
	}()

	// The three standard streams are our own pipes, not os/exec's copying goroutines, so that
	// Wait returns when the fingerprint exits even if its descendants keep a stream open: they
	// are killed with the cgroup right after.
	var p pipes
	defer p.close()
	if err := p.open(); err != nil {
		return nil, err
	}
	cmd := &exec.Cmd{
		Env:    []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
		Stdin:  p.stdinR,
		Stdout: p.stdoutW,
		Stderr: p.stderrW,
		SysProcAttr: &syscall.SysProcAttr{
			// The helper stays in the host's pid namespace, so Pdeathsig works for it (it
			// forwards it to the fingerprint), and in a session of its own, killed as a group.
			Setsid:    true,
			Pdeathsig: syscall.SIGKILL,
		},
	}

	started := make(chan startResult, 1)
	exited := make(chan error, 1)
	go enterAndRun(entry{
		hostPID: t.HostPID, startTime: t.StartTime, exe: exe, self: s.helper, cmd: cmd, cg: cg,
		helper: helper.Args{UID: t.UID, GID: t.GID, LastCap: s.lastCap, Argv: append([]string{exeName(exePath)}, args...)},
	}, started, exited)
	st := <-started
	p.closeChildEnds()
	// Before anything can kill the cgroup: on v1 the forking thread may still be a member.
	if err := cg.leave(st.tid); err != nil {
		if st.err == nil {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
		return nil, err
	}
	if st.err != nil {
		return nil, st.err
	}
	pid := cmd.Process.Pid

	go func() {
		// Fails with EPIPE once the fingerprint and its descendants are gone.
		_, _ = p.stdinW.Write(stdin)
		p.stdinW.Close()
	}()
	type readResult struct {
		out []byte
		err error
	}
	stdoutDone := make(chan readResult, 1)
	overflow := make(chan struct{})
	go func() {
		out, err := io.ReadAll(io.LimitReader(p.stdoutR, int64(l.MaxOutput)+1))
		if len(out) > l.MaxOutput {
			close(overflow)
			out, err = nil, ErrOutputTooLarge
		}
		stdoutDone <- readResult{out, err}
	}()
	stderr := &bounded.Buffer{Max: stderrKept}
	stderrDone := make(chan struct{})
	go func() {
		_, _ = io.Copy(stderr, p.stderrR)
		close(stderrDone)
	}()

	var runErr, waitErr error
	select {
	case waitErr = <-exited:
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			runErr = fmt.Errorf("%w after %s: %w", ErrTimeout, l.Timeout, context.Cause(ctx))
		} else {
			runErr = fmt.Errorf("fingerprint stopped: %w", context.Cause(ctx))
		}
	case <-overflow:
		runErr = fmt.Errorf("%w: more than %d bytes", ErrOutputTooLarge, l.MaxOutput)
	}
	if runErr != nil {
		// Everything but the helper and its child, the reaper in the container, first: the
		// reaper reaps the fingerprint and all it started, and the helper reaps the reaper (a
		// zombie left to the container's init might never be reaped).
		spare := []int{pid}
		if r := childOf(pid); r > 0 {
			spare = append(spare, r)
		}
		if err := cg.killExcept(spare...); err != nil {
			s.log.Warn("killing fingerprint", "error", err)
		}
		select {
		case waitErr = <-exited:
		case <-time.After(killGrace):
			_ = syscall.Kill(pid, syscall.SIGKILL)
			waitErr = <-exited
		}
	}
	// Whatever happened, nothing the fingerprint started outlives the run.
	if err := cg.kill(); err != nil {
		s.log.Warn("killing fingerprint cgroup", "error", err)
	}

	// All writers are dead; a descendant that escaped the kill must not hold us: closing the
	// read ends unblocks the readers.
	grace := time.NewTimer(killGrace)
	defer grace.Stop()
	var res readResult
	select {
	case res = <-stdoutDone:
	case <-grace.C:
		p.stdoutR.Close()
		p.stderrR.Close()
		res = <-stdoutDone
		if res.err == nil {
			res.err = errors.New("output pipe still open after the fingerprint was killed")
		}
	}
	select {
	case <-stderrDone:
	case <-grace.C:
		p.stderrR.Close()
		<-stderrDone
	}

	if runErr != nil {
		return nil, runErr
	}
	if waitErr != nil {
		var exitErr *exec.ExitError
		if !errors.As(waitErr, &exitErr) {
			return nil, fmt.Errorf("wait: %w", waitErr)
		}
		base := ErrFailed
		switch ev := cg.events(); {
		case ev.oomKills > 0:
			base = ErrMemoryLimit
		case ev.pidsMax > 0:
			base = ErrPidsLimit
		}
		if msg, ok := strings.CutPrefix(stderr.String(), helper.ErrPrefix); ok {
			switch exitErr.ExitCode() {
			case helper.ExitSetup:
				return nil, fmt.Errorf("sandbox helper: %s", strings.TrimSpace(msg))
			case helper.ExitExec:
				return nil, fmt.Errorf("%w: %s", ErrNotStarted, strings.TrimSpace(msg))
			}
		}
		return nil, fmt.Errorf("%w: %s, stderr %q", base, exitErr.ProcessState, stderr.String())
	}
	if res.err != nil {
		if errors.Is(res.err, ErrOutputTooLarge) {
			return nil, fmt.Errorf("%w: more than %d bytes", ErrOutputTooLarge, l.MaxOutput)
		}
		return nil, fmt.Errorf("read output: %w", res.err)
	}
	return res.out, nil
}

// pipes are the fingerprint's standard streams.
type pipes struct {
	stdinR, stdinW, stdoutR, stdoutW, stderrR, stderrW *os.File
}

func (p *pipes) open() error {
	var err error
	if p.stdinR, p.stdinW, err = os.Pipe(); err != nil {
		return fmt.Errorf("stdin pipe: %w", err)
	}
	if p.stdoutR, p.stdoutW, err = os.Pipe(); err != nil {
		return fmt.Errorf("stdout pipe: %w", err)
	}
	if p.stderrR, p.stderrW, err = os.Pipe(); err != nil {
		return fmt.Errorf("stderr pipe: %w", err)
	}
	return nil
}

// closeChildEnds closes, in this process, the ends the child got.
func (p *pipes) closeChildEnds() {
	for _, f := range []*os.File{p.stdinR, p.stdoutW, p.stderrW} {
		if f != nil {
			f.Close()
		}
	}
}

func (p *pipes) close() {
	for _, f := range []*os.File{p.stdinR, p.stdinW, p.stdoutR, p.stdoutW, p.stderrR, p.stderrW} {
		if f != nil {
			f.Close() // a second Close only returns an error
		}
	}
}

// exeName is argv[0] for the fingerprint: the base name of its host path, so that nothing of
// the host's layout is shown to the container.
func exeName(p string) string {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '/' {
			return p[i+1:]
		}
	}
	return p
}

// childOf returns the child of process pid's main thread (the helper has one: the reaper), or 0.
func childOf(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) != 1 {
		return 0
	}
	c, _ := strconv.Atoi(f[0])
	return c
}
