//go:build linux && privileged

// The sandbox's root tests, built only with -tags privileged (make test, as root; the
// OpenShift VM of the node e2e runs the same binary): they enter namespaces, change
// credentials and create cgroups, and look at the sandbox's own cgroups from inside the
// package. The programs they run, probe and misbehave, are of the test module (test/sandbox).

package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/openshift/insights-runtime-extractor/internal/sandbox/helper"
)

// testBins holds the static programs the root tests build once (TestMain).
type testBins struct {
	probe     string // execute-only (0111), as fingerprints are shipped
	misbehave string // execute-only
	helper    string // the sandbox helper, as shipped beside the coordinator
	dir       string
}

var bins testBins

func TestMain(m *testing.M) { os.Exit(runTests(m)) }

// prebuiltBinsEnv names a directory holding probe and misbehave already built (execute-only)
// and the sandbox helper,
// for a compiled test binary run where there is no Go toolchain: the node e2e's VM.
const prebuiltBinsEnv = "SANDBOX_TEST_BINS"

func runTests(m *testing.M) int {
	if dir := os.Getenv(prebuiltBinsEnv); dir != "" {
		bins = testBins{dir: dir, probe: filepath.Join(dir, "probe"), misbehave: filepath.Join(dir, "misbehave"),
			helper: filepath.Join(dir, helper.Name)}
		return m.Run()
	}
	if os.Geteuid() == 0 {
		dir, err := os.MkdirTemp("", "sandbox-test-bins-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		// The directory must be searchable by the uid-1000 attacker that execs nothing from
		// here, but the leaky control process and the target copies are made from these files.
		if err := os.Chmod(dir, 0o755); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		bins.dir = dir
		// probe and misbehave live in the test module (test/): built there, by its go.mod;
		// the helper is the product's, as shipped.
		for _, b := range []struct{ name, module, pkg string }{
			{"probe", "test", "./sandbox/probe"},
			{"misbehave", "test", "./sandbox/misbehave"},
			{helper.Name, ".", "./cmd/sandbox_helper"},
		} {
			out := filepath.Join(dir, b.name)
			cmd := exec.Command("go", "build", "-trimpath", "-o", out, b.pkg)
			cmd.Dir = filepath.Join("..", "..", b.module)
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
			if o, err := cmd.CombinedOutput(); err != nil {
				fmt.Fprintf(os.Stderr, "build %s: %v\n%s", b.pkg, err, o)
				return 1
			}
			if b.name == helper.Name {
				continue
			}
			if err := os.Chmod(out, 0o111); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
		}
		bins.helper = filepath.Join(dir, helper.Name)
		bins.probe = filepath.Join(dir, "probe")
		bins.misbehave = filepath.Join(dir, "misbehave")
	}
	return m.Run()
}

func requireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: enters namespaces, changes credentials and creates cgroups")
	}
}

// container is a real process in its own pid and mount namespaces, chroot'ed (not
// pivot_root'ed) into a small root directory, as uid/gid, with the capabilities a container
// runtime gives by default: enough of a container for the sandbox, and a stricter one, since
// its root is not its mount namespace's root.
type container struct {
	root   string // host path of its root directory
	pid    int    // host pid of its init (/sleeper)
	marker string // content of /marker inside
}

func startContainer(t testing.TB, uid, gid int) *container {
	t.Helper()
	return startContainerWithCaps(t, uid, gid, "")
}

// startContainerWithCaps starts a container whose init has the default container
// capabilities plus extra (comma-separated capability numbers, "" for none).
func startContainerWithCaps(t testing.TB, uid, gid int, extra string) *container {
	t.Helper()
	return startContainerEnv(t, uid, gid, extra)
}

