// Command guest is the openshift node e2e's driver inside the VM: it runs
// the plan written to the payload disk on the node's own CRI-O (started by
// systemd, systemd cgroup driver, cgroup v2 only) and records what it saw as
// payload.Facts in the results directory. It asserts nothing: the host side
// does, so that a failure shows the host test's diff.
//
// Steps: the sandbox package's cgroup v2 tests in a Delegate=yes service;
// images copied into CRI-O's storage; the sample pods; the commands the
// expected JSON needs; the DaemonSet's pod (privileged extractor with hostPID
// and the CRI socket, unprivileged exporter, /data shared); three scans
// through the exporter while the containment pods' fingerprint cgroups are
// watched; then what is left on the node.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
	rt "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/openshift/insights-runtime-extractor/test/e2e/openshift/payload"
	"github.com/openshift/insights-runtime-extractor/test/localnode"
)

const (
	crioSocket  = "/run/crio/crio.sock"
	dataDir     = "/var/lib/ire-data"
	storageRoot = "/var/lib/containers/storage"
	exporterURL = "http://127.0.0.1:8000/gather_runtime_info"
)

func main() {
	results := "/results"
	if len(os.Args) > 1 {
		results = os.Args[1]
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	facts := &payload.Facts{Pods: map[string]*localnode.Pod{}, Execs: map[string]map[string]payload.Exec{}}
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Minute)
	defer cancel()
	if err := run(ctx, log, facts); err != nil {
		facts.Error = err.Error()
		log.Error("driver step failed", "error", err)
	}
	b, err := json.MarshalIndent(facts, "", "  ")
	if err == nil {
		err = os.WriteFile(filepath.Join(results, payload.FactsFile), b, 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "write facts:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, log *slog.Logger, f *payload.Facts) error {
	var plan payload.Plan
	b, err := os.ReadFile(filepath.Join(payload.Dir, payload.PlanFile))
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, &plan); err != nil {
		return fmt.Errorf("plan: %w", err)
	}
	describeNode(&f.Node)

	step := time.Now()
	f.Sandbox = sandboxTests(ctx, plan.SandboxTestRun)
	log.Info("sandbox tests run", "exit", f.Sandbox.ExitCode, "took", time.Since(step).Round(time.Second))

	step = time.Now()
	if err := useStorage(ctx); err != nil {
		return err
	}
	log.Info("CRI-O restarted on the payload's image store", "took", time.Since(step).Round(time.Second))
	node, err := localnode.Start(ctx, localnode.Options{
		Runtime: localnode.CRIO, Dir: "/var/tmp/ire-node", Log: log,
		CRIO: &localnode.CRIOAttach{Socket: crioSocket, StorageDriver: "overlay",
			StorageRoot: storageRoot, StorageRunRoot: "/run/containers/storage", CgroupManager: "systemd"},
	})
	if err != nil {
		return err
	}
	if v, err := node.Runtime().Version(ctx, &rt.VersionRequest{}); err == nil {
		f.Node.RuntimeName, f.Node.RuntimeVersion = v.RuntimeName, v.RuntimeVersion
	}
	step = time.Now()
	for _, p := range plan.Pods {
		key := p.Spec.Namespace + "/" + p.Spec.Name
		pod, err := node.RunPod(ctx, p.Spec)
		if err != nil {
			return fmt.Errorf("pod %s: %w", key, err)
		}
		f.Pods[key] = pod
		for _, c := range pod.Containers {
			for _, cmd := range plan.Execs[key+"/"+c.Name] {
				res, err := node.ExecSync(ctx, c.ID, 2*time.Minute, cmd...)
				e := payload.Exec{Stdout: res.Stdout, Stderr: res.Stderr, ExitCode: res.ExitCode}
				if err != nil {
					e.Error = err.Error()
				}
				if f.Execs[c.ID] == nil {
					f.Execs[c.ID] = map[string]payload.Exec{}
				}
				f.Execs[c.ID][strings.Join(cmd, " ")] = e
			}
		}
	}
	log.Info("sample pods running", "pods", len(plan.Pods), "took", time.Since(step).Round(time.Second))

	step = time.Now()
	extractor, err := runProductPod(ctx, node, plan, f)
	if err != nil {
		return err
	}
	if err := waitExporter(ctx, 5*time.Minute); err != nil {
		return err
	}
	log.Info("DaemonSet pod ready", "took", time.Since(step).Round(time.Second))

	// The first scan meets the hostile runs: watch their cgroups meanwhile.
	watchCtx, stopWatch := context.WithCancel(ctx)
	var runs []payload.RunCgroup
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); runs = watchRuns(watchCtx, extractor) }()
	f.Scans = append(f.Scans, scan(ctx, log, "get-clear", http.MethodGet, exporterURL+"?hash=false", ""))
	stopWatch()
	wg.Wait()
	f.Runs = runs
	f.Scans = append(f.Scans, scan(ctx, log, "get-hashed", http.MethodGet, exporterURL, ""))
	var ids []string
	for _, key := range plan.SubsetPods {
		for _, c := range f.Pods[key].Containers {
			ids = append(ids, node.KeyPrefix()+c.ID)
		}
	}
	subset, _ := json.Marshal(map[string][]string{"containerIds": ids})
	f.Scans = append(f.Scans, scan(ctx, log, "post-hashed", http.MethodPost, exporterURL, string(subset)))
	// The Insights Operator's request: every container by its cri-o:// id, hashed.
	ids = nil
	for _, pod := range f.Pods {
		for _, c := range pod.Containers {
			ids = append(ids, node.KeyPrefix()+c.ID)
		}
	}
	sort.Strings(ids)
	body, _ := json.Marshal(map[string][]string{"containerIds": ids})
	f.Scans = append(f.Scans, scan(ctx, log, "operator", http.MethodPost, exporterURL, string(body)))

	step = time.Now()
	f.Operator, err = operatorShape(ctx, node, f, body)
	if err != nil {
		return err
	}
	log.Info("operator's checks done", "took", time.Since(step).Round(time.Second))

	f.Node.ExtractorNS, err = cgroupSeenFrom(extractor.pid)
	if err != nil {
		return err
	}
	own := strings.TrimPrefix(strings.TrimSpace(readFile(fmt.Sprintf("/proc/%d/cgroup", extractor.pid))), "0::")
	f.Node.ExtractorCgroup = own
	f.Node.LeafProcs = pids(filepath.Join("/sys/fs/cgroup", filepath.Dir(own), "extractor", "cgroup.procs"))
	f.Node.ParentProcs = pids(filepath.Join("/sys/fs/cgroup", filepath.Dir(own), "cgroup.procs"))
	f.Node.SubtreeControl = strings.TrimSpace(readFile(filepath.Join("/sys/fs/cgroup", filepath.Dir(own), "cgroup.subtree_control")))
	f.After = after(f, extractor)
	return nil
}

