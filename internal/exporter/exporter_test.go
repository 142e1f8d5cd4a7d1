package exporter

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openshift/insights-runtime-extractor/internal/trigger"
)

// fakeExtractor stands in for extractor_server in handler tests: it copies a
// fixture result directory into the data dir, as a coordinator would have
// written it, and records the ids it was asked for.
type fakeExtractor struct {
	fakeConfig
	t       *testing.T
	dataDir string

	mu    sync.Mutex
	calls [][]string
	dirs  []string
}

func (f *fakeExtractor) Extract(ctx context.Context, ids []string) (string, error) {
	f.mu.Lock()
	f.calls = append(f.calls, ids)
	f.mu.Unlock()
	if f.block {
		<-ctx.Done()
		return "", ctx.Err()
	}
	if f.fixture == "" {
		return f.answer, f.err
	}
	dir, err := os.MkdirTemp(f.dataDir, "out-")
	if err != nil {
		return "", err
	}
	if err := os.CopyFS(dir, os.DirFS(filepath.Join("testdata", "results", f.fixture))); err != nil {
		return "", err
	}
	f.mu.Lock()
	f.dirs = append(f.dirs, dir)
	f.mu.Unlock()
	return dir, nil
}

// fakeConfig is what a fakeExtractor does.
type fakeConfig struct {
	fixture string // copy testdata/results/<fixture>; "" answers answer, err
	answer  string
	err     error
	block   bool // wait for ctx to end
}

// golden returns the exact body expected for testdata/golden/<name>.json:
// compact JSON and a newline.
func golden(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "golden", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, data); err != nil {
		t.Fatal(err)
	}
	return buf.String() + "\n"
}

// addHostileFiles adds to a copied hostile fixture what git cannot hold or
// should not: a file over the 64 KiB bound and symbolic links pointing out.
func addHostileFiles(t *testing.T, dir string) {
	t.Helper()
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "leak.txt"), []byte("runtime-kind=Leaked\nos-release-id=leaked\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(outside, "c"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(outside, "c", "container-info.txt"),
		[]byte("container-id=containerd://eeee\npod-name=leaked\npod-namespace=hostile\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	huge := "os-release-id=rhel\n" + strings.Repeat("A", 70<<10) + "\n"
	if err := os.WriteFile(filepath.Join(dir, "23", "os.txt"), []byte(huge), 0o644); err != nil {
		t.Fatal(err)
	}
	for link, target := range map[string]string{
		"23/runtime-kind.txt":      filepath.Join(outside, "leak.txt"),
		"23/java-fingerprints.txt": filepath.Join(outside, "leak.txt"),
		"24":                       filepath.Join(outside, "c"),
	} {
		if err := os.Symlink(target, filepath.Join(dir, link)); err != nil {
			t.Fatal(err)
		}
	}
}

// hostileExtractor is a fakeExtractor whose copies get addHostileFiles.
type hostileExtractor struct{ *fakeExtractor }

func (h hostileExtractor) Extract(ctx context.Context, ids []string) (string, error) {
	dir, err := h.fakeExtractor.Extract(ctx, ids)
	if err == nil {
		addHostileFiles(h.t, dir)
	}
	return dir, err
}

func TestGoldenResultDirectories(t *testing.T) {
	tests := []struct {
		fixture string
		query   string
		golden  string
	}{
		{"clean", "", "clean.hash"},
		{"clean", "?hash=true", "clean.hash"},
		{"clean", "?hash=false", "clean.clear"},
		{"clean", "?hash=FALSE", "clean.hash"}, // only exactly "false" shows clear text
		{"partial", "?hash=false", "partial.clear"},
		{"partial", "", "partial.hash"},
		{"hostile", "?hash=false", "hostile.clear"},
		{"hostile", "", "hostile.hash"},
	}
	for _, tt := range tests {
		t.Run(tt.fixture+tt.query, func(t *testing.T) {
			dataDir := t.TempDir()
			fake := &fakeExtractor{t: t, dataDir: dataDir, fakeConfig: fakeConfig{fixture: tt.fixture}}
			var ex Extractor = fake
			if tt.fixture == "hostile" {
				ex = hostileExtractor{fake}
			}
			h := NewHandler(Options{Extractor: ex, DataDir: dataDir})
			for _, method := range []string{http.MethodGet, http.MethodPost} {
				var body io.Reader
				if method == http.MethodPost {
					body = strings.NewReader(`{"containerIds": []}`)
				}
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest(method, Path+tt.query, body))
				if rec.Code != http.StatusOK {
					t.Fatalf("%s: status %d, body %s", method, rec.Code, rec.Body)
				}
				if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
					t.Errorf("%s: Content-Type %q", method, ct)
				}
				if got, want := rec.Body.String(), golden(t, tt.golden); got != want {
					t.Errorf("%s: body\n%s\nwant\n%s", method, got, want)
				}
			}
			for _, dir := range fake.dirs {
				if _, err := os.Lstat(dir); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("result dir %s not deleted after answering: %v", dir, err)
				}
			}
			if !reflect.DeepEqual(fake.calls, [][]string{nil, nil}) {
				t.Errorf("GET and POST [] asked for %q, want every container twice", fake.calls)
			}
		})
	}
}

