package coordinator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/openshift/insights-runtime-extractor/internal/contract"
	"github.com/openshift/insights-runtime-extractor/internal/cri"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint/rules"
	"github.com/openshift/insights-runtime-extractor/internal/process"
	"github.com/openshift/insights-runtime-extractor/internal/result"
	"github.com/openshift/insights-runtime-extractor/internal/sandbox"
)

const config = `
[[fingerprints.version-executables]]
process-names = ["node"]
runtime-kind-name = "Node.js"
`

// lister stands for the CRI client: cs are the running containers with their
// true init pid. As the client does, it takes a pid known gives instead, and
// counts every pid it must look up as one status call.
type lister struct {
	cs   []cri.Container
	err  error
	gone map[string]bool // listed, but stopped before their status is read

	mu    sync.Mutex
	asked []string // container id of every status call
}

func (l *lister) RunningContainers(_ context.Context, known cri.KnownPIDs) ([]cri.Container, error) {
	if l.err != nil {
		return nil, l.err
	}
	out := make([]cri.Container, 0, len(l.cs))
	for _, c := range l.cs {
		if known != nil {
			if pid, ok := known(c.Key()); ok && pid > 0 {
				c.PID = pid
				out = append(out, c)
				continue
			}
		}
		if pid, err := l.ContainerPID(context.Background(), c.ID); err == nil {
			c.PID = pid
			out = append(out, c)
		}
	}
	return out, nil
}

func (l *lister) ContainerPID(_ context.Context, id string) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.asked = append(l.asked, id)
	for _, c := range l.cs {
		if c.ID == id && !l.gone[id] {
			return c.PID, nil
		}
	}
	return 0, fmt.Errorf("ContainerStatus %s: %w", id, cri.ErrContainerGone)
}

// workloads maps a container's init pid to its workload (or an error).
type workloads map[int]process.Process

// StartTime knows no start time: no remembered init pid is ever confirmed.
func (w workloads) StartTime(int) (uint64, bool) { return 0, false }

// table is a process snapshot that also knows the start time of each live init pid.
type table struct {
	workloads
	starts map[int]uint64
}

func (t table) StartTime(pid int) (uint64, bool) {
	s, ok := t.starts[pid]
	return s, ok
}

func (w workloads) Workload(pid int, _ func(string) bool) (process.Process, error) {
	p, ok := w[pid]
	if !ok {
		return process.Process{}, fmt.Errorf("pid %d: %w", pid, errors.New("no such process"))
	}
	return p, nil
}

// runner answers per executable name and target pid; a missing answer is a failure.
func snapshot(w workloads) func() (Workloads, error) {
	return func() (Workloads, error) { return w, nil }
}

type runner struct {
	out  map[string]string // "<exe base>@<host pid>" -> stdout
	errs map[string]error
	mu   sync.Mutex
	ran  []string
}

func (r *runner) RunJobs(ctx context.Context, t sandbox.Target, jobs []sandbox.Job, l sandbox.Limits) []sandbox.Result {
	return runEach(ctx, jobs, func(j sandbox.Job) ([]byte, error) { return r.run(ctx, t, j.Exe, l) })
}

// runEach is RunJobs over a function that runs one job, as the sandbox runs them: one after
// the other, and none once ctx ended.
func runEach(ctx context.Context, jobs []sandbox.Job, run func(sandbox.Job) ([]byte, error)) []sandbox.Result {
	res := make([]sandbox.Result, len(jobs))
	for i, j := range jobs {
		if ctx.Err() != nil {
			res[i].Err = fmt.Errorf("%w: %w", sandbox.ErrTimeout, context.Cause(ctx))
			continue
		}
		res[i].Out, res[i].Err = run(j)
	}
	return res
}

func (r *runner) run(_ context.Context, t sandbox.Target, exe string, _ sandbox.Limits) ([]byte, error) {
	key := fmt.Sprintf("%s@%d", filepath.Base(exe), t.HostPID)
	r.mu.Lock()
	r.ran = append(r.ran, fmt.Sprintf("%s uid=%d", key, t.UID))
	r.mu.Unlock()
	if err := r.errs[key]; err != nil {
		return nil, err
	}
	out, ok := r.out[key]
	if !ok {
		return nil, sandbox.ErrFailed
	}
	return []byte(out), nil
}

type store struct {
	mu sync.Mutex
	cs []result.Container
}

func (s *store) Add(c result.Container) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cs = append(s.cs, c)
	return nil
}

func ctr(id string, pid int) cri.Container {
	return cri.Container{ID: strings.Repeat(id, 64), Name: "c" + id, PodName: "pod-" + id, PodNamespace: "ns", Runtime: "containerd", PID: pid}
}

