package node

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/openshift/insights-runtime-extractor/test/localnode"
)

// A container that stops (SIGSTOP) every fingerprint run in it, as any
// container can: its fingerprints run in its pid namespace under its uid.
// Before the budgets one such container cost every fingerprint's full time
// limit on every scan, and a few of them blanked the whole node (HTTP 500).
var _ = Describe("A container that stops its fingerprints", Label("extraction", "budget"), Ordered, func() {
	var (
		pod    *localnode.Pod
		config string
	)

	BeforeAll(func(ctx SpecContext) {
		// The shipped rules plus one naming the stopper, so that a fingerprint
		// asks for its --version: it stops that fingerprint for certain, where
		// a fingerprint done in a few milliseconds may escape its watch.
		base, err := os.ReadFile(filepath.Join(state.env.RepoDir, "config.toml"))
		Expect(err).NotTo(HaveOccurred())
		config = filepath.Join(state.env.WorkDir, "config-stopper.toml")
		rule := "\n[[fingerprints.version-executables]]\nprocess-names = [\"stopper\"]\nruntime-kind-name = \"Stopper\"\n"
		Expect(os.WriteFile(config, append(base, rule...), 0o644)).To(Succeed())

		pod, err = state.env.Node.RunPod(ctx, localnode.PodSpec{Name: "stop-fingerprint", Namespace: "hostile",
			Containers: []localnode.ContainerSpec{state.env.Images.Sample("stop-fingerprint").Container("stopper")}})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(func(ctx SpecContext) { Expect(state.env.Node.RemovePod(ctx, pod)).To(Succeed()) })
	})

	// The scan's budget (8s) runs out while the stopped fingerprint waits for
	// its own limit (10s) within its container's budget (30s): the answer is
	// still 200, with every other container exactly, the stopper absent and
	// counted. The others were scanned by earlier requests on this DaemonSet
	// (as many as the budget takes: each answers what it finished and caches
	// it), so that they are finished however slow the machine is; two
	// workers, so that the containers never cached (a scratch image has no
	// os-release to find) are scanned while the stopper holds the other.
	It("leaves only itself out when the scan's budget runs out", func(ctx SpecContext) {
		ds, err := startDaemonSet(ctx, "daemonset-budget", config,
			"-scan-timeout", "8s", "-container-timeout", "30s", "-concurrency", "2")
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(func() { Expect(ds.Stop()).To(Succeed()) })
		clear := false

		var others []string
		for _, p := range state.pods {
			for _, c := range p.Containers {
				others = append(others, c.ID)
			}
		}
		warm := false
		for range 10 {
			before := metric(ctx, ds, "scans_budget_exhausted_total")
			status, body, err := ds.GatherIDs(ctx, &clear, others)
			Expect(err).NotTo(HaveOccurred())
			Expect(status).To(Equal(http.StatusOK), "%s\nextractor_server: %s", body, ds.Log("extractor_server"))
			if metric(ctx, ds, "scans_budget_exhausted_total") == before {
				warm = true
				break
			}
		}
		Expect(warm).To(BeTrue(), "ten scans of the others never finished within their budget")
		exhausted := metric(ctx, ds, "scans_budget_exhausted_total")
		failed := metric(ctx, ds, `containers_failed_total{reason="scan_timeout"}`)

		status, body, err := ds.Gather(ctx, &clear)
		Expect(err).NotTo(HaveOccurred())
		Expect(status).To(Equal(http.StatusOK), "%s\nextractor_server: %s", body, ds.Log("extractor_server"))
		ok, msg := jsonMismatch(body, state.want, ds.Log("extractor_server"))
		Expect(ok).To(BeTrue(), msg)
		Expect(metric(ctx, ds, `containers_failed_total{reason="scan_timeout"}`)-failed).To(Equal(1.0), ds.Log("extractor_server"))
		Expect(metric(ctx, ds, "scans_budget_exhausted_total") - exhausted).To(Equal(1.0))
		Expect(ds.Log("extractor_server")).To(ContainSubstring("scan budget exhausted"))
		Eventually(func() []string { return strangers(pod.Containers[0].PID) }).WithTimeout(10*time.Second).Should(BeEmpty(), "the stopped fingerprints were not killed")
	})

	// Its fingerprints use up its container's budget (3s) once: it is left
	// out and the others are exact. The next scan backs off from it: it runs
	// no fingerprint there at all (the others come from the cache), and still
	// answers every other container exactly.
	It("costs its container budget once, then is backed off from", func(ctx SpecContext) {
		ds, err := startDaemonSet(ctx, "daemonset-backoff", config,
			"-container-timeout", "3s")
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(func() { Expect(ds.Stop()).To(Succeed()) })
		clear := false

		status, body, err := ds.Gather(ctx, &clear)
		Expect(err).NotTo(HaveOccurred())
		Expect(status).To(Equal(http.StatusOK), "%s\nextractor_server: %s", body, ds.Log("extractor_server"))
		ok, msg := jsonMismatch(body, state.want, ds.Log("extractor_server"))
		Expect(ok).To(BeTrue(), msg)
		Expect(metric(ctx, ds, `containers_failed_total{reason="container_timeout"}`)).To(Equal(1.0), ds.Log("extractor_server"))
		Expect(metric(ctx, ds, `containers_failed_total{reason="backed_off"}`)).To(BeZero())
		Expect(metric(ctx, ds, "scans_budget_exhausted_total")).To(BeZero())
		runs := metric(ctx, ds, "fingerprint_runs_total")

		status, body, err = ds.Gather(ctx, &clear)
		Expect(err).NotTo(HaveOccurred())
		Expect(status).To(Equal(http.StatusOK), "%s\nextractor_server: %s", body, ds.Log("extractor_server"))
		ok, msg = jsonMismatch(body, state.want, ds.Log("extractor_server"))
		Expect(ok).To(BeTrue(), msg)
		Expect(metric(ctx, ds, `containers_failed_total{reason="backed_off"}`)).To(Equal(1.0), ds.Log("extractor_server"))
		Expect(metric(ctx, ds, `containers_failed_total{reason="container_timeout"}`)).To(Equal(1.0), "the second scan waited for it again")
		Expect(metric(ctx, ds, "fingerprint_runs_total")).To(Equal(runs), "the second scan ran fingerprints")
		Eventually(func() []string { return strangers(pod.Containers[0].PID) }).WithTimeout(10*time.Second).Should(BeEmpty(), "the stopped fingerprints were not killed")
	})
})

