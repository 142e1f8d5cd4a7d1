package node

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/openshift/insights-runtime-extractor/internal/contract"
	"github.com/openshift/insights-runtime-extractor/internal/coordinator"
	"github.com/openshift/insights-runtime-extractor/internal/cri"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint/rules"
	"github.com/openshift/insights-runtime-extractor/internal/process"
	"github.com/openshift/insights-runtime-extractor/internal/result"
	"github.com/openshift/insights-runtime-extractor/internal/sandbox"
	"github.com/openshift/insights-runtime-extractor/test/localnode"
)

// The findings of the security review (issue 13, point 6) that a container
// can aim at the scanner, each shown failing on the real node. Run them
// alone with -ginkgo.focus Hostile.

// A pid names a process only with its start time. Between the moment the
// coordinator describes a container's process and the moment the sandbox
// opens its namespaces, the process may exit and its pid go to another: the
// sandbox must refuse that other process rather than report it as the
// container. The window is made certain here: the runner kills the
// container and gives its pid to a host process right before the sandbox
// runs the first fingerprint.
var _ = Describe("Hostile: a container whose pid is reused before its fingerprints run", Label("hostile"), func() {
	It("is refused by the sandbox: no finding from the other process, the container left out as gone", func(ctx SpecContext) {
		// A scratch image: no os-release. The host process that takes its pid
		// has one (Debian's), which would be a false answer for it.
		pod := runHostilePod(ctx, "pid-reuse", "go-server", "server")
		c := pod.Containers[0]
		described, err := localnode.ReadProc(c.PID)
		Expect(err).NotTo(HaveOccurred())

		cfg, err := rules.Load(filepath.Join(state.env.RepoDir, "config.toml"))
		Expect(err).NotTo(HaveOccurred())
		client, err := cri.Dial(ctx, state.env.Node.Endpoint())
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(client.Close)
		sb, err := newSandbox()
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(func() { Expect(sb.Close()).To(Succeed()) })

		runner := &reuseBeforeRun{sb: sb, victim: c.PID}
		var store entries
		var logs syncBuffer
		scan := coordinator.Scan{
			Config:          cfg,
			Containers:      client,
			Processes:       func() (coordinator.Workloads, error) { return process.Snapshot("/proc") },
			Sandbox:         runner,
			Store:           &store,
			FingerprintsDir: state.binDir,
			Log:             slog.New(slog.NewTextHandler(io.MultiWriter(&logs, GinkgoWriter), nil)),
		}
		sum, err := scan.Run(ctx, []string{c.ID})
		DeferCleanup(func() {
			if runner.taker != nil {
				_ = runner.taker.Kill()
				_, _ = runner.taker.Wait()
			}
		})
		Expect(err).NotTo(HaveOccurred())
		Expect(runner.calls).To(HaveLen(1), "the container is entered once")
		call := runner.calls[0]
		Expect(call.results).NotTo(BeEmpty())
		for _, r := range call.results {
			Expect(errors.Is(r.Err, sandbox.ErrTargetGone)).To(BeTrue(), "sandbox: %v", r.Err)
		}
		runErr := call.results[0].Err
		Expect(call.err).NotTo(HaveOccurred(), "the pid could not be handed to another process")
		Expect(call.target.HostPID).To(Equal(c.PID))
		Expect(call.target.StartTime).To(Equal(described.StartTime), "the coordinator described the container's process")
		taker, err := localnode.ReadProc(c.PID)
		Expect(err).NotTo(HaveOccurred())
		Expect(taker.Comm).To(Equal("sleep"), "the pid now names the host process")
		Expect(runErr.Error()).To(ContainSubstring(fmt.Sprintf("pid %d now names a process started at %d, not %d",
			c.PID, taker.StartTime, described.StartTime)))
		Expect(store.list).To(BeEmpty(), "an entry was written for the container")
		Expect(sum.Scanned).To(BeZero())
		Expect(sum.FailedBy).To(Equal(map[string]int{coordinator.ReasonContainerGone: 1}))
		Expect(logs.String()).To(And(ContainSubstring("container not scanned"), ContainSubstring("now names a process started at")))
		AddReportEntry("pid reuse refused", runErr.Error())

		// What the check prevents: the same run without the start time enters
		// the host process and reports its OS for a scratch container.
		i := slices.IndexFunc(call.jobs, func(j sandbox.Job) bool { return filepath.Base(j.Exe) == "fpr_os" })
		Expect(i).NotTo(Equal(-1), "the OS fingerprint was planned")
		out, err := sb.Run(ctx, sandbox.Target{HostPID: c.PID}, call.jobs[i].Exe, call.jobs[i].Args, call.jobs[i].Stdin, sandbox.Limits{})
		Expect(err).NotTo(HaveOccurred())
		f, err := contract.DecodeFinding(bytes.NewReader(out))
		Expect(err).NotTo(HaveOccurred())
		Expect(f.OS).To(Equal("debian"), "unchecked, the run would have reported the host process: %s", out)
		// The runtime must have seen its container exit before the pod can be removed.
		Eventually(func() (bool, error) { return state.env.Node.ContainerRunning(ctx, c.ID) }).WithTimeout(30 * time.Second).Should(BeFalse())
	})
})

