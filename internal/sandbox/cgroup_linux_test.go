//go:build linux && privileged

package sandbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/cgroups/v3"
	"golang.org/x/sys/unix"
)

func cgroupsUnified() bool { return cgroups.Mode() == cgroups.Unified }

// A sandbox whose process died without Close leaves its cgroups and, since a child in another
// pid namespace cannot be tied to its parent's death, maybe fingerprints: New removes both.
func TestNewRemovesDeadSandboxes(t *testing.T) {
	requireRoot(t)
	live := newSandbox(t)
	dead := exec.Command(bins.misbehave, "fail")
	_ = dead.Run() // its pid names nobody now
	leftover := exec.Command(bins.misbehave, "hang")
	if err := leftover.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = leftover.Process.Kill() })
	own, err := startTimeOf(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	// Its owner dead; and its owner's pid taken by a live process (this one, started at
	// another time), which kill(pid, 0) would take for the owner.
	stale := fmt.Sprintf("%s%d-%d-deadbeef", sandboxPrefix, dead.Process.Pid, own)
	reused := fmt.Sprintf("%s%d-%d-deadbeef", sandboxPrefix, os.Getpid(), own-1)
	ownerAlive := fmt.Sprintf("%s%d-%d-deadbeef", sandboxPrefix, os.Getpid(), own)
	var staleDirs []string
	for _, ctrl := range []string{"memory", "pids", "cpu"} {
		base := filepath.Dir(live.cg.dir(ctrl))
		run := filepath.Join(base, stale, "run-1")
		if err := os.MkdirAll(run, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(run, "cgroup.procs"), []byte(strconv.Itoa(leftover.Process.Pid)), 0); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(base, reused, "run-1"), 0o755); err != nil {
			t.Fatal(err)
		}
		staleDirs = append(staleDirs, filepath.Join(base, stale), filepath.Join(base, reused))
		keep := filepath.Join(base, ownerAlive)
		if err := os.Mkdir(keep, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = unix.Rmdir(keep) })
		if cgroupsUnified() {
			break // one hierarchy
		}
	}

	newSandbox(t)
	err = leftover.Wait()
	if ws, ok := leftover.ProcessState.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
		t.Errorf("leftover fingerprint: %v, want killed", err)
	}
	for _, d := range staleDirs {
		if _, err := os.Stat(d); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s still there: %v", d, err)
		}
		if _, err := os.Stat(filepath.Join(filepath.Dir(d), ownerAlive)); err != nil {
			t.Errorf("the cgroup of a live sandbox was removed: %v", err)
		}
	}
}

// The cgroup v2 code path on a hybrid host, in its controller-less unified hierarchy: no
// limits can be set there, but the fingerprint is born in its cgroup (clone3
// CLONE_INTO_CGROUP: no thread of this process ever enters it), cgroup.kill ends what it left
// and a timeout still kills it.
func TestRunCgroupV2PlacementAndKill(t *testing.T) {
	requireRoot(t)
	const unified = "/sys/fs/cgroup/unified"
	var st unix.Statfs_t
	if cgroupsUnified() || unix.Statfs(unified, &st) != nil || st.Type != unix.CGROUP2_SUPER_MAGIC {
		t.Skip("needs a hybrid cgroup host (v2 at " + unified + "); on a v2 host every other test covers v2")
	}
	s, err := newWith(Options{Helper: bins.helper}, func(name string, log *slog.Logger) (cgroupParent, error) {
		return newV2Parent(unified, "", name, false, log)
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	c := startContainer(t, 1000, 1000)
	tg := Target{HostPID: c.pid, UID: 1000, GID: 1000}

	res := runAsync(s, tg, bins.probe, []string{"-sleep", "300ms"}, nil, Limits{})
	r := waitRunning(t, s, bins.probe)
	run := r.cgroup["pids"]
	// Born there: no thread of this process ever enters a v2 run cgroup.
	if pids, err := readPids(filepath.Join(run, "cgroup.procs")); err != nil || slices.Contains(pids, os.Getpid()) || len(pids) != 3 {
		t.Errorf("run cgroup procs %v (%v), want the fingerprint, its reaper and their helper", pids, err)
	}
	out := <-res
	if out.err != nil {
		t.Fatal(out.err)
	}
	rep := decodeStrict[probeReport](t, out.out)
	if want := "0::" + run[len(unified):]; !slices.Contains(rep.Cgroup, want) {
		t.Errorf("probe cgroups %q, want %q", rep.Cgroup, want)
	}

	out2, err := s.Run(context.Background(), tg, bins.misbehave, []string{"orphans"}, nil, Limits{})
	if err != nil || string(out2) != "left 3\n" {
		t.Fatalf("orphans: %q, %v", out2, err)
	}
	assertNoLeftovers(t, c)

	hang := <-runAsync(s, tg, bins.misbehave, []string{"hang"}, nil, Limits{Timeout: 300 * time.Millisecond})
	if !errors.Is(hang.err, ErrTimeout) || hang.elapsed > 800*time.Millisecond {
		t.Errorf("hang: %v after %s, want ErrTimeout after 300ms", hang.err, hang.elapsed)
	}
	assertRunCgroupsIdle(t, s)
}
