package node

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/openshift/insights-runtime-extractor/test/localnode"
)

// A container whose --version leaves orphans (one that exits, one that sleeps
// in a session of its own) and whose PID 1 never reaps them: every scan runs
// that --version, without the scan cache, and the sandbox must reap and kill
// all of it, or the container fills with zombies and sleepers.
var _ = Describe("Orphans of --version runs", Label("extraction", "hostile"), Ordered, func() {
	const scans = 100
	var pod *localnode.Pod

	BeforeAll(func(ctx SpecContext) {
		var err error
		pod, err = state.env.Node.RunPod(ctx, localnode.PodSpec{Name: "orphans", Namespace: "hostile",
			Containers: []localnode.ContainerSpec{state.env.Images.Sample("orphan-version").Container("orphans")}})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(func(ctx SpecContext) { Expect(state.env.Node.RemovePod(ctx, pod)).To(Succeed()) })
	})

	It("leave no zombie and no process in the container after 100 scans", func(ctx SpecContext) {
		c := pod.Containers[0]
		dataDir := filepath.Join(state.env.WorkDir, "orphans-data")
		Expect(os.MkdirAll(dataDir, 0o755)).To(Succeed())
		for i := range scans {
			dir, log, err := runCoordinator(ctx, filepath.Join(state.env.RepoDir, "config.toml"), dataDir, nil, c.ID)
			Expect(err).NotTo(HaveOccurred(), "scan %d: %s", i, log)
			// Each scan did run the --version that leaves the orphans.
			kind, err := os.ReadFile(filepath.Join(dir, strconv.Itoa(c.PID), "runtime-kind.txt"))
			Expect(err).NotTo(HaveOccurred(), "scan %d", i)
			Expect(string(kind)).To(Equal("runtime-kind=Python\nruntime-kind-version=Python 3.99.2\n"), "scan %d", i)
			Expect(os.RemoveAll(dir)).To(Succeed())
		}
		// Leftovers would stay for good (the init never reaps); the wait only
		// lets the last run's cleanup finish.
		Eventually(func() []string { return containerProcesses(c.PID) }).WithTimeout(10*time.Second).
			Should(Equal([]string{strconv.Itoa(c.PID) + " S python3"}), "after %d scans the container holds more than its init", scans)
	})
})

// containerProcesses lists "<host pid> <state> <comm>" of every process in
// the pid namespace of the process initPID, and of every child of it: a
// zombie's namespace links cannot be read, but an orphan reparented to the
// init is its child.
func containerProcesses(initPID int) []string {
	ns := nsLink(initPID, "pid")
	Expect(ns).NotTo(BeEmpty())
	var out []string
	for _, p := range localnode.Procs() {
		if nsLink(p.PID, "pid") != ns && p.PPID != initPID {
			continue
		}
		out = append(out, fmt.Sprintf("%d %s %s", p.PID, p.State, p.Comm))
	}
	return out
}
