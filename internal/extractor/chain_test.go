package extractor_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/openshift/insights-runtime-extractor/internal/contract"
	"github.com/openshift/insights-runtime-extractor/internal/exporter"
	"github.com/openshift/insights-runtime-extractor/internal/extractor"
	"github.com/openshift/insights-runtime-extractor/internal/trigger"
)

// chainContainer is what the test coordinator reports for every container.
func chainContainer(hash bool) contract.Finding {
	v := func(s string) string { return s }
	if hash {
		v = contract.Hash
	}
	return contract.Finding{
		OS: v("rhel"), OSVersion: v("8.10"), Kind: v("Java"), KindVersion: v("17.0.13"), KindImplementer: v("Red Hat, Inc."),
		Runtimes: []contract.Runtime{{Name: v("Quarkus"), Version: v("3.15.3.redhat-00002")}},
	}
}

// wantJSON is the exact body for containers given as namespace, pod, key triples.
func wantJSON(t testing.TB, hash bool, containers ...[3]string) string {
	t.Helper()
	rep := exporter.Report{}
	for _, c := range containers {
		if rep[c[0]] == nil {
			rep[c[0]] = map[string]map[string]contract.Finding{}
		}
		if rep[c[0]][c[1]] == nil {
			rep[c[0]][c[1]] = map[string]contract.Finding{}
		}
		rep[c[0]][c[1]][c[2]] = chainContainer(hash)
	}
	data, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	return string(data) + "\n"
}

// every container of the test coordinator, as the exporter must show them.
var allContainers = [][3]string{
	{"ns-0", "pod-a1a1a1a1", "containerd://" + strings.Repeat("a1", 32)},
	{"ns-1", "pod-b2b2b2b2", "containerd://" + strings.Repeat("b2", 32)},
	{"ns-0", "pod-c3c3c3c3", "cri-o://" + strings.Repeat("c3", 32)},
}

// startChain starts extractor_server (in process, real TCP, real test
// coordinator) and the exporter over real HTTP.
func startChain(t testing.TB, env map[string]string, timeout time.Duration) (*testServer, string) {
	return startChainWith(t, env, nil, timeout)
}

// startChainWith is startChain with the server's config tweaked.
func startChainWith(t testing.TB, env map[string]string, tweak func(*extractor.Config), timeout time.Duration) (*testServer, string) {
	ts := startServer(t, env, tweak)
	h := exporter.NewHandler(exporter.Options{
		Extractor: &trigger.Client{Address: ts.addr},
		DataDir:   ts.dataDir,
		Timeout:   timeout,
	})
	web := httptest.NewServer(h)
	t.Cleanup(web.Close)
	return ts, web.URL + exporter.Path
}

func httpDo(t testing.TB, method, url, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	return resp.StatusCode, string(data)
}

// TestChain: exporter → extractor_server → test coordinator → result
// directory → JSON over HTTP.
func TestChain(t *testing.T) {
	ts, url := startChain(t, nil, 0)
	c3 := "cri-o://" + strings.Repeat("c3", 32)
	tests := []struct {
		name, method, query, body string
		wantStatus                int
		wantBody                  string
		wantArg                   string // the coordinator's positional argument
	}{
		{"GET, clear text", "GET", "?hash=false", "", 200, wantJSON(t, false, allContainers...), ""},
		{"GET, hashed by default", "GET", "", "", 200, wantJSON(t, true, allContainers...), ""},
		{"POST every container", "POST", "?hash=false", `{"containerIds": []}`, 200, wantJSON(t, false, allContainers...), ""},
		{"POST two ids, one a prefix", "POST", "?hash=false", `{"containerIds": ["` + c3 + `", "B2B2b2"]}`, 200,
			wantJSON(t, false, [3]string{"ns-0", "pod-c3c3c3c3", c3}, [3]string{"ns-1", "pod-b2b2b2", "containerd://b2b2b2"}),
			c3 + ",b2b2b2"},
		{"POST invalid JSON", "POST", "", `{`, 400, exporter.BodyInvalidJSON, "-"},
		{"POST without containerIds", "POST", "", `{}`, 400, exporter.BodyContainerIDsNeed, "-"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(ts.runs(t))
			status, body := httpDo(t, tt.method, url+tt.query, tt.body)
			if status != tt.wantStatus || body != tt.wantBody {
				t.Errorf("got %d %s\nwant %d %s", status, body, tt.wantStatus, tt.wantBody)
			}
			runs := ts.runs(t)
			if tt.wantArg == "-" {
				if len(runs) != before {
					t.Errorf("a refused request ran the coordinator")
				}
				return
			}
			if len(runs) != before+1 {
				t.Fatalf("%d runs, want %d", len(runs), before+1)
			}
			last := runs[len(runs)-1]
			// Without ids, the flags end with the last one the server passes.
			if got := last[len(last)-1]; (tt.wantArg == "" && got != testFingerprints) || (tt.wantArg != "" && got != tt.wantArg) {
				t.Errorf("coordinator args %q, want the ids %q last", last, tt.wantArg)
			}
			if dirs := ts.outDirs(t); dirs != nil {
				t.Errorf("the exporter left %q", dirs)
			}
		})
	}
}

