package node

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/openshift/insights-runtime-extractor/test/localnode"
)

// A coordinator killed (by extractor_server at its limit, or by the OOM
// killer) while a fingerprint runs. Its fingerprint, the sandbox's reaper and
// the --version die with it through their parent-death signals, each checked
// with getppid once set. A daemon the --version started in a session of its
// own escapes those signals: it is left in the dead coordinator's sandbox
// cgroup, which the next coordinator sweeps. The name of that cgroup carries
// the dead owner's pid and start time; here its pid is given to another
// process first, which kill(pid, 0) would take for the owner.
var _ = Describe("Hostile: a coordinator killed while a fingerprint runs", Label("hostile"), func() {
	It("leaves no fingerprint running, and the next coordinator sweeps its cgroup though its pid was reused", func(ctx SpecContext) {
		pod := runHostilePod(ctx, "killed-coordinator", "hang-version", "hang")
		c := pod.Containers[0]
		base, err := os.ReadFile(filepath.Join(state.env.RepoDir, "config.toml"))
		Expect(err).NotTo(HaveOccurred())
		config := filepath.Join(state.env.WorkDir, "config-killed.toml")
		rule := "\n[[fingerprints.version-executables]]\nprocess-names = [\"hangtool\"]\nruntime-kind-name = \"Hangtool\"\n"
		Expect(os.WriteFile(config, append(base, rule...), 0o644)).To(Succeed())
		dataDir := filepath.Join(state.env.WorkDir, "killed-data")
		Expect(os.MkdirAll(dataDir, 0o755)).To(Succeed())

		// A cgroup parent of its own: any other sandbox on the machine (the other
		// specs', other suites') would sweep a dead coordinator's cgroup in its
		// parent too, before this spec looks.
		parent := fmt.Sprintf("/ire-e2e-sweep-%d-%d", os.Getpid(), GinkgoRandomSeed())
		DeferCleanup(removeCgroupParent, parent)
		private := []string{"-cgroup-parent", parent}

		var log bytes.Buffer
		cmd := coordinatorCmd(ctx, config, dataDir, &log,
			append([]string{"-fingerprint-timeout", "10m", "-container-timeout", "10m", "-scan-timeout", "10m"}, private...), c.ID)
		Expect(cmd.Start()).To(Succeed())
		coordinator := cmd.Process.Pid
		DeferCleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		started, err := localnode.ReadProc(coordinator)
		Expect(err).NotTo(HaveOccurred())

		// The fingerprint runs, with its --version and the daemon.
		var running map[string][]int
		Eventually(func() []string {
			running = hangtoolProcesses(c.PID)
			return slices.Sorted(maps.Keys(running))
		}).WithTimeout(60*time.Second).Should(Equal([]string{"daemon", "fingerprint", "reaper", "version"}), "coordinator log: %s", &log)
		for role, pids := range running {
			Expect(pids).To(HaveLen(1), role)
		}
		daemon := running["daemon"][0]
		daemonProc, err := localnode.ReadProc(daemon)
		Expect(err).NotTo(HaveOccurred())
		stale := sandboxCgroups(parent, coordinator)
		Expect(stale).NotTo(BeEmpty(), "the coordinator's sandbox cgroup")
		helpers := childrenOf(coordinator)

		Expect(cmd.Process.Signal(syscall.SIGKILL)).To(Succeed())
		Expect(cmd.Wait()).To(MatchError(ContainSubstring("killed")))
		reapHelpers(helpers)
		// At once: within its own 5s limit on --version, a surviving fingerprint
		// would end the --version and its reaper the daemon, hiding the escape.
		Eventually(func() []string { return slices.Sorted(maps.Keys(hangtoolProcesses(c.PID))) }).WithTimeout(3*time.Second).
			Should(Equal([]string{"daemon"}), "the fingerprint, the reaper or the --version outlived the coordinator")
		Expect(sameLive(daemonProc)).To(BeTrue(), "the daemon escaped the parent-death signals")
		for _, d := range stale {
			Expect(d).To(BeADirectory(), "nobody removed the dead coordinator's cgroup yet")
		}
		Expect(cgroupHolds(stale, daemon)).To(BeTrue(), "the daemon is in the dead coordinator's cgroup %v", stale)

		// Its pid now names another process, started later.
		taker, err := takePID(coordinator)
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(func() { _ = taker.Kill(); _, _ = taker.Wait() })
		took, err := localnode.ReadProc(coordinator)
		Expect(err).NotTo(HaveOccurred())
		Expect(syscall.Kill(coordinator, 0)).To(Succeed(), "kill(pid, 0) would call the owner alive")
		name := filepath.Base(stale[0])
		Expect(name).To(HavePrefix(fmt.Sprintf("insights-runtime-extractor-sandbox-%d-%d-", coordinator, started.StartTime)))
		Expect(took.StartTime).NotTo(Equal(started.StartTime))

		// The next coordinator, scanning anything, sweeps it.
		sleeper, _ := state.pods["os-only/debian-sleep"].Container("sleep")
		dir, next, err := runCoordinator(ctx, filepath.Join(state.env.RepoDir, "config.toml"), dataDir, private, sleeper.ID)
		Expect(err).NotTo(HaveOccurred(), next)
		DeferCleanup(os.RemoveAll, dir)
		Expect(next).To(ContainSubstring("removed a dead sandbox's cgroup"))
		for _, d := range stale {
			Expect(d).NotTo(BeAnExistingFile(), "the dead coordinator's cgroup is still there")
		}
		Eventually(func() []string { return slices.Sorted(maps.Keys(hangtoolProcesses(c.PID))) }).WithTimeout(10*time.Second).
			Should(BeEmpty(), "the daemon outlived the sweep")
		Expect(sameLive(took)).To(BeTrue(), "the process that took the pid was touched")
		AddReportEntry("swept", strings.Join(stale, "\n"))
	})
})

