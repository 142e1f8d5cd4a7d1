// Package openshift is the node e2e on an OpenShift-like node: a VM (test/vm)
// with systemd as PID 1, cgroup v2 only and CRI-O with the systemd cgroup
// driver and conmon. The host builds everything (sample images, the
// product's two images, the driver); the driver (./guest) runs the sample
// pods and the DaemonSet's pod through CRI inside the VM and records what it
// saw; this test asserts: the exact JSON of three scans with cri-o:// keys,
// the sandbox's cgroup v2 delegation, and containment of a fork bomb and a
// memory hog behind --version.
//
// It needs root; otherwise it skips with one line. `make node-e2e
// NODE=openshift` runs it, and `make test` does.
package openshift

import (
	"context"
	"debug/buildinfo"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openshift/insights-runtime-extractor/test/debpkg"
	"github.com/openshift/insights-runtime-extractor/test/e2e/expect"
	"github.com/openshift/insights-runtime-extractor/test/e2e/node/workloads"
	"github.com/openshift/insights-runtime-extractor/test/e2e/openshift/payload"
	"github.com/openshift/insights-runtime-extractor/test/localnode"
	"github.com/openshift/insights-runtime-extractor/test/vm"
)

// Sandbox tests the VM runs: they skip on a cgroup v1 host, so this is where
// they prove the v2 code.
const sandboxTests = "TestDelegateV2|TestRunCgroupV2|TestNewRemovesDeadSandboxes"

// sandboxMustPass are tests that must have run and passed (not skipped).
var sandboxMustPass = []string{
	"TestDelegateV2MovesProcessesIntoTheLeafAndEnablesControllers",
	"TestDelegateV2WithoutControllersSaysWhy",
	"TestDelegateV2InAPrivateCgroupNamespace",
	"TestNewRemovesDeadSandboxes",
}

// containment are the hostile pods: their --version is held by the limits.
var containment = []payload.Pod{
	{Spec: localnode.PodSpec{Name: "fork-bomb", Namespace: "hostile"}, Samples: []string{"fork-bomb-version"}},
	{Spec: localnode.PodSpec{Name: "memory-hog", Namespace: "hostile"}, Samples: []string{"memory-hog-version"}},
}