func TestScanRun(t *testing.T) {
	cfg, err := rules.Parse(strings.NewReader(config))
	if err != nil {
		t.Fatal(err)
	}
	node := process.Process{PID: 110, NSPID: 7, Name: "node", UID: 1000, GID: 1000}
	goapp := process.Process{PID: 220, NSPID: 1, Name: "server"}
	tests := []struct {
		name    string
		list    *lister
		procs   workloads
		out     map[string]string
		errs    map[string]error
		ids     []string
		want    []result.Container
		wantSum Summary
		wantErr error
	}{
		{
			name:  "every container is scanned with the fingerprints its process calls for",
			list:  &lister{cs: []cri.Container{ctr("a", 100), ctr("b", 200)}},
			procs: workloads{100: node, 200: goapp},
			out: map[string]string{
				"fpr_os@110":                 "os-release-id=debian\nos-release-version-id=12\n",
				"fpr_version_executable@110": "runtime-kind=Node.js\nruntime-kind-version=v18.20.4\n",
				"fpr_os@220":                 "",
				"fpr_native_executable@220":  "runtime-kind=Golang\nruntime-kind-version=go1.26.8\n",
			},
			want: []result.Container{
				{PID: 110, PodName: "pod-a", PodNamespace: "ns", ContainerID: "containerd://" + strings.Repeat("a", 64),
					Finding: contract.Finding{OS: "debian", OSVersion: "12", Kind: "Node.js", KindVersion: "v18.20.4"}},
				{PID: 220, PodName: "pod-b", PodNamespace: "ns", ContainerID: "containerd://" + strings.Repeat("b", 64),
					Finding: contract.Finding{Kind: "Golang", KindVersion: "go1.26.8"}},
			},
			wantSum: Summary{Listed: 2, Selected: 2, Scanned: 2, Fingerprints: map[string]result.FingerprintCounts{
				"os": {Runs: 2}, "version-executable": {Runs: 1}, "native-executable": {Runs: 1},
			}},
		},
		{
			name:  "a failed fingerprint costs only its own findings",
			list:  &lister{cs: []cri.Container{ctr("a", 100)}},
			procs: workloads{100: node},
			out:   map[string]string{"fpr_os@110": "os-release-id=debian\n"},
			errs:  map[string]error{"fpr_version_executable@110": sandbox.ErrTimeout},
			want: []result.Container{{PID: 110, PodName: "pod-a", PodNamespace: "ns",
				ContainerID: "containerd://" + strings.Repeat("a", 64), Finding: contract.Finding{OS: "debian"}}},
			wantSum: Summary{Listed: 1, Selected: 1, Scanned: 1, Fingerprints: map[string]result.FingerprintCounts{
				"os": {Runs: 1}, "version-executable": {Runs: 1, Failures: 1, Timeouts: 1},
			}},
		},
		{
			name:  "a fingerprint that cannot start is counted, the container still scanned",
			list:  &lister{cs: []cri.Container{ctr("a", 100), ctr("b", 200)}},
			procs: workloads{100: node, 200: goapp},
			out:   map[string]string{"fpr_os@110": "os-release-id=debian\n", "fpr_os@220": "os-release-id=alpine\n"},
			errs: map[string]error{
				"fpr_version_executable@110": fmt.Errorf("run: %w: execute the fingerprint: no such file or directory", sandbox.ErrNotStarted),
				"fpr_native_executable@220":  sandbox.ErrBadExecutable,
			},
			want: []result.Container{
				{PID: 110, PodName: "pod-a", PodNamespace: "ns", ContainerID: "containerd://" + strings.Repeat("a", 64), Finding: contract.Finding{OS: "debian"}},
				{PID: 220, PodName: "pod-b", PodNamespace: "ns", ContainerID: "containerd://" + strings.Repeat("b", 64), Finding: contract.Finding{OS: "alpine"}},
			},
			wantSum: Summary{Listed: 2, Selected: 2, Scanned: 2, NotStarted: 2, Fingerprints: map[string]result.FingerprintCounts{
				"os": {Runs: 2}, "version-executable": {Runs: 1, Failures: 1}, "native-executable": {Runs: 1, Failures: 1},
			}},
		},
		{
			name:  "a container whose process vanished is left out, the others stay",
			list:  &lister{cs: []cri.Container{ctr("a", 100), ctr("b", 200)}},
			procs: workloads{200: goapp},
			out:   map[string]string{"fpr_os@220": "os-release-id=alpine\n"},
			want: []result.Container{{PID: 220, PodName: "pod-b", PodNamespace: "ns",
				ContainerID: "containerd://" + strings.Repeat("b", 64), Finding: contract.Finding{OS: "alpine"}}},
			wantSum: Summary{Listed: 2, Selected: 2, Scanned: 1, Failed: 1,
				FailedBy: map[string]int{ReasonWorkloadNotFound: 1},
				Fingerprints: map[string]result.FingerprintCounts{
					"os": {Runs: 1}, "native-executable": {Runs: 1, Failures: 1},
				}},
		},
		{
			name:  "a target gone during the scan drops that container",
			list:  &lister{cs: []cri.Container{ctr("a", 100)}},
			procs: workloads{100: node},
			errs:  map[string]error{"fpr_os@110": sandbox.ErrTargetGone},
			wantSum: Summary{Listed: 1, Selected: 1, Failed: 1, FailedBy: map[string]int{ReasonContainerGone: 1},
				Fingerprints: map[string]result.FingerprintCounts{"os": {Runs: 1, Failures: 1}}},
		},
		{
			name:  "only the requested ids are scanned; unknown ids are reported",
			list:  &lister{cs: []cri.Container{ctr("a", 100), ctr("b", 200)}},
			procs: workloads{100: node, 200: goapp},
			out:   map[string]string{"fpr_os@220": "os-release-id=alpine\n"},
			ids:   []string{"containerd://bbbb", "cccc"},
			want: []result.Container{{PID: 220, PodName: "pod-b", PodNamespace: "ns",
				ContainerID: "containerd://" + strings.Repeat("b", 64), Finding: contract.Finding{OS: "alpine"}}},
			wantSum: Summary{Listed: 2, Selected: 1, Scanned: 1, Unknown: []string{"cccc"},
				Fingerprints: map[string]result.FingerprintCounts{"os": {Runs: 1}, "native-executable": {Runs: 1, Failures: 1}}},
		},
		{
			name:  "runtimes are stored with the fingerprint that reported them",
			list:  &lister{cs: []cri.Container{ctr("b", 200)}},
			procs: workloads{200: goapp},
			out: map[string]string{
				"fpr_os@220":                "os-release-id=alpine\n",
				"fpr_native_executable@220": "runtime-kind=GraalVM\nruntime=Quarkus=3.15.1\nruntime=Quarkus native=\n",
			},
			want: []result.Container{{PID: 220, PodName: "pod-b", PodNamespace: "ns", ContainerID: "containerd://" + strings.Repeat("b", 64),
				Finding: contract.Finding{OS: "alpine", Kind: "GraalVM",
					Runtimes: []contract.Runtime{{Name: "Quarkus", Version: "3.15.1"}, {Name: "Quarkus native"}}},
				ReportedBy: map[string]string{"Quarkus": "native-executable", "Quarkus native": "native-executable"}}},
			wantSum: Summary{Listed: 1, Selected: 1, Scanned: 1, Fingerprints: map[string]result.FingerprintCounts{
				"os": {Runs: 1}, "native-executable": {Runs: 1}}},
		},
		{
			name:    "a runtime that cannot be listed means nothing was scanned",
			list:    &lister{err: cri.ErrUnavailable},
			wantErr: ErrNothingScanned,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := &store{}
			s := Scan{
				Config: cfg, Containers: tc.list, Processes: snapshot(tc.procs),
				Sandbox: &runner{out: tc.out, errs: tc.errs}, Store: st,
				FingerprintsDir: "/fpr", Concurrency: 2, Log: slog.New(slog.DiscardHandler),
			}
			sum, err := s.Run(context.Background(), tc.ids)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			slices.SortFunc(st.cs, func(a, b result.Container) int { return a.PID - b.PID })
			if diff := cmp.Diff(tc.want, st.cs); diff != "" {
				t.Errorf("stored entries (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantSum, sum); diff != "" {
				t.Errorf("summary (-want +got):\n%s", diff)
			}
		})
	}
}

