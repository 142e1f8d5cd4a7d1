package sandbox

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/procfs"

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
	usageMu sync.Mutex
	usage   Usage
	runSeq  atomic.Uint64
	// idle are run cgroups free for the next run, by the limits they were made with: a scan
	// makes one per container scanned at once, not one per container.
	idleMu sync.Mutex
	idle   map[cgroupLimits][]runCgroup
	closed atomic.Bool
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
	s.idleMu.Lock()
	for _, cgs := range s.idle {
		for _, cg := range cgs {
			if err := cg.remove(); err != nil {
				s.log.Warn("removing fingerprint cgroup", "error", err)
			}
		}
	}
	s.idle = nil
	s.idleMu.Unlock()
	if err := s.cg.remove(); err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	return nil
}

// Job is one fingerprint run of RunJobs.
type Job struct {
	Exe   string   // host path of the fingerprint executable
	Args  []string // its arguments, after argv[0] (the executable's base name)
	Stdin []byte
}

// Result is what a Job gave: its standard output (at most Limits.MaxOutput bytes), or why it
// gave none.
type Result struct {
	Out []byte
	Err error
}

// Run runs one job: RunJobs with a single Job.
func (s *Sandbox) Run(ctx context.Context, t Target, exePath string, args []string, stdin []byte, l Limits) ([]byte, error) {
	r := s.RunJobs(ctx, t, []Job{{Exe: exePath, Args: args, Stdin: stdin}}, l)[0]
	return r.Out, r.Err
}

// RunJobs runs the jobs, one after the other, inside t's namespaces, deprivileged, through one
// helper and in one cgroup limited by l: the container is entered once, whatever the number of
// fingerprints. Each job has its own wall-clock limit (l.Timeout, from its start), output
// limit and result, in the order of jobs; a job that fails, times out or prints too much
// costs only its own result. When ctx ends, the running job is killed and the jobs not run
// yet fail with ctx's cause.
func (s *Sandbox) RunJobs(ctx context.Context, t Target, jobs []Job, l Limits) []Result {
	res := s.runJobs(ctx, t, jobs, l)
	for i, r := range res {
		if r.Err != nil {
			s.log.Debug("fingerprint run failed", "target_pid", t.HostPID, "executable", jobs[i].Exe, "error", r.Err)
			res[i].Err = fmt.Errorf("sandbox: run %s in pid %d: %w", jobs[i].Exe, t.HostPID, r.Err)
		}
	}
	return res
}

// jobRun is the state of one job handed to the helper.
type jobRun struct {
	index   int // in the caller's jobs
	exe     *os.File
	pipes   pipes
	stdout  chan readResult
	stderr  *bounded.Buffer
	errDone chan struct{}
	status  *syscall.WaitStatus // its reaper's, once it ended
	limit   error               // ErrMemoryLimit or ErrPidsLimit when its cgroup recorded one
	cpu     time.Duration       // of its processes, as the helper reaped them
	err     error               // why it has no output, once known
}

type readResult struct {
	out []byte
	err error
}