// operatorShape runs what the Insights Operator's DaemonSet does to the pod:
// its liveness probe in the extractor container, and its request 100 times;
// then it records what is left in /data and what either container wrote
// outside its volumes.
func operatorShape(ctx context.Context, node *localnode.Node, f *payload.Facts, body []byte) (payload.Operator, error) {
	o := payload.Operator{Scrapes: map[int]int{}, Written: map[string][]string{}}
	pod := f.Pods[payload.ProductPod]
	extractor, _ := pod.Container("extractor")
	res, err := node.ExecSync(ctx, extractor.ID, 30*time.Second, "crictl", "--timeout", "10s", "info")
	o.Liveness = payload.Exec{Stdout: res.Stdout, Stderr: res.Stderr, ExitCode: res.ExitCode}
	if err != nil {
		o.Liveness.Error = err.Error()
	}
	client := &http.Client{Timeout: 2 * time.Minute}
	for range 100 {
		start := time.Now()
		resp, err := client.Post(exporterURL, "application/json", bytes.NewReader(body))
		if err != nil {
			return o, fmt.Errorf("operator request: %w", err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		o.Scrapes[resp.StatusCode]++
		o.SlowestSeconds = max(o.SlowestSeconds, time.Since(start).Seconds())
	}
	resp, err := client.Get("http://127.0.0.1:8000/metrics")
	if err != nil {
		return o, fmt.Errorf("metrics: %w", err)
	}
	m, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	o.Metrics = string(m)
	entries, err := os.ReadDir(dataDir)
	if err != nil {
		return o, err
	}
	for _, e := range entries {
		o.DataLeft = append(o.DataLeft, e.Name())
	}
	for _, c := range pod.Containers {
		upper, err := upperDir(c.PID)
		if err != nil {
			return o, fmt.Errorf("container %s: %w", c.Name, err)
		}
		o.Written[c.Name] = []string{}
		_ = filepath.WalkDir(upper, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return nil
			}
			// The runtime's own: empty mount points (/etc/hostname …) and /etc/mtab.
			info, err := d.Info()
			if err != nil {
				return nil
			}
			if target, _ := os.Readlink(p); info.Mode()&os.ModeSymlink != 0 && strings.HasPrefix(target, "/proc/") && strings.HasSuffix(target, "/mounts") {
				return nil
			}
			if !info.Mode().IsRegular() || info.Size() > 0 {
				o.Written[c.Name] = append(o.Written[c.Name], strings.TrimPrefix(p, upper))
			}
			return nil
		})
	}
	return o, nil
}

