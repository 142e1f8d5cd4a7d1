//go:build linux && privileged

package sandbox

import (
	"context"
	"debug/elf"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// One container, one helper and one cgroup for many jobs: each job keeps its own output,
// error and limits, whatever the jobs before it did, and nothing is left.
func TestRunJobsKeepsEachJobApart(t *testing.T) {
	requireRoot(t)
	c := startContainer(t, 1000, 1000)
	s := newSandbox(t)
	readable := filepath.Join(t.TempDir(), "readable")
	copyFile(t, bins.misbehave, readable, 0o755)
	otherArch := filepath.Join(t.TempDir(), "other-arch")
	static, err := os.ReadFile(bins.misbehave)
	if err != nil {
		t.Fatal(err)
	}
	foreign := slices.Clone(static)
	binary.LittleEndian.PutUint16(foreign[18:], uint16(elf.EM_AARCH64)) // e_machine
	if runtime.GOARCH == "arm64" {
		binary.LittleEndian.PutUint16(foreign[18:], uint16(elf.EM_X86_64))
	}
	if err := os.WriteFile(otherArch, foreign, 0o111); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		job     Job
		out     string // when no error is wanted
		want    error
		message string
	}{
		{job: Job{Exe: bins.misbehave, Args: []string{"echo", "first"}, Stdin: []byte("in-1\n")}, out: "in-1\nfirst\n"},
		{job: Job{Exe: bins.misbehave, Args: []string{"memhog"}}, want: ErrMemoryLimit, message: "signal: killed"},
		// After the memory hog: a plain failure is not blamed on the memory limit.
		{job: Job{Exe: bins.misbehave, Args: []string{"fail", "bad", "news"}}, want: ErrFailed, message: `exit status 3, stderr "bad news\n"`},
		{job: Job{Exe: bins.misbehave, Args: []string{"forkbomb"}}, want: ErrPidsLimit, message: "exit status 3"},
		{job: Job{Exe: bins.misbehave, Args: []string{"hang"}}, want: ErrTimeout, message: "after 5s"},
		{job: Job{Exe: readable}, want: ErrBadExecutable, message: "mode 0755 is readable"},
		{job: Job{Exe: bins.misbehave, Args: []string{"flood"}}, want: ErrOutputTooLarge, message: "more than 65536 bytes"},
		{job: Job{Exe: otherArch}, want: ErrNotStarted, message: "execute the fingerprint: exec format error"},
		{job: Job{Exe: bins.misbehave, Args: []string{"orphans"}}, out: "left 3\n"},
		{job: Job{Exe: bins.misbehave, Args: []string{"echo", "last"}, Stdin: []byte("in-2\n")}, out: "in-2\nlast\n"},
	}
	var jobs []Job
	for _, tc := range tests {
		jobs = append(jobs, tc.job)
	}
	before := s.runSeq.Load()
	start := time.Now()
	res := s.RunJobs(context.Background(), Target{HostPID: c.pid, UID: 1000, GID: 1000}, jobs,
		// 5 s: the memory hog must reach 64 MiB within it on an emulated VM too.
		Limits{Timeout: 5 * time.Second, MemoryBytes: 64 << 20, MaxPids: 16, MaxOutput: 64 << 10})
	t.Logf("%d jobs in %s", len(jobs), time.Since(start))
	if len(res) != len(tests) {
		t.Fatalf("%d results for %d jobs", len(res), len(tests))
	}
	for i, tc := range tests {
		r := res[i]
		if tc.want == nil {
			if r.Err != nil || string(r.Out) != tc.out {
				t.Errorf("job %d %v: (%q, %v), want %q", i, tc.job.Args, r.Out, r.Err, tc.out)
			}
			continue
		}
		if !errors.Is(r.Err, tc.want) || !strings.Contains(r.Err.Error(), tc.message) || r.Out != nil {
			t.Errorf("job %d %v: (%d bytes, %v), want %v containing %q", i, tc.job.Args, len(r.Out), r.Err, tc.want, tc.message)
		}
	}
	// ErrMemoryLimit and ErrPidsLimit wrap ErrFailed: the plain failure must be only that.
	if errors.Is(res[2].Err, ErrMemoryLimit) || errors.Is(res[2].Err, ErrPidsLimit) {
		t.Errorf("plain failure blamed on a limit: %v", res[2].Err)
	}
	if n := s.runSeq.Load() - before; n != 1 {
		t.Errorf("%d run cgroups for one RunJobs, want 1", n)
	}
	assertNoLeftovers(t, c)
	assertRunCgroupsIdle(t, s)
}

