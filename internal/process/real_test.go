package process

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startTree starts script under sh in its own process group, as uid/gid
// 65534 when the test runs as root, and stops the whole group at the end.
func startTree(t *testing.T, dir, script string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("/bin/sh", "-c", script)
	cmd.Dir = dir
	cmd.Env = []string{"FOO=bar baz", "PATH=/usr/bin:/bin"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if os.Geteuid() == 0 {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: 65534, Gid: 65534}
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %q: %v", script, err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
	})
	return cmd
}

// threadChildren reads the children of every thread of pid from
// /proc/<pid>/task/<tid>/children: the kernel's own list, to check the
// tree built from stat against.
func threadChildren(t *testing.T, pid int) []int {
	t.Helper()
	files, err := filepath.Glob("/proc/" + strconv.Itoa(pid) + "/task/*/children")
	if err != nil || len(files) == 0 {
		t.Skipf("skipped: no /proc/%d/task/*/children (kernel without CONFIG_PROC_CHILDREN?)", pid)
	}
	var out []int
	for _, f := range files {
		b, _ := os.ReadFile(f)
		for _, s := range strings.Fields(string(b)) {
			n, _ := strconv.Atoi(s)
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

// waitForLeaves takes snapshots until the leaves below pid have exactly
// these names (sorted), and returns the last snapshot and the leaves by name.
func waitForLeaves(t *testing.T, pid int, names ...string) (*Tree, map[string]int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		tree, err := Snapshot("/proc")
		if err != nil {
			t.Fatal(err)
		}
		byName := map[string]int{}
		var got []string
		for _, l := range tree.leaves(pid) {
			got = append(got, tree.procs[l].comm)
			byName[tree.procs[l].comm] = l
		}
		slices.Sort(got)
		// comm changes before exec is over: wait until each leaf's command
		// line reads too, or a describe would catch it half-way.
		if slices.Equal(got, names) && allDescribed(tree, byName) {
			return tree, byName
		}
		if time.Now().After(deadline) {
			t.Fatalf("leaves of pid %d are %q, want %q within 10s", pid, got, names)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func allDescribed(tree *Tree, leaves map[string]int) bool {
	for _, l := range leaves {
		if p, err := tree.describe(l); err != nil || len(p.Cmdline) == 0 {
			return false
		}
	}
	return true
}

func TestWorkloadOfRealProcesses(t *testing.T) {
	for _, bin := range []string{"sleep", "python3"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("skipped: %s not installed", bin)
		}
	}
	// Not t.TempDir: its parent is private to root, and the processes may run as nobody.
	dir, err := os.MkdirTemp("", "process-test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	wantUID := uint32(os.Geteuid())
	if wantUID == 0 {
		wantUID = 65534
	}

	// sh waits for an older sleep and a younger python3 (started at least
	// one clock tick later): the python3 leaf is recognized, the sleep is
	// the first leaf.
	sh := startTree(t, dir, `sleep 100 & sleep 0.1; python3 -c 'import time; time.sleep(100)' & wait`)
	tree, leaf := waitForLeaves(t, sh.Process.Pid, "python3", "sleep")

	// The tree built from stat must agree with the kernel's per-thread
	// children lists: this test process forks from whichever Go thread
	// runs the goroutine, often not the main one.
	for _, pid := range []int{os.Getpid(), sh.Process.Pid} {
		fromStat := slices.Sorted(slices.Values(tree.children[pid]))
		if kernel := threadChildren(t, pid); !slices.Equal(fromStat, kernel) {
			t.Errorf("children of %d: from stat %v, from task/*/children %v", pid, fromStat, kernel)
		}
	}

	for _, tc := range []struct {
		name     string
		rules    func(string) bool
		wantPID  int
		wantName string
		wantArgs []string
	}{
		{"recognized leaf wins", recognizes, leaf["python3"], "python3", []string{"python3", "-c", "import time; time.sleep(100)"}},
		{"otherwise the first leaf", nil, leaf["sleep"], "sleep", []string{"sleep", "100"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tree.Workload(sh.Process.Pid, tc.rules)
			if err != nil {
				t.Fatalf("Workload: %v", err)
			}
			stat, err := os.ReadFile("/proc/" + strconv.Itoa(tc.wantPID) + "/stat")
			if err != nil {
				t.Fatal(err)
			}
			fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+2:]))
			start, _ := strconv.ParseUint(fields[19], 10, 64) // field 22 of stat
			// sh runs with PATH=/usr/bin:/bin; the kernel records the file behind the symlinks.
			exe, err := filepath.EvalSymlinks("/usr/bin/" + tc.wantName)
			if err != nil {
				t.Fatal(err)
			}
			want := Process{
				PID: tc.wantPID, NSPID: tc.wantPID, Name: tc.wantName, Cmdline: tc.wantArgs, Exe: exe,
				Env: []string{"FOO=bar baz", "PATH=/usr/bin:/bin", "PWD=" + dir}, // sh exports PWD
				Cwd: dir, UID: wantUID, GID: wantUID, StartTime: start,
			}
			slices.Sort(got.Env)
			if !slicesEqualProcess(got, want) {
				t.Errorf("Workload:\n got %+v\nwant %+v", got, want)
			}
		})
	}

	t.Run("the init pid exits", func(t *testing.T) {
		_ = syscall.Kill(-sh.Process.Pid, syscall.SIGKILL)
		_ = sh.Wait()
		// The orphaned leaves die asynchronously and stay zombies until
		// PID 1 reaps them.
		deadline := time.Now().Add(10 * time.Second)
		for _, pid := range leaf {
			for alive(pid) {
				if time.Now().After(deadline) {
					t.Fatalf("pid %d still alive 10s after SIGKILL", pid)
				}
				time.Sleep(10 * time.Millisecond)
			}
		}
		if p, err := tree.Workload(sh.Process.Pid, recognizes); !errors.Is(err, ErrGone) {
			t.Errorf("Workload after the processes were killed = %+v, %v; want ErrGone", p, err)
		}
	})
}

func slicesEqualProcess(a, b Process) bool {
	return a.PID == b.PID && a.NSPID == b.NSPID && a.Name == b.Name && slices.Equal(a.Cmdline, b.Cmdline) &&
		slices.Equal(a.Env, b.Env) && a.Cwd == b.Cwd && a.Exe == b.Exe && a.UID == b.UID && a.GID == b.GID && a.StartTime == b.StartTime
}

// alive reports whether pid exists and is not a zombie.
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	return len(f) > 0 && f[0] != "Z"
}
