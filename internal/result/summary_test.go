package result

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var sampleSummary = Summary{
	Listed: 3, Selected: 3, Scanned: 2, Unknown: 0, CacheHits: 1,
	Failed: map[string]int{"container_gone": 1, "scan_timeout": 2, "backed_off": 1},
	Fingerprints: map[string]FingerprintCounts{
		"os":   {Runs: 3, Failures: 0, Timeouts: 0},
		"java": {Runs: 2, Failures: 1, Timeouts: 1},
	},
	BudgetExhausted: true,
}

const sampleSummaryFile = `cache-hits=1
containers-failed.backed_off=1
containers-failed.container_gone=1
containers-failed.scan_timeout=2
containers-listed=3
containers-scanned=2
containers-selected=3
containers-unknown=0
fingerprint-failures.java=1
fingerprint-failures.os=0
fingerprint-runs.java=2
fingerprint-runs.os=3
fingerprint-timeouts.java=1
fingerprint-timeouts.os=0
scan-budget-exhausted=1
`

// TestSummaryFileIsExact pins the bytes: the file is read by an exporter
// that may be older or newer than the coordinator.
func TestSummaryFileIsExact(t *testing.T) {
	w, err := Create(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WriteSummary(sampleSummary); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(w.Dir(), SummaryFile))
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != sampleSummaryFile {
		t.Errorf("file:\n%s\nwant\n%s", data, sampleSummaryFile)
	}
	got, dropped, err := ReadSummary(w.Dir())
	if err != nil || dropped != 0 || !reflect.DeepEqual(got, sampleSummary) {
		t.Errorf("ReadSummary = %+v, %d dropped, %v; want %+v", got, dropped, err, sampleSummary)
	}
	if got.FailedTotal() != 4 {
		t.Errorf("FailedTotal = %d, want 4", got.FailedTotal())
	}
}

// TestReadIgnoresTheSummarySilently: the summary is no container and no junk.
func TestReadIgnoresTheSummarySilently(t *testing.T) {
	w, err := Create(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Add(quarkus); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteSummary(sampleSummary); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	cs, err := Read(w.Dir(), slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil || len(cs) != 1 {
		t.Fatalf("Read = %d containers, %v", len(cs), err)
	}
	if logs.Len() != 0 {
		t.Errorf("Read logged:\n%s", logs.String())
	}
}

func TestWriteSummaryRefuses(t *testing.T) {
	tests := []struct {
		name string
		s    Summary
	}{
		{"a negative count", Summary{Listed: -1}},
		{"a reason that is no label value", Summary{Failed: map[string]int{"Gone Away": 1}}},
		{"a fingerprint name with a dot", Summary{Fingerprints: map[string]FingerprintCounts{"a.b": {Runs: 1}}}},
		{"too many fingerprints", Summary{Fingerprints: manyFingerprints(MaxSummaryLabels + 1)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := Create(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			if err := w.WriteSummary(tt.s); err == nil {
				t.Fatal("written")
			}
			if _, err := os.Lstat(filepath.Join(w.Dir(), SummaryFile)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("a refused summary left a file: %v", err)
			}
		})
	}
}

func manyFingerprints(n int) map[string]FingerprintCounts {
	m := map[string]FingerprintCounts{}
	for i := range n {
		m[fmt.Sprintf("f%d", i)] = FingerprintCounts{Runs: 1}
	}
	return m
}

func TestParseSummary(t *testing.T) {
	var many strings.Builder
	for i := range MaxSummaryLabels + 5 {
		fmt.Fprintf(&many, "fingerprint-runs.f%03d=1\n", i)
	}
	tests := []struct {
		name        string
		data        string
		want        Summary
		wantDropped int
	}{
		{"empty", "", Summary{}, 0},
		{"plain counts", "containers-listed=7\ncache-hits=2\n", Summary{Listed: 7, CacheHits: 2}, 0},
		{"a newer coordinator's key is ignored", "containers-listed=1\nscan-flavour=fast\n", Summary{Listed: 1}, 1},
		{"a newer coordinator's counter is ignored", "containers-listed=1\ncontainers-paused=4\n", Summary{Listed: 1}, 0},
		{"negative, signed, hexadecimal, huge and fractional counts are dropped",
			"containers-listed=-1\ncontainers-selected=+2\ncontainers-scanned=0x10\ncontainers-unknown=99999999999\ncache-hits=1.5\n", Summary{}, 5},
		{"a repeated key keeps the first", "containers-listed=1\ncontainers-listed=2\n", Summary{Listed: 1}, 1},
		{"bad labels are dropped", "containers-failed.=1\ncontainers-failed.A=1\nfingerprint-runs.x y=1\nfingerprint-runs.../x=1\ncontainers-failed.ok=2\n",
			Summary{Failed: map[string]int{"ok": 2}}, 4},
		{"quotes and spaces are trimmed as in every file", "containers-listed = \"3\" \r\n", Summary{Listed: 3}, 0},
		{"binary junk is dropped", "\x00\xff=1\ncontainers-listed=\x07\n", Summary{}, 2},
		{"labels beyond the bound are dropped", many.String(), Summary{Fingerprints: func() map[string]FingerprintCounts {
			m := map[string]FingerprintCounts{}
			for i := range MaxSummaryLabels {
				m[fmt.Sprintf("f%03d", i)] = FingerprintCounts{Runs: 1}
			}
			return m
		}()}, 5},
		{"every family", sampleSummaryFile, sampleSummary, 0},
		{"budget exhausted is 0 or 1", "scan-budget-exhausted=0\n", Summary{}, 0},
		{"budget exhausted beyond 1 is dropped", "scan-budget-exhausted=2\n", Summary{}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, dropped := ParseSummary([]byte(tt.data))
			if !reflect.DeepEqual(got, tt.want) || dropped != tt.wantDropped {
				t.Errorf("ParseSummary = %+v, %d dropped; want %+v, %d", got, dropped, tt.want, tt.wantDropped)
			}
		})
	}
}

func TestReadSummaryIsBoundedAndRefusesLinks(t *testing.T) {
	outside := filepath.Join(t.TempDir(), "summary")
	if err := os.WriteFile(outside, []byte("containers-listed=9\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		prepare func(dir string) error
		wantErr error // nil: any error
	}{
		{"missing", func(string) error { return nil }, os.ErrNotExist},
		{"a symbolic link", func(dir string) error { return os.Symlink(outside, filepath.Join(dir, SummaryFile)) }, nil},
		{"a directory", func(dir string) error { return os.Mkdir(filepath.Join(dir, SummaryFile), 0o755) }, nil},
		{"over MaxFileSize", func(dir string) error {
			return os.WriteFile(filepath.Join(dir, SummaryFile), bytes.Repeat([]byte("cache-hits=1\n"), MaxFileSize/12+1), 0o644)
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := tt.prepare(dir); err != nil {
				t.Fatal(err)
			}
			s, _, err := ReadSummary(dir)
			if err == nil || (tt.wantErr != nil && !errors.Is(err, tt.wantErr)) {
				t.Errorf("ReadSummary = %+v, %v; want an error (%v)", s, err, tt.wantErr)
			}
		})
	}
}
