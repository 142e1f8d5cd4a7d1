package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/openshift/insights-runtime-extractor/internal/sandbox"
	"github.com/openshift/insights-runtime-extractor/internal/sandbox/helper"
	"github.com/openshift/insights-runtime-extractor/test/localnode"
	"github.com/openshift/insights-runtime-extractor/test/sandbox/probe/report"
)

// The privilege model (SPEC §8) proven on real containers: the sandbox's
// probe is run exactly as a fingerprint is, and reports from inside.
var _ = Describe("A fingerprint run through the sandbox", Label("privileges"), Ordered, func() {
	var (
		sb    *sandbox.Sandbox
		probe string
		pods  = map[string]*localnode.Pod{}
	)

	BeforeAll(func(ctx SpecContext) {
		// The probe ships like a fingerprint: execute-only, so the kernel keeps it non-dumpable.
		built := state.env.Images.Sample("ptrace-target").GoBinary
		data, err := os.ReadFile(built)
		Expect(err).NotTo(HaveOccurred())
		probe = filepath.Join(GinkgoT().TempDir(), "probe")
		Expect(os.WriteFile(probe, data, 0o111)).To(Succeed())
		Expect(os.Chmod(probe, 0o111)).To(Succeed())

		uid := int64(1000)
		sleeper := state.env.Images.Sample("debian-sleep")
		nonRoot := sleeper.Container("sleep")
		nonRoot.RunAsUser, nonRoot.RunAsGroup = &uid, &uid
		// A root container granted CAP_SYS_PTRACE, as debugging and APM sidecars are: with
		// default capabilities the /proc links are refused anyway and prove nothing.
		hostile := state.env.Images.Sample("ptrace-target").Container("hostile")
		hostile.AddCapabilities = []string{"SYS_PTRACE"}
		for name, c := range map[string]localnode.ContainerSpec{
			"root-target": sleeper.Container("sleep"), "user-target": nonRoot, "ptrace-target": hostile,
		} {
			p, err := state.env.Node.RunPod(ctx, localnode.PodSpec{Name: name, Namespace: "privileges", Containers: []localnode.ContainerSpec{c}})
			Expect(err).NotTo(HaveOccurred())
			pods[name] = p
			DeferCleanup(func(ctx SpecContext) { Expect(state.env.Node.RemovePod(ctx, p)).To(Succeed()) })
		}
		sb, err = newSandbox()
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(func() { Expect(sb.Close()).To(Succeed()) })
	})

	DescribeTable("reports, from inside, the target's ids, no capabilities, no_new_privs and the target's namespaces",
		func(ctx SpecContext, pod string, id uint32) {
			pid := pods[pod].Containers[0].PID
			out, err := sb.Run(ctx, target(pid), probe, nil, nil, sandbox.Limits{Timeout: 20 * time.Second})
			Expect(err).NotTo(HaveOccurred())
			var r report.Report
			Expect(json.Unmarshal(out, &r)).To(Succeed(), string(out))
			ids := strings.Repeat(strconv.Itoa(int(id))+" ", 4)
			Expect(r.Status["Uid"]).To(Equal(strings.TrimSpace(ids)))
			Expect(r.Status["Gid"]).To(Equal(strings.TrimSpace(ids)))
			for _, set := range []string{"CapEff", "CapPrm", "CapBnd", "CapInh", "CapAmb"} {
				Expect(r.Status[set]).To(Equal("0000000000000000"), set)
			}
			Expect(r.Status["NoNewPrivs"]).To(Equal("1"))
			Expect(r.Dumpable).To(Equal(0), "not dumpable")
			Expect(r.NS["mnt"]).To(Equal(nsLink(pid, "mnt")))
			Expect(r.NS["pid"]).To(Equal(nsLink(pid, "pid")))
			var st syscall.Stat_t
			Expect(syscall.Stat(fmt.Sprintf("/proc/%d/root/", pid), &st)).To(Succeed())
			Expect(r.Root.Dev).To(Equal(uint64(st.Dev)), "its / is the container's")
			Expect(r.Root.Ino).To(Equal(st.Ino), "its / is the container's")
		},
		Entry("against a root container", "root-target", uint32(0)),
		Entry("against a uid 1000 container", "user-target", uint32(1000)),
	)

	// A root process of the container holding CAP_SYS_PTRACE (as debugging
	// and APM sidecars do; with default capabilities the links are refused
	// anyway) finds nothing of the host behind the fingerprint's cwd, root
	// and exe.
	It("cannot be used by a process of the container to reach the host through its /proc links", func(ctx SpecContext) {
		c := pods["ptrace-target"].Containers[0]
		runCtx, cancel := context.WithCancel(ctx)
		defer cancel()
		done := make(chan error, 1)
		go func() {
			_, err := sb.Run(runCtx, target(c.PID), probe, []string{"-sleep", "60s"}, nil, sandbox.Limits{Timeout: 90 * time.Second})
			done <- err
		}()
		var nsPID int
		Eventually(func() (err error) {
			select {
			case err := <-done:
				StopTrying("the probe ended before the attack").Wrap(fmt.Errorf("run: %v", err)).Now()
			default:
			}
			nsPID, err = fingerprintInContainer(c.PID)
			return err
		}).WithTimeout(10 * time.Second).WithPolling(20 * time.Millisecond).Should(Succeed())

		attack := func(caps string) report.Escape {
			res, err := state.env.Node.ExecSync(ctx, c.ID, 30*time.Second,
				"/usr/local/bin/probe", "escape", "-pid", strconv.Itoa(nsPID), "-caps", caps)
			Expect(err).NotTo(HaveOccurred())
			Expect(res.ExitCode).To(BeZero(), res.Stderr)
			var r report.Escape
			Expect(json.Unmarshal([]byte(res.Stdout), &r)).To(Succeed(), res.Stdout)
			Expect(r.Links).NotTo(BeEmpty())
			AddReportEntry("escape attempt with capabilities "+caps, res.Stdout)
			return r
		}
		// With the runtime's default capabilities: the links cannot even be opened.
		r := attack("default")
		for _, l := range r.Links {
			if l.Link == "cwd" || l.Link == "root" || l.Link == "exe" {
				Expect(l.Error).NotTo(BeEmpty(), "%s opened with default capabilities: %+v", l.Link, l)
			}
		}
		// With CAP_SYS_PTRACE the kernel lets root open them: they must lead nowhere outside.
		r = attack("sys_ptrace")
		for _, l := range r.Links {
			Expect(l.Escaped).To(BeFalse(), "%s leads outside the container: %+v", l.Link, l)
		}
		// The fingerprint runs a sealed memfd copy: its exe and maps name no host file.
		sealed := "/memfd:probe (deleted)"
		Expect(r.Links).To(ContainElement(And(HaveField("Link", "exe"), HaveField("Error", ""), HaveField("Path", sealed))),
			"exe is not the sealed copy")
		Expect(r.MapsError).To(BeEmpty())
		Expect(r.Maps).NotTo(BeEmpty())
		for _, m := range r.Maps {
			Expect(m == sealed || strings.HasPrefix(m, "[")).To(BeTrue(), "maps name %q", m)
		}
		cancel()
		Eventually(done).WithTimeout(10 * time.Second).Should(Receive())
	})

	It("kills a fingerprint that hangs at its time limit, with everything it started", func(ctx SpecContext) {
		c := pods["root-target"].Containers[0]
		start := time.Now()
		_, err := sb.Run(ctx, target(c.PID), probe, []string{"-sleep", "1h"}, nil, sandbox.Limits{Timeout: 2 * time.Second})
		elapsed := time.Since(start)
		Expect(errors.Is(err, sandbox.ErrTimeout)).To(BeTrue(), "error: %v", err)
		Expect(elapsed).To(BeNumerically(">=", 2*time.Second))
		Expect(elapsed).To(BeNumerically("<", 10*time.Second))
		Expect(inContainer(c.PID)).To(BeEmpty(), "no fingerprint process (nor the sandbox's reaper) is left in the container")
	})
})