func TestChainFailures(t *testing.T) {
	t.Run("coordinator fails", func(t *testing.T) {
		_, url := startChain(t, map[string]string{"TESTCOORDINATOR_MODE": "fail"}, 0)
		status, body := httpDo(t, "GET", url, "")
		want := `{"error": "extraction failed: coordinator failed: exit status 1: testcoordinator: cannot reach the container runtime"}` + "\n"
		if status != 500 || body != want {
			t.Errorf("got %d %s, want 500 %s", status, body, want)
		}
	})
	t.Run("exporter timeout kills the coordinator", func(t *testing.T) {
		ts, url := startChain(t, map[string]string{"TESTCOORDINATOR_MODE": "hang"}, 800*time.Millisecond)
		status, body := httpDo(t, "GET", url, "")
		if want := `{"error": "extraction timed out after 800ms"}` + "\n"; status != 500 || body != want {
			t.Errorf("got %d %s, want 500 %s", status, body, want)
		}
		child := childPID(t, ts)
		waitFor(t, 5*time.Second, "the coordinator's child to be killed", func() bool { return processGone(child) })
		waitFor(t, 5*time.Second, "the result of the killed run to be removed", func() bool { return ts.outDirs(t) == nil })
	})
	t.Run("the coordinator's message reaches the client whole", func(t *testing.T) {
		msg := "coordinator: container runtime at unix:///run/containerd/containerd.sock: container runtime socket missing: " +
			"no socket at /run/containerd/containerd.sock (is the runtime running, is its socket mounted?)"
		_, url := startChain(t, map[string]string{"TESTCOORDINATOR_MODE": "fail", "TESTCOORDINATOR_MESSAGE": msg}, 0)
		status, body := httpDo(t, "GET", url, "")
		want := `{"error": "extraction failed: coordinator failed: exit status 1: testcoordinator: ` + msg + `"}` + "\n"
		if status != 500 || body != want {
			t.Errorf("got %d %s, want 500 %s", status, body, want)
		}
	})
	t.Run("extractor not running", func(t *testing.T) {
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		addr := ln.Addr().String()
		ln.Close()
		// The client waits for a server that may still be starting: for the request's budget.
		h := exporter.NewHandler(exporter.Options{Extractor: &trigger.Client{Address: addr}, DataDir: t.TempDir(), Timeout: time.Second})
		web := httptest.NewServer(h)
		defer web.Close()
		status, body := httpDo(t, "GET", web.URL+exporter.Path, "")
		want := fmt.Sprintf(`{"error": "extraction failed: connect to extractor %s: dial tcp %s: connect: connection refused"}`+"\n", addr, addr)
		if status != 500 || body != want {
			t.Errorf("got %d %s, want 500 %s", status, body, want)
		}
	})
}

// BenchmarkChainGET measures requests per second of the whole chain with
// the trivial test coordinator (three containers, no scan).
func BenchmarkChainGET(b *testing.B) {
	ts, url := startChain(b, nil, 0)
	want := wantJSON(b, true, allContainers...)
	n := 0
	for b.Loop() {
		if status, body := httpDo(b, "GET", url, ""); status != 200 || body != want {
			b.Fatalf("got %d %s", status, body)
		}
		n++
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "req/s")
	if dirs := ts.outDirs(b); dirs != nil {
		b.Errorf("left %d result dirs", len(dirs))
	}
}

