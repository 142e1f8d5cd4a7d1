package coordinator

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/openshift/insights-runtime-extractor/internal/cri"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint/rules"
	"github.com/openshift/insights-runtime-extractor/internal/result"
	"github.com/openshift/insights-runtime-extractor/internal/sandbox"
)

// hangingRunner is a runner whose runs for the target pids in hang never
// end before their context does, as a fingerprint the container stopped
// (SIGSTOP); it then fails the way the sandbox does.
type hangingRunner struct {
	runner
	hang map[int]bool
}

func (r *hangingRunner) RunJobs(ctx context.Context, t sandbox.Target, jobs []sandbox.Job, l sandbox.Limits) []sandbox.Result {
	return runEach(ctx, jobs, func(j sandbox.Job) ([]byte, error) { return r.run(ctx, t, j.Exe, l) })
}

func (r *hangingRunner) run(ctx context.Context, t sandbox.Target, exe string, l sandbox.Limits) ([]byte, error) {
	if r.hang[t.HostPID] {
		r.mu.Lock()
		r.ran = append(r.ran, fmt.Sprintf("%s@%d uid=%d", filepath.Base(exe), t.HostPID, t.UID))
		r.mu.Unlock()
		<-ctx.Done()
		return nil, fmt.Errorf("%w: %w", sandbox.ErrTimeout, context.Cause(ctx))
	}
	return r.runner.run(ctx, t, exe, l)
}

// budgetNode is three containers: a's fingerprints hang, b and c answer.
func budgetNode(t *testing.T) (*rules.Config, *lister, workloads, map[string]string) {
	t.Helper()
	cfg, err := rules.Parse(strings.NewReader(config))
	if err != nil {
		t.Fatal(err)
	}
	containers := &lister{cs: []cri.Container{ctr("a", 100), ctr("b", 200), ctr("c", 300)}}
	procs := workloads{
		100: {PID: 110, NSPID: 1, Name: "stopper", StartTime: 5},
		200: {PID: 220, NSPID: 1, Name: "server", StartTime: 6},
		300: {PID: 330, NSPID: 1, Name: "server", StartTime: 7},
	}
	out := map[string]string{
		"fpr_os@220": "os-release-id=debian\n", "fpr_native_executable@220": "runtime-kind=Golang\n",
		"fpr_os@330": "os-release-id=alpine\n", "fpr_native_executable@330": "runtime-kind=Golang\n",
	}
	return cfg, containers, procs, out
}

func ids(cs []result.Container) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.ContainerID[:len("containerd://")+1])
	}
	slices.Sort(out)
	return out
}

// TestScanBudgetAnswersWhatIsFinished: when the scan's budget runs out, the
// containers finished are the answer, the unfinished one is left out and
// counted, and Run does not fail.
func TestScanBudgetAnswersWhatIsFinished(t *testing.T) {
	cfg, containers, procs, out := budgetNode(t)
	r, st := &hangingRunner{runner: runner{out: out}, hang: map[int]bool{110: true}}, &store{}
	s := Scan{Config: cfg, Containers: containers, Processes: snapshot(procs), Sandbox: r, Store: st,
		FingerprintsDir: "/fpr", Log: slog.New(slog.DiscardHandler), Concurrency: 2, ScanTimeout: 300 * time.Millisecond}
	sum, err := s.Run(context.Background(), nil)
	if err != nil {
		t.Fatalf("Run = %v; a budget that runs out is no failure", err)
	}
	if diff := cmp.Diff([]string{"containerd://b", "containerd://c"}, ids(st.cs)); diff != "" {
		t.Errorf("entries (-want +got):\n%s", diff)
	}
	if sum.Scanned != 2 || sum.Failed != 1 || !sum.BudgetExhausted || !cmp.Equal(sum.FailedBy, map[string]int{ReasonScanTimeout: 1}) {
		t.Errorf("summary = %+v; want 2 scanned, 1 left out for scan_timeout, budget exhausted", sum)
	}
	if c := sum.Counts(); !c.BudgetExhausted || c.Failed[ReasonScanTimeout] != 1 {
		t.Errorf("counts for the exporter = %+v", c)
	}
}

