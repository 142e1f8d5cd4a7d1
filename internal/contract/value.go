package contract

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxValueLen is the longest value a fingerprint may report (SPEC §8), and
// the longest value the result directory holds (SPEC §4).
const MaxValueLen = 256

// ValidValue reports whether v can be reported: non-empty, valid UTF-8, at
// most MaxValueLen bytes, printable characters only (so one line), and no
// U+FFFD, which in a value only ever stands for bytes that were not text.
func ValidValue(v string) bool {
	if v == "" || len(v) > MaxValueLen || !utf8.ValidString(v) {
		return false
	}
	for _, r := range v {
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// CleanValue trims the white space and quotes that surround v, in any mix,
// as the exporter does (SPEC §4), and returns the value with ok=false when it
// cannot be reported. Cleaning a clean value changes nothing, so a value read
// back from where it was written is the value written.
func CleanValue(v string) (string, bool) {
	v = strings.TrimFunc(v, func(r rune) bool {
		return unicode.IsSpace(r) || r == '"' || r == '\''
	})
	return v, ValidValue(v)
}