// upperDir is the upper layer of the overlay mounted as the root of pid's
// mount namespace: where anything the container wrote to its image lands.
func upperDir(pid int) (string, error) {
	for _, line := range strings.Split(readFile(fmt.Sprintf("/proc/%d/mountinfo", pid)), "\n") {
		pre, post, ok := strings.Cut(line, " - ")
		f, g := strings.Fields(pre), strings.Fields(post)
		if !ok || len(f) < 5 || f[4] != "/" || len(g) < 3 || g[0] != "overlay" {
			continue
		}
		for _, opt := range strings.Split(g[2], ",") {
			if v, ok := strings.CutPrefix(opt, "upperdir="); ok {
				return v, nil
			}
		}
	}
	return "", fmt.Errorf("no overlay root in /proc/%d/mountinfo", pid)
}

// useStorage restarts CRI-O on the image store the host filled
// (localnode.CopyImages): unpacking the images here, under software
// emulation, would take half an hour.
func useStorage(ctx context.Context) error {
	if out, err := exec.CommandContext(ctx, "systemctl", "stop", "crio").CombinedOutput(); err != nil {
		return fmt.Errorf("stop crio: %w: %s", err, out)
	}
	if err := unix.Mount(filepath.Join(payload.Dir, payload.Storage), storageRoot, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("mount the image store: %w", err)
	}
	if out, err := exec.CommandContext(ctx, "systemctl", "start", "crio").CombinedOutput(); err != nil {
		return fmt.Errorf("start crio: %w: %s", err, out)
	}
	return nil
}

// cgroupSeenFrom reads the cgroup of pid as a process in its own cgroup
// namespace sees it (the extractor's own view), from a thread that joins that
// namespace for the read.
func cgroupSeenFrom(pid int) (string, error) {
	type answer struct {
		s   string
		err error
	}
	ch := make(chan answer, 1)
	go func() {
		// The thread is left locked: it ends with the goroutine, and the
		// runtime discards it rather than reuse it in another namespace.
		runtime.LockOSThread()
		fd, err := unix.Open(fmt.Sprintf("/proc/%d/ns/cgroup", pid), unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			ch <- answer{err: err}
			return
		}
		defer unix.Close(fd)
		if err := unix.Setns(fd, unix.CLONE_NEWCGROUP); err != nil {
			ch <- answer{err: fmt.Errorf("join the cgroup namespace of %d: %w", pid, err)}
			return
		}
		ch <- answer{s: strings.TrimSpace(readFile(fmt.Sprintf("/proc/%d/cgroup", pid)))}
	}()
	a := <-ch
	return a.s, a.err
}

func describeNode(n *payload.Node) {
	n.Kernel = strings.TrimSpace(readFile("/proc/sys/kernel/osrelease"))
	n.PID1 = strings.TrimSpace(readFile("/proc/1/comm"))
	out, _ := exec.Command("stat", "-fc", "%T", "/sys/fs/cgroup").Output()
	n.CgroupFS = strings.TrimSpace(string(out))
}

