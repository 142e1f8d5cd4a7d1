package exporter

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/openshift/insights-runtime-extractor/internal/result"
	"github.com/openshift/insights-runtime-extractor/internal/trigger"
)

// MetricLines returns the sample lines of the named metric families (a
// histogram's _bucket, _sum and _count included) from h's /metrics, in the
// text format's order, so that tests can assert exact values.
func MetricLines(t testing.TB, h http.Handler, names ...string) string {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", MetricsPath, nil))
	if rec.Code != 200 {
		t.Fatalf("%s: status %d", MetricsPath, rec.Code)
	}
	var out []string
	for line := range strings.Lines(rec.Body.String()) {
		if strings.HasPrefix(line, "#") {
			continue
		}
		name, _, _ := strings.Cut(line, " ")
		name, _, _ = strings.Cut(name, "{")
		for _, n := range names {
			if name == n || name == n+"_bucket" || name == n+"_sum" || name == n+"_count" {
				out = append(out, line)
			}
		}
	}
	return strings.Join(out, "")
}

func TestHealthz(t *testing.T) {
	h := NewHandler(Options{Extractor: &fakeExtractor{t: t}, Ready: func(context.Context) error { return errors.New("down") }})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", HealthzPath, nil))
	// Alive even when the extractor is not: restarting the exporter would not help.
	if rec.Code != 200 || rec.Body.String() != "ok\n" || rec.Header().Get("Content-Type") != "text/plain; charset=utf-8" {
		t.Errorf("got %d %q %q", rec.Code, rec.Body, rec.Header().Get("Content-Type"))
	}
}

// TestReadyz probes a real loopback listener, up and down, as
// *trigger.Client does for the real exporter, and proves that the probe
// sends no request: the server reads a reset, not an empty request (which
// would be a scan of every container).
func TestReadyz(t *testing.T) {
	up, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer up.Close()
	reads := make(chan error, 16)
	go func() {
		for {
			conn, err := up.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				conn.SetReadDeadline(time.Now().Add(5 * time.Second))
				data, err := io.ReadAll(conn)
				if len(data) > 0 {
					err = fmt.Errorf("probe sent %q", data)
				}
				reads <- err
			}()
		}
	}()
	down, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	downAddr := down.Addr().String()
	down.Close()

	tests := []struct {
		name       string
		addr       string
		wantStatus int
		wantBody   string
	}{
		{"extractor up", up.Addr().String(), 200, "ok\n"},
		{"extractor down", downAddr, 503, "extractor not reachable: connect to extractor " + downAddr + ": dial tcp " + downAddr + ": connect: connection refused\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := NewHandler(Options{Extractor: &trigger.Client{Address: tt.addr}, DataDir: t.TempDir()})
			web := httptest.NewServer(h)
			defer web.Close()
			resp, err := http.Get(web.URL + ReadyzPath)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus || string(body) != tt.wantBody {
				t.Errorf("got %d %q, want %d %q", resp.StatusCode, body, tt.wantStatus, tt.wantBody)
			}
			if tt.wantStatus == 200 {
				if err := <-reads; !errors.Is(err, syscall.ECONNRESET) {
					t.Errorf("the listener read %v, want a reset before any byte", err)
				}
			}
		})
	}
}

