//go:build linux && privileged

package sandbox

import (
	"bytes"
	"context"
	"debug/elf"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/cgroups/v3"

	"github.com/openshift/insights-runtime-extractor/internal/sandbox/helper"
)

const zeroCaps = "0000000000000000"

// The proof of the privilege model (SPEC §8): the probe, run through Run exactly as a
// fingerprint, reports from inside what it is, and the host side checks the cgroup it is in.
func TestRunProbeReportsTargetIdentityAndNoPrivileges(t *testing.T) {
	requireRoot(t)
	limits := Limits{MemoryBytes: 96 << 20, MaxPids: 24, CPUPercent: 50}
	// A descriptor of a host directory this process holds without close-on-exec, as one
	// inherited from a parent would be: the fingerprint must not get it.
	leak, err := syscall.Open(t.TempDir(), syscall.O_RDONLY|syscall.O_DIRECTORY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(leak)
	for _, tc := range []struct {
		name     string
		uid, gid int
	}{
		{"root container", 0, 0},
		{"uid 1000 container", 1000, 1000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := startContainer(t, tc.uid, tc.gid)
			s := newSandbox(t)
			res := runAsync(s, Target{HostPID: c.pid, UID: uint32(tc.uid), GID: uint32(tc.gid)},
				bins.probe, []string{"-sleep", "300ms", "-read", "/marker"}, nil, limits)

			// From outside, while it runs: its cgroup, the limits there, and its pid mapping.
			r := waitRunning(t, s, bins.probe)
			hostPPID, _ := strconv.Atoi(statusLine(t, r.hostPID, "PPid"))
			reaperNS := nsPIDOf(t, hostPPID)
			reaperExe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", hostPPID))
			wantLimits := map[string]string{
				filepath.Join(r.cgroup["memory"], "memory.limit_in_bytes"):       strconv.Itoa(96 << 20),
				filepath.Join(r.cgroup["memory"], "memory.memsw.limit_in_bytes"): strconv.Itoa(96 << 20),
				filepath.Join(r.cgroup["pids"], "pids.max"):                      "24",
				filepath.Join(r.cgroup["cpu"], "cpu.cfs_quota_us"):               "50000",
				filepath.Join(r.cgroup["cpu"], "cpu.cfs_period_us"):              "100000",
			}
			if cgroups.Mode() == cgroups.Unified {
				wantLimits = map[string]string{
					filepath.Join(r.cgroup["memory"], "memory.max"):       strconv.Itoa(96 << 20),
					filepath.Join(r.cgroup["memory"], "memory.swap.max"):  "0",
					filepath.Join(r.cgroup["memory"], "memory.oom.group"): "1",
					filepath.Join(r.cgroup["pids"], "pids.max"):           "24",
					filepath.Join(r.cgroup["cpu"], "cpu.max"):             "50000 100000",
				}
			}
			for file, want := range wantLimits {
				if _, err := os.Stat(file); errors.Is(err, os.ErrNotExist) && strings.Contains(file, "swap") {
					continue // no swap accounting on this kernel
				}
				if got := readTrim(t, file); got != want {
					t.Errorf("%s = %s, want %s", file, got, want)
				}
			}
			// In every controller: the fingerprint and the sandbox helper that forked it, nothing
			// else (on v1 the forking thread of this process is taken out right after the fork).
			self := memfdLink(helper.Name)
			for _, ctrl := range []string{"memory", "pids", "cpu"} {
				var pids []int
				var err error
				var others []int
				for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
					pids, err = readPids(filepath.Join(r.cgroup[ctrl], "cgroup.procs"))
					others = slices.DeleteFunc(slices.Clone(pids), func(p int) bool {
						exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", p))
						return p == r.hostPID || p != os.Getpid() && exe == self
					})
					if err != nil || len(others) == 0 {
						break
					}
				}
				if err != nil || !slices.Contains(pids, r.hostPID) || len(others) != 0 {
					t.Errorf("%s cgroup.procs = %v (%v), want the fingerprint %d and its helper only", ctrl, pids, err, r.hostPID)
				}
			}
			out := <-res
			if out.err != nil {
				t.Fatalf("Run: %v", out.err)
			}
			rep := decodeStrict[probeReport](t, out.out)
			if len(rep.Errors) > 0 {
				t.Errorf("probe errors: %q", rep.Errors)
			}
			ids := func(n int) string { return strings.Repeat(strconv.Itoa(n)+" ", 3) + strconv.Itoa(n) }
			wantStatus := map[string]string{
				"Uid": ids(tc.uid), "Gid": ids(tc.gid), "Groups": "",
				"CapInh": zeroCaps, "CapPrm": zeroCaps, "CapEff": zeroCaps, "CapBnd": zeroCaps, "CapAmb": zeroCaps,
				"NoNewPrivs": "1", "Seccomp": "2", "NSpid": strconv.Itoa(r.nsPID),
			}
			for k, want := range wantStatus {
				if got, ok := rep.Status[k]; !ok || got != want {
					t.Errorf("status %s = %q, want %q", k, got, want)
				}
			}
			if rep.Dumpable != 0 {
				t.Errorf("dumpable = %d, want 0", rep.Dumpable)
			}
			for ns, link := range map[string]string{"mnt": "mnt", "pid": "pid", "pid_for_children": "pid",
				"net": "net", "ipc": "ipc", "uts": "uts", "cgroup": "cgroup"} {
				want, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", c.pid, link))
				if err != nil {
					t.Fatal(err)
				}
				if rep.NS[ns] != want {
					t.Errorf("ns %s = %q, want the target's %q", ns, rep.NS[ns], want)
				}
			}
			for _, ns := range []string{"mnt", "net", "ipc", "uts", "cgroup"} {
				if hostNS, _ := os.Readlink("/proc/self/ns/" + ns); rep.NS[ns] == hostNS {
					t.Errorf("probe is in the host %s namespace %s", ns, hostNS)
				}
			}
			// The seccomp filter answers EPERM where the kernel would say EBADF and ESRCH.
			if want := map[string]string{"setns": "EPERM", "ptrace": "EPERM"}; !maps.Equal(rep.Syscalls, want) {
				t.Errorf("denied system calls answered %v, want %v", rep.Syscalls, want)
			}
			targetRoot := statOf(t, fmt.Sprintf("/proc/%d/root", c.pid))
			if rep.Root != targetRoot || rep.Cwd != targetRoot || rep.CwdPath != "/" {
				t.Errorf("root %v cwd %v (%q), want both the target's root %v and \"/\"", rep.Root, rep.Cwd, rep.CwdPath, targetRoot)
			}
			if rep.File != c.marker {
				t.Errorf("/marker read %q, want the container's %q", rep.File, c.marker)
			}
			if rep.PID != r.nsPID || rep.PGID != rep.PID || rep.SID != rep.PID {
				t.Errorf("pid %d pgid %d sid %d, want pid %d leading its own group and session", rep.PID, rep.PGID, rep.SID, r.nsPID)
			}
			// Its parent is the sandbox's reaper, in the container, a copy of the helper.
			if rep.PPID != reaperNS || reaperExe != memfdLink(helper.Name) {
				t.Errorf("ppid %d (the parent's pid there %d, exe %q), want the sandbox's reaper", rep.PPID, reaperNS, reaperExe)
			}
			for _, ctrl := range []string{"memory", "pids", "cpu"} {
				// The sandbox's cgroup and the run's; what is above depends on where this test
				// runs (the mounted hierarchy may be a cgroup below the real root, as in a pod).
				tail := "/" + filepath.Base(filepath.Dir(r.cgroup[ctrl])) + "/" + filepath.Base(r.cgroup[ctrl])
				prefix := ":" + ctrl + ":"
				if cgroups.Mode() == cgroups.Unified {
					prefix = "0::"
				}
				if !slices.ContainsFunc(rep.Cgroup, func(l string) bool { return strings.Contains(l, prefix) && strings.HasSuffix(l, tail) }) {
					t.Errorf("/proc/self/cgroup %q lacks %s...%s", rep.Cgroup, prefix, tail)
				}
			}
			// Standard streams are pipes; anything else open is the probe's own runtime's.
			for fd, target := range rep.FDs {
				std := fd == "0" || fd == "1" || fd == "2"
				if std && !strings.HasPrefix(target, "pipe:") || !std && !strings.HasPrefix(target, "anon_inode:") {
					t.Errorf("fd %s -> %q: the fingerprint holds a descriptor it should not", fd, target)
				}
			}
		})
	}
}

