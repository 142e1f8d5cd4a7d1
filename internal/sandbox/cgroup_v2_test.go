//go:build linux && privileged

package sandbox

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// requireUnified skips on a host whose controllers live in cgroup v1: the rules tested here
// ("no internal processes") exist only with v2 controllers. The node e2e runs these tests on
// its cgroup v2 VM and fails if they were skipped there.
func requireUnified(t *testing.T) {
	t.Helper()
	requireRoot(t)
	if !cgroupsUnified() {
		t.Skip("needs cgroup v2 with its controllers (the openshift node of the node e2e runs it)")
	}
}

// scratchCgroup creates /<prefix>-<random> at the root of the v2 hierarchy, with a sleeping
// process in it: a container's cgroup, as the pod's extractor container starts.
func scratchCgroup(t *testing.T) (group string, sleeper *exec.Cmd) {
	t.Helper()
	var b [4]byte
	_, _ = rand.Read(b[:])
	group = "/ire-delegation-test-" + hex.EncodeToString(b[:])
	dir := filepath.Join(cgroupMount, group)
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	sleeper = exec.Command("sleep", "600")
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(strconv.Itoa(sleeper.Process.Pid)), 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = sleeper.Process.Kill()
		_ = sleeper.Wait()
		var dirs []string
		_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		for i := len(dirs) - 1; i >= 0; i-- {
			if err := rmdirRetry(dirs[i]); err != nil {
				t.Error(err)
			}
		}
	})
	return group, sleeper
}

func cgroupOf(t *testing.T, pid int) string {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(strings.TrimPrefix(string(b), "0::"))
}

// A cgroup that holds processes cannot give controllers to its children: delegateV2 moves
// its processes into the leaf, enables memory, pids and cpu, and a process already in that
// leaf (a coordinator started by extractor_server) finds the same parent again.
func TestDelegateV2MovesProcessesIntoTheLeafAndEnablesControllers(t *testing.T) {
	requireUnified(t)
	group, sleeper := scratchCgroup(t)
	log := slog.New(slog.DiscardHandler)

	// Before: what the sandbox did without delegation fails as on the node (EBUSY).
	err := writeSubtreeControl(filepath.Join(cgroupMount, group), "+memory")
	if !strings.Contains(errString(err), "device or resource busy") {
		t.Fatalf("enabling memory in a cgroup with a process: %v, want EBUSY", err)
	}

	parent, err := delegateV2(cgroupMount, group, log)
	if err != nil {
		t.Fatal(err)
	}
	if parent != group {
		t.Errorf("parent %q, want %q", parent, group)
	}
	if got, want := cgroupOf(t, sleeper.Process.Pid), group+"/"+V2Leaf; got != want {
		t.Errorf("process moved to %q, want %q", got, want)
	}
	if got := readWords(filepath.Join(cgroupMount, group, "cgroup.subtree_control")); !hasAll(got, v2Controllers) {
		t.Errorf("subtree_control %q, want %q", got, v2Controllers)
	}
	if again, err := delegateV2(cgroupMount, group+"/"+V2Leaf, log); err != nil || again != group {
		t.Errorf("from the leaf: %q, %v; want %q", again, err, group)
	}

	// And a sandbox under it sets its limits.
	p, err := newV2Parent(cgroupMount, parent, sandboxPrefix+"1-test", true, log)
	if err != nil {
		t.Fatal(err)
	}
	run, err := p.newRun("run-1", Limits{}.withDefaults())
	if err != nil {
		t.Fatal(err)
	}
	for file, want := range map[string]string{"memory.oom.group": "1", "memory.swap.max": "0", "pids.max": strconv.Itoa(int(Limits{}.withDefaults().MaxPids))} {
		if b, err := os.ReadFile(filepath.Join(run.dir(""), file)); err != nil || strings.TrimSpace(string(b)) != want {
			t.Errorf("%s = %q (%v), want %q", file, b, err, want)
		}
	}
	if err := run.remove(); err != nil {
		t.Error(err)
	}
	if err := p.remove(); err != nil {
		t.Error(err)
	}
}