// The fingerprints run as the workload's own uid, in its own namespaces.
func TestScanRunsFingerprintsAsTheWorkload(t *testing.T) {
	cfg, err := rules.Parse(strings.NewReader(config))
	if err != nil {
		t.Fatal(err)
	}
	r := &runner{out: map[string]string{}}
	s := Scan{
		Config: cfg, Containers: &lister{cs: []cri.Container{ctr("a", 100)}},
		Processes: snapshot(workloads{100: {PID: 110, NSPID: 7, Name: "node", UID: 1000, GID: 1000}}),
		Sandbox:   r, Store: &store{}, FingerprintsDir: "/fpr", Log: slog.New(slog.DiscardHandler),
	}
	if _, err := s.Run(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	want := []string{"fpr_os@110 uid=1000", "fpr_version_executable@110 uid=1000"}
	if diff := cmp.Diff(want, r.ran); diff != "" {
		t.Errorf("runs (-want +got):\n%s", diff)
	}
}

// goneAt is a snapshot in which the process under pid exited meanwhile.
type goneAt struct {
	workloads
	pid int
}

func (g goneAt) Workload(pid int, recognizes func(string) bool) (process.Process, error) {
	if pid == g.pid {
		return process.Process{}, fmt.Errorf("pid %d: %w", pid, process.ErrGone)
	}
	return g.workloads.Workload(pid, recognizes)
}

type failingStore struct{}

func (failingStore) Add(result.Container) error { return errors.New("disk full") }

// The reasons and fingerprint counts of a scan are what the exporter's
// metrics show: each failure lands under its own reason, each run once.
func TestScanCountsFailuresByReasonAndRunsOnce(t *testing.T) {
	cfg, err := rules.Parse(strings.NewReader(config))
	if err != nil {
		t.Fatal(err)
	}
	node := process.Process{PID: 110, NSPID: 7, Name: "node"}
	tests := []struct {
		name  string
		procs Workloads
		out   map[string]string
		store Store
		want  result.Summary
	}{
		{
			name:  "a workload gone before its scan",
			procs: goneAt{workloads{100: node}, 100},
			store: &store{},
			want:  result.Summary{Listed: 1, Selected: 1, Failed: map[string]int{ReasonContainerGone: 1}},
		},
		{
			name:  "refused output is one failed run",
			procs: workloads{100: node},
			out:   map[string]string{"fpr_os@110": strings.Repeat("x", contract.MaxFindingSize+1), "fpr_version_executable@110": ""},
			store: &store{},
			want: result.Summary{Listed: 1, Selected: 1, Scanned: 1, Fingerprints: map[string]result.FingerprintCounts{
				"os": {Runs: 1, Failures: 1}, "version-executable": {Runs: 1},
			}},
		},
		{
			name:  "an entry that cannot be stored",
			procs: workloads{100: node},
			out:   map[string]string{"fpr_os@110": "", "fpr_version_executable@110": ""},
			store: failingStore{},
			want: result.Summary{Listed: 1, Selected: 1, Failed: map[string]int{ReasonNotWritten: 1},
				Fingerprints: map[string]result.FingerprintCounts{"os": {Runs: 1}, "version-executable": {Runs: 1}}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := Scan{
				Config: cfg, Containers: &lister{cs: []cri.Container{ctr("a", 100)}},
				Processes: func() (Workloads, error) { return tc.procs, nil },
				Sandbox:   &runner{out: tc.out}, Store: tc.store, FingerprintsDir: "/fpr", Log: slog.New(slog.DiscardHandler),
			}
			sum, err := s.Run(context.Background(), nil)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, sum.Counts()); diff != "" {
				t.Errorf("counts (-want +got):\n%s", diff)
			}
		})
	}
}

