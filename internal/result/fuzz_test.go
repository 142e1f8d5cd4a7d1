package result

import (
	"reflect"
	"strings"
	"testing"

	"github.com/openshift/insights-runtime-extractor/internal/contract"
)

// FuzzParseLines: whatever a file holds, parsing never panics and yields
// only lines the writer could have written.
func FuzzParseLines(f *testing.F) {
	for _, seed := range []string{
		"os-release-id=rhel\nos-release-version-id=8.10\n",
		"\x7fELF\x02\x01=\xff\n=x\nno-equals\n",
		"k = \"v\"\r\n  'q'=''\n",
		strings.Repeat("a", MaxLineSize) + "=b\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		lines, dropped := parseLines(data)
		if dropped < 0 || len(lines)+dropped > strings.Count(string(data), "\n")+1 {
			t.Fatalf("%d lines and %d dropped from %d newlines", len(lines), dropped, strings.Count(string(data), "\n"))
		}
		for _, l := range lines {
			clean, _ := contract.CleanValue(l.value)
			if strings.Contains(l.key, "=") || !contract.ValidValue(l.key) || (l.value != "" && !contract.ValidValue(l.value)) ||
				len(l.key)+len(l.value)+2 > MaxLineSize || clean != l.value {
				t.Fatalf("malformed line %q=%q", l.key, l.value)
			}
		}
	})
}

// FuzzParseSummary: whatever the summary file holds, parsing never panics,
// keeps counts and labels within their bounds, and what it returns writes
// back and reads again unchanged.
func FuzzParseSummary(f *testing.F) {
	for _, seed := range []string{
		sampleSummaryFile,
		"containers-listed=-1\ncontainers-failed.=1\nfingerprint-runs.A=1\n",
		"containers-failed.x=99999999999999999999\n\x00=\xff\n",
		strings.Repeat("fingerprint-timeouts.a=1\n", 3),
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, dropped := ParseSummary(data)
		if dropped < 0 || len(s.Failed) > MaxSummaryLabels || len(s.Fingerprints) > MaxSummaryLabels {
			t.Fatalf("%d dropped, %d reasons, %d fingerprints", dropped, len(s.Failed), len(s.Fingerprints))
		}
		content, err := s.render()
		if err != nil {
			t.Fatalf("a parsed summary does not render: %v", err)
		}
		again, d := ParseSummary([]byte(content))
		if d != 0 || !reflect.DeepEqual(again, s) {
			t.Fatalf("round trip: %+v (%d dropped), want %+v", again, d, s)
		}
	})
}
