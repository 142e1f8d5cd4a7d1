// Package manifest parses the main section of a jar's META-INF/MANIFEST.MF
// (JAR File Specification): "Name: value" lines, continuation lines that start
// with one space, any of CRLF, LF or CR as line end. It is pure and never
// fails: lines it cannot read are skipped.
package manifest

import (
	"bytes"
	"strings"
)

// Manifest is the main section of a manifest.
type Manifest struct {
	attrs map[string]string // lower-cased name -> value
}

// Parse reads the main section of data (it ends at the first empty line).
func Parse(data []byte) Manifest {
	m := Manifest{attrs: map[string]string{}}
	var name string
	var value strings.Builder
	flush := func() {
		if name != "" {
			k := strings.ToLower(name)
			if _, dup := m.attrs[k]; !dup {
				m.attrs[k] = value.String()
			}
		}
		name = ""
		value.Reset()
	}
	for len(data) > 0 {
		var line []byte
		i := bytes.IndexAny(data, "\r\n")
		switch {
		case i < 0:
			line, data = data, nil
		case data[i] == '\r' && i+1 < len(data) && data[i+1] == '\n':
			line, data = data[:i], data[i+2:]
		default:
			line, data = data[:i], data[i+1:]
		}
		if len(line) == 0 {
			break // end of the main section
		}
		if line[0] == ' ' {
			if name != "" {
				value.Write(line[1:])
			}
			continue
		}
		flush()
		n, v, ok := bytes.Cut(line, []byte(":"))
		if !ok || !validName(n) {
			continue
		}
		name = string(n)
		value.Write(bytes.TrimPrefix(v, []byte(" ")))
	}
	flush()
	return m
}

// validName: alphanum, '-' and '_' (the specification's header name).
func validName(n []byte) bool {
	if len(n) == 0 || len(n) > 70 {
		return false
	}
	for _, c := range n {
		if !(c == '-' || c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// Get returns the value of an attribute; names are case-insensitive.
func (m Manifest) Get(name string) string {
	return strings.TrimSpace(m.attrs[strings.ToLower(name)])
}

// Len is the number of attributes.
func (m Manifest) Len() int { return len(m.attrs) }

// ClassPath returns the Class-Path attribute split into its relative URLs.
func (m Manifest) ClassPath() []string {
	return strings.Fields(m.Get("Class-Path"))
}