// TestScanBudgetStillAnswersFromTheCache: a container whose entry is cached
// costs nothing, so it is answered even after the budget ran out.
func TestScanBudgetStillAnswersFromTheCache(t *testing.T) {
	cfg, containers, procs, out := budgetNode(t)
	dir := filepath.Join(t.TempDir(), ".scan-cache")
	scan := func(hang map[int]bool) (Summary, *store) {
		t.Helper()
		cache, err := LoadCache(dir)
		if err != nil {
			t.Fatal(err)
		}
		st := &store{}
		s := Scan{Config: cfg, Containers: containers, Processes: snapshot(procs), Sandbox: &hangingRunner{runner: runner{out: out}, hang: hang},
			Store: st, FingerprintsDir: "/fpr", Log: slog.New(slog.DiscardHandler), Cache: cache, ScanTimeout: 300 * time.Millisecond}
		sum, err := s.Run(context.Background(), []string{strings.Repeat("a", 64), strings.Repeat("b", 64), strings.Repeat("c", 64)})
		if err != nil {
			t.Fatal(err)
		}
		return sum, st
	}
	scan(map[int]bool{}) // b and c are cached (a has no answer: incomplete, not cached)
	// One worker: a hangs first, until the budget ends; b and c come after it.
	sum, st := scan(map[int]bool{110: true})
	if diff := cmp.Diff([]string{"containerd://b", "containerd://c"}, ids(st.cs)); diff != "" {
		t.Errorf("entries (-want +got):\n%s", diff)
	}
	if sum.CacheHits != 2 || sum.FailedBy[ReasonScanTimeout] != 1 || !sum.BudgetExhausted {
		t.Errorf("summary = %+v", sum)
	}
}

// TestScanCancelledIsAFailure: the caller's cancellation (SIGTERM) is not a budget.
func TestScanCancelledIsAFailure(t *testing.T) {
	cfg, containers, procs, out := budgetNode(t)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	s := Scan{Config: cfg, Containers: containers, Processes: snapshot(procs), Store: &store{},
		Sandbox:         &hangingRunner{runner: runner{out: out}, hang: map[int]bool{110: true}},
		FingerprintsDir: "/fpr", Log: slog.New(slog.DiscardHandler), ScanTimeout: time.Hour}
	if _, err := s.Run(ctx, nil); err == nil {
		t.Fatal("a cancelled scan succeeded")
	}
}

// TestContainerBudgetAndBackoff: a container whose fingerprints hang costs
// its own budget once, is left out, and is skipped by the next scans until
// its backoff ends; each further timeout doubles the backoff; its neighbours
// are answered every time.
func TestContainerBudgetAndBackoff(t *testing.T) {
	cfg, containers, procs, out := budgetNode(t)
	dir := filepath.Join(t.TempDir(), ".scan-cache")
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	hang := map[int]bool{110: true}
	scan := func() (Summary, *hangingRunner, *store) {
		t.Helper()
		cache, err := LoadCache(dir)
		if err != nil {
			t.Fatal(err)
		}
		r, st := &hangingRunner{runner: runner{out: out}, hang: hang}, &store{}
		s := Scan{Config: cfg, Containers: containers, Processes: snapshot(procs), Sandbox: r, Store: st,
			FingerprintsDir: "/fpr", Log: slog.New(slog.DiscardHandler), Cache: cache,
			ContainerTimeout: 100 * time.Millisecond, Now: func() time.Time { return now }}
		sum, err := s.Run(context.Background(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"containerd://b", "containerd://c"}, ids(st.cs)); diff != "" {
			t.Errorf("entries (-want +got):\n%s", diff)
		}
		return sum, r, st
	}
	ranA := func(r *hangingRunner) bool {
		return slices.ContainsFunc(r.ran, func(s string) bool { return strings.Contains(s, "@110 ") })
	}

	sum, r, _ := scan()
	if !ranA(r) || !cmp.Equal(sum.FailedBy, map[string]int{ReasonContainerTimeout: 1}) || sum.BudgetExhausted {
		t.Fatalf("first scan: ran %v, summary %+v; want a left out for container_timeout", r.ran, sum)
	}
	for _, step := range []struct {
		after  time.Duration
		runs   bool
		reason string
	}{
		{time.Minute, false, ReasonBackedOff},            // within the first 15 minutes
		{15 * time.Minute, true, ReasonContainerTimeout}, // retried, times out again: 30 minutes now
		{29 * time.Minute, false, ReasonBackedOff},
		{time.Minute, true, ReasonContainerTimeout},
	} {
		now = now.Add(step.after)
		sum, r, _ = scan()
		if ranA(r) != step.runs || !cmp.Equal(sum.FailedBy, map[string]int{step.reason: 1}) {
			t.Fatalf("at %s: ran %v, summary %+v; want runs=%v, reason %s", now, r.ran, sum, step.runs, step.reason)
		}
	}
	// It stops hanging: once its backoff ends it is answered and forgiven.
	delete(hang, 110)
	out["fpr_os@110"], out["fpr_native_executable@110"] = "os-release-id=debian\n", "runtime-kind=Golang\n"
	now = now.Add(time.Hour)
	cache, err := LoadCache(dir)
	if err != nil {
		t.Fatal(err)
	}
	st := &store{}
	s := Scan{Config: cfg, Containers: containers, Processes: snapshot(procs), Sandbox: &hangingRunner{runner: runner{out: out}}, Store: st,
		FingerprintsDir: "/fpr", Log: slog.New(slog.DiscardHandler), Cache: cache, ContainerTimeout: time.Minute, Now: func() time.Time { return now }}
	if sum, err := s.Run(context.Background(), nil); err != nil || sum.Failed != 0 || len(st.cs) != 3 {
		t.Fatalf("after the hang: %+v, %v, %d entries", sum, err, len(st.cs))
	}
	if _, ok := cache.BackedOff(cacheKey(ctr("a", 100), procs[100]), ctr("a", 100).Key(), now); ok {
		t.Error("a container that finished is still backed off")
	}
}