// target describes a container's init process as the sandbox's target.
func target(pid int) sandbox.Target {
	var uid, gid int
	fmt.Sscanf(statusField(pid, "Uid"), "%d", &uid)
	fmt.Sscanf(statusField(pid, "Gid"), "%d", &gid)
	return sandbox.Target{HostPID: pid, UID: uint32(uid), GID: uint32(gid)}
}

func nsLink(pid int, ns string) string {
	l, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", pid, ns))
	return l
}

// sandboxReaper is what /proc/<pid>/exe says of the sandbox's reaper, the parent of a
// fingerprint in the container: a sealed copy of the sandbox helper.
const sandboxReaper = "/memfd:" + helper.Name + " (deleted)"

// fingerprintInContainer finds the one process, other than the container's init and the
// sandbox's reaper, in the container's pid namespace, and returns its pid there.
func fingerprintInContainer(initPID int) (int, error) {
	var found []int
	for _, pid := range inContainer(initPID) {
		if exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); exe != sandboxReaper {
			found = append(found, pid)
		}
	}
	if len(found) != 1 {
		return 0, fmt.Errorf("%d processes besides init and the sandbox's reaper in the container's pid namespace", len(found))
	}
	f := strings.Fields(statusField(found[0], "NSpid"))
	if len(f) == 0 {
		return 0, errors.New("no NSpid")
	}
	return strconv.Atoi(f[len(f)-1])
}

// inContainer lists the host pids of the processes of initPID's pid namespace but initPID.
func inContainer(initPID int) []int {
	want := nsLink(initPID, "pid")
	entries, _ := os.ReadDir("/proc")
	var found []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == initPID {
			continue
		}
		if nsLink(pid, "pid") == want {
			found = append(found, pid)
		}
	}
	return found
}

// newSandbox is the coordinator's sandbox, with the helper as the image ships it: beside the
// coordinator.
func newSandbox() (*sandbox.Sandbox, error) {
	return sandbox.New(sandbox.Options{Helper: sandbox.HelperBeside(filepath.Join(state.binDir, "coordinator")), Logger: state.log})
}