// sandboxTests runs the sandbox package's tests as a systemd service with
// Delegate=yes: the layout of an extractor run as a service on such a node.
func sandboxTests(ctx context.Context, pattern string) payload.Command {
	bins := filepath.Join(payload.Dir, payload.SandboxBins)
	cmd := exec.CommandContext(ctx, "systemd-run", "--wait", "--pipe", "--quiet", "--collect",
		"-p", "Delegate=yes", "--setenv=SANDBOX_TEST_BINS="+bins, "--working-directory=/var/tmp",
		filepath.Join(payload.Dir, payload.SandboxTest), "-test.v", "-test.count=1", "-test.run", pattern)
	out, err := cmd.CombinedOutput()
	c := payload.Command{Output: string(out)}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		c.ExitCode = ee.ExitCode()
	case err != nil:
		c.ExitCode, c.Output = -1, c.Output+"\n"+err.Error()
	}
	return c
}

type productPod struct {
	pid int // host pid of extractor_server
}

// runProductPod runs the DaemonSet's pod as the kubelet would: host PID
// namespace and network, the extractor privileged with the CRI socket at
// /crio.sock and CONTAINER_RUNTIME_ENDPOINT (as the Insights Operator's
// DaemonSet), the exporter as its image's user with no capabilities, both
// with read-only root file systems and /data shared.
func runProductPod(ctx context.Context, node *localnode.Node, plan payload.Plan, f *payload.Facts) (productPod, error) {
	// An emptyDir as the kubelet makes it: root's, mode 0777, no sticky bit.
	if err := os.MkdirAll(dataDir, 0o777); err != nil {
		return productPod{}, err
	}
	if err := os.Chmod(dataDir, 0o777); err != nil {
		return productPod{}, err
	}
	pod, err := node.RunPod(ctx, localnode.PodSpec{
		Name: payload.ProductPodName, Namespace: payload.ProductNamespace,
		HostPID: true,
		Containers: []localnode.ContainerSpec{
			{Name: "extractor", Image: plan.ExtractorImage, Privileged: true, ReadOnlyRootfs: true,
				Env:     []string{"CONTAINER_RUNTIME_ENDPOINT=unix:///crio.sock"},
				Mounts:  []localnode.Mount{{HostPath: crioSocket, ContainerPath: "/crio.sock"}, {HostPath: dataDir, ContainerPath: "/data"}},
				WaitFor: "extractor_serve"},
			// As the operator runs it: no arguments, its image's user, no fsGroup.
			{Name: "exporter", Image: plan.ExporterImage, ReadOnlyRootfs: true, DropAllCapabilities: true,
				Mounts:  []localnode.Mount{{HostPath: dataDir, ContainerPath: "/data"}},
				WaitFor: "exporter"},
		},
	})
	if err != nil {
		return productPod{}, fmt.Errorf("the DaemonSet's pod: %w", err)
	}
	f.Pods[payload.ProductPod] = pod
	c, _ := pod.Container("extractor")
	return productPod{pid: c.PID}, nil
}

func waitExporter(ctx context.Context, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		resp, err := http.Get("http://127.0.0.1:8000/")
		if err == nil {
			resp.Body.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the exporter does not answer on 127.0.0.1:8000 after %s: %w", limit, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func scan(ctx context.Context, log *slog.Logger, name, method, url, body string) payload.Scan {
	s := payload.Scan{Name: name, Method: method, URL: url, Body: body}
	start := time.Now()
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if err == nil {
		var resp *http.Response
		client := &http.Client{Timeout: 10 * time.Minute}
		if resp, err = client.Do(req); err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			s.Status, s.Answer = resp.StatusCode, string(b)
		}
	}
	if err != nil {
		s.Answer = "error: " + err.Error()
	}
	s.Seconds = time.Since(start).Seconds()
	log.Info("scan", "name", name, "status", s.Status, "seconds", s.Seconds)
	return s
}