func (s *Sandbox) runJobs(ctx context.Context, t Target, jobs []Job, l Limits) []Result {
	res := make([]Result, len(jobs))
	failAll := func(err error) []Result {
		for i := range res {
			if res[i].Err == nil && res[i].Out == nil {
				res[i].Err = err
			}
		}
		return res
	}
	switch {
	case s.closed.Load():
		return failAll(errors.New("sandbox closed"))
	case t.HostPID <= 0:
		return failAll(fmt.Errorf("invalid target pid %d", t.HostPID))
	case len(jobs) > helper.MaxJobs:
		return failAll(fmt.Errorf("%d jobs, at most %d at once", len(jobs), helper.MaxJobs))
	}
	l = l.withDefaults()
	if err := l.validate(); err != nil {
		return failAll(fmt.Errorf("limits: %w", err))
	}
	if err := ctx.Err(); err != nil {
		return failAll(fmt.Errorf("not started: %w", context.Cause(ctx)))
	}

	// A job whose executable is unsuitable fails alone; the others run.
	var runs []*jobRun
	for i, j := range jobs {
		exe, err := s.exes.executable(j.Exe)
		if err != nil {
			res[i].Err = err
			continue
		}
		runs = append(runs, &jobRun{index: i, exe: exe, stdout: make(chan readResult, 1),
			stderr: &bounded.Buffer{Max: stderrKept}, errDone: make(chan struct{})})
	}
	if len(runs) == 0 {
		return res
	}
	cg, err := s.runCgroup(l)
	if err != nil {
		return failAll(err)
	}
	// Released (killed, then kept for the next run) once the helper has ended, or on any
	// early return.
	released := false
	defer func() {
		if !released {
			s.release(l, cg)
		}
	}()

	// Each job's three standard streams are our own pipes, not os/exec's copying goroutines,
	// so that a job's end is seen when its fingerprint exits even if its descendants keep a
	// stream open: they are killed with it. The helper's own stderr carries its setup error,
	// its status pipe the start and end of each job.
	var helperErr, status, control pipe
	for _, p := range []*pipe{&helperErr, &status, &control} {
		defer p.close()
		if err := p.open(); err != nil {
			return failAll(err)
		}
	}
	args := helper.Args{UID: t.UID, GID: t.GID, LastCap: s.lastCap}
	files := []*os.File{status.w, control.r}
	for _, r := range runs {
		defer r.pipes.close()
		if err := r.pipes.open(); err != nil {
			return failAll(err)
		}
		j := jobs[r.index]
		args.Jobs = append(args.Jobs, append([]string{exeName(j.Exe)}, j.Args...))
		files = append(files, r.exe, r.pipes.stdin.r, r.pipes.stdout.w, r.pipes.stderr.w)
	}
	cmd := &exec.Cmd{
		// The helper and the fingerprints (which inherit it) do one thing at a time: one P
		// spares each Go start the threads it would spin up for the others.
		Env:    []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "GOMAXPROCS=1"},
		Stderr: helperErr.w,
		SysProcAttr: &syscall.SysProcAttr{
			// The helper stays in the host's pid namespace, so Pdeathsig works for it (its
			// reaper and fingerprint die with it), in a session of its own.
			Setsid:    true,
			Pdeathsig: syscall.SIGKILL,
		},
	}

	started := make(chan startResult, 1)
	exited := make(chan error, 1)
	go enterAndRun(entry{hostPID: t.HostPID, startTime: t.StartTime, self: s.helper, files: files, cmd: cmd, cg: cg, helper: args},
		started, exited)
	st := <-started
	// The child's ends: only the helper holds them now.
	helperErr.w.Close()
	status.w.Close()
	control.r.Close()
	for _, r := range runs {
		r.pipes.closeChildEnds()
	}
	// Before anything can kill the cgroup: on v1 the forking thread may still be a member.
	if err := cg.leave(st.tid); err != nil {
		if st.err == nil {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
		return failAll(err)
	}
	if st.err != nil {
		return failAll(st.err)
	}
	helperPID := cmd.Process.Pid

	overflow := make(chan *jobRun, len(runs))
	for _, r := range runs {
		go func() {
			// Fails with EPIPE once the job is over.
			_, _ = r.pipes.stdin.w.Write(jobs[r.index].Stdin)
			r.pipes.stdin.w.Close()
		}()
		go func() {
			out, err := io.ReadAll(io.LimitReader(r.pipes.stdout.r, int64(l.MaxOutput)+1))
			if len(out) > l.MaxOutput {
				overflow <- r
				out, err = nil, ErrOutputTooLarge
			}
			r.stdout <- readResult{out, err}
		}()
		go func() {
			_, _ = io.Copy(r.stderr, r.pipes.stderr.r)
			close(r.errDone)
		}()
	}
	helperStderr := &bounded.Buffer{Max: stderrKept}
	helperErrDone := make(chan struct{})
	go func() {
		_, _ = io.Copy(helperStderr, helperErr.r)
		close(helperErrDone)
	}()

	waitErr, stopErr := s.supervise(ctx, l, cg, helperPID, runs, status.r, overflow, exited, func() { control.w.Close() })
	s.account(cmd.ProcessState, jobs, runs)
	// Whatever happened, nothing a job started outlives the run.
	s.release(l, cg)
	released = true
	// All writers are dead; a descendant that escaped the kill must not hold us: closing the
	// read ends unblocks the readers.
	grace := time.NewTimer(killGrace)
	defer grace.Stop()
	select {
	case <-helperErrDone:
	case <-grace.C:
		helperErr.r.Close()
		<-helperErrDone
	}
	for _, r := range runs {
		var out readResult
		select {
		case out = <-r.stdout:
		case <-grace.C:
			r.pipes.stdout.r.Close()
			r.pipes.stderr.r.Close()
			out = <-r.stdout
			if out.err == nil {
				out.err = errors.New("output pipe still open after the fingerprint was killed")
			}
		}
		select {
		case <-r.errDone:
		case <-grace.C:
			r.pipes.stderr.r.Close()
			<-r.errDone
		}
		res[r.index] = result(r, out, l.MaxOutput, waitErr, stopErr, helperStderr.String())
	}
	return res
}

