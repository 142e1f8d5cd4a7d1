// Package coordinator runs one scan: it lists the running containers over the
// CRI, picks each one's workload process, runs the applicable fingerprints
// inside the container through the sandbox and stores what they report in a
// result directory (SPEC §4).
package coordinator

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"time"

	"github.com/openshift/insights-runtime-extractor/internal/contract"
	"github.com/openshift/insights-runtime-extractor/internal/cri"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint/rules"
	"github.com/openshift/insights-runtime-extractor/internal/process"
	"github.com/openshift/insights-runtime-extractor/internal/result"
	"github.com/openshift/insights-runtime-extractor/internal/sandbox"
)

// ContainerLister is the part of the CRI client a scan needs.
type ContainerLister interface {
	// RunningContainers lists the containers; it takes the pid from known
	// instead of asking the runtime, for the containers known gives.
	RunningContainers(ctx context.Context, known cri.KnownPIDs) ([]cri.Container, error)
	// ContainerPID asks the runtime for one container's init pid.
	ContainerPID(ctx context.Context, id string) (int, error)
}

// Runner runs fingerprint executables inside a target container, one after the other,
// entering it once; results come in the order of jobs.
type Runner interface {
	RunJobs(ctx context.Context, t sandbox.Target, jobs []sandbox.Job, l sandbox.Limits) []sandbox.Result
}

// Workloads is one snapshot of the process table: it picks the process to
// fingerprint under a container's init pid, and tells a live process's start time.
type Workloads interface {
	Workload(pid int, recognizes func(name string) bool) (process.Process, error)
	StartTime(pid int) (uint64, bool)
}

// Store receives one entry per scanned container.
type Store interface {
	Add(c result.Container) error
}

// Scan is one extraction. Its fields are the scan's collaborators and settings.
type Scan struct {
	Config     *rules.Config
	Containers ContainerLister
	// Processes snapshots the process table; it is called once per scan, after
	// the containers are listed, so every listed container's processes are in it.
	Processes       func() (Workloads, error)
	Sandbox         Runner
	Store           Store
	FingerprintsDir string
	Limits          sandbox.Limits
	Concurrency     int
	Log             *slog.Logger
	// Cache, when set, answers for workloads scanned before and learns the new
	// ones; it also remembers the workloads whose fingerprints timed out, which
	// the following scans skip for a while (Cache.BackedOff).
	Cache *Cache
	// ScanTimeout, when positive, is the scan's budget: when it runs out the
	// fingerprints still running are killed, the containers not finished are
	// left out (ReasonScanTimeout) and Run returns what was finished, without
	// an error. The caller's own cancellation still fails the scan.
	ScanTimeout time.Duration
	// ContainerTimeout, when positive, bounds all fingerprint runs of one
	// container: a container that uses it up is left out (ReasonContainerTimeout)
	// so that it never costs the others their answer.
	ContainerTimeout time.Duration
	// Now is the clock of the backoff; nil means time.Now.
	Now func() time.Time
	// Stats, when set, receives the CPU time of each step.
	Stats *Stats
}

// Stats is the CPU time (user and system, of this whole process) spent in each step of a
// scan. Steps of containers scanned at once overlap: it tells them apart with Concurrency 1.
type Stats struct {
	mu sync.Mutex
	// CRI: listing the containers and pods, and asking for the pids not cached.
	CRI time.Duration
	// Proc: the /proc snapshot and picking each container's workload.
	Proc time.Duration
	// Plan: choosing the fingerprints of a workload and its cache lookups.
	Plan time.Duration
	// Sandbox: this process's side of the fingerprint runs (cgroups, pipes, starting the
	// helper, reading the output).
	Sandbox time.Duration
	// Write: the result directory and the scan cache.
	Write time.Duration
}