// Where the parent does not offer the controllers (a systemd unit without Delegate=yes whose
// slice has no cpu controller, or a read-only cgroup mount), New fails with one line naming
// the cgroup and the remedy, and moves nothing.
func TestDelegateV2WithoutControllersSaysWhy(t *testing.T) {
	requireUnified(t)
	group, sleeper := scratchCgroup(t)
	inner := group + "/no-controllers"
	if err := os.Mkdir(filepath.Join(cgroupMount, inner), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(cgroupMount, inner, "cgroup.procs"), []byte(strconv.Itoa(sleeper.Process.Pid)), 0); err != nil {
		t.Fatal(err)
	}
	_, err := delegateV2(cgroupMount, inner, slog.New(slog.DiscardHandler))
	want := "cgroup v2 " + inner + ` offers the controllers "", the sandbox needs memory, pids, cpu: run the extractor in a cgroup that has them (a systemd unit with Delegate=yes, or a privileged container)`
	if errString(err) != want {
		t.Errorf("error:\n%s\nwant:\n%s", errString(err), want)
	}
	if got := cgroupOf(t, sleeper.Process.Pid); got != inner {
		t.Errorf("process moved to %q, want it left in %q", got, inner)
	}
	if _, err := os.Stat(filepath.Join(cgroupMount, inner, V2Leaf)); err == nil {
		t.Error("a leaf was created")
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// delegateChildEnv makes TestDelegateV2Child run: it is the inside of
// TestDelegateV2InAPrivateCgroupNamespace, started by it in a new cgroup namespace.
const delegateChildEnv = "IRE_SANDBOX_DELEGATE_CHILD"

// In a container with a private cgroup namespace (the cgroup mounted at /sys/fs/cgroup is the
// container's own, and /proc/self/cgroup says "0::/"), New delegates the namespace's root:
// every process of the container moves into its leaf, and a sandbox gets its limits below.
func TestDelegateV2InAPrivateCgroupNamespace(t *testing.T) {
	requireUnified(t)
	group, sleeper := scratchCgroup(t)
	fd, err := unix.Open(filepath.Join(cgroupMount, group), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	cmd := exec.Command("unshare", "--cgroup", "--mount", "--propagation", "private", "sh", "-c",
		`umount -l /sys/fs/cgroup && mount -t cgroup2 none /sys/fs/cgroup && exec "$0" -test.run '^TestDelegateV2Child$' -test.v`, os.Args[0])
	cmd.Env = append(os.Environ(), delegateChildEnv+"=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: fd} // born in the container's cgroup
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	if want := "inside: own=/ parent=/ now=0::/" + V2Leaf + "\n"; !strings.Contains(string(out), want) {
		t.Errorf("inside the namespace:\n%s\nwant a line %q", out, want)
	}
	// Seen from outside: the other process of the container moved too, and the container's
	// cgroup gives the controllers to its children.
	if got, want := cgroupOf(t, sleeper.Process.Pid), group+"/"+V2Leaf; got != want {
		t.Errorf("the container's other process is in %q, want %q", got, want)
	}
	if got := readWords(filepath.Join(cgroupMount, group, "cgroup.subtree_control")); !hasAll(got, v2Controllers) {
		t.Errorf("subtree_control %q, want %q", got, v2Controllers)
	}
}

// TestDelegateV2Child is the inside of TestDelegateV2InAPrivateCgroupNamespace.
func TestDelegateV2Child(t *testing.T) {
	if os.Getenv(delegateChildEnv) != "1" {
		t.Skip("the inside of TestDelegateV2InAPrivateCgroupNamespace")
	}
	own, err := readOwnV2()
	if err != nil {
		t.Fatal(err)
	}
	parent, err := delegateV2(cgroupMount, own, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Options{Helper: bins.helper})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile("/proc/self/cgroup")
	fmt.Printf("inside: own=%s parent=%s now=%s", own, parent, b)
}
