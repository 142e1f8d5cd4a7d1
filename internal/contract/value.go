package contract

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxValueLen is the longest value a fingerprint may report (SPEC §8).
const MaxValueLen = 256

// ValidValue reports whether v can be reported: non-empty, valid UTF-8, at
// most MaxValueLen bytes, printable characters only (so one line).
func ValidValue(v string) bool {
	if v == "" || len(v) > MaxValueLen || !utf8.ValidString(v) {
		return false
	}
	for _, r := range v {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// CleanValue trims white space and surrounding quotes, as the exporter does
// (SPEC §4), and returns the value with ok=false when it cannot be reported.
func CleanValue(v string) (string, bool) {
	v = strings.TrimSpace(v)
	v = strings.Trim(v, `"'`)
	v = strings.TrimSpace(v)
	return v, ValidValue(v)
}
