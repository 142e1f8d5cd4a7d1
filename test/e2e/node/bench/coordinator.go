package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/openshift/insights-runtime-extractor/test/localnode"
)

// binaries is one revision's built product and what its coordinator offers.
type binaries struct {
	name, dir, config string
	// stats: the coordinator has -stats (and then -log-format json).
	stats bool
	// cache: it has -cache (the bench turns the cache off).
	cache bool
	// concurrency is its -concurrency default, 0 without the flag.
	concurrency int
	// budget: it has -scan-timeout, which direct runs raise so that they
	// measure every container even on a slow node.
	budget bool
}

// buildBinaries builds the revision checked out at src into dir and asks its
// coordinator which flags it has.
func buildBinaries(ctx context.Context, log *slog.Logger, name, src, dir string) (*binaries, error) {
	log.Info("building the product", "revision", name)
	if err := localnode.BuildBinaries(ctx, src, dir); err != nil {
		return nil, fmt.Errorf("build %s: %w", name, err)
	}
	// -h prints the flags and exits 0 or 2 depending on the revision.
	help, _ := exec.CommandContext(ctx, filepath.Join(dir, "coordinator"), "-h").CombinedOutput()
	b := &binaries{name: name, dir: dir, config: filepath.Join(src, "config.toml")}
	b.stats = hasFlag(help, "stats") && hasFlag(help, "log-format")
	b.cache = hasFlag(help, "cache")
	b.concurrency = intDefault(help, "concurrency")
	b.budget = hasFlag(help, "scan-timeout")
	if !hasFlag(help, "runtime-endpoint") {
		return nil, fmt.Errorf("%s: the coordinator has no -runtime-endpoint flag:\n%s", name, help)
	}
	return b, nil
}

// intDefault is the default of an int flag as -h shows it on the line after
// the flag's name; 0 when it shows none (the flag package hides zero values)
// or has no such flag.
func intDefault(help []byte, name string) int {
	lines := strings.Split(string(help), "\n")
	for i, l := range lines {
		if strings.TrimSpace(l) == "-"+name+" int" && i+1 < len(lines) {
			if m := regexp.MustCompile(`\(default (\d+)\)`).FindStringSubmatch(lines[i+1]); m != nil {
				n, _ := strconv.Atoi(m[1])
				return n
			}
		}
	}
	return 0
}

func hasFlag(help []byte, name string) bool {
	return regexp.MustCompile(`(?m)^\s+-` + regexp.QuoteMeta(name) + `\b`).Match(help)
}

// checkout makes a detached worktree of rev at dir; cleanup removes it.
func checkout(ctx context.Context, repo, rev, dir string) (string, func(), error) {
	out, err := exec.CommandContext(ctx, "git", "-C", repo, "worktree", "add", "--detach", dir, rev).CombinedOutput()
	if err != nil {
		return "", nil, fmt.Errorf("git worktree add %s: %w: %s", rev, err, out)
	}
	return dir, func() {
		exec.Command("git", "-C", repo, "worktree", "remove", "--force", dir).Run()
	}, nil
}

// run is one direct coordinator run.
type run struct {
	wall time.Duration
	// total is the user+sys time of the coordinator and of everything it
	// reaped (wait4).
	total time.Duration
	// hwm is the coordinator's peak RSS in bytes (VmHWM, read while it runs).
	// Not wait4's or getrusage's ru_maxrss: a child that Go starts with
	// vfork carries its parent's peak RSS across exec, so those read at
	// least the bench's (or, in production, extractor_server's) own.
	hwm int64
	// daemon is the user+sys time of the node's runtime daemon during the run.
	daemon time.Duration
	// written is the number of containers in its result.
	written int
	// cost is the coordinator's scan cost record (with -stats).
	cost *scanCost
}

// coordinator runs b's coordinator once on the node at endpoint, without its
// cache; concurrency 0 keeps the revision's default.
func (b *binaries) coordinator(ctx context.Context, endpoint string, daemon []int, concurrency int) (run, error) {
	var r run
	data, err := os.MkdirTemp("", "ire-bench-data-")
	if err != nil {
		return r, err
	}
	defer os.RemoveAll(data)
	args := []string{"-runtime-endpoint", endpoint, "-config", b.config, "-fingerprints-dir", b.dir, "-data-dir", data}
	if b.cache {
		args = append(args, "-cache=false")
	}
	if b.stats {
		args = append(args, "-stats", "-log-format", "json")
	}
	if b.budget {
		args = append(args, "-scan-timeout", "15m")
	}
	if concurrency > 0 {
		args = append(args, "-concurrency", strconv.Itoa(concurrency))
	}
	cmd := exec.CommandContext(ctx, filepath.Join(b.dir, "coordinator"), args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	before := processCPU(daemon)
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return r, err
	}
	done := make(chan struct{})
	polled := make(chan int64)
	go func() { polled <- pollHWM(cmd.Process.Pid, done) }()
	err = cmd.Wait()
	r.wall = time.Since(start)
	r.daemon = processCPU(daemon) - before
	close(done)
	r.hwm = <-polled
	if err != nil {
		return r, fmt.Errorf("%s coordinator: %w: %s", b.name, err, tail(stderr.String(), 2000))
	}
	// The result directory it printed holds one directory per container written.
	entries, err := os.ReadDir(strings.TrimSpace(stdout.String()))
	if err != nil {
		return r, fmt.Errorf("%s coordinator: its result: %w", b.name, err)
	}
	for _, e := range entries {
		if e.IsDir() {
			r.written++
		}
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		return r, errors.New("no rusage for the coordinator")
	}
	r.total = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	if b.stats {
		if r.cost, err = parseCost(stderr.Bytes()); err != nil {
			return r, fmt.Errorf("%s coordinator: %w", b.name, err)
		}
	}
	return r, nil
}