// A process of the container that passes the ptrace access check on the fingerprint (root
// with CAP_SYS_PTRACE, as debugging sidecars are) can open its /proc/<pid>/cwd, root, exe and
// fd/*: none of them may lead outside the container. Without that capability the links are
// refused outright (the fingerprint is not dumpable), also for a process of the same uid.
func TestRunProcessOfTargetCannotReachHostThroughFingerprint(t *testing.T) {
	requireRoot(t)
	probeID := statOf(t, bins.probe)
	for _, tc := range []struct {
		name         string
		targetUID    int
		attackerUID  int    // nsenter -S
		attackerCaps string // probe escape -caps
		reachable    bool   // cwd/root/exe can be opened
	}{
		{"root attacker with CAP_SYS_PTRACE, root target", 0, 0, "default,sys_ptrace", true},
		{"root attacker with default caps, root target", 0, 0, "default", false},
		{"root attacker with CAP_SYS_PTRACE, uid 1000 target", 1000, 0, "default,sys_ptrace", true},
		{"same uid attacker, uid 1000 target", 1000, 1000, "all", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := startContainer(t, tc.targetUID, tc.targetUID)
			s := newSandbox(t)
			res := runAsync(s, Target{HostPID: c.pid, UID: uint32(tc.targetUID), GID: uint32(tc.targetUID)},
				bins.probe, []string{"-sleep", "1s"}, nil, Limits{})
			// The exec'd fingerprint (the fork-to-execve window is TestRunNothingForkedIntoTheContainerLeadsOutside's).
			r := waitRunning(t, s, bins.probe)
			rep, attackErr := attackFromContainer(c, tc.attackerUID, tc.attackerCaps, r.nsPID)
			if out := <-res; out.err != nil {
				t.Fatalf("Run: %v", out.err)
			}
			if attackErr != nil {
				t.Fatal(attackErr)
			}
			wantCaps := map[string]string{"default": "00000000a80425fb", "default,sys_ptrace": "00000000a80c25fb", "all": zeroCaps}[tc.attackerCaps]
			if rep.CapEff != wantCaps {
				t.Fatalf("attacker CapEff %s, want %s", rep.CapEff, wantCaps)
			}
			if rep.UID != tc.attackerUID {
				t.Fatalf("attacker uid %d, want %d", rep.UID, tc.attackerUID)
			}
			if containerRoot := statOf(t, c.root); rep.Root != containerRoot {
				t.Fatalf("attacker root %v is not the container's %v", rep.Root, containerRoot)
			}
			got := map[string]bool{}
			for _, l := range rep.Links {
				got[l.Link] = l.Error == ""
				switch {
				case l.Error != "" && !tc.reachable && !strings.Contains(l.Error, "permission denied"):
					t.Errorf("%s: %s, want permission denied", l.Link, l.Error)
				case l.Escaped:
					t.Errorf("%s leads outside the container: top %v, container root %v", l.Link, l.Top, rep.Root)
				case l.Error != "":
				case l.Type == "dir" && (l.Link != "cwd" && l.Link != "root" || *l.ID != rep.Root):
					t.Errorf("%s is directory %v, want only cwd/root and only the container root %v", l.Link, *l.ID, rep.Root)
				case strings.HasPrefix(l.Link, "fd/") && l.Type == "file" && strings.HasPrefix(l.Path, "/proc/"):
					// The probe reading its own /proc files, the container's, while it reports.
				case l.Type == "file" && (l.Link != "exe" || *l.ID == probeID || l.Path != memfdLink("probe")):
					t.Errorf("%s is file %v (%q), want only exe and only the sealed copy %q of the probe binary, not the host file %v",
						l.Link, *l.ID, l.Path, memfdLink("probe"), probeID)
				case strings.HasPrefix(l.Link, "fd/") && l.Type != "fifo" && l.Type != "other":
					t.Errorf("%s is a %s, want pipes (fifo) or the probe's own anonymous inodes", l.Link, l.Type)
				}
			}
			for _, link := range []string{"cwd", "root", "exe"} {
				if got[link] != tc.reachable {
					t.Errorf("%s opened = %v, want %v (links %+v)", link, got[link], tc.reachable, rep.Links)
				}
			}
			// Its memory maps name no host file: only the sealed copy and the kernel's own.
			if tc.reachable && (rep.MapsError != "" || len(rep.Maps) == 0) {
				t.Errorf("maps unreadable (%q) or empty: the attack proves nothing of them", rep.MapsError)
			}
			for _, m := range rep.Maps {
				if m != memfdLink("probe") && !strings.HasPrefix(m, "[") {
					t.Errorf("maps name %q, want only the sealed copy %q and [kernel] mappings", m, memfdLink("probe"))
				}
			}
			if tc.reachable && (rep.FDList != "" || !got["fd/0"] || !got["fd/1"] || !got["fd/2"]) {
				t.Errorf("fd list %q, links %+v: want the standard streams visible", rep.FDList, rep.Links)
			}
		})
	}
}

