// Package keyvalue parses the shell-style KEY=value files a container holds:
// os-release(5) (/etc/os-release, /usr/lib/os-release) and a JDK's release
// file. It is pure and never fails: a line it cannot read is skipped.
package keyvalue

import (
	"bytes"
	"strings"
)

// Parse returns the assignments of data. Values lose their surrounding
// quotes (double or single) and, in double quotes, the backslash escapes of
// os-release(5) (\" \\ \$ \`). A later assignment of a key replaces an earlier
// one, as the shell would. Comments, blank lines and lines without a valid
// variable name are skipped.
func Parse(data []byte) map[string]string {
	out := map[string]string{}
	for len(data) > 0 {
		var line []byte
		if i := bytes.IndexAny(data, "\n\r"); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			line, data = data, nil
		}
		s := strings.TrimSpace(string(line))
		if s == "" || s[0] == '#' {
			continue
		}
		s = strings.TrimPrefix(s, "export ")
		key, value, ok := strings.Cut(s, "=")
		if !ok || !validName(key) {
			continue
		}
		out[key] = unquote(strings.TrimSpace(value))
	}
	return out
}

func validName(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || i > 0 && c >= '0' && c <= '9' {
			continue
		}
		return false
	}
	return true
}

func unquote(v string) string {
	if len(v) >= 2 && v[0] == '\'' && v[len(v)-1] == '\'' {
		return v[1 : len(v)-1]
	}
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		in := v[1 : len(v)-1]
		var b strings.Builder
		for i := 0; i < len(in); i++ {
			if in[i] == '\\' && i+1 < len(in) && strings.IndexByte("\"\\$`", in[i+1]) >= 0 {
				i++
			}
			b.WriteByte(in[i])
		}
		return b.String()
	}
	// An unquoted value ends at an unquoted comment, as in the shell.
	if i := strings.Index(v, " #"); i >= 0 {
		v = strings.TrimSpace(v[:i])
	}
	return v
}