// start returns the process's CPU time so far; 0 without Stats.
func (st *Stats) start() time.Duration {
	if st == nil {
		return 0
	}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// step names a field of Stats.
type step int

const (
	stepCRI step = iota
	stepProc
	stepPlan
	stepSandbox
	stepWrite
)

// add adds the CPU time since from to the step and returns the time now.
func (st *Stats) add(s step, from time.Duration) time.Duration {
	if st == nil {
		return 0
	}
	now := st.start()
	st.mu.Lock()
	defer st.mu.Unlock()
	*[...]*time.Duration{stepCRI: &st.CRI, stepProc: &st.Proc, stepPlan: &st.Plan, stepSandbox: &st.Sandbox, stepWrite: &st.Write}[s] += now - from
	return now
}

// Summary tells how a scan went; failures are per container and never stop the others.
type Summary struct {
	Listed, Selected, Scanned, Failed int
	Unknown                           []string
	// FailedBy counts the failed containers by reason (one of the Reason* constants).
	FailedBy map[string]int
	// CacheHits counts the entries answered from the cache, without a fingerprint run.
	CacheHits int
	// Fingerprints counts the sandboxed runs of each fingerprint (Invocation.Name).
	Fingerprints map[string]result.FingerprintCounts
	// NotStarted counts the fingerprint runs that could not even start
	// (sandbox.ErrNotStarted): a broken installation, not a bad container.
	NotStarted int
	// BudgetExhausted tells that ScanTimeout ran out before every selected
	// container was finished: FailedBy[ReasonScanTimeout] were left out.
	BudgetExhausted bool
}

// Defaults of the budgets. The Insights Operator gives a node 2 minutes;
// extractor_server kills a coordinator after 75 s and the exporter gives up
// after 90 s: a scan that ends its budget at 60 s still answers well within
// all three. A container's budget is above one fingerprint's wall-clock limit
// (sandbox.DefaultTimeout), so that a slow fingerprint alone never uses it up.
const (
	DefaultScanTimeout      = 60 * time.Second
	DefaultContainerTimeout = 15 * time.Second
)

// DefaultConcurrency is how many containers a scan fingerprints at once: half the CPUs, at least
// 2 and at most 4. A container's fingerprints run one after the other and spend much of their
// wall time starting processes, so two at once nearly halve a scan's wall time even on two
// CPUs (make bench); each is limited to one CPU, and a few of them leave a node's workloads
// the rest.
func DefaultConcurrency() int { return min(max(runtime.NumCPU()/2, 2), 4) }

// Reasons a selected container is left out of the result; they become the
// reason label of the exporter's containers_failed metric.
const (
	ReasonWorkloadNotFound = "workload_not_found" // no process to fingerprint under its init pid
	ReasonContainerGone    = "container_gone"     // it stopped during the scan
	ReasonNotWritten       = "not_written"        // its entry could not be stored
	ReasonScanTimeout      = "scan_timeout"       // the scan's budget ran out before it was finished
	ReasonContainerTimeout = "container_timeout"  // its fingerprints used up its own budget
	ReasonBackedOff        = "backed_off"         // its fingerprints used up its budget recently: skipped for a while
)

// Counts is the summary as written into the result directory for the exporter.
func (s Summary) Counts() result.Summary {
	return result.Summary{
		Listed: s.Listed, Selected: s.Selected, Scanned: s.Scanned, Unknown: len(s.Unknown),
		CacheHits: s.CacheHits, Failed: s.FailedBy, Fingerprints: s.Fingerprints,
		BudgetExhausted: s.BudgetExhausted,
	}
}

// containerError is why one container was left out.
type containerError struct {
	reason string
	err    error
}

func (e *containerError) Error() string { return e.err.Error() }
func (e *containerError) Unwrap() error { return e.err }

func failure(reason string, err error) error { return &containerError{reason, err} }

// reasonOf classifies a scanOne error; anything unclassified is a write failure,
// the only step left.
func reasonOf(err error) string {
	var ce *containerError
	if errors.As(err, &ce) {
		return ce.reason
	}
	return ReasonNotWritten
}

// ErrNothingScanned is returned when the runtime could not even be asked for its containers.
var ErrNothingScanned = errors.New("nothing could be scanned")

// Run scans the running containers whose ids match ids (all of them when ids
// is empty). When ScanTimeout runs out, Run returns the containers finished so
// far and no error; when ctx ends first, it returns ctx's error.
func (s *Scan) Run(ctx context.Context, ids []string) (Summary, error) {
	parent := ctx
	if s.ScanTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, s.ScanTimeout, errScanBudget)
		defer cancel()
	}
	var known cri.KnownPIDs
	if s.Cache != nil {
		known = func(key string) (int, bool) {
			i, ok := s.Cache.Init(key)
			return i.PID, ok
		}
	}
	t := s.Stats.start()
	all, err := s.Containers.RunningContainers(ctx, known)
	t = s.Stats.add(stepCRI, t)
	if err != nil {
		return Summary{}, fmt.Errorf("%w: list running containers: %w", ErrNothingScanned, err)
	}
	procs, err := s.Processes()
	t = s.Stats.add(stepProc, t)
	if err != nil {
		return Summary{Listed: len(all)}, fmt.Errorf("%w: read the process table: %w", ErrNothingScanned, err)
	}
	if s.Cache != nil {
		all = s.confirmInits(ctx, procs, all)
		s.Stats.add(stepCRI, t)
	}
	selected, unknown := all, []string(nil)
	if len(ids) > 0 {
		selected, unknown = cri.Select(all, ids)
	}
	for _, id := range unknown {
		s.Log.Info("requested container is not running here, skipped", "id", id)
	}
	sum := Summary{Listed: len(all), Selected: len(selected), Unknown: unknown}
	if s.Cache != nil {
		defer func() {
			t := s.Stats.start()
			defer s.Stats.add(stepWrite, t)
			if err := s.Cache.Save(all); err != nil {
				s.Log.Warn("scan cache not saved", "error", err)
			}
		}()
	}

	workers := max(s.Concurrency, 1)
	jobs := make(chan cri.Container)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for c := range jobs {
				err := s.scanOne(ctx, procs, c, &sum, &mu)
				mu.Lock()
				if err != nil {
					reason := reasonOf(err)
					sum.Failed++
					if sum.FailedBy == nil {
						sum.FailedBy = map[string]int{}
					}
					sum.FailedBy[reason]++
					switch reason {
					case ReasonScanTimeout:
						// One WARN for all of them, below.
					case ReasonBackedOff:
						s.Log.Info("container skipped", "container", c.Key(), "pod", c.PodNamespace+"/"+c.PodName, "reason", err)
					default:
						s.Log.Warn("container not scanned", "container", c.Key(), "pod", c.PodNamespace+"/"+c.PodName, "error", err)
					}
				} else {
					sum.Scanned++
				}
				mu.Unlock()
			}
		})
	}
	// Every selected container goes to a worker, even after the budget ran
	// out: an entry in the cache still answers, at no cost.
	for _, c := range selected {
		select {
		case jobs <- c:
		case <-parent.Done():
		}
		if parent.Err() != nil {
			break
		}
	}
	close(jobs)
	wg.Wait()
	if err := parent.Err(); err != nil {
		return sum, err
	}
	if n := sum.FailedBy[ReasonScanTimeout]; n > 0 {
		sum.BudgetExhausted = true
		s.Log.Warn("scan budget exhausted: the containers not finished are left out of this answer",
			"budget", s.ScanTimeout, "unfinished", n, "finished", sum.Scanned, "selected", sum.Selected)
	}
	return sum, nil
}

