package result

import (
	"strings"
	"testing"
	"unicode/utf8"
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
			if l.key == "" || strings.Contains(l.key, "=") || !utf8.ValidString(l.key) || !utf8.ValidString(l.value) ||
				!printable(l.key) || !printable(l.value) || len(l.key)+len(l.value)+2 > MaxLineSize || trimValue(l.value) != l.value {
				t.Fatalf("malformed line %q=%q", l.key, l.value)
			}
		}
	})
}