// TestMetricsCountOutcomes: each request lands under one outcome; only the
// successful scans are timed; the containers of an answer are counted.
func TestMetricsCountOutcomes(t *testing.T) {
	dataDir := t.TempDir()
	requests := []struct {
		method, body string
		fake         fakeConfig
		timeout      time.Duration
		canceled     bool // the client is gone
	}{
		{"GET", "", fakeConfig{fixture: "clean"}, 0, false},
		{"POST", `{"containerIds": []}`, fakeConfig{fixture: "clean"}, 0, false},
		{"POST", `{`, fakeConfig{}, 0, false},
		{"PUT", "", fakeConfig{}, 0, false},
		{"GET", "", fakeConfig{err: &trigger.ServerError{Message: trigger.BusyPrefix + "2 requests already waiting"}}, 0, false},
		{"GET", "", fakeConfig{err: &trigger.ServerError{Message: trigger.TimeoutPrefix + "after 75s and was killed"}}, 0, false},
		{"GET", "", fakeConfig{block: true}, 20 * time.Millisecond, false},
		{"GET", "", fakeConfig{err: errors.New("connection refused")}, 0, false},
		{"GET", "", fakeConfig{answer: "/etc"}, 0, false},
		{"GET", "", fakeConfig{block: true}, 0, true},
	}
	m := NewMetrics()
	for _, r := range requests {
		fake := &fakeExtractor{fakeConfig: r.fake, t: t, dataDir: dataDir}
		h := NewHandler(Options{Extractor: fake, DataDir: dataDir, Timeout: r.timeout, Metrics: m})
		req := httptest.NewRequest(r.method, Path, strings.NewReader(r.body))
		if r.canceled {
			ctx, cancel := context.WithCancel(req.Context())
			cancel()
			req = req.WithContext(ctx)
		}
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
	h := NewHandler(Options{Extractor: &fakeExtractor{t: t}, Metrics: m})
	want := `insights_runtime_extractor_scan_duration_seconds_count 2
insights_runtime_extractor_scans_total{outcome="bad_request"} 2
insights_runtime_extractor_scans_total{outcome="canceled"} 1
insights_runtime_extractor_scans_total{outcome="error"} 2
insights_runtime_extractor_scans_total{outcome="ok"} 2
insights_runtime_extractor_scans_total{outcome="queue_full"} 1
insights_runtime_extractor_scans_total{outcome="timeout"} 2
`
	if got := MetricLines(t, h, metricPrefix+"scans_total", metricPrefix+"scan_duration_seconds_count"); got != want {
		t.Errorf("metrics:\n%s\nwant\n%s", got, want)
	}
	// The clean fixture holds 4 containers; it carries no summary, so the
	// extractor's figures stay at 0.
	want = `insights_runtime_extractor_containers_reported_total 8
insights_runtime_extractor_containers_seen_total 0
`
	if got := MetricLines(t, h, metricPrefix+"containers_reported_total", metricPrefix+"containers_seen_total"); got != want {
		t.Errorf("metrics:\n%s\nwant\n%s", got, want)
	}
}

// summaryExtractor is a fakeExtractor whose results carry a summary file.
type summaryExtractor struct {
	*fakeExtractor
	summary string
}

func (s summaryExtractor) Extract(ctx context.Context, ids []string) (string, error) {
	dir, err := s.fakeExtractor.Extract(ctx, ids)
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, result.SummaryFile), []byte(s.summary), 0o644)
	}
	return dir, err
}

