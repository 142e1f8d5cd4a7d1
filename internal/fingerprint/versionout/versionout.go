// Package versionout extracts a runtime's version from what
// `<executable> --version` printed (SPEC §7): node prints "v22.6.0" on
// standard output, Python 3 "Python 3.13.2" on standard output, Python 2
// "Python 2.7.18" on standard error.
package versionout

import (
	"bytes"
	"strings"
)

// Parse returns the first non-blank line of stdout, trimmed, or when stdout
// has none, the first of stderr. It is "" when neither has one.
func Parse(stdout, stderr []byte) string {
	if v := firstLine(stdout); v != "" {
		return v
	}
	return firstLine(stderr)
}

func firstLine(b []byte) string {
	for len(b) > 0 {
		var line []byte
		if i := bytes.IndexAny(b, "\r\n"); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			line, b = b, nil
		}
		if s := strings.TrimSpace(string(line)); s != "" {
			return s
		}
	}
	return ""
}