func TestStatusCodesAndBodies(t *testing.T) {
	const notAllowed = `{"error": "method not allowed: use GET or POST"}` + "\n"
	tests := []struct {
		name       string
		method     string
		path       string
		body       string
		fake       fakeConfig
		timeout    time.Duration
		wantStatus int
		wantBody   string // exact; "" means the clean golden (hashed)
		wantAllow  string
		wantRetry  string     // Retry-After
		wantCalls  [][]string // ids the extractor was asked for
	}{
		{name: "GET scans everything", method: "GET", path: Path, fake: fakeConfig{fixture: "clean"}, wantStatus: 200, wantCalls: [][]string{nil}},
		{name: "POST ids are normalized, deduplicated, malformed ones skipped", method: "POST", path: Path,
			body: `{"containerIds": ["CRI-O://ABCDEF", "abcdef0123", "not an id", "abcdef0123", "docker://abc", "containerd://` + strings.Repeat("9", 64) + `"]}`,
			fake: fakeConfig{fixture: "clean"}, wantStatus: 200,
			wantCalls: [][]string{{"cri-o://abcdef", "abcdef0123", "containerd://" + strings.Repeat("9", 64)}}},
		{name: "POST with only malformed ids answers {} without scanning", method: "POST", path: Path,
			body: `{"containerIds": ["", "x", "../../etc"]}`, wantStatus: 200, wantBody: "{}\n"},
		{name: "POST invalid JSON", method: "POST", path: Path, body: `{"containerIds": [`, wantStatus: 400, wantBody: BodyInvalidJSON},
		{name: "POST empty body", method: "POST", path: Path, body: ``, wantStatus: 400, wantBody: BodyInvalidJSON},
		{name: "POST plain text", method: "POST", path: Path, body: `containerIds=abc`, wantStatus: 400, wantBody: BodyInvalidJSON},
		{name: "POST containerIds not an array", method: "POST", path: Path, body: `{"containerIds": "abc"}`, wantStatus: 400, wantBody: BodyInvalidJSON},
		{name: "POST containerIds with a number", method: "POST", path: Path, body: `{"containerIds": [1]}`, wantStatus: 400, wantBody: BodyInvalidJSON},
		{name: "POST trailing garbage", method: "POST", path: Path, body: `{"containerIds": []} {}`, wantStatus: 400, wantBody: BodyInvalidJSON},
		{name: "POST containerIds absent", method: "POST", path: Path, body: `{"ids": ["abc"]}`, wantStatus: 400, wantBody: BodyContainerIDsNeed},
		{name: "POST containerIds null", method: "POST", path: Path, body: `{"containerIds": null}`, wantStatus: 400, wantBody: BodyContainerIDsNeed},
		{name: "POST JSON null", method: "POST", path: Path, body: `null`, wantStatus: 400, wantBody: BodyContainerIDsNeed},
		{name: "POST body over 1 MiB", method: "POST", path: Path, body: `{"containerIds": ["` + strings.Repeat("a", MaxBodyBytes) + `"]}`,
			wantStatus: 413, wantBody: `{"error": "request body larger than 1048576 bytes"}` + "\n"},
		{name: "PUT not allowed", method: "PUT", path: Path, wantStatus: 405, wantBody: notAllowed, wantAllow: "GET, POST"},
		{name: "DELETE not allowed", method: "DELETE", path: Path, wantStatus: 405, wantBody: notAllowed, wantAllow: "GET, POST"},
		{name: "PATCH not allowed", method: "PATCH", path: Path, wantStatus: 405, wantBody: notAllowed, wantAllow: "GET, POST"},
		{name: "HEAD not allowed", method: "HEAD", path: Path, wantStatus: 405, wantBody: notAllowed, wantAllow: "GET, POST"},
		{name: "unknown path", method: "GET", path: "/gather", wantStatus: 404,
			wantBody: `{"error": "not found: the endpoint is /gather_runtime_info"}` + "\n"},
		{name: "extractor error line", method: "GET", path: Path,
			fake:       fakeConfig{err: &trigger.ServerError{Message: "coordinator failed: exit status 1"}},
			wantStatus: 500, wantBody: `{"error": "extraction failed: coordinator failed: exit status 1"}` + "\n", wantCalls: [][]string{nil}},
		{name: "extractor queue full: 503, retry later", method: "GET", path: Path,
			fake:       fakeConfig{err: &trigger.ServerError{Message: trigger.BusyPrefix + "16 requests already waiting"}},
			wantStatus: 503, wantBody: `{"error": "extraction refused: busy: 16 requests already waiting"}` + "\n",
			wantRetry: "10", wantCalls: [][]string{nil}},
		{name: "extractor connections full: 503, retry later", method: "GET", path: Path,
			fake:       fakeConfig{err: &trigger.ServerError{Message: trigger.BusyPrefix + "too many connections"}},
			wantStatus: 503, wantBody: `{"error": "extraction refused: busy: too many connections"}` + "\n",
			wantRetry: "10", wantCalls: [][]string{nil}},
		{name: "a coordinator failure that mentions busy is no full queue", method: "GET", path: Path,
			fake:       fakeConfig{err: &trigger.ServerError{Message: "coordinator failed: exit status 1: busy: device"}},
			wantStatus: 500, wantBody: `{"error": "extraction failed: coordinator failed: exit status 1: busy: device"}` + "\n",
			wantCalls: [][]string{nil}},
		{name: "extractor unreachable", method: "GET", path: Path,
			fake:       fakeConfig{err: errors.New("connect to extractor 127.0.0.1:3000: connection refused")},
			wantStatus: 500, wantBody: `{"error": "extraction failed: connect to extractor 127.0.0.1:3000: connection refused"}` + "\n", wantCalls: [][]string{nil}},
		{name: "extraction over the timeout", method: "GET", path: Path, fake: fakeConfig{block: true}, timeout: 50 * time.Millisecond,
			wantStatus: 500, wantBody: `{"error": "extraction timed out after 50ms"}` + "\n", wantCalls: [][]string{nil}},
		{name: "result path outside the data dir", method: "GET", path: Path, fake: fakeConfig{answer: "/etc"},
			wantStatus: 500, wantBody: `{"error": "extraction failed: invalid result directory"}` + "\n", wantCalls: [][]string{nil}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dataDir := t.TempDir()
			fake := &fakeExtractor{fakeConfig: tt.fake, t: t, dataDir: dataDir}
			h := NewHandler(Options{Extractor: fake, DataDir: dataDir, Timeout: tt.timeout})
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, strings.NewReader(tt.body)))
			if rec.Code != tt.wantStatus {
				t.Errorf("status %d, want %d (body %s)", rec.Code, tt.wantStatus, rec.Body)
			}
			want := tt.wantBody
			if want == "" {
				want = golden(t, "clean.hash")
			}
			if got := rec.Body.String(); got != want {
				t.Errorf("body %q, want %q", got, want)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q, want application/json", ct)
			}
			if got := rec.Header().Get("Allow"); got != tt.wantAllow {
				t.Errorf("Allow %q, want %q", got, tt.wantAllow)
			}
			if got := rec.Header().Get("Retry-After"); got != tt.wantRetry {
				t.Errorf("Retry-After %q, want %q", got, tt.wantRetry)
			}
			if !reflect.DeepEqual(fake.calls, tt.wantCalls) {
				t.Errorf("extractor asked for %q, want %q", fake.calls, tt.wantCalls)
			}
		})
	}
}