func TestOpenShiftNode(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("openshift node e2e skipped: it needs root to build and boot its VM (run make test as root)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 75*time.Minute)
	defer cancel()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	repo, err := localnode.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	// Kept when the test fails (the driver's facts, the console log), less
	// the image store.
	work, err := os.MkdirTemp("/var/tmp", "ire-openshift-")
	if err != nil {
		t.Fatal(err)
	}
	pay := filepath.Join(work, "payload")
	t.Cleanup(func() {
		os.RemoveAll(filepath.Join(pay, payload.Storage))
		if t.Failed() {
			t.Logf("kept for a look: %s", work)
			return
		}
		os.RemoveAll(work)
	})
	for _, d := range []string{pay, filepath.Join(pay, payload.SandboxBins)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}

	start := time.Now()
	img, err := vm.EnsureImage(ctx, log, vm.DefaultCacheDir())
	if err != nil {
		t.Fatalf("VM image: %v", err)
	}
	log.Info("VM image ready", "took", time.Since(start).Round(time.Second))

	if err := debpkg.Ensure(ctx, log, workloads.Packages...); err != nil {
		t.Fatal(err)
	}
	b := &localnode.Builder{RepoDir: repo, WorkDir: filepath.Join(work, "images"), OCILayout: true, Log: log}
	im, err := b.Build(ctx)
	if err != nil {
		t.Fatalf("sample images: %v", err)
	}
	bin := filepath.Join(work, "bin")
	if err := localnode.BuildBinaries(ctx, repo, bin); err != nil {
		t.Fatal(err)
	}
	// The images' files: the binaries, config.toml, and crictl as the extractor
	// image ships it (the same v1.34.0 test/crio/build.sh built for the VM).
	files := map[string]string{"config.toml": filepath.Join(repo, "config.toml"), "crictl": crictl(ctx, t, repo)}
	built, _ := filepath.Glob(filepath.Join(bin, "*"))
	for _, f := range built {
		files[filepath.Base(f)] = f
	}
	productArchive := filepath.Join(work, "product.tar")
	extractorImage, exporterImage, err := writeProductImages(repo, files, productArchive)
	if err != nil {
		t.Fatalf("product images: %v", err)
	}
	// The VM's image store, filled here: CRI-O in the VM starts on it.
	start = time.Now()
	runroot, err := os.MkdirTemp("/run", "ire-storage-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(runroot)
	for _, archive := range []string{im.Layout, productArchive} {
		if err := localnode.CopyImages(ctx, archive, "overlay", filepath.Join(pay, payload.Storage), runroot); err != nil {
			t.Fatal(err)
		}
	}
	log.Info("VM image store filled", "took", time.Since(start).Round(time.Second))
	// The driver and the sandbox's programs are of the test module; the
	// sandbox's privileged tests, of the product's.
	testModule := filepath.Join(repo, "test")
	for _, c := range []struct {
		dir  string
		args []string
	}{
		{testModule, []string{"build", "-trimpath", "-o", filepath.Join(pay, "run"), "./e2e/openshift/guest"}},
		{repo, []string{"test", "-c", "-trimpath", "-tags", "privileged", "-o", filepath.Join(pay, payload.SandboxTest), "./internal/sandbox"}},
		{testModule, []string{"build", "-trimpath", "-o", filepath.Join(pay, payload.SandboxBins, "probe"), "./sandbox/probe"}},
		{testModule, []string{"build", "-trimpath", "-o", filepath.Join(pay, payload.SandboxBins, "misbehave"), "./sandbox/misbehave"}},
		{repo, []string{"build", "-trimpath", "-o", filepath.Join(pay, payload.SandboxBins, "sandbox_helper"), "./cmd/sandbox_helper"}},
	} {
		goRun(ctx, t, c.dir, c.args...)
	}
	for _, f := range []string{"probe", "misbehave"} {
		if err := os.Chmod(filepath.Join(pay, payload.SandboxBins, f), 0o111); err != nil {
			t.Fatal(err)
		}
	}

	plan := payload.Plan{
		ExtractorImage: extractorImage, ExporterImage: exporterImage,
		SandboxTestRun: sandboxTests,
		Execs:          map[string][][]string{},
		SubsetPods:     []string{"frameworks/quarkus", "shapes/two-containers"},
	}
	for _, p := range workloads.VM(im) {
		plan.Pods = append(plan.Pods, payload.Pod{Spec: p.Spec, Samples: p.Samples})
	}
	for _, p := range containment {
		p.Spec.Containers = []localnode.ContainerSpec{im.Sample(p.Samples[0]).Container("app")}
		plan.Pods = append(plan.Pods, p)
	}
	// What the expected JSON needs from inside the containers: a dry pass
	// records the commands, keyed by container, for the driver to run.
	for _, p := range plan.Pods {
		specs := append(append([]localnode.ContainerSpec{}, p.Spec.InitContainers...), p.Spec.Containers...)
		for i, c := range specs {
			key := p.Spec.Namespace + "/" + p.Spec.Name + "/" + c.Name
			record := func(_ context.Context, _ string, cmd ...string) (string, error) {
				plan.Execs[key] = append(plan.Execs[key], cmd)
				return "", nil
			}
			// Its errors come from the empty outputs; the real pass reports any.
			_, _ = expect.EntryOf(ctx, im, im.Sample(p.Samples[i]), c, key, record)
		}
	}
	planJSON, err := json.MarshalIndent(plan, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(pay, payload.PlanFile), planJSON, 0o644); err != nil {
		t.Fatal(err)
	}

	out := filepath.Join(work, "out")
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	res, err := vm.Run(ctx, vm.Options{Image: img, PayloadDir: pay, OutputDir: out, Timeout: 50 * time.Minute, Log: log, MemoryMB: 6144})
	if res != nil {
		keepConsole(t, res.ConsoleLog)
	}
	if err != nil {
		t.Fatalf("VM run: %v", err)
	}
	t.Logf("VM: boot %s, payload %s, total %s", res.Boot.Round(time.Second), res.Payload.Round(time.Second), res.Total.Round(time.Second))
	if res.ExitCode != 0 {
		t.Fatalf("driver exited %d:\n%s", res.ExitCode, tail(string(res.Stderr), 6000))
	}
	var facts payload.Facts
	b2, err := os.ReadFile(filepath.Join(res.ResultsDir, payload.FactsFile))
	if err != nil {
		t.Fatalf("no facts from the driver: %v\n%s", err, tail(string(res.Stderr), 6000))
	}
	if err := json.Unmarshal(b2, &facts); err != nil {
		t.Fatal(err)
	}
	if facts.Error != "" {
		t.Fatalf("the driver stopped: %s\n%s", facts.Error, tail(string(res.Stderr), 6000))
	}
	checkNode(t, facts)
	checkSandboxTests(t, facts.Sandbox)
	checkScans(ctx, t, facts, plan, im, bin)
	checkContainment(t, facts, plan)
	checkOperatorShape(t, facts)
	checkMetrics(t, facts)
}

// checkMetrics: after the four scans and the 100 operator requests, the
// exporter's /metrics shows those figures.
func checkMetrics(t *testing.T, f payload.Facts) {
	t.Run("metrics show the scans", func(t *testing.T) {
		all := 0
		for _, p := range f.Pods {
			all += len(p.Containers)
		}
		subset := 0
		for _, s := range f.Scans {
			if s.Name == "post-hashed" {
				var doc expect.Document
				_ = json.Unmarshal([]byte(s.Answer), &doc)
				for _, pods := range doc {
					for _, ctrs := range pods {
						subset += len(ctrs)
					}
				}
			}
		}
		for metric, want := range map[string]float64{
			`insights_runtime_extractor_scans_total{outcome="ok"}`:                        104,
			`insights_runtime_extractor_containers_reported_total`:                        float64(all*103 + subset),
			`insights_runtime_extractor_result_cleanup_failures_total`:                    0,
			`insights_runtime_extractor_containers_failed_total{reason="container_gone"}`: -1, // absent
		} {
			got, ok := metricValue(f.Operator.Metrics, metric)
			switch {
			case want < 0 && ok:
				t.Errorf("%s = %v, want absent", metric, got)
			case want >= 0 && (!ok || got != want):
				t.Errorf("%s = %v (present %v), want %v", metric, got, ok, want)
			}
		}
		// Every container but the hostile ones (a failed run is not cached) is
		// answered from the cache at least once per repeated request.
		if hits, _ := metricValue(f.Operator.Metrics, "insights_runtime_extractor_cache_hits_total"); hits < float64((all-len(containment))*100) {
			t.Errorf("cache hits %v: the repeated requests were not answered from the cache", hits)
		}
	})
}

// metricValue finds one sample of the Prometheus text exposition.
func metricValue(text, series string) (float64, bool) {
	for _, line := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return f, err == nil
		}
	}
	return 0, false
}