// The escape check must be able to fail: the same attacker against a process of the
// container's pid namespace whose cwd and root are on the host reports the escape.
func TestEscapeProbeDetectsHostDirectory(t *testing.T) {
	requireRoot(t)
	c := startContainer(t, 0, 0)
	hostDir := t.TempDir()
	leaky := exec.Command("nsenter", "-t", strconv.Itoa(c.pid), "-p", "--", bins.misbehave, "hang")
	leaky.Dir = hostDir
	leaky.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := leaky.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-leaky.Process.Pid, syscall.SIGKILL)
		_ = leaky.Wait()
	})
	hostPID := waitChild(t, leaky.Process.Pid, bins.misbehave)
	if hostPID == 0 {
		t.Fatal("leaky process did not start")
	}
	rep, err := attackFromContainer(c, 0, "default,sys_ptrace", nsPIDOf(t, hostPID))
	if err != nil {
		t.Fatal(err)
	}
	escaped := map[string]bool{}
	for _, l := range rep.Links {
		escaped[l.Link] = l.Escaped
	}
	if !escaped["cwd"] || !escaped["root"] {
		t.Fatalf("escape not detected through a host cwd/root: %+v", rep.Links)
	}
}

// attackFromContainer runs "probe escape" inside c (its namespaces and root) as uid with caps.
func attackFromContainer(c *container, uid int, caps string, victimNSPID int) (probeEscape, error) {
	args := []string{"-t", strconv.Itoa(c.pid), "-m", "-p", "-r", "-w"}
	if uid != 0 {
		args = append(args, "-S", strconv.Itoa(uid), "-G", strconv.Itoa(uid))
	}
	args = append(args, "--", "/probe", "escape", "-pid", strconv.Itoa(victimNSPID), "-caps", caps)
	cmd := exec.Command("nsenter", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return probeEscape{}, fmt.Errorf("attacker: %w: %s", err, stderr.String())
	}
	var rep probeEscape
	dec := json.NewDecoder(bytes.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rep); err != nil {
		return rep, fmt.Errorf("attacker output %q: %w", out, err)
	}
	return rep, nil
}