// metric reads the exporter's /metrics: the value of the series
// insights_runtime_extractor_<series> (labels as the exposition writes
// them), or the sum over every label of a name given without labels; 0
// when absent.
func metric(ctx context.Context, ds *localnode.DaemonSet, series string) float64 {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, ds.ExporterURL+"/metrics", nil)
	Expect(err).NotTo(HaveOccurred())
	resp, err := http.DefaultClient.Do(req)
	Expect(err).NotTo(HaveOccurred())
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	Expect(err).NotTo(HaveOccurred())
	name := "insights_runtime_extractor_" + series
	sum := 0.0
	sc := bufio.NewScanner(strings.NewReader(string(body)))
	for sc.Scan() {
		line := sc.Text()
		s, v, ok := strings.Cut(line, " ")
		if !ok || strings.HasPrefix(line, "#") {
			continue
		}
		if s == name || (!strings.Contains(series, "{") && strings.HasPrefix(s, name+"{")) {
			f, err := strconv.ParseFloat(v, 64)
			Expect(err).NotTo(HaveOccurred(), line)
			sum += f
		}
	}
	return sum
}

// strangers lists the live processes that share the pid namespace of the
// host pid init, other than init itself: what is left of the fingerprints run
// there. Zombies (left to the container's init to reap) hold nothing.
func strangers(init int) []string {
	var out []string
	for _, pid := range inContainer(init) {
		if p, err := localnode.ReadProc(pid); err == nil && p.State != "Z" {
			out = append(out, strconv.Itoa(pid))
		}
	}
	return out
}