// errScanBudget is the cause of the scan's context when ScanTimeout ran out.
var errScanBudget = errors.New("scan budget exhausted")

// errContainerBudget is the cause of a container's context when ContainerTimeout ran out.
var errContainerBudget = errors.New("container budget exhausted")

func (s *Scan) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// confirmInits checks the init pids the cache gave in place of a status call
// and remembers the init of every container for the next scan. A remembered
// pid is trusted only when this snapshot, taken after the listing, holds it
// with the remembered start time: a CRI container keeps one init process for
// its whole life, and pid plus start time name one process for the life of
// the boot. Otherwise the runtime is asked for that container alone; one that
// no longer runs is left out, as the CRI client leaves out a container whose
// status it cannot read.
func (s *Scan) confirmInits(ctx context.Context, procs Workloads, all []cri.Container) []cri.Container {
	out := make([]cri.Container, 0, len(all))
	for _, c := range all {
		if i, ok := s.Cache.Init(c.Key()); ok && i.PID == c.PID {
			if start, ok := procs.StartTime(c.PID); !ok || start != i.StartTime {
				pid, err := s.Containers.ContainerPID(ctx, c.ID)
				switch {
				case errors.Is(err, cri.ErrContainerGone):
					s.Log.Info("container skipped: it stopped during the scan", "container", c.Key(), "error", err)
					continue
				case err != nil:
					s.Log.Warn("container skipped", "container", c.Key(), "error", err)
					continue
				}
				s.Log.Debug("remembered init pid is stale; the runtime's pid is used", "container", c.Key(), "remembered", i.PID, "pid", pid)
				c.PID = pid
			}
		}
		if start, ok := procs.StartTime(c.PID); ok {
			s.Cache.PutInit(c.Key(), Init{PID: c.PID, StartTime: start})
		}
		out = append(out, c)
	}
	return out
}