func nsPIDOf(t *testing.T, hostPID int) int {
	t.Helper()
	for _, line := range strings.Split(readTrim(t, fmt.Sprintf("/proc/%d/status", hostPID)), "\n") {
		if v, ok := strings.CutPrefix(line, "NSpid:"); ok {
			f := strings.Fields(v)
			n, _ := strconv.Atoi(f[len(f)-1])
			return n
		}
	}
	t.Fatalf("no NSpid for %d", hostPID)
	return 0
}

// A fingerprint that hangs (and ignores SIGTERM) is killed at its limit, while a fingerprint
// of another container started at the same time returns its result unaffected.
func TestRunKillsHangingFingerprintAndOthersStillArrive(t *testing.T) {
	requireRoot(t)
	hanging := startContainer(t, 0, 0)
	healthy := startContainer(t, 1000, 1000)
	s := newSandbox(t)
	limit := time.Second
	hang := runAsync(s, Target{HostPID: hanging.pid}, bins.misbehave, []string{"hang"}, nil, Limits{Timeout: limit})
	r := waitRunning(t, s, bins.misbehave)
	ok := runAsync(s, Target{HostPID: healthy.pid, UID: 1000, GID: 1000}, bins.probe, []string{"-read", "/marker"}, nil, Limits{})

	good := <-ok
	if good.err != nil {
		t.Fatalf("healthy container: %v", good.err)
	}
	if rep := decodeStrict[probeReport](t, good.out); rep.File != healthy.marker {
		t.Errorf("healthy container read %q, want %q", rep.File, healthy.marker)
	}
	if good.elapsed >= limit {
		t.Errorf("healthy container took %s: it waited for the hanging one", good.elapsed)
	}

	bad := <-hang
	if !errors.Is(bad.err, ErrTimeout) {
		t.Fatalf("hanging fingerprint: %v, want ErrTimeout", bad.err)
	}
	t.Logf("hanging fingerprint: Run returned after %s", bad.elapsed)
	if bad.elapsed < limit || bad.elapsed > limit+time.Second { // slack for a loaded shared machine
		t.Errorf("Run returned after %s, want within [%s, %s]", bad.elapsed, limit, limit+time.Second)
	}
	if err := syscall.Kill(r.hostPID, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("hanging fingerprint pid %d still exists after Run (kill 0: %v)", r.hostPID, err)
	}
	assertRunCgroupsIdle(t, s)
}