func TestResultDirIsRefusedUnlessAnOutChildOfTheDataDir(t *testing.T) {
	dataDir := t.TempDir()
	elsewhere := t.TempDir()
	for _, d := range []string{"out-good", "other"} {
		if err := os.Mkdir(filepath.Join(dataDir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(elsewhere, filepath.Join(dataDir, "out-link")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dataDir, "out-file"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		answer string
		ok     bool
	}{
		{filepath.Join(dataDir, "out-good"), true},
		{dataDir + "/./out-good/", true},
		{dataDir + "/x/../out-good", true},
		{"out-good", false},                                    // relative
		{filepath.Join(dataDir, "other"), false},               // not out-*
		{filepath.Join(dataDir, "out-link"), false},            // symlink
		{filepath.Join(dataDir, "out-file"), false},            // not a directory
		{filepath.Join(dataDir, "out-missing"), false},         // does not exist
		{filepath.Join(dataDir, "out-good", "sub"), false},     // not a direct child
		{dataDir, false},                                       // the data dir itself
		{dataDir + "/out-good/../../etc", false},               // escapes
		{filepath.Join(elsewhere, "out-good"), false},          // another dir
		{filepath.Join(filepath.Dir(dataDir), "out-x"), false}, // the parent
	}
	for _, tt := range tests {
		_, err := ResultDir(dataDir, tt.answer)
		if (err == nil) != tt.ok {
			t.Errorf("ResultDir(%q) error = %v, want ok=%v", tt.answer, err, tt.ok)
		}
	}
}

// TestRefusedResultIsNotDeleted: the exporter deletes only what it accepted.
func TestRefusedResultIsNotDeleted(t *testing.T) {
	dataDir := t.TempDir()
	victim := t.TempDir()
	link := filepath.Join(dataDir, "out-link")
	if err := os.Symlink(victim, link); err != nil {
		t.Fatal(err)
	}
	for _, answer := range []string{victim, link} {
		fake := &fakeExtractor{t: t, dataDir: dataDir, fakeConfig: fakeConfig{answer: answer}}
		rec := httptest.NewRecorder()
		NewHandler(Options{Extractor: fake, DataDir: dataDir}).ServeHTTP(rec, httptest.NewRequest("GET", Path, nil))
		if rec.Code != 500 {
			t.Errorf("answer %s: status %d", answer, rec.Code)
		}
		if _, err := os.Stat(victim); err != nil {
			t.Fatalf("answer %s: %v", answer, err)
		}
	}
	if _, err := os.Lstat(link); err != nil {
		t.Fatalf("symlink removed: %v", err)
	}
}

// TestServeStopsOnContextEnd runs the real HTTP server on loopback.
func TestServeStopsOnContextEnd(t *testing.T) {
	dataDir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	fake := &fakeExtractor{t: t, dataDir: dataDir, fakeConfig: fakeConfig{fixture: "partial"}}
	go func() {
		done <- Serve(ctx, ln, NewHandler(Options{Extractor: fake, DataDir: dataDir}), time.Second, discardLog())
	}()
	resp, err := http.Get("http://" + ln.Addr().String() + Path + "?hash=false")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != golden(t, "partial.clear") {
		t.Fatalf("status %d body %s", resp.StatusCode, body)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after its context ended")
	}
	if _, err := net.Dial("tcp", ln.Addr().String()); err == nil {
		t.Fatal("still listening after shutdown")
	}
}