// TestMetricsFromTheSummary: the coordinator's figures become metrics; a
// hostile summary cannot grow the label values without bound.
func TestMetricsFromTheSummary(t *testing.T) {
	dataDir := t.TempDir()
	var hostile strings.Builder
	for i := range result.MaxSummaryLabels {
		fmt.Fprintf(&hostile, "fingerprint-runs.f%02d=1\n", i)
	}
	tests := []struct {
		name    string
		scans   []string // one summary file per scan
		metrics []string
		want    string
	}{
		{
			name: "every figure",
			scans: []string{"cache-hits=2\ncontainers-failed.container_gone=1\ncontainers-listed=5\ncontainers-unknown=1\n" +
				"fingerprint-failures.java=1\nfingerprint-runs.java=3\nfingerprint-runs.os=4\nfingerprint-timeouts.java=1\n"},
			metrics: []string{"cache_hits_total", "containers_seen_total", "containers_unknown_total", "containers_failed_total",
				"fingerprint_runs_total", "fingerprint_failures_total", "fingerprint_timeouts_total"},
			want: `insights_runtime_extractor_cache_hits_total 2
insights_runtime_extractor_containers_failed_total{reason="container_gone"} 1
insights_runtime_extractor_containers_seen_total 5
insights_runtime_extractor_containers_unknown_total 1
insights_runtime_extractor_fingerprint_failures_total{fingerprint="java"} 1
insights_runtime_extractor_fingerprint_failures_total{fingerprint="os"} 0
insights_runtime_extractor_fingerprint_runs_total{fingerprint="java"} 3
insights_runtime_extractor_fingerprint_runs_total{fingerprint="os"} 4
insights_runtime_extractor_fingerprint_timeouts_total{fingerprint="java"} 1
insights_runtime_extractor_fingerprint_timeouts_total{fingerprint="os"} 0
`,
		},
		{
			name: "a scan whose budget ran out answers and says how many containers it left out",
			scans: []string{
				"containers-failed.scan_timeout=3\ncontainers-failed.container_timeout=1\ncontainers-listed=9\ncontainers-scanned=5\nscan-budget-exhausted=1\n",
				"containers-failed.backed_off=1\ncontainers-listed=9\ncontainers-scanned=8\nscan-budget-exhausted=0\n",
			},
			metrics: []string{"scans_budget_exhausted_total", "containers_failed_total"},
			want: `insights_runtime_extractor_containers_failed_total{reason="backed_off"} 1
insights_runtime_extractor_containers_failed_total{reason="container_timeout"} 1
insights_runtime_extractor_containers_failed_total{reason="scan_timeout"} 3
insights_runtime_extractor_scans_budget_exhausted_total 1
`,
		},
		{
			name:    "scans add up; junk lines are dropped",
			scans:   []string{"containers-listed=5\n", "containers-listed=-3\ncontainers-listed=x\n\x00\n", "containers-listed=2\n"},
			metrics: []string{"containers_seen_total"},
			want:    "insights_runtime_extractor_containers_seen_total 7\n",
		},
		{
			name:    "label values beyond the bound are counted as other",
			scans:   []string{hostile.String(), strings.ReplaceAll(hostile.String(), ".f", ".g"), strings.ReplaceAll(hostile.String(), ".f", ".h")},
			metrics: []string{"fingerprint_runs_total"},
			want: func() string {
				var b strings.Builder
				for i := range maxLabelValues {
					fmt.Fprintf(&b, "insights_runtime_extractor_fingerprint_runs_total{fingerprint=%q} 1\n", fmt.Sprintf("%c%02d", "fg"[i/result.MaxSummaryLabels], i%result.MaxSummaryLabels))
				}
				fmt.Fprintf(&b, "insights_runtime_extractor_fingerprint_runs_total{fingerprint=\"other\"} %d\n", 3*result.MaxSummaryLabels-maxLabelValues)
				return b.String()
			}(),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := NewMetrics()
			for _, summary := range tt.scans {
				fake := summaryExtractor{&fakeExtractor{fakeConfig: fakeConfig{fixture: "clean"}, t: t, dataDir: dataDir}, summary}
				rec := httptest.NewRecorder()
				NewHandler(Options{Extractor: fake, DataDir: dataDir, Metrics: m}).ServeHTTP(rec, httptest.NewRequest("GET", Path, nil))
				if rec.Code != 200 || rec.Body.String() != golden(t, "clean.hash") {
					t.Fatalf("a summary changed the answer: %d %s", rec.Code, rec.Body)
				}
			}
			var names []string
			for _, n := range tt.metrics {
				names = append(names, metricPrefix+n)
			}
			if got := MetricLines(t, NewHandler(Options{Metrics: m}), names...); got != tt.want {
				t.Errorf("metrics:\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

// TestCleanupFailureIsCounted: a result the exporter cannot delete is
// counted (and the answer stands).
func TestCleanupFailureIsCounted(t *testing.T) {
	dataDir := t.TempDir()
	m := NewMetrics()
	fake := &fakeExtractor{fakeConfig: fakeConfig{fixture: "clean"}, t: t, dataDir: dataDir}
	h := NewHandler(Options{Extractor: fake, DataDir: dataDir, Metrics: m,
		removeAll: func(string) error { return syscall.EROFS }})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", Path, nil))
	if rec.Code != 200 {
		t.Fatalf("status %d", rec.Code)
	}
	if got, want := MetricLines(t, h, metricPrefix+"result_cleanup_failures_total"), "insights_runtime_extractor_result_cleanup_failures_total 1\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestBuildInfo(t *testing.T) {
	h := NewHandler(Options{})
	version, _, revision := buildInfo()
	want := fmt.Sprintf("insights_runtime_extractor_build_info{goversion=%q,revision=%q,version=%q} 1\n", runtime.Version(), revision, version)
	if got := MetricLines(t, h, metricPrefix+"build_info"); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