// The parent-death check has two sides: in a container's own pid namespace
// the reaper's parent, the helper, is invisible (getppid is 0); in a pod
// sharing the host's (hostPID, as the extractor's own pod) it is the
// helper's pid. A check that expected 0 there would refuse every run.
var _ = Describe("Hostile: the parent-death check in a pod sharing the host's pid namespace", Label("hostile"), func() {
	It("still lets the fingerprints run there", func(ctx SpecContext) {
		pod, err := state.env.Node.RunPod(ctx, localnode.PodSpec{Name: "host-pid", Namespace: "hostile", HostPID: true,
			Containers: []localnode.ContainerSpec{state.env.Images.Sample("debian-sleep").Container("sleep")}})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(func(ctx SpecContext) { Expect(state.env.Node.RemovePod(ctx, pod)).To(Succeed()) })
		c := pod.Containers[0]
		Expect(nsLink(c.PID, "pid")).To(Equal(nsLink(os.Getpid(), "pid")))
		dir, log, err := runCoordinator(ctx, filepath.Join(state.env.RepoDir, "config.toml"), filepath.Join(state.env.WorkDir, "host-pid-data"), nil, c.ID)
		Expect(err).NotTo(HaveOccurred(), log)
		DeferCleanup(os.RemoveAll, dir)
		found, err := os.ReadFile(filepath.Join(dir, strconv.Itoa(c.PID), "os.txt"))
		Expect(err).NotTo(HaveOccurred(), log)
		Expect(string(found)).To(Equal("os-release-id=debian\nos-release-version-id=12\n"))
	})
})

// hangtoolProcesses sorts the live processes of the container whose init is
// initPID by their part in a run: the sandbox's reaper, the fingerprint, the
// hangtool --version it runs and the daemon that one starts.
func hangtoolProcesses(initPID int) map[string][]int {
	out := map[string][]int{}
	for _, pid := range inContainer(initPID) {
		p, err := localnode.ReadProc(pid)
		if err != nil || p.State == "Z" {
			continue
		}
		exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		args := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
		role := "other: " + exe
		switch {
		case exe == sandboxReaper:
			role = "reaper"
		case strings.HasPrefix(exe, "/memfd:fpr_"):
			role = "fingerprint"
		case len(args) == 2 && args[1] == "--version":
			role = "version"
		case len(args) == 3 && args[1] == "--version" && args[2] == "daemon":
			role = "daemon"
		}
		out[role] = append(out[role], pid)
	}
	return out
}

// sameLive says whether p's pid still names p (same start time), not a zombie.
func sameLive(p localnode.Proc) bool {
	now, err := localnode.ReadProc(p.PID)
	return err == nil && now.StartTime == p.StartTime && now.State != "Z"
}

// sandboxCgroups lists the sandbox cgroups of the process pid under the
// cgroup parent, in every hierarchy (v1: memory, pids, cpu; v2: one).
func sandboxCgroups(parent string, pid int) []string {
	var out []string
	for _, root := range cgroupRoots() {
		m, _ := filepath.Glob(filepath.Join(root, parent, fmt.Sprintf("insights-runtime-extractor-sandbox-%d-*", pid)))
		out = append(out, m...)
	}
	return out
}

// removeCgroupParent removes the cgroup parent of a spec's coordinators,
// empty once they are done, from every hierarchy.
func removeCgroupParent(parent string) {
	for _, root := range cgroupRoots() {
		if err := syscall.Rmdir(filepath.Join(root, parent)); !errors.Is(err, syscall.ENOENT) {
			Expect(err).NotTo(HaveOccurred())
		}
	}
}

// cgroupRoots lists the mounted cgroup hierarchies, each once (v1's "cpu"
// and "cpuacct" are links to "cpu,cpuacct"), and the v2 root.
func cgroupRoots() []string {
	roots := []string{"/sys/fs/cgroup"}
	entries, _ := os.ReadDir("/sys/fs/cgroup")
	for _, e := range entries {
		if e.IsDir() { // not a link
			roots = append(roots, filepath.Join("/sys/fs/cgroup", e.Name()))
		}
	}
	return roots
}

// cgroupHolds says whether pid is in a cgroup at or below one of dirs.
func cgroupHolds(dirs []string, pid int) bool {
	for _, d := range dirs {
		found := false
		_ = filepath.WalkDir(d, func(p string, e os.DirEntry, err error) error {
			if err == nil && e.Name() == "cgroup.procs" {
				b, _ := os.ReadFile(p)
				found = found || slices.Contains(strings.Fields(string(b)), strconv.Itoa(pid))
			}
			return nil
		})
		if found {
			return true
		}
	}
	return false
}

// childrenOf lists the children of every thread of pid.
func childrenOf(pid int) []int {
	var out []int
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	for _, t := range tasks {
		b, _ := os.ReadFile(t)
		for _, f := range strings.Fields(string(b)) {
			if c, err := strconv.Atoi(f); err == nil {
				out = append(out, c)
			}
		}
	}
	return out
}

// reapHelpers reaps the sandbox helpers of a killed coordinator that this
// process, the node's subreaper, adopted; those it did not adopt are not its to wait for.
func reapHelpers(pids []int) {
	for _, pid := range pids {
		Eventually(func() bool {
			var ws syscall.WaitStatus
			got, err := syscall.Wait4(pid, &ws, syscall.WNOHANG, nil)
			return got == pid || errors.Is(err, syscall.ECHILD)
		}).WithTimeout(10*time.Second).Should(BeTrue(), "helper %d", pid)
	}
}
