package node

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// What a fingerprint runs from a container (a --version) must not run in
// the scanner's namespaces: a process named python3 whose --version dialled
// 127.0.0.1 reached the scanner's unauthenticated trigger and exporter. The
// net-probe sample's PID 1 makes net, uts (hostname net-probe-pod) and cgroup
// namespaces of its own, since the local node's pods share the host's; its
// --version writes down what it saw, read here from the container's root.
var _ = Describe("Hostile: a --version that looks where it runs", Label("hostile"), func() {
	It("sees the container's net, ipc, uts and cgroup namespaces and hostname, under seccomp", func(ctx SpecContext) {
		c, ok := state.pods["isolation/net-probe"].Container("probe")
		Expect(ok).To(BeTrue())
		// Each namespace differs from the scanner's, or its check would prove nothing.
		for _, ns := range []string{"net", "ipc", "uts", "cgroup", "mnt"} {
			Expect(nsLink(c.PID, ns)).NotTo(Equal(nsLink(os.Getpid(), ns)), "the container shares the scanner's %s namespace", ns)
		}
		host, err := os.Hostname()
		Expect(err).NotTo(HaveOccurred())
		Expect(host).NotTo(Equal("net-probe-pod"))
		// What the sandbox starts descends from the scanner, which runs without
		// seccomp: one filter seen there is the sandbox's.
		Expect(statusField(os.Getpid(), "Seccomp")).To(Equal("0"))

		report := fmt.Sprintf("/proc/%d/root/version-report", c.PID)
		Expect(os.WriteFile(report, nil, 0)).To(Succeed(), "what an earlier run wrote is not read")
		dir, log, err := runCoordinator(ctx, filepath.Join(state.env.RepoDir, "config.toml"), filepath.Join(state.env.WorkDir, "isolation-data"), nil, c.ID)
		Expect(err).NotTo(HaveOccurred(), log)
		DeferCleanup(os.RemoveAll, dir)
		kind, err := os.ReadFile(filepath.Join(dir, strconv.Itoa(c.PID), "runtime-kind.txt"))
		Expect(err).NotTo(HaveOccurred(), log)
		Expect(string(kind)).To(Equal("runtime-kind=Python\nruntime-kind-version=Python 3.99.0\n"), "Python 0.0.N: N names the failed checks (see the sample)")

		b, err := os.ReadFile(report)
		Expect(err).NotTo(HaveOccurred())
		AddReportEntry("what --version saw", string(b))
		seen := map[string]string{}
		for line := range strings.Lines(string(b)) {
			k, v, _ := strings.Cut(strings.TrimSpace(line), "=")
			seen[k] = v
		}
		Expect(seen).To(Equal(map[string]string{
			"net": nsLink(c.PID, "net"), "ipc": nsLink(c.PID, "ipc"), "uts": nsLink(c.PID, "uts"),
			"cgroup": nsLink(c.PID, "cgroup"), "mnt": nsLink(c.PID, "mnt"),
			"hostname": "net-probe-pod",
			"seccomp":  "2", "seccomp_filters": "1", "unshare": "EPERM", "ptrace": "EPERM",
		}))
	})
})