// httpGetText fetches a plain-text endpoint (health, metrics) of the exporter.
func httpGetText(t testing.TB, url string) (int, http.Header, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, string(data)
}

// metricLines returns the exporter's sample lines of the named metrics
// (labels included, "# HELP" and "# TYPE" left out), in exposition order.
func metricLines(t testing.TB, base string, names ...string) string {
	t.Helper()
	status, _, body := httpGetText(t, base+exporter.MetricsPath)
	if status != 200 {
		t.Fatalf("%s: status %d", exporter.MetricsPath, status)
	}
	var out strings.Builder
	for line := range strings.Lines(body) {
		name, _, _ := strings.Cut(line, " ")
		name, _, _ = strings.Cut(name, "{")
		if slices.Contains(names, name) {
			out.WriteString(line)
		}
	}
	return out.String()
}

// TestChainMetrics: the coordinator's figures reach /metrics with the
// results, over the whole chain, and add up over scans; a result without a
// summary (an older coordinator) is answered all the same.
func TestChainMetrics(t *testing.T) {
	ts, url := startChain(t, nil, 0)
	base := strings.TrimSuffix(url, exporter.Path)
	if status, body := httpDo(t, "GET", url+"?hash=false", ""); status != 200 || body != wantJSON(t, false, allContainers...) {
		t.Fatalf("GET: %d %s", status, body)
	}
	c3 := "cri-o://" + strings.Repeat("c3", 32)
	if status, _ := httpDo(t, "POST", url, `{"containerIds": ["`+c3+`", "b2b2b2"]}`); status != 200 {
		t.Fatalf("POST: %d", status)
	}
	// The test coordinator's summary of n containers: listed 4, failed 1
	// (container_gone), 1 cache hit, os and java run n times, java timed
	// out once. Scans of 3 and 2 containers:
	want := `insights_runtime_extractor_cache_hits_total 2
insights_runtime_extractor_containers_failed_total{reason="container_gone"} 2
insights_runtime_extractor_containers_reported_total 5
insights_runtime_extractor_containers_seen_total 8
insights_runtime_extractor_containers_unknown_total 0
insights_runtime_extractor_fingerprint_failures_total{fingerprint="java"} 2
insights_runtime_extractor_fingerprint_failures_total{fingerprint="os"} 0
insights_runtime_extractor_fingerprint_runs_total{fingerprint="java"} 5
insights_runtime_extractor_fingerprint_runs_total{fingerprint="os"} 5
insights_runtime_extractor_fingerprint_timeouts_total{fingerprint="java"} 2
insights_runtime_extractor_fingerprint_timeouts_total{fingerprint="os"} 0
insights_runtime_extractor_result_cleanup_failures_total 0
insights_runtime_extractor_scan_duration_seconds_count 2
insights_runtime_extractor_scans_total{outcome="bad_request"} 0
insights_runtime_extractor_scans_total{outcome="canceled"} 0
insights_runtime_extractor_scans_total{outcome="error"} 0
insights_runtime_extractor_scans_total{outcome="ok"} 2
insights_runtime_extractor_scans_total{outcome="queue_full"} 0
insights_runtime_extractor_scans_total{outcome="timeout"} 0
`
	names := []string{}
	for _, n := range []string{"cache_hits_total", "containers_failed_total", "containers_reported_total", "containers_seen_total",
		"containers_unknown_total", "fingerprint_failures_total", "fingerprint_runs_total", "fingerprint_timeouts_total",
		"result_cleanup_failures_total", "scan_duration_seconds_count", "scans_total"} {
		names = append(names, "insights_runtime_extractor_"+n)
	}
	if got := metricLines(t, base, names...); got != want {
		t.Errorf("metrics:\n%s\nwant\n%s", got, want)
	}
	if dirs := ts.outDirs(t); dirs != nil {
		t.Errorf("the exporter left %q", dirs)
	}

	t.Run("a result without a summary", func(t *testing.T) {
		_, url := startChain(t, map[string]string{"TESTCOORDINATOR_SUMMARY": "none"}, 0)
		base := strings.TrimSuffix(url, exporter.Path)
		if status, body := httpDo(t, "GET", url, ""); status != 200 || body != wantJSON(t, true, allContainers...) {
			t.Fatalf("GET: %d %s", status, body)
		}
		want := "insights_runtime_extractor_containers_reported_total 3\ninsights_runtime_extractor_containers_seen_total 0\n"
		if got := metricLines(t, base, "insights_runtime_extractor_containers_reported_total", "insights_runtime_extractor_containers_seen_total"); got != want {
			t.Errorf("metrics:\n%s\nwant\n%s", got, want)
		}
	})
}