// startContainerEnv is startContainerWithCaps with more environment for its init (see
// misbehave sleeper).
func startContainerEnv(t testing.TB, uid, gid int, extra string, env ...string) *container {
	t.Helper()
	root := t.TempDir()
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"proc", "tmp"} {
		if err := os.Mkdir(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(filepath.Join(root, "tmp"), 0o1777); err != nil {
		t.Fatal(err)
	}
	copyFile(t, bins.misbehave, filepath.Join(root, "sleeper"), 0o755)
	copyFile(t, bins.probe, filepath.Join(root, "probe"), 0o755)
	marker := fmt.Sprintf("container root %s uid %d\n", root, uid)
	if err := os.WriteFile(filepath.Join(root, "marker"), []byte(marker), 0o644); err != nil {
		t.Fatal(err)
	}
	// Namespaces of its own, as a pod's container has: the sandbox must join each.
	args := []string{"--pid", "--mount", "--net", "--ipc", "--uts", "--cgroup", "--fork", "--mount-proc", "--root=" + root, "/sleeper", "sleeper"}
	if extra != "" {
		args = append(args, extra)
	}
	cmd := exec.Command("unshare", args...)
	cmd.Env = append(os.Environ(), env...)
	if uid != 0 || gid != 0 {
		if uid != gid {
			t.Fatal("startContainer: uid and gid must be equal")
		}
		// The sleeper drops to the uid itself, after it dropped its capabilities.
		cmd.Env = append(cmd.Env, "SLEEPER_UID="+strconv.Itoa(uid))
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("unshare: %v", err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
	})
	pid := waitChild(t, cmd.Process.Pid, filepath.Join(root, "sleeper"))
	for deadline := time.Now().Add(5 * time.Second); pid != 0; time.Sleep(2 * time.Millisecond) {
		if _, err := os.Stat(filepath.Join(root, "tmp", "ready")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			pid = 0
		}
	}
	if pid == 0 {
		t.Fatalf("container did not start: %s", stderr.String())
	}
	return &container{root: root, pid: pid, marker: marker}
}

// waitChild returns the host pid of parent's child once it runs exe.
func waitChild(t testing.TB, parent int, exe string) int {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", parent, parent))
		for _, f := range strings.Fields(string(b)) {
			pid, _ := strconv.Atoi(f)
			if l, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); err == nil && l == exe {
				return pid
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	return 0
}

func copyFile(t testing.TB, from, to string, mode os.FileMode) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(to, mode); err != nil {
		t.Fatal(err)
	}
}

func newSandbox(t testing.TB) *Sandbox {
	t.Helper()
	s, err := New(Options{Helper: bins.helper})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func decodeStrict[T any](t *testing.T, b []byte) T {
	t.Helper()
	var v T
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode %q: %v", b, err)
	}
	return v
}

func statOf(t *testing.T, path string) probeFileID {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	return probeFileID{Dev: st.Dev, Ino: st.Ino}
}

func readTrim(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// running is a fingerprint seen from the host while Run is in progress.
type running struct {
	hostPID int
	nsPID   int
	cgroup  runCgroupDirs
}

// runCgroupDirs are the host directories of the run's cgroup, per controller.
type runCgroupDirs map[string]string

// assertRunCgroupsIdle checks that every run cgroup of s, kept for the next runs, is empty, in
// every controller.
func assertRunCgroupsIdle(t *testing.T, s *Sandbox) {
	t.Helper()
	runs, _ := filepath.Glob(filepath.Join(s.cg.dir("pids"), "run-*"))
	for _, run := range runs {
		for _, c := range []string{"memory", "pids", "cpu"} {
			procs := filepath.Join(s.cg.dir(c), filepath.Base(run), "cgroup.procs")
			if pids, err := readPids(procs); err != nil || len(pids) != 0 {
				t.Errorf("%s: %v (%v) after the run", procs, pids, err)
			}
		}
	}
}

// waitRunning finds the fingerprint, the process running the sealed copy of exe in one of s's
// run cgroups (the sandbox helper is there too, running the copy of this test binary). That
// the fingerprint runs the copy, not exe itself, is checked here for every test that calls it.
func waitRunning(t *testing.T, s *Sandbox, exe string) running {
	t.Helper()
	host := statOf(t, exe)
	name := memfdLink(filepath.Base(exe))
	controllers := []string{"memory", "pids", "cpu"}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		runs, _ := filepath.Glob(filepath.Join(s.cg.dir("pids"), "run-*"))
		for _, run := range runs {
			pids, _ := readPids(filepath.Join(run, "cgroup.procs"))
			for _, pid := range pids {
				if l, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); l != name {
					continue
				}
				if statOf(t, fmt.Sprintf("/proc/%d/exe", pid)) == host {
					t.Fatalf("pid %d runs the host file %s itself", pid, exe)
				}
				dirs := runCgroupDirs{}
				for _, c := range controllers {
					dirs[c] = filepath.Join(s.cg.dir(c), filepath.Base(run))
				}
				return running{hostPID: pid, nsPID: nsPIDOf(t, pid), cgroup: dirs}
			}
		}
		time.Sleep(2 * time.Millisecond)
	}
	t.Fatal("no fingerprint process found in the sandbox's cgroups")
	return running{}
}

type runResult struct {
	out     []byte
	err     error
	elapsed time.Duration
}

// runAsync starts Run and returns a channel with its result.
func runAsync(s *Sandbox, tg Target, exe string, args []string, stdin []byte, l Limits) <-chan runResult {
	ch := make(chan runResult, 1)
	go func() {
		start := time.Now()
		out, err := s.Run(context.Background(), tg, exe, args, stdin, l)
		ch <- runResult{out, err, time.Since(start)}
	}()
	return ch
}

// memfdLink is what /proc/<pid>/exe says of a process executed from the sealed memfd name.
func memfdLink(name string) string { return "/memfd:" + name + " (deleted)" }
