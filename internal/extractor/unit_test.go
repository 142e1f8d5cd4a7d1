package extractor

import (
	"bytes"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestCoordinatorArgs(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		ids  []string
		want []string
	}{
		{name: "minimal, every container",
			cfg:  Config{ConfigPath: "/config.toml", DataDir: "/data"},
			want: []string{"-config", "/config.toml", "-data-dir", "/data"}},
		{name: "every pass-through flag, ids comma-joined last",
			cfg: Config{ConfigPath: "/c.toml", DataDir: "/d", RuntimeEndpoint: "unix:///run/crio/crio.sock",
				FingerprintsDir: "/", CgroupParent: "/insights", Concurrency: 3, LogLevel: "debug", LogFormat: "json",
				ScanTimeout: 50 * time.Second, ContainerTimeout: 12 * time.Second},
			ids: []string{"abc", "cri-o://def"},
			want: []string{"-config", "/c.toml", "-data-dir", "/d", "-runtime-endpoint", "unix:///run/crio/crio.sock",
				"-fingerprints-dir", "/", "-cgroup-parent", "/insights", "-log-level", "debug", "-log-format", "json", "-concurrency", "3",
				"-scan-timeout", "50s", "-container-timeout", "12s", "abc,cri-o://def"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &Server{cfg: tt.cfg}
			if got := s.coordinatorArgs(tt.ids); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("args = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCheckLoopback(t *testing.T) {
	for addr, ok := range map[string]bool{
		"127.0.0.1:3000": true, "[::1]:3000": true, "localhost:3000": true, "127.0.0.2:0": true,
		"0.0.0.0:3000": false, ":3000": false, "10.0.0.1:3000": false, "[::]:3000": false, "example.com:3000": false, "3000": false,
	} {
		if err := checkLoopback(addr); (err == nil) != ok {
			t.Errorf("checkLoopback(%q) = %v, want ok=%v", addr, err, ok)
		}
	}
}

func TestLineLoggerLogsEachLineBounded(t *testing.T) {
	var buf bytes.Buffer
	l := &lineLogger{log: slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{ReplaceAttr: dropTime}))}
	// Lines split across writes, CRLF, an empty line, an over-long line.
	for _, chunk := range []string{"first pa", "rt\nsecond\r\n\n", strings.Repeat("x", 5000) + "\nlast without newline"} {
		if n, err := l.Write([]byte(chunk)); n != len(chunk) || err != nil {
			t.Fatalf("Write = %d, %v", n, err)
		}
	}
	l.flush()
	want := `level=INFO msg=coordinator stderr="first part"` + "\n" +
		`level=INFO msg=coordinator stderr=second` + "\n" +
		`level=INFO msg=coordinator stderr=` + strings.Repeat("x", maxStderrLine) + "\n" +
		`level=INFO msg=coordinator stderr="last without newline"` + "\n"
	if buf.String() != want {
		t.Errorf("log:\n%s\nwant\n%s", buf.String(), want)
	}
	if l.last != "last without newline" {
		t.Errorf("last = %q", l.last)
	}

	buf.Reset()
	l = &lineLogger{log: slog.New(slog.NewTextHandler(&buf, nil))}
	l.Write([]byte(strings.Repeat("line\n", maxStderrLines+50)))
	if got := strings.Count(buf.String(), "msg=coordinator stderr=line"); got != maxStderrLines {
		t.Errorf("%d lines logged, want the bound %d", got, maxStderrLines)
	}
	if !strings.Contains(buf.String(), "too many lines") {
		t.Error("the cut is not logged")
	}
}

func dropTime(_ []string, a slog.Attr) slog.Attr {
	if a.Key == slog.TimeKey {
		return slog.Attr{}
	}
	return a
}

func TestClip(t *testing.T) {
	tests := []struct {
		name, in string
		max      int
		want     string
	}{
		{"short stays whole", "no socket at /run/crio/crio.sock", 400, "no socket at /run/crio/crio.sock"},
		{"exactly the bound stays whole", strings.Repeat("a", 40), 40, strings.Repeat("a", 40)},
		{"cut at the last space, marked", "alpha beta gamma delta", 16, "alpha beta …"},
		{"a cut that ends a word keeps it", "alpha beta gamma delta", 14, "alpha beta …"},
		{"a cut just after a word keeps it", "alpha beta gamma delta", 15, "alpha beta …"},
		{"one long word is cut mid-word, marked", strings.Repeat("x", 50), 20, strings.Repeat("x", 16) + " …"},
		{"no rune is split", "aaaaaaaaaa" + strings.Repeat("é", 10), 17, "aaaaaaaaaaé …"},
		{"control characters and invalid bytes are replaced", "a\tb\x1bc\xffd\r", 400, "a b?c?d"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := clip(tt.in, tt.max)
			if got != tt.want || len(got) > tt.max {
				t.Errorf("clip(%q, %d) = %q (%d bytes), want %q", tt.in, tt.max, got, len(got), tt.want)
			}
		})
	}
}

// A scan budget at or beyond the coordinator's limit would let the
// coordinator be killed before it answers what it finished: refused at start.
func TestNewRefusesAScanBudgetBeyondTheCoordinatorLimit(t *testing.T) {
	for _, cfg := range []Config{
		{ScanTimeout: 80 * time.Second},                                       // the default limit, 75s
		{CoordinatorTimeout: 30 * time.Second},                                // the default budget, 60s
		{ScanTimeout: 30 * time.Second, CoordinatorTimeout: 30 * time.Second}, // equal
	} {
		_, err := New(cfg)
		if err == nil || !strings.Contains(err.Error(), "-scan-timeout") {
			t.Errorf("New(%+v) = %v; want the budget refused", cfg, err)
		}
	}
}