// checkOperatorShape: the pod ran as the Insights Operator's DaemonSet runs
// it (read-only root file systems, the exporter with no arguments as its
// image's user and no fsGroup, the CRI socket at /crio.sock).
func checkOperatorShape(t *testing.T, f payload.Facts) {
	o := f.Operator
	t.Run("the operator's liveness probe crictl --timeout 10s info passes in the extractor container", func(t *testing.T) {
		if o.Liveness.ExitCode != 0 || o.Liveness.Error != "" || !strings.Contains(o.Liveness.Stdout, `"RuntimeReady"`) {
			t.Errorf("exit %d %s\nstdout: %s\nstderr: %s", o.Liveness.ExitCode, o.Liveness.Error, tail(o.Liveness.Stdout, 2000), o.Liveness.Stderr)
		}
	})
	t.Run("100 operator requests answer 200 within the operator's 2 minutes and leave /data without results", func(t *testing.T) {
		if o.Scrapes[http.StatusOK] != 100 || len(o.Scrapes) != 1 {
			t.Errorf("answers by status: %v, want 100 × 200", o.Scrapes)
		}
		if o.SlowestSeconds >= 120 {
			t.Errorf("slowest answer %.1fs", o.SlowestSeconds)
		}
		// The scan cache is the one thing the extractor keeps there.
		if len(o.DataLeft) != 1 || o.DataLeft[0] != ".scan-cache" {
			t.Errorf("/data holds %q, want only .scan-cache", o.DataLeft)
		}
	})
	t.Run("nothing is written outside /data", func(t *testing.T) {
		for _, name := range []string{"extractor", "exporter"} {
			written, ok := o.Written[name]
			if !ok || len(written) != 0 {
				t.Errorf("%s wrote outside its volumes (checked %v): %q", name, ok, written)
			}
		}
	})
}