// When the caller gives up (a container's budget), the running job is killed, the jobs not
// started yet never start, and nothing of the run is left.
func TestRunJobsStopsWhenTheContextEnds(t *testing.T) {
	requireRoot(t)
	c := startContainer(t, 1000, 1000)
	s := newSandbox(t)
	marker := "/tmp/ran-after-stop"
	jobs := []Job{
		{Exe: bins.misbehave, Args: []string{"orphans-hang"}},
		// Would leave a file in the container if it ran.
		{Exe: bins.misbehave, Args: []string{"touch", marker}},
		{Exe: bins.misbehave, Args: []string{"echo", "never"}},
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	stop := errors.New("container budget used up")
	time.AfterFunc(500*time.Millisecond, func() { cancel(stop) })
	start := time.Now()
	res := s.RunJobs(ctx, Target{HostPID: c.pid, UID: 1000, GID: 1000}, jobs, Limits{})
	elapsed := time.Since(start)
	for i, r := range res {
		if !errors.Is(r.Err, stop) || r.Out != nil {
			t.Errorf("job %d: (%q, %v), want the stop cause", i, r.Out, r.Err)
		}
	}
	if elapsed > 2*time.Second {
		t.Errorf("RunJobs returned %s after its context, want promptly", elapsed)
	}
	if _, err := os.Stat(filepath.Join(c.root, marker)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a job ran after the stop: %s exists (%v)", marker, err)
	}
	assertNoLeftovers(t, c)
}

// BenchmarkRunJobs measures what one container costs with two trivial fingerprints (the OS
// one and a kind one, as a scan runs them): wall time and CPU (this process and everything it
// started, user+sys) per container.
func BenchmarkRunJobs(b *testing.B) {
	requireRoot(b)
	c := startContainer(b, 1000, 1000)
	s := newSandbox(b)
	tg := Target{HostPID: c.pid, UID: 1000, GID: 1000}
	jobs := []Job{{Exe: bins.misbehave, Args: []string{"echo"}, Stdin: []byte("os")}, {Exe: bins.misbehave, Args: []string{"echo"}, Stdin: []byte("kind")}}
	before := processCPU()
	for b.Loop() {
		for _, r := range s.RunJobs(context.Background(), tg, jobs, Limits{}) {
			if r.Err != nil {
				b.Fatal(r.Err)
			}
		}
	}
	b.ReportMetric(float64((processCPU()-before).Microseconds())/1000/float64(b.N), "cpu-ms/op")
}

// Runs one after the other share one cgroup, made once; runs with other limits get their own.
func TestRunReusesItsCgroup(t *testing.T) {
	requireRoot(t)
	c := startContainer(t, 1000, 1000)
	s := newSandbox(t)
	tg := Target{HostPID: c.pid, UID: 1000, GID: 1000}
	before := s.runSeq.Load()
	for _, l := range []Limits{{}, {}, {MaxPids: 16}, {}, {MaxPids: 16}} {
		if out, err := s.Run(context.Background(), tg, bins.misbehave, []string{"echo", "x"}, nil, l); err != nil || string(out) != "x\n" {
			t.Fatalf("Run = (%q, %v)", out, err)
		}
	}
	if n := s.runSeq.Load() - before; n != 2 {
		t.Errorf("%d run cgroups made for two sets of limits, want 2", n)
	}
	assertRunCgroupsIdle(t, s)
}