// A fingerprint that cannot start is an installation problem: an ERROR that
// names the container, its pod and the fingerprint, unlike a fingerprint
// that ran and failed (a WARN about that container).
func TestScanLogsAFingerprintThatCannotStart(t *testing.T) {
	cfg, err := rules.Parse(strings.NewReader(config))
	if err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	s := Scan{
		Config: cfg, Containers: &lister{cs: []cri.Container{ctr("a", 100)}},
		Processes: snapshot(workloads{100: {PID: 110, NSPID: 7, Name: "node"}}),
		Sandbox: &runner{
			out: map[string]string{},
			errs: map[string]error{
				"fpr_os@110":                 fmt.Errorf("run: %w: execute the fingerprint: exec format error", sandbox.ErrNotStarted),
				"fpr_version_executable@110": sandbox.ErrTimeout,
			},
		},
		Store: &store{}, FingerprintsDir: "/fpr",
		Log: slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{ReplaceAttr: dropTime})),
	}
	sum, err := s.Run(context.Background(), nil)
	if err != nil || sum.NotStarted != 1 {
		t.Fatalf("Run = %+v, %v; want one fingerprint not started", sum, err)
	}
	key := "containerd://" + strings.Repeat("a", 64)
	want := []string{
		`level=ERROR msg="fingerprint could not start" container=` + key + ` pod=ns/pod-a fingerprint=fpr_os error="run: fingerprint could not start: execute the fingerprint: exec format error"`,
		`level=WARN msg="fingerprint failed" container=` + key + ` fingerprint=fpr_version_executable error="fingerprint timed out"`,
	}
	if got := strings.Split(strings.TrimSpace(log.String()), "\n"); !slices.Equal(got, want) {
		t.Errorf("log:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func dropTime(_ []string, a slog.Attr) slog.Attr {
	if a.Key == slog.TimeKey {
		return slog.Attr{}
	}
	return a
}