func checkNode(t *testing.T, f payload.Facts) {
	t.Run("the node is OpenShift-like", func(t *testing.T) {
		want := [4]string{"cgroup2fs", "systemd", "cri-o", "1.34.0"}
		if got := [4]string{f.Node.CgroupFS, f.Node.PID1, f.Node.RuntimeName, f.Node.RuntimeVersion}; got != want {
			t.Errorf("node %+v, want %+v", got, want)
		}
	})
	t.Run("the extractor delegated its container's cgroup with no flag", func(t *testing.T) {
		// A privileged container shares the node's cgroup namespace (CRI-O and
		// containerd, after the cgroup v2 KEP); the private case is proven by
		// the sandbox test TestDelegateV2InAPrivateCgroupNamespace.
		if f.Node.ExtractorNS != "0::"+f.Node.ExtractorCgroup {
			t.Errorf("extractor_server's cgroup seen from its namespace: %q, want the node's view %q", f.Node.ExtractorNS, "0::"+f.Node.ExtractorCgroup)
		}
		if !regexp.MustCompile(`^/kubepods\.slice/.*\.slice/crio-[0-9a-f]{64}\.scope/extractor$`).MatchString(f.Node.ExtractorCgroup) {
			t.Errorf("extractor_server's cgroup %q, want <pod slice>/crio-<id>.scope/extractor", f.Node.ExtractorCgroup)
		}
		if len(f.Node.ParentProcs) != 0 || len(f.Node.LeafProcs) == 0 {
			t.Errorf("processes: %v in the container's scope, %v in its leaf; want none and some", f.Node.ParentProcs, f.Node.LeafProcs)
		}
		for _, c := range []string{"memory", "pids", "cpu"} {
			if !strings.Contains(" "+f.Node.SubtreeControl+" ", " "+c+" ") {
				t.Errorf("subtree_control %q lacks %s", f.Node.SubtreeControl, c)
			}
		}
	})
}

func checkSandboxTests(t *testing.T, c payload.Command) {
	t.Run("the sandbox's tests pass on cgroup v2 in a Delegate=yes service", func(t *testing.T) {
		if c.ExitCode != 0 {
			t.Errorf("exit %d:\n%s", c.ExitCode, tail(c.Output, 8000))
		}
		for _, name := range sandboxMustPass {
			if !strings.Contains(c.Output, "--- PASS: "+name+" ") {
				t.Errorf("%s did not pass (skipped or missing):\n%s", name, tail(c.Output, 8000))
			}
		}
	})
}

func checkScans(ctx context.Context, t *testing.T, f payload.Facts, plan payload.Plan, im *localnode.Images, bin string) {
	exec := func(_ context.Context, id string, cmd ...string) (string, error) {
		e, ok := f.Execs[id][strings.Join(cmd, " ")]
		switch {
		case !ok:
			return "", fmt.Errorf("the driver did not run %q in %s", cmd, id)
		case e.Error != "" || e.ExitCode != 0:
			return "", fmt.Errorf("%q in %s: exit %d %s %s", cmd, id, e.ExitCode, e.Error, e.Stderr)
		}
		return strings.TrimSpace(e.Stdout + e.Stderr), nil
	}
	var pods []expect.Pod
	for _, p := range plan.Pods {
		pods = append(pods, expect.Pod{Spec: p.Spec, Samples: p.Samples, Running: f.Pods[p.Spec.Namespace+"/"+p.Spec.Name]})
	}
	want, err := expect.Expected(ctx, im, "cri-o://", pods, exec)
	if err != nil {
		t.Fatal(err)
	}
	// The DaemonSet's own containers: static Go programs in scratch images.
	product := f.Pods[payload.ProductPod]
	for name, binary := range map[string]string{"extractor": "extractor_server", "exporter": "exporter"} {
		info, err := buildinfo.ReadFile(filepath.Join(bin, binary))
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range product.Containers {
			if c.Name == name {
				want.Add(product.Namespace, product.Name, "cri-o://"+c.ID, expect.Entry{Kind: "Golang", KindVersion: info.GoVersion})
			}
		}
	}
	var subset []string
	for _, key := range plan.SubsetPods {
		for _, c := range f.Pods[key].Containers {
			subset = append(subset, "cri-o://"+c.ID)
		}
	}
	wants := map[string]expect.Document{"get-clear": want, "get-hashed": want.Hashed(), "post-hashed": want.Subset(subset...).Hashed(), "operator": want.Hashed()}
	for _, s := range f.Scans {
		t.Run("scan "+s.Name+" answers exactly", func(t *testing.T) {
			t.Logf("%s %s: %d in %.1fs", s.Method, s.URL, s.Status, s.Seconds)
			if s.Status != http.StatusOK {
				t.Fatalf("status %d: %s", s.Status, s.Answer)
			}
			if got, w := expect.CanonicalBody([]byte(s.Answer)), expect.Canonical(wants[s.Name]); got != w {
				t.Errorf("answer:\n%s\nwant:\n%s", got, w)
			}
		})
	}
	if len(f.Scans) != len(wants) {
		t.Errorf("%d scans, want %d", len(f.Scans), len(wants))
	}
}