// TestChainQueueFull: when the extractor's queue is full the client gets
// 503 with Retry-After and a JSON error, not 500; the queued ones are served.
func TestChainQueueFull(t *testing.T) {
	ts, url := startChainWith(t, map[string]string{"TESTCOORDINATOR_SLEEP": "1500ms"}, func(c *extractor.Config) { c.MaxQueue = 1 }, 0)
	base := strings.TrimSuffix(url, exporter.Path)
	statuses := make(chan int, 2)
	go func() { s, _ := httpDo(t, "GET", url, ""); statuses <- s }()
	waitFor(t, 5*time.Second, "the first coordinator to start", func() bool { return len(ts.runs(t)) == 1 })
	go func() { s, _ := httpDo(t, "GET", url, ""); statuses <- s }()
	waitFor(t, 5*time.Second, "one waiting request", func() bool { return extractor.Waiting(ts.srv) == 1 })

	req, _ := http.NewRequest("GET", url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	want := `{"error": "extraction refused: busy: 1 requests already waiting"}` + "\n"
	if resp.StatusCode != 503 || string(body) != want || resp.Header.Get("Retry-After") != "10" || resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("got %d %s (Retry-After %q, Content-Type %q), want 503 %s with Retry-After 10",
			resp.StatusCode, body, resp.Header.Get("Retry-After"), resp.Header.Get("Content-Type"), want)
	}
	for range 2 {
		if s := <-statuses; s != 200 {
			t.Errorf("a queued request got %d", s)
		}
	}
	wantMetrics := `insights_runtime_extractor_scans_total{outcome="bad_request"} 0
insights_runtime_extractor_scans_total{outcome="canceled"} 0
insights_runtime_extractor_scans_total{outcome="error"} 0
insights_runtime_extractor_scans_total{outcome="ok"} 2
insights_runtime_extractor_scans_total{outcome="queue_full"} 1
insights_runtime_extractor_scans_total{outcome="timeout"} 0
`
	if got := metricLines(t, base, "insights_runtime_extractor_scans_total"); got != wantMetrics {
		t.Errorf("metrics:\n%s\nwant\n%s", got, wantMetrics)
	}
}

// TestChainHealth: /healthz answers; /readyz connects to the real
// extractor_server without making it run a coordinator or log a bad request.
func TestChainHealth(t *testing.T) {
	ts, url := startChain(t, nil, 0)
	base := strings.TrimSuffix(url, exporter.Path)
	for _, path := range []string{exporter.HealthzPath, exporter.ReadyzPath, exporter.ReadyzPath, exporter.ReadyzPath} {
		if status, _, body := httpGetText(t, base+path); status != 200 || body != "ok\n" {
			t.Errorf("%s: %d %q", path, status, body)
		}
	}
	time.Sleep(300 * time.Millisecond) // let the server see the probes
	if runs := ts.runs(t); len(runs) != 0 {
		t.Errorf("readiness probes ran the coordinator %d times", len(runs))
	}
	if log := ts.log.String(); strings.Contains(log, "bad request") || strings.Count(log, "a probe") != 3 {
		t.Errorf("server log, want three quiet probes:\n%s", log)
	}
	ts.stop()
	waitFor(t, 5*time.Second, "readyz to fail once the extractor stopped", func() bool {
		status, _, _ := httpGetText(t, base+exporter.ReadyzPath)
		return status == 503
	})
}