// reuseBeforeRun is the coordinator's sandbox, but before the first run it
// kills the target (the container's init) and starts a host process with its
// pid: the coordinator has described the container, the sandbox has not yet
// entered it.
type reuseBeforeRun struct {
	sb     *sandbox.Sandbox
	victim int
	taker  *os.Process
	calls  []runCall
}

type runCall struct {
	target  sandbox.Target
	jobs    []sandbox.Job
	err     error // handing the pid over
	results []sandbox.Result
}

func (r *reuseBeforeRun) RunJobs(ctx context.Context, t sandbox.Target, jobs []sandbox.Job, l sandbox.Limits) []sandbox.Result {
	call := runCall{target: t, jobs: jobs}
	if len(r.calls) == 0 && t.HostPID == r.victim {
		r.taker, call.err = reusePID(ctx, r.victim)
	}
	call.results = r.sb.RunJobs(ctx, t, jobs, l)
	r.calls = append(r.calls, call)
	return call.results
}

// reusePID kills the process pid, waits until its parent reaped it, and
// starts a host process with that very pid.
func reusePID(ctx context.Context, pid int) (*os.Process, error) {
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		return nil, err
	}
	for {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); errors.Is(err, os.ErrNotExist) {
			break
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
	return takePID(pid)
}

// takePID starts "sleep 600", in a session of its own, with the free pid
// pid. The kernel gives the next process created anywhere on the host the pid
// after /proc/sys/kernel/ns_last_pid: another fork (or a new thread) may come
// first, so it tries again, each time with a fresh process, once that other
// process has let the pid go.
func takePID(pid int) (*os.Process, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	last, err := os.OpenFile("/proc/sys/kernel/ns_last_pid", os.O_WRONLY, 0)
	if err != nil {
		return nil, err
	}
	defer last.Close()
	argv := []string{"sleep", "600"}
	attr := &syscall.ProcAttr{Sys: &syscall.SysProcAttr{Setsid: true}}
	proc := fmt.Sprintf("/proc/%d", pid)
	deadline := time.Now().Add(time.Minute)
	for attempt := 1; time.Now().Before(deadline); attempt++ {
		if _, err := os.Stat(proc); err == nil {
			time.Sleep(10 * time.Millisecond) // taken by another process meanwhile
			continue
		}
		if _, err := last.WriteAt([]byte(strconv.Itoa(pid-1)), 0); err != nil {
			return nil, fmt.Errorf("ns_last_pid: %w", err)
		}
		got, err := syscall.ForkExec("/bin/sleep", argv, attr)
		if err != nil {
			return nil, err
		}
		p, err := os.FindProcess(got)
		if err != nil {
			return nil, err
		}
		if got == pid {
			GinkgoWriter.Printf("pid %d taken at attempt %d\n", pid, attempt)
			return p, nil
		}
		_ = p.Kill()
		_, _ = p.Wait()
	}
	return nil, fmt.Errorf("pid %d: other processes took it for a minute", pid)
}

// runHostilePod runs one container of a sample in a pod of the hostile
// namespace, removed after the spec.
func runHostilePod(ctx context.Context, name, sample, container string) *localnode.Pod {
	pod, err := state.env.Node.RunPod(ctx, localnode.PodSpec{Name: name, Namespace: "hostile",
		Containers: []localnode.ContainerSpec{state.env.Images.Sample(sample).Container(container)}})
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(func(ctx SpecContext) { Expect(state.env.Node.RemovePod(ctx, pod)).To(Succeed()) })
	return pod
}

// entries is a coordinator.Store that keeps what it is given.
type entries struct {
	mu   sync.Mutex
	list []result.Container
}

func (e *entries) Add(c result.Container) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.list = append(e.list, c)
	return nil
}

// syncBuffer is a bytes.Buffer safe for the scan's concurrent log writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// coordinatorCmd is one scan by the coordinator binary, as extractor_server
// starts it, without the scan cache, of the containers ids; args come before
// the ids. Its log goes to stderr.
func coordinatorCmd(ctx context.Context, config, dataDir string, stderr io.Writer, args []string, ids ...string) *exec.Cmd {
	all := append([]string{"-runtime-endpoint", state.env.Node.Endpoint(), "-config", config,
		"-fingerprints-dir", state.binDir, "-data-dir", dataDir, "-cache=false"}, args...)
	cmd := exec.CommandContext(ctx, filepath.Join(state.binDir, "coordinator"), append(all, strings.Join(ids, ","))...)
	cmd.Stderr = stderr
	return cmd
}

// runCoordinator runs coordinatorCmd and returns the result directory it
// printed and its log.
func runCoordinator(ctx context.Context, config, dataDir string, args []string, ids ...string) (dir, log string, err error) {
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return "", "", err
	}
	var stderr bytes.Buffer
	out, err := coordinatorCmd(ctx, config, dataDir, &stderr, args, ids...).Output()
	return strings.TrimSpace(string(out)), stderr.String(), err
}