// supervise follows the helper's records until the helper exits: it arms each job's time
// limit at its start, kills a job that overruns it or prints too much, and when ctx ends kills
// the running job and stops the helper before the next (stop). It returns the helper's wait
// error and, if ctx ended, why.
func (s *Sandbox) supervise(ctx context.Context, l Limits, cg runCgroup, helperPID int, runs []*jobRun,
	status *os.File, overflow <-chan *jobRun, exited <-chan error, stop func()) (waitErr, stopErr error) {
	records := make(chan helper.Record)
	go readRecords(status, records)
	// Until the first job starts, the limit bounds the helper's entering.
	timer := time.NewTimer(l.Timeout)
	defer timer.Stop()
	var cur *jobRun
	reaper := 0
	// killJob kills the running job's fingerprint (the reaper's children): its reaper then kills
	// and reaps whatever is left of the job and ends (a zombie left to the container's init
	// might never be reaped). Not the whole cgroup: the helper may start the next job as soon
	// as the reaper ended.
	killJob := func() { killChildren(helperPID, reaper) }
	// The counters of a reused cgroup carry the runs before.
	seen := cg.events()
	apply := func(rec helper.Record) {
		if int(rec.Job) >= len(runs) {
			return
		}
		r := runs[rec.Job]
		switch rec.Event {
		case helper.EventStarted:
			cur, reaper = r, int(rec.Value)
			if stopErr != nil {
				r.err = stopErr
				killJob()
				return
			}
			timer.Reset(l.Timeout)
		case helper.EventExited:
			ws := syscall.WaitStatus(rec.Value)
			r.status, cur, reaper = &ws, nil, 0
			timer.Stop()
			if ws.Exited() && ws.ExitStatus() == 0 {
				return
			}
			// The cgroup's counters are the run's: what rose during this job is this job's.
			ev := cg.events()
			switch {
			case ev.oomKills > seen.oomKills:
				r.limit = ErrMemoryLimit
			case ev.pidsMax > seen.pidsMax:
				r.limit = ErrPidsLimit
			}
			seen = ev
		case helper.EventNotExecuted:
			r.err = fmt.Errorf("%w: execute the fingerprint: %w", ErrNotStarted, syscall.Errno(rec.Value))
			cur, reaper = nil, 0
			timer.Stop()
		case helper.EventUsage:
			r.cpu = time.Duration(rec.Value) * time.Microsecond
		}
	}
	var stopped <-chan time.Time
	done := ctx.Done()
	for {
		select {
		case rec, ok := <-records:
			if !ok {
				records = nil
				continue
			}
			apply(rec)
		case <-timer.C:
			if cur == nil {
				stopErr = fmt.Errorf("%w after %s: the sandbox helper did not start the fingerprint", ErrTimeout, l.Timeout)
				_ = syscall.Kill(helperPID, syscall.SIGKILL)
				continue
			}
			if cur.err == nil {
				cur.err = fmt.Errorf("%w after %s", ErrTimeout, l.Timeout)
			}
			killJob()
		case r := <-overflow:
			if r.err == nil {
				r.err = fmt.Errorf("%w: more than %d bytes", ErrOutputTooLarge, l.MaxOutput)
			}
			if r == cur {
				killJob()
			}
		case <-done:
			done = nil
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				stopErr = fmt.Errorf("%w: %w", ErrTimeout, context.Cause(ctx))
			} else {
				stopErr = fmt.Errorf("fingerprint stopped: %w", context.Cause(ctx))
			}
			// The helper starts no further job (it looks before each): it ends once the
			// running one, killed here, is reaped. A job it started meanwhile is killed at its
			// start record.
			stop()
			if cur != nil {
				if cur.err == nil {
					cur.err = stopErr
				}
				killJob()
			}
			stopped = time.After(killGrace)
		case <-stopped:
			// The last resort: its reaper and fingerprint die with it.
			stopped = nil
			_ = syscall.Kill(helperPID, syscall.SIGKILL)
		case waitErr = <-exited:
			// Records written before the exit are still in the pipe; nothing else holds it
			// but a process that escaped every kill.
			drain := time.After(killGrace)
			for records != nil {
				select {
				case rec, ok := <-records:
					if !ok {
						records = nil
						continue
					}
					apply(rec)
				case <-drain:
					status.Close()
				}
			}
			return waitErr, stopErr
		}
	}
}