// TestFingerprintTimeoutBacksOff: a fingerprint killed at its own limit costs
// its findings in this scan (the entry stands with the rest); the next scans
// run no fingerprint in that container and answer the same entry; a
// restarted workload is scanned at once.
func TestFingerprintTimeoutBacksOff(t *testing.T) {
	cfg, containers, procs, out := budgetNode(t)
	dir := filepath.Join(t.TempDir(), ".scan-cache")
	out["fpr_os@110"] = "os-release-id=debian\n"
	errs := map[string]error{"fpr_native_executable@110": fmt.Errorf("%w after 10s", sandbox.ErrTimeout)}
	scan := func() (Summary, *runner, *store) {
		t.Helper()
		cache, err := LoadCache(dir)
		if err != nil {
			t.Fatal(err)
		}
		r, st := &runner{out: out, errs: errs}, &store{}
		s := Scan{Config: cfg, Containers: containers, Processes: snapshot(procs), Sandbox: r, Store: st,
			FingerprintsDir: "/fpr", Log: slog.New(slog.DiscardHandler), Cache: cache}
		sum, err := s.Run(context.Background(), nil)
		if err != nil {
			t.Fatal(err)
		}
		return sum, r, st
	}
	entryOfA := func(st *store) (result.Container, bool) {
		for _, c := range st.cs {
			if c.PID == 110 {
				return c, true
			}
		}
		return result.Container{}, false
	}
	sum, _, st := scan()
	first, ok := entryOfA(st)
	if sum.Failed != 0 || !ok || first.Finding.OS != "debian" {
		t.Fatalf("first scan: %+v, %+v; want a's entry with its os", sum, st.cs)
	}
	sum, r, st := scan()
	again, ok := entryOfA(st)
	if sum.Failed != 0 || sum.CacheHits != 3 || !ok || !cmp.Equal(first, again) ||
		slices.ContainsFunc(r.ran, func(s string) bool { return strings.Contains(s, "@110 ") }) {
		t.Fatalf("second scan: %+v, ran %v, a = %+v; want a answered as before, without a run", sum, r.ran, again)
	}
	restarted := procs[100]
	restarted.StartTime = 99
	procs[100] = restarted
	if _, r, _ := scan(); !slices.ContainsFunc(r.ran, func(s string) bool { return strings.Contains(s, "@110 ") }) {
		t.Errorf("a restarted workload is still backed off: ran %v", r.ran)
	}
}
