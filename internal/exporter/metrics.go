package exporter

import (
	"net/http"
	"runtime"
	"runtime/debug"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/openshift/insights-runtime-extractor/internal/result"
)

// MetricsPath serves the metrics in the Prometheus text format.
const MetricsPath = "/metrics"

// metricPrefix starts the name of every metric of this product.
const metricPrefix = "insights_runtime_extractor_"

// Outcomes of a request to Path: the outcome label of the scans metric.
const (
	OutcomeOK         = "ok"          // answered 200
	OutcomeError      = "error"       // the extraction failed: 500
	OutcomeQueueFull  = "queue_full"  // the extractor refused it: 503
	OutcomeTimeout    = "timeout"     // the exporter's or the coordinator's limit ran out: 500
	OutcomeBadRequest = "bad_request" // refused before any extraction: 400, 405, 413
	OutcomeCanceled   = "canceled"    // the client left before the answer
)

// maxLabelValues bounds the distinct failure reasons and fingerprint names
// the metrics ever hold: they come from the result directory, which the
// exporter does not trust. Values beyond it are counted under otherLabel.
const (
	maxLabelValues = 64
	otherLabel     = "other"
)

// Metrics are the exporter's Prometheus metrics, in a registry of their own
// (never the global one, so that two handlers in one process do not clash).
// The extractor's figures arrive with each result, in its scan summary.
type Metrics struct {
	reg *prometheus.Registry

	scans              *prometheus.CounterVec
	scanDuration       prometheus.Histogram
	containersSeen     prometheus.Counter
	containersReported prometheus.Counter
	containersUnknown  prometheus.Counter
	containersFailed   *prometheus.CounterVec
	fingerprintRuns    *prometheus.CounterVec
	fingerprintFails   *prometheus.CounterVec
	fingerprintTimeout *prometheus.CounterVec
	cacheHits          prometheus.Counter
	budgetExhausted    prometheus.Counter
	cleanupFailures    prometheus.Counter

	mu      sync.Mutex
	reasons labelSet
	fprs    labelSet
}

// NewMetrics makes the metrics and their registry, with the Go runtime and
// process collectors and build_info.
func NewMetrics() *Metrics {
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: metricPrefix + name, Help: help})
	}
	counterVec := func(name, help, label string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: metricPrefix + name, Help: help}, []string{label})
	}
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		scans: counterVec("scans_total",
			"Requests to "+Path+" by outcome: ok, error, queue_full, timeout, bad_request, canceled.", "outcome"),
		scanDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: metricPrefix + "scan_duration_seconds",
			Help: "Wall time of the successful scans, from the request to the answer.",
			// From a cached repeat scan (~0.1 s) to the exporter's default limit (90 s).
			Buckets: []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 90},
		}),
		containersSeen:     counter("containers_seen_total", "Running containers the container runtime listed, summed over scans."),
		containersReported: counter("containers_reported_total", "Containers reported in the answers."),
		containersUnknown:  counter("containers_unknown_total", "Requested container ids that matched no running container."),
		containersFailed: counterVec("containers_failed_total",
			"Requested containers left out of an answer, by reason.", "reason"),
		fingerprintRuns: counterVec("fingerprint_runs_total",
			"Sandboxed fingerprint runs, by fingerprint.", "fingerprint"),
		fingerprintFails: counterVec("fingerprint_failures_total",
			"Fingerprint runs that yielded nothing (timeouts included), by fingerprint.", "fingerprint"),
		fingerprintTimeout: counterVec("fingerprint_timeouts_total",
			"Fingerprint runs killed at their time limit, by fingerprint.", "fingerprint"),
		cacheHits: counter("cache_hits_total", "Containers answered from the extractor's scan cache, without a fingerprint run."),
		budgetExhausted: counter("scans_budget_exhausted_total",
			"Answered scans whose budget (the coordinator's -scan-timeout) ran out before every requested container was finished; "+
				"containers_failed_total{reason=\"scan_timeout\"} counts the containers left out."),
		cleanupFailures: counter("result_cleanup_failures_total",
			"Result directories the exporter could not delete after answering."),
	}
	for _, o := range []string{OutcomeOK, OutcomeError, OutcomeQueueFull, OutcomeTimeout, OutcomeBadRequest, OutcomeCanceled} {
		m.scans.WithLabelValues(o) // every outcome shows, at 0, from the start
	}
	version, goVersion, revision := buildInfo()
	info := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: metricPrefix + "build_info",
		Help: "Always 1; the labels tell the exporter's version, Go version and VCS revision.",
	}, []string{"version", "goversion", "revision"})
	info.WithLabelValues(version, goVersion, revision).Set(1)
	m.reg.MustRegister(m.scans, m.scanDuration, m.containersSeen, m.containersReported, m.containersUnknown,
		m.containersFailed, m.fingerprintRuns, m.fingerprintFails, m.fingerprintTimeout, m.cacheHits,
		m.budgetExhausted, m.cleanupFailures, info,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Registry is where the metrics live, for tests and for callers that add their own.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

func (m *Metrics) scanDone(outcome string) { m.scans.WithLabelValues(outcome).Inc() }

// addSummary adds the figures of one scan, as its coordinator wrote them.
func (m *Metrics) addSummary(s result.Summary) {
	m.containersSeen.Add(float64(s.Listed))
	m.containersUnknown.Add(float64(s.Unknown))
	m.cacheHits.Add(float64(s.CacheHits))
	if s.BudgetExhausted {
		m.budgetExhausted.Inc()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for reason, n := range s.Failed {
		m.containersFailed.WithLabelValues(m.reasons.value(reason)).Add(float64(n))
	}
	for name, c := range s.Fingerprints {
		name = m.fprs.value(name)
		m.fingerprintRuns.WithLabelValues(name).Add(float64(c.Runs))
		m.fingerprintFails.WithLabelValues(name).Add(float64(c.Failures))
		m.fingerprintTimeout.WithLabelValues(name).Add(float64(c.Timeouts))
	}
}

// labelSet admits at most maxLabelValues distinct values; later ones become
// otherLabel.
type labelSet map[string]bool

func (l *labelSet) value(v string) string {
	if *l == nil {
		*l = labelSet{}
	}
	if (*l)[v] {
		return v
	}
	if len(*l) >= maxLabelValues {
		return otherLabel
	}
	(*l)[v] = true
	return v
}

// buildInfo tells what was built, from the binary's own build information:
// "(devel)" and "unknown" where the build recorded nothing.
func buildInfo() (version, goVersion, revision string) {
	version, goVersion, revision = "unknown", runtime.Version(), "unknown"
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return version, goVersion, revision
	}
	if bi.Main.Version != "" {
		version = bi.Main.Version
	}
	if bi.GoVersion != "" {
		goVersion = bi.GoVersion
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && s.Value != "" {
			revision = s.Value
		}
	}
	return version, goVersion, revision
}