// cgroupLimits are the limits a run cgroup is made with.
type cgroupLimits struct {
	memory, pids int64
	cpu          int
}

func (l Limits) cgroupKey() cgroupLimits { return cgroupLimits{l.MemoryBytes, l.MaxPids, l.CPUPercent} }

// runCgroup returns an idle run cgroup made with l's limits, or a new one.
func (s *Sandbox) runCgroup(l Limits) (runCgroup, error) {
	key := l.cgroupKey()
	s.idleMu.Lock()
	if n := len(s.idle[key]); n > 0 {
		cg := s.idle[key][n-1]
		s.idle[key] = s.idle[key][:n-1]
		s.idleMu.Unlock()
		return cg, nil
	}
	s.idleMu.Unlock()
	return s.cg.newRun(fmt.Sprintf("run-%d", s.runSeq.Add(1)), l)
}

// release kills whatever is left in a run cgroup, then keeps it for the next run, or removes
// it if it could not be emptied or may not be reused.
func (s *Sandbox) release(l Limits, cg runCgroup) {
	err := cg.kill()
	if err != nil {
		s.log.Warn("killing fingerprint cgroup", "error", err)
	}
	if err == nil && cg.reusable() && !s.closed.Load() {
		key := l.cgroupKey()
		s.idleMu.Lock()
		if s.idle == nil {
			s.idle = map[cgroupLimits][]runCgroup{}
		}
		s.idle[key] = append(s.idle[key], cg)
		s.idleMu.Unlock()
		return
	}
	if err := cg.remove(); err != nil {
		s.log.Warn("removing fingerprint cgroup", "error", err)
	}
}

// Usage is the CPU time, user and system, of the processes a Sandbox started since New.
type Usage struct {
	// Helpers is the helpers' own: entering containers, dropping privileges, forking.
	Helpers time.Duration
	// Jobs is, per executable (base name), the jobs run and their processes' CPU time: the
	// reaper, the fingerprint and what the fingerprint ran.
	Jobs map[string]JobUsage
}

// JobUsage is the cost of the jobs of one executable.
type JobUsage struct {
	Runs int
	CPU  time.Duration
}

// Usage returns the CPU time of the processes started so far.
func (s *Sandbox) Usage() Usage {
	s.usageMu.Lock()
	defer s.usageMu.Unlock()
	u := Usage{Helpers: s.usage.Helpers, Jobs: maps.Clone(s.usage.Jobs)}
	return u
}

// account adds one helper's run to Usage: what the helper's wait status says it and its
// descendants took, less what it said each job took.
func (s *Sandbox) account(helperState *os.ProcessState, jobs []Job, runs []*jobRun) {
	if helperState == nil {
		return
	}
	own := helperState.UserTime() + helperState.SystemTime()
	s.usageMu.Lock()
	defer s.usageMu.Unlock()
	if s.usage.Jobs == nil {
		s.usage.Jobs = map[string]JobUsage{}
	}
	for _, r := range runs {
		name := exeName(jobs[r.index].Exe)
		u := s.usage.Jobs[name]
		u.Runs++
		u.CPU += r.cpu
		s.usage.Jobs[name] = u
		own -= r.cpu
	}
	s.usage.Helpers += max(own, 0)
}