// scanOne fingerprints one container and stores its entry. A fingerprint that
// fails costs only its own findings: the others still count. It adds its
// cache hit and fingerprint runs to sum, under mu.
func (s *Scan) scanOne(ctx context.Context, procs Workloads, c cri.Container, sum *Summary, mu *sync.Mutex) error {
	t := s.Stats.start()
	p, err := procs.Workload(c.PID, s.Config.Recognizes)
	t = s.Stats.add(stepProc, t)
	if err != nil {
		reason := ReasonWorkloadNotFound
		if errors.Is(err, process.ErrGone) {
			reason = ReasonContainerGone
		}
		return failure(reason, fmt.Errorf("find workload under pid %d: %w", c.PID, err))
	}
	key := cacheKey(c, p)
	if s.Cache != nil {
		if entry, ok := s.Cache.Get(key); ok {
			// The pod's name cannot change under a running container, but take the runtime's word.
			entry.PodName, entry.PodNamespace = c.PodName, c.PodNamespace
			s.Cache.Put(key, entry)
			mu.Lock()
			sum.CacheHits++
			mu.Unlock()
			return s.Store.Add(entry)
		}
		if b, ok := s.Cache.BackedOff(key, c.Key(), s.now()); ok {
			if b.Entry == nil {
				return failure(ReasonBackedOff, fmt.Errorf("its fingerprints timed out before: skipped until %s", b.Until.UTC().Format(time.RFC3339)))
			}
			// What the fingerprints that finished found, as the scan that timed out answered.
			entry := *b.Entry
			entry.PodName, entry.PodNamespace = c.PodName, c.PodNamespace
			s.Log.Debug("fingerprints timed out before: answering what the others found", "container", c.Key(), "until", b.Until)
			mu.Lock()
			sum.CacheHits++
			mu.Unlock()
			return s.Store.Add(entry)
		}
	}
	if context.Cause(ctx) == errScanBudget {
		return failure(ReasonScanTimeout, errScanBudget)
	}
	if s.ContainerTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, s.ContainerTimeout, errContainerBudget)
		defer cancel()
	}
	timedOut := false
	// unfinished is why the container is left out when a budget ran out, and
	// remembers a container that used up its own, so that the next scans skip it.
	unfinished := func() error {
		switch cause := context.Cause(ctx); cause {
		case errScanBudget:
			return failure(ReasonScanTimeout, cause)
		case errContainerBudget:
			if s.Cache != nil {
				s.Cache.PutBackoff(key, c.Key(), s.now(), nil)
			}
			return failure(ReasonContainerTimeout, fmt.Errorf("%w after %s", cause, s.ContainerTimeout))
		}
		return nil
	}
	// count records one fingerprint run: err is why it yielded nothing, if so.
	count := func(name string, err error) {
		mu.Lock()
		defer mu.Unlock()
		if sum.Fingerprints == nil {
			sum.Fingerprints = map[string]result.FingerprintCounts{}
		}
		fc := sum.Fingerprints[name]
		fc.Runs++
		if err != nil {
			fc.Failures++
		}
		if errors.Is(err, sandbox.ErrTimeout) {
			fc.Timeouts++
		}
		if errors.Is(err, sandbox.ErrNotStarted) {
			sum.NotStarted++
		}
		sum.Fingerprints[name] = fc
	}
	entry := result.Container{
		PID:          p.PID,
		PodName:      c.PodName,
		PodNamespace: c.PodNamespace,
		ContainerID:  c.Key(),
	}
	complete := true
	target := sandbox.Target{HostPID: p.PID, UID: p.UID, GID: p.GID, StartTime: p.StartTime}
	plan := s.Config.Plan(fingerprint.Process{PID: p.NSPID, Name: p.Name, Cmdline: p.Cmdline, Env: p.Env, Cwd: p.Cwd, Exe: p.Exe})
	jobs := make([]sandbox.Job, len(plan))
	for i, inv := range plan {
		jobs[i] = sandbox.Job{Exe: filepath.Join(s.FingerprintsDir, inv.Executable), Args: inv.Args, Stdin: inv.Stdin}
	}
	t = s.Stats.add(stepPlan, t)
	results := s.Sandbox.RunJobs(ctx, target, jobs, s.Limits)
	t = s.Stats.add(stepSandbox, t)
	for i, inv := range plan {
		out, err := results[i].Out, results[i].Err
		if err != nil {
			count(inv.Name, err)
			if ferr := unfinished(); ferr != nil {
				return ferr
			}
			if errors.Is(err, sandbox.ErrTimeout) {
				timedOut = true
			}
			if errors.Is(err, sandbox.ErrTargetGone) {
				return failure(ReasonContainerGone, fmt.Errorf("run %s: %w", inv.Executable, err))
			}
			complete = false
			if errors.Is(err, sandbox.ErrNotStarted) {
				// Not the container's doing: every container loses these findings until
				// the installation is fixed.
				s.Log.Error("fingerprint could not start", "container", c.Key(), "pod", c.PodNamespace+"/"+c.PodName,
					"fingerprint", inv.Executable, "error", err)
				continue
			}
			s.Log.Warn("fingerprint failed", "container", c.Key(), "fingerprint", inv.Executable, "error", err)
			continue
		}
		f, err := contract.DecodeFinding(bytes.NewReader(out))
		count(inv.Name, err)
		if err != nil {
			s.Log.Warn("fingerprint output refused", "container", c.Key(), "fingerprint", inv.Executable, "error", err)
			complete = false
			continue
		}
		// Plan orders the fingerprints by authority: the first to report a field
		// (or a runtime of a name) keeps it.
		entry.Merge(inv.Name, f)
	}
	if err := unfinished(); err != nil {
		return err
	}
	// A fingerprint that failed may succeed next time: only complete entries
	// are remembered. One that timed out costs its own time limit: the next
	// scans run no fingerprint in its container for a while and answer this
	// entry, so that a container that stops its fingerprints (SIGSTOP) costs
	// one limit per backoff period.
	if s.Cache != nil {
		switch {
		case timedOut:
			s.Cache.PutBackoff(key, c.Key(), s.now(), &entry)
		case complete:
			s.Cache.Put(key, entry)
			s.Cache.ClearBackoff(key)
		}
	}
	defer s.Stats.add(stepWrite, t)
	return s.Store.Add(entry)
}