// Each limit stops its abuse, Run returns promptly with an error that names it, and nothing of
// the run is left: children that kept standard output open included.
func TestRunEnforcesLimits(t *testing.T) {
	requireRoot(t)
	c := startContainer(t, 1000, 1000)
	s := newSandbox(t)
	for _, tc := range []struct {
		name    string
		args    []string
		limits  Limits
		want    error
		message string
	}{
		{"fork bomb hits the pids limit", []string{"forkbomb"}, Limits{MaxPids: 16}, ErrPidsLimit, "exit status 3"},
		{"memory hog hits the memory limit", []string{"memhog"}, Limits{MemoryBytes: 64 << 20}, ErrMemoryLimit, "signal: killed"},
		{"output flood is cut at the output limit", []string{"flood"}, Limits{MaxOutput: 64 << 10}, ErrOutputTooLarge, "more than 65536 bytes"},
		{"failure reports its exit status and standard error", []string{"fail", "bad", "news"}, Limits{}, ErrFailed, `exit status 3, stderr "bad news\n"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			out, err := s.Run(context.Background(), Target{HostPID: c.pid, UID: 1000, GID: 1000}, bins.misbehave, tc.args, nil, tc.limits)
			elapsed := time.Since(start)
			if !errors.Is(err, tc.want) || !strings.Contains(fmt.Sprint(err), tc.message) {
				t.Fatalf("Run = %v, want %v containing %q", err, tc.want, tc.message)
			}
			if out != nil {
				t.Errorf("output %d bytes, want none on error", len(out))
			}
			if elapsed > 5*time.Second {
				t.Errorf("Run took %s", elapsed)
			}
			assertRunCgroupsIdle(t, s)
		})
	}
	assertNoLeftovers(t, c)
}

// Descendants that outlive the fingerprint and keep its standard output open do not hold Run:
// they are killed with the cgroup as soon as the fingerprint exits.
func TestRunKillsDescendantsHoldingOutput(t *testing.T) {
	requireRoot(t)
	c := startContainer(t, 0, 0)
	s := newSandbox(t)
	start := time.Now()
	out, err := s.Run(context.Background(), Target{HostPID: c.pid}, bins.misbehave, []string{"orphans"}, nil, Limits{})
	if err != nil || string(out) != "left 3\n" {
		t.Fatalf("Run = %q, %v; want \"left 3\\n\"", out, err)
	}
	if elapsed := time.Since(start); elapsed > 500*time.Millisecond {
		t.Errorf("Run took %s", elapsed)
	}
	assertNoLeftovers(t, c)
}

// assertNoLeftovers checks that nothing a run started is alive in c: orphans are reparented to
// the container's init, so its children are what a run left.
func assertNoLeftovers(t *testing.T, c *container) {
	t.Helper()
	deadline := time.Now().Add(time.Second)
	for {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", c.pid, c.pid))
		if err == nil && strings.TrimSpace(string(b)) == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("container init has children %q (%v): leftovers of the runs", b, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestRunPassesArgsAndStdin(t *testing.T) {
	requireRoot(t)
	c := startContainer(t, 1000, 1000)
	s := newSandbox(t)
	stdin := bytes.Repeat([]byte("0123456789abcdef"), 16<<10) // 256 KiB: more than a pipe holds
	out, err := s.Run(context.Background(), Target{HostPID: c.pid, UID: 1000, GID: 1000}, bins.misbehave,
		[]string{"echo", "first arg", "second"}, stdin, Limits{MaxOutput: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	want := append(slices.Clone(stdin), "first arg\nsecond\n"...)
	if !bytes.Equal(out, want) {
		t.Errorf("output %d bytes, want stdin then args (%d bytes)", len(out), len(want))
	}
}

func TestRunTargetGone(t *testing.T) {
	requireRoot(t)
	s := newSandbox(t)
	gone := exec.Command(bins.misbehave, "fail")
	_ = gone.Run() // exits 3 and is reaped: its pid names nothing now
	_, err := s.Run(context.Background(), Target{HostPID: gone.Process.Pid}, bins.probe, nil, nil, Limits{})
	if !errors.Is(err, ErrTargetGone) {
		t.Fatalf("Run = %v, want ErrTargetGone", err)
	}
}

// A pid is checked with the start time it was described with, after the namespaces were
// opened: another process that took the pid is not entered.
func TestRunTargetPIDReused(t *testing.T) {
	requireRoot(t)
	c := startContainer(t, 0, 0)
	s := newSandbox(t)
	start, err := startTimeOf(c.pid)
	if err != nil {
		t.Fatal(err)
	}
	if out, err := s.Run(context.Background(), Target{HostPID: c.pid, StartTime: start}, bins.misbehave, []string{"echo", "x"}, nil, Limits{}); err != nil || string(out) != "x\n" {
		t.Fatalf("Run with the target's start time = %q, %v", out, err)
	}
	_, err = s.Run(context.Background(), Target{HostPID: c.pid, StartTime: start - 1}, bins.misbehave, []string{"echo", "x"}, nil, Limits{})
	if !errors.Is(err, ErrTargetGone) || !strings.Contains(err.Error(), "now names a process started at") {
		t.Fatalf("Run with another start time = %v, want ErrTargetGone", err)
	}
}

// A target in the sandbox's own pid namespace (a pod with hostPID) sees the helper as the
// fingerprint's parent: the check that the helper did not die before the parent-death signal
// was set must expect the helper's pid there, not 0.
func TestRunTargetInOwnPIDNamespace(t *testing.T) {
	requireRoot(t)
	sleeper := exec.Command(bins.misbehave, "hang")
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sleeper.Process.Kill(); _ = sleeper.Wait() })
	out, err := newSandbox(t).Run(context.Background(), Target{HostPID: sleeper.Process.Pid}, bins.misbehave, []string{"echo", "x"}, nil, Limits{})
	if err != nil || string(out) != "x\n" {
		t.Fatalf("Run = %q, %v", out, err)
	}
}

// A fingerprint's orphans are reaped by the sandbox (a child subreaper in the container), not
// left to the container's init: after many runs that leave children behind, time out or hit
// the pids limit, in a container whose init never reaps, the container holds no zombie and
// no process but its init.
func TestRunLeavesNoZombieAndNoProcessInTheContainer(t *testing.T) {
	requireRoot(t)
	c := startContainerEnv(t, 0, 0, "", "SLEEPER_NO_REAP=1")
	s := newSandbox(t)
	tg := Target{HostPID: c.pid}
	for range 10 {
		if out, err := s.Run(context.Background(), tg, bins.misbehave, []string{"orphans"}, nil, Limits{}); err != nil || string(out) != "left 3\n" {
			t.Fatalf("orphans: Run = %q, %v", out, err)
		}
		if _, err := s.Run(context.Background(), tg, bins.misbehave, []string{"forkbomb"}, nil, Limits{MaxPids: 16}); !errors.Is(err, ErrFailed) {
			t.Fatalf("forkbomb: Run = %v, want ErrFailed", err)
		}
		if _, err := s.Run(context.Background(), tg, bins.misbehave, []string{"orphans-hang"}, nil, Limits{Timeout: 200 * time.Millisecond}); !errors.Is(err, ErrTimeout) {
			t.Fatalf("hang: Run = %v, want ErrTimeout", err)
		}
	}
	want, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", c.pid))
	if err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == c.pid {
			continue
		}
		if ns, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", pid)); ns != want {
			continue
		}
		stat, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		t.Errorf("left in the container: %s", stat)
	}
}

func TestRunRefusesReadableExecutable(t *testing.T) {
	requireRoot(t)
	c := startContainer(t, 0, 0)
	s := newSandbox(t)
	readable := filepath.Join(t.TempDir(), "probe")
	copyFile(t, bins.probe, readable, 0o755)
	_, err := s.Run(context.Background(), Target{HostPID: c.pid}, readable, nil, nil, Limits{})
	if !errors.Is(err, ErrBadExecutable) || !errors.Is(err, ErrNotStarted) || !strings.Contains(err.Error(), "mode 0755 is readable") {
		t.Fatalf("Run = %v, want ErrBadExecutable (not started) for mode 0755", err)
	}
}

// A fingerprint the kernel refuses to execute inside the target is told
// apart from one that ran and failed: it fails for every container alike.
func TestRunReportsAFingerprintThatCannotStart(t *testing.T) {
	requireRoot(t)
	c := startContainer(t, 0, 0)
	s := newSandbox(t)
	static, err := os.ReadFile(bins.misbehave)
	if err != nil {
		t.Fatal(err)
	}
	dynamic, err := os.ReadFile("/bin/true")
	if err != nil {
		t.Fatal(err)
	}
	otherArch := slices.Clone(static)
	binary.LittleEndian.PutUint16(otherArch[18:], uint16(elf.EM_AARCH64)) // e_machine
	if runtime.GOARCH == "arm64" {
		binary.LittleEndian.PutUint16(otherArch[18:], uint16(elf.EM_X86_64))
	}
	tests := []struct {
		name    string
		content []byte
		want    string
	}{
		// A dynamic executable would run the container's ld.so: refused before it runs.
		{name: "it is dynamically linked", content: dynamic, want: "dynamically linked (PT_INTERP): it would load the container's ld.so"},
		{name: "it is a script", content: []byte("#!/nonexistent/interpreter\n"), want: "not an ELF executable: bad magic number '[35 33 47 110]' in record at byte 0x0"},
		{name: "it is for another architecture", content: otherArch, want: "execute the fingerprint: exec format error"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			exe := filepath.Join(t.TempDir(), "fpr_broken")
			if err := os.WriteFile(exe, tc.content, 0o111); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(exe, 0o111); err != nil {
				t.Fatal(err)
			}
			_, err := s.Run(context.Background(), Target{HostPID: c.pid}, exe, nil, nil, Limits{})
			if !errors.Is(err, ErrNotStarted) || errors.Is(err, ErrFailed) || !strings.HasSuffix(err.Error(), tc.want) {
				t.Fatalf("Run = %v, want ErrNotStarted ending in %q", err, tc.want)
			}
		})
	}
}

func TestCloseRemovesSandboxCgroups(t *testing.T) {
	requireRoot(t)
	c := startContainer(t, 0, 0)
	s, err := New(Options{Helper: bins.helper})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Run(context.Background(), Target{HostPID: c.pid}, bins.probe, nil, nil, Limits{}); err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, ctrl := range []string{"memory", "pids", "cpu"} {
		dirs = append(dirs, s.cg.dir(ctrl))
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		if _, err := os.Stat(d); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s still there after Close: %v", d, err)
		}
	}
	if _, err := s.Run(context.Background(), Target{HostPID: c.pid}, bins.probe, nil, nil, Limits{}); err == nil {
		t.Error("Run after Close succeeded")
	}
}

// BenchmarkRun measures one trivial fingerprint in a container: wall time per run and CPU
// (user+sys of this process and its children) per run.
func BenchmarkRun(b *testing.B) {
	requireRoot(b)
	c := startContainer(b, 1000, 1000)
	s := newSandbox(b)
	tg := Target{HostPID: c.pid, UID: 1000, GID: 1000}
	before := processCPU()
	for b.Loop() {
		if _, err := s.Run(context.Background(), tg, bins.misbehave, []string{"echo"}, []byte("x"), Limits{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64((processCPU()-before).Microseconds())/1000/float64(b.N), "cpu-ms/op")
}

// processCPU is the CPU time, user and system, of this process and of its children reaped.
func processCPU() time.Duration {
	var self, children syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &self)
	_ = syscall.Getrusage(syscall.RUSAGE_CHILDREN, &children)
	return time.Duration(self.Utime.Nano() + self.Stime.Nano() + children.Utime.Nano() + children.Stime.Nano())
}

func TestRunCancelledContextKillsWithoutTimeoutError(t *testing.T) {
	requireRoot(t)
	c := startContainer(t, 0, 0)
	s := newSandbox(t)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	start := time.Now()
	_, err := s.Run(ctx, Target{HostPID: c.pid}, bins.misbehave, []string{"hang"}, nil, Limits{})
	if !errors.Is(err, context.Canceled) || errors.Is(err, ErrTimeout) {
		t.Fatalf("Run = %v, want context.Canceled and not ErrTimeout", err)
	}
	if elapsed := time.Since(start); elapsed > 2*time.Second { // below the 10 s limit; slack for a loaded machine
		t.Errorf("Run took %s after a cancel at 200ms", elapsed)
	}
	assertNoLeftovers(t, c)
	if _, err := s.Run(ctx, Target{HostPID: c.pid}, bins.probe, nil, nil, Limits{}); !errors.Is(err, context.Canceled) {
		t.Errorf("Run with a done context = %v, want context.Canceled", err)
	}
}

// Many runs at once, in two containers: each gets its own container's answer. (This is how a
// clash between the executable's descriptor and Go's fork bookkeeping showed up.)
func TestRunConcurrentRunsStayApart(t *testing.T) {
	requireRoot(t)
	cs := []*container{startContainer(t, 0, 0), startContainer(t, 1000, 1000)}
	s := newSandbox(t)
	type result struct {
		c   *container
		res runResult
	}
	results := make(chan result, 24)
	for i := range cap(results) {
		c := cs[i%2]
		uid := uint32(0)
		if i%2 == 1 {
			uid = 1000
		}
		go func() {
			results <- result{c, <-runAsync(s, Target{HostPID: c.pid, UID: uid, GID: uid}, bins.probe, []string{"-read", "/marker"}, nil, Limits{})}
		}()
	}
	for range cap(results) {
		r := <-results
		if r.res.err != nil {
			t.Errorf("Run: %v", r.res.err)
			continue
		}
		if rep := decodeStrict[probeReport](t, r.res.out); rep.File != r.c.marker {
			t.Errorf("read %q, want %q", rep.File, r.c.marker)
		}
	}
}

// A container whose processes may hold CAP_SYS_PTRACE is fingerprinted like any other: what
// such a process can reach of the fingerprint is the escape test's business, and nothing
// forked into its pid namespace ever shares this process's memory or descriptors.
func TestRunFingerprintsContainerWithPtraceCapability(t *testing.T) {
	requireRoot(t)
	c := startContainerWithCaps(t, 0, 0, "19")
	out, err := newSandbox(t).Run(context.Background(), Target{HostPID: c.pid}, bins.probe, nil, nil, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if rep := decodeStrict[probeReport](t, out); rep.Status["CapEff"] != zeroCaps || rep.Status["CapBnd"] != zeroCaps {
		t.Errorf("fingerprint capabilities %q / %q, want none", rep.Status["CapEff"], rep.Status["CapBnd"])
	}
}

// A root process of the container with CAP_SYS_PTRACE watches every process that appears in
// its pid namespace, as fast as it can, while fingerprints run: at no moment (between a
// fingerprint's fork and its execve included) does any of their links or descriptors lead
// outside the container. Before the helper, a fingerprint shared the caller's memory and
// descriptors until its execve, and this is how that showed.
func TestRunNothingForkedIntoTheContainerLeadsOutside(t *testing.T) {
	requireRoot(t)
	c := startContainer(t, 0, 0)
	s := newSandbox(t)
	watch := exec.Command("nsenter", "-t", strconv.Itoa(c.pid), "-m", "-p", "-r", "-w", "--",
		"/probe", "watch", "-for", (3 * time.Second).String(), "-caps", "default,sys_ptrace")
	var stdout, stderr bytes.Buffer
	watch.Stdout, watch.Stderr = &stdout, &stderr
	if err := watch.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // the watcher notes what runs before the fingerprints
	tg := Target{HostPID: c.pid}
	runs := 0
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); runs++ {
		if out, err := s.Run(context.Background(), tg, bins.misbehave, []string{"echo", "x"}, nil, Limits{}); err != nil || string(out) != "x\n" {
			t.Fatalf("Run = %q, %v", out, err)
		}
	}
	if err := watch.Wait(); err != nil {
		t.Fatalf("watcher: %v: %s", err, stderr.String())
	}
	var rep struct {
		Seen    int                    `json:"seen"`
		Opened  int                    `json:"opened"`
		Escapes []json.RawMessage      `json:"escapes"`
		Files   map[string]probeFileID `json:"files"`
		Exes    map[string]string      `json:"exes"`
		Maps    map[string]string      `json:"maps"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("watcher output %q: %v", stdout.String(), err)
	}
	// Executed from sealed memfds: no exe, and nothing mapped, is a host file (the test binary
	// the helper runs, or the fingerprint's).
	hostFiles := map[probeFileID]string{statOf(t, "/proc/self/exe"): "this test binary", statOf(t, bins.misbehave): "the fingerprint"}
	for link, id := range rep.Files {
		if what, ok := hostFiles[id]; ok {
			t.Errorf("%s is the host file of %s", link, what)
		}
	}
	preExec := 0
	for exe, pid := range rep.Exes {
		switch exe {
		case "": // gone before its link was read
		case memfdLink(helper.Name):
			preExec++ // a copy of the helper: a fingerprint caught before its execve
		case memfdLink("misbehave"):
		default:
			t.Errorf("pid %s: exe %q, want a sealed copy", pid, exe)
		}
	}
	for m, pid := range rep.Maps {
		if m != memfdLink(helper.Name) && m != memfdLink("misbehave") && !strings.HasPrefix(m, "[") {
			t.Errorf("pid %s maps %q, want only the sealed copies and [kernel] mappings", pid, m)
		}
	}
	if len(rep.Maps) == 0 {
		t.Error("the watcher read no maps: it proves nothing of them")
	}
	t.Logf("%d runs; the watcher saw %d new processes (%d before their execve) and opened %d links", runs, rep.Seen, preExec, rep.Opened)
	if rep.Seen == 0 || rep.Opened == 0 {
		t.Fatalf("the watcher saw %d processes and opened %d links: it proves nothing", rep.Seen, rep.Opened)
	}
	for _, e := range rep.Escapes {
		t.Errorf("led outside the container: %s", e)
	}
}

// statusLine returns the value of one field of /proc/<pid>/status.
func statusLine(t *testing.T, pid int, key string) string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, key+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	t.Fatalf("/proc/%d/status has no %s", pid, key)
	return ""
}