func checkContainment(t *testing.T, f payload.Facts, plan payload.Plan) {
	t.Run("a fork bomb and a memory hog behind --version stay within their limits and leave nothing", func(t *testing.T) {
		var forkBomb, memoryHog bool
		for _, r := range f.Runs {
			if r.PidsMax != "64" || r.MemoryMax != "268435456" {
				t.Errorf("run %s: pids.max %q memory.max %q, want 64 and 268435456", r.Path, r.PidsMax, r.MemoryMax)
			}
			if r.PeakPids > 64 {
				t.Errorf("run %s held %d processes", r.Path, r.PeakPids)
			}
			// memory.peak may pass memory.max by what the kernel charges
			// unconditionally (kernel memory) before the OOM kill.
			if r.PeakMemory > 268435456+1<<20 {
				t.Errorf("run %s peaked at %d bytes", r.Path, r.PeakMemory)
			}
			forkBomb = forkBomb || r.PidsEventsMax > 0
			// The hog ran under the sandbox, below memory.max (above), and is gone (below).
			// Whether it reaches memory.max before its 5 s --version limit depends on how
			// fast the emulated node runs (a reused run cgroup also reclaims the page cache
			// of earlier runs first).
			memoryHog = memoryHog || slices.Contains(r.Procs, "/node --version")
		}
		if !forkBomb || !memoryHog {
			t.Errorf("no run reached pids.max (%v) or ran the memory hog (%v): the hostile commands were not run; runs: %+v", forkBomb, memoryHog, f.Runs)
		}
		if len(f.After.VersionProcesses) != 0 || len(f.After.Zombies) != 0 || len(f.After.RunCgroups) != 0 {
			t.Errorf("left behind: --version processes %v, zombies %v, run cgroups %v", f.After.VersionProcesses, f.After.Zombies, f.After.RunCgroups)
		}
		for key, running := range f.After.ContainersRunning {
			if !running {
				t.Errorf("container %s no longer runs: only the fingerprint runs may die", key)
			}
		}
	})
}

// crictl is the crictl test/crio/build.sh built (and cached) with CRI-O.
func crictl(ctx context.Context, t *testing.T, repo string) string {
	t.Helper()
	out, err := exec.CommandContext(ctx, "bash", filepath.Join(repo, "test", "crio", "build.sh")).Output()
	if err != nil {
		t.Fatalf("test/crio/build.sh: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return filepath.Join(lines[len(lines)-1], "bin", "crictl")
}

// goRun runs the go command in dir (a module's root).
func goRun(ctx context.Context, t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// keepConsole copies the VM's console log where a failed CI run shows it.
func keepConsole(t *testing.T, path string) {
	if dir := os.Getenv(localnode.KeepLogEnv); dir != "" && path != "" {
		if b, err := os.ReadFile(path); err == nil {
			_ = os.WriteFile(filepath.Join(dir, "openshift-vm-console.log"), b, 0o644)
		}
	}
	t.Logf("console log: %s", path)
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