// pollHWM reads the VmHWM of pid every 10 ms until done and returns the
// last value read: the peak never decreases, and the last reading comes
// within 10 ms of the end.
func pollHWM(pid int, done <-chan struct{}) int64 {
	var hwm int64
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if err == nil {
			for line := range strings.SplitSeq(string(b), "\n") {
				if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
					if kib, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64); err == nil {
						hwm = max(hwm, kib*1024)
					}
				}
			}
		}
		select {
		case <-done:
			return hwm
		case <-t.C:
		}
	}
}

// scanCost is the coordinator's "scan cost" log record: its own CPU time in
// all and by step, its peak RSS, the sandbox helpers' CPU time and each
// fingerprint's, by executable name.
type scanCost struct {
	Self, CRI, Proc, Plan, Sandbox, Write, Helpers time.Duration
	SelfMaxRSSKiB                                  int64
	Fingerprints                                   map[string]job
}

type job struct {
	Runs int
	CPU  time.Duration
}

// fingerprintCPU is the CPU time of every fingerprint together.
func (c *scanCost) fingerprintCPU() time.Duration {
	var t time.Duration
	for _, j := range c.Fingerprints {
		t += j.CPU
	}
	return t
}

// other is the coordinator's own time outside the steps it measures
// (start, configuration, scheduling, the runtime's background work).
func (c *scanCost) other() time.Duration {
	return c.Self - (c.CRI + c.Proc + c.Plan + c.Sandbox + c.Write)
}

// names are the fingerprints' names, sorted.
func (c *scanCost) names() []string { return slices.Sorted(maps.Keys(c.Fingerprints)) }

// parseCost finds the "scan cost" record in the coordinator's JSON log
// (slog: durations in integer nanoseconds, one group per fingerprint).
func parseCost(log []byte) (*scanCost, error) {
	sc := bufio.NewScanner(bytes.NewReader(log))
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		var rec map[string]json.RawMessage
		if json.Unmarshal(sc.Bytes(), &rec) != nil || string(rec["msg"]) != `"scan cost"` {
			continue
		}
		c := &scanCost{Fingerprints: map[string]job{}}
		for k, dst := range map[string]*time.Duration{"self": &c.Self, "cri": &c.CRI, "proc": &c.Proc, "plan": &c.Plan,
			"sandbox": &c.Sandbox, "write": &c.Write, "helpers": &c.Helpers} {
			var ns int64
			if err := json.Unmarshal(rec[k], &ns); err != nil {
				return nil, fmt.Errorf("scan cost: %s: %w", k, err)
			}
			*dst = time.Duration(ns)
		}
		if err := json.Unmarshal(rec["self_max_rss_kib"], &c.SelfMaxRSSKiB); err != nil {
			return nil, fmt.Errorf("scan cost: self_max_rss_kib: %w", err)
		}
		for k, v := range rec {
			var g struct {
				Runs *int   `json:"runs"`
				CPU  *int64 `json:"cpu"`
			}
			if v[0] == '{' && json.Unmarshal(v, &g) == nil && g.Runs != nil && g.CPU != nil {
				c.Fingerprints[k] = job{Runs: *g.Runs, CPU: time.Duration(*g.CPU)}
			}
		}
		return c, nil
	}
	return nil, errors.New(`no "scan cost" record in its log`)
}

// daemonPIDs are the pids of the node's runtime daemon (containerd, or
// crio): the processes of that name whose command line names the node's
// directory, where its configuration lives.
func daemonPIDs(node *localnode.Node) []int {
	var pids []int
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		if name := strings.TrimSpace(string(comm)); name != "containerd" && name != "crio" {
			continue
		}
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if bytes.Contains(cmdline, []byte(node.Dir())) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// processCPU is the user+sys time of the processes so far, from the utime
// and stime fields of /proc/<pid>/stat (in clock ticks of 1/100 s, as on
// every Linux architecture the product ships for).
func processCPU(pids []int) time.Duration {
	var t time.Duration
	for _, pid := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		// The fields after the command name, which may hold spaces: state is
		// field 3, utime and stime fields 14 and 15.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 13 {
			continue
		}
		u, _ := strconv.ParseInt(f[11], 10, 64)
		s, _ := strconv.ParseInt(f[12], 10, 64)
		t += time.Duration(u+s) * 10 * time.Millisecond
	}
	return t
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