// killChildren SIGKILLs the children of reaper, as long as it is still a child of helper (its
// pid was not reaped and reused).
func killChildren(helper, reaper int) {
	if reaper <= 0 || parentOf(reaper) != helper {
		return
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", reaper, reaper))
	if err != nil {
		return
	}
	for _, f := range strings.Fields(string(b)) {
		if pid, err := strconv.Atoi(f); err == nil && pid > 0 {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// parentOf returns the parent pid of pid, or 0.
func parentOf(pid int) int {
	p, err := procfs.NewProc(pid)
	if err != nil {
		return 0
	}
	st, err := p.Stat()
	if err != nil {
		return 0
	}
	return st.PPID
}

// readRecords decodes the helper's records until the status pipe ends.
func readRecords(r io.Reader, out chan<- helper.Record) {
	defer close(out)
	var b [helper.RecordSize]byte
	for {
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return
		}
		out <- helper.DecodeRecord(b)
	}
}

// result is a job's Result once the helper ended.
func result(r *jobRun, out readResult, maxOutput int, waitErr, stopErr error, helperStderr string) Result {
	if r.err != nil {
		return Result{Err: r.err}
	}
	if r.status == nil {
		// Its end was never told: the helper was stopped, failed or died first.
		msg, setup := strings.CutPrefix(helperStderr, helper.ErrPrefix)
		switch {
		case stopErr != nil:
			return Result{Err: stopErr}
		case setup:
			return Result{Err: fmt.Errorf("sandbox helper: %s", strings.TrimSpace(msg))}
		case waitErr != nil:
			return Result{Err: fmt.Errorf("%w: the sandbox helper ended first: %w", ErrFailed, waitErr)}
		}
		return Result{Err: fmt.Errorf("%w: the sandbox helper ended first", ErrFailed)}
	}
	if errors.Is(out.err, ErrOutputTooLarge) {
		// Killed for it: the status only says so.
		return Result{Err: fmt.Errorf("%w: more than %d bytes", ErrOutputTooLarge, maxOutput)}
	}
	if ws := *r.status; !ws.Exited() || ws.ExitStatus() != 0 {
		base := ErrFailed
		if r.limit != nil {
			base = r.limit
		}
		return Result{Err: fmt.Errorf("%w: %s, stderr %q", base, describeStatus(ws), r.stderr.String())}
	}
	if out.err != nil {
		return Result{Err: fmt.Errorf("read output: %w", out.err)}
	}
	return Result{Out: out.out}
}

// describeStatus says how a process ended, as os.ProcessState does.
func describeStatus(ws syscall.WaitStatus) string {
	if ws.Signaled() {
		return "signal: " + ws.Signal().String()
	}
	return "exit status " + strconv.Itoa(ws.ExitStatus())
}

// pipe is one pipe; Close on a closed end only returns an error.
type pipe struct{ r, w *os.File }

func (p *pipe) open() error {
	var err error
	if p.r, p.w, err = os.Pipe(); err != nil {
		return fmt.Errorf("pipe: %w", err)
	}
	return nil
}

func (p *pipe) close() {
	for _, f := range []*os.File{p.r, p.w} {
		if f != nil {
			f.Close()
		}
	}
}

// pipes are a job's standard streams.
type pipes struct{ stdin, stdout, stderr pipe }

func (p *pipes) open() error {
	for _, q := range []*pipe{&p.stdin, &p.stdout, &p.stderr} {
		if err := q.open(); err != nil {
			return err
		}
	}
	return nil
}

// closeChildEnds closes, in this process, the ends the helper got.
func (p *pipes) closeChildEnds() {
	for _, f := range []*os.File{p.stdin.r, p.stdout.w, p.stderr.w} {
		if f != nil {
			f.Close()
		}
	}
}

func (p *pipes) close() {
	p.stdin.close()
	p.stdout.close()
	p.stderr.close()
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