// watchRuns polls, every few milliseconds until ctx ends, the fingerprint run
// cgroups below the extractor's cgroup, and keeps for each the limits, the
// peaks seen and its events, with the command lines seen in it.
func watchRuns(ctx context.Context, extractor productPod) []payload.RunCgroup {
	own := strings.TrimPrefix(strings.TrimSpace(readFile(fmt.Sprintf("/proc/%d/cgroup", extractor.pid))), "0::")
	root := filepath.Join("/sys/fs/cgroup", filepath.Dir(own))
	seen := map[string]*payload.RunCgroup{}
	var order []string
	for {
		dirs, _ := filepath.Glob(filepath.Join(root, "insights-runtime-extractor-sandbox-*", "run-*"))
		for _, d := range dirs {
			r := seen[d]
			if r == nil {
				r = &payload.RunCgroup{Path: strings.TrimPrefix(d, "/sys/fs/cgroup")}
				seen[d] = r
				order = append(order, d)
			}
			if v := strings.TrimSpace(readFile(filepath.Join(d, "memory.max"))); v != "" {
				r.MemoryMax = v
			}
			if v := strings.TrimSpace(readFile(filepath.Join(d, "pids.max"))); v != "" {
				r.PidsMax = v
			}
			procs := pids(filepath.Join(d, "cgroup.procs"))
			r.PeakPids = max(r.PeakPids, len(procs))
			if m, err := strconv.ParseInt(strings.TrimSpace(readFile(filepath.Join(d, "memory.peak"))), 10, 64); err == nil {
				r.PeakMemory = max(r.PeakMemory, m)
			}
			if v := keyed(filepath.Join(d, "pids.events"), "max"); v >= 0 {
				r.PidsEventsMax = v
			}
			if v := keyed(filepath.Join(d, "memory.events"), "max"); v >= 0 {
				r.MemoryEventsMax = v
			}
			if v := keyed(filepath.Join(d, "memory.events"), "oom_kill"); v >= 0 {
				r.OOMKills = v
			}
			if v := keyed(filepath.Join(d, "memory.events"), "oom_group_kill"); v >= 0 {
				r.OOMGroupKills = v
			}
			for _, p := range procs {
				cl := cmdline(p)
				if cl != "" && len(r.Procs) < 64 && !slices.Contains(r.Procs, cl) {
					r.Procs = append(r.Procs, cl)
				}
			}
		}
		select {
		case <-ctx.Done():
			out := make([]payload.RunCgroup, 0, len(order))
			for _, d := range order {
				out = append(out, *seen[d])
			}
			return out
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// after records what must be gone once the scans are done.
func after(f *payload.Facts, extractor productPod) payload.After {
	a := payload.After{ContainersRunning: map[string]bool{}}
	time.Sleep(2 * time.Second) // the last run's cgroup is removed as its coordinator exits
	matches, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, m := range matches {
		pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(m)))
		stat := readFile(m)
		if i := strings.LastIndexByte(stat, ')'); i > 0 && len(stat) > i+2 && stat[i+2] == 'Z' {
			a.Zombies = append(a.Zombies, strconv.Itoa(pid)+" "+stat[:i+1])
		}
		if cl := cmdline(pid); strings.Contains(cl, " --version") {
			a.VersionProcesses = append(a.VersionProcesses, strconv.Itoa(pid)+" "+cl)
		}
	}
	own := strings.TrimPrefix(strings.TrimSpace(readFile(fmt.Sprintf("/proc/%d/cgroup", extractor.pid))), "0::")
	a.RunCgroups, _ = filepath.Glob(filepath.Join("/sys/fs/cgroup", filepath.Dir(own), "insights-runtime-extractor-sandbox-*", "run-*"))
	for key, pod := range f.Pods {
		for _, c := range pod.Containers {
			_, err := os.Stat(fmt.Sprintf("/proc/%d", c.PID))
			a.ContainersRunning[key+"/"+c.Name] = err == nil
		}
	}
	return a
}

func readFile(p string) string {
	b, _ := os.ReadFile(p)
	return string(b)
}

func pids(procsFile string) []int {
	var out []int
	for _, f := range strings.Fields(readFile(procsFile)) {
		if n, err := strconv.Atoi(f); err == nil {
			out = append(out, n)
		}
	}
	return out
}

func cmdline(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return strings.TrimSpace(string(bytes.ReplaceAll(b, []byte{0}, []byte{' '})))
}

// keyed returns "key N" of a flat-keyed cgroup file, -1 when absent.
func keyed(path, key string) int64 {
	for _, line := range strings.Split(readFile(path), "\n") {
		if k, v, ok := strings.Cut(line, " "); ok && k == key {
			if n, err := strconv.ParseInt(v, 10, 64); err == nil {
				return n
			}
		}
	}
	return -1
}
