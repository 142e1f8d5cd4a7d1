// Package elfscan reads what an ELF executable says of itself, bounded: Go
// build information, GraalVM native-image's .svm_heap section, the strings
// that follow a needle (Quarkus' analytics property, a version among the
// constants of .rodata), streamed with constant memory, small sections
// (.comment) and the libraries it needs.
package elfscan

import (
	"bytes"
	"debug/buildinfo"
	"debug/elf"
	"errors"
	"fmt"
	"io"
)

// MaxScan bounds the bytes Scan reads from one executable.
const MaxScan = 512 << 20

// SVMHeapSection is the section GraalVM native-image puts its image heap in.
const SVMHeapSection = ".svm_heap"

// ErrNotELF is returned for a file that is not an ELF executable.
var ErrNotELF = errors.New("not an ELF file")

// IsGraalVM reports whether r is an ELF file with a .svm_heap section.
func IsGraalVM(r io.ReaderAt) (bool, error) {
	f, err := elf.NewFile(r)
	if err != nil {
		return false, fmt.Errorf("%w: %v", ErrNotELF, err)
	}
	return f.Section(SVMHeapSection) != nil, nil
}

// GoVersion returns the Go version that built r ("go1.22.6", or e.g.
// "go1.21.11 (Red Hat 1.21.11-1.el9_4) X:strictfipsruntime"), "" if r holds
// no Go build information.
func GoVersion(r io.ReaderAt) string {
	bi, err := buildinfo.Read(r)
	if err != nil {
		return ""
	}
	return bi.GoVersion
}

// Needle is a byte string to find, with what to take from the bytes that
// follow it (at most MaxValue of them). Value returns ok=false to look for a
// later occurrence.
type Needle struct {
	Text     []byte
	MaxValue int
	Value    func(after []byte) (string, bool)
}

// Result of one needle.
type Result struct {
	Found bool
	Value string
}

// chunk is how much Scan reads at a time; memory stays chunk + the longest
// needle and value, whatever the file size.
const chunk = 64 << 10

// Scan reads r, at most limit bytes, and returns for each needle its first
// accepted occurrence. A match that crosses a read boundary is found: the
// last len(needle)+MaxValue-1 bytes of each read are kept for the next one.
func Scan(r io.Reader, limit int64, needles []Needle) ([]Result, error) {
	overlap := 0
	for _, n := range needles {
		if len(n.Text) == 0 {
			return nil, errors.New("empty needle")
		}
		if o := len(n.Text) + n.MaxValue - 1; o > overlap {
			overlap = o
		}
	}
	results := make([]Result, len(needles))
	buf := make([]byte, chunk+overlap)
	lr := io.LimitReader(r, limit)
	n := 0
	for {
		m, err := io.ReadFull(lr, buf[n:])
		n += m
		eof := errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
		if err != nil && !eof {
			return results, fmt.Errorf("scan: %w", err)
		}
		// A match starting in the last overlap bytes may lack its value: it
		// is searched again after the next read, unless this was the last.
		end := n - overlap
		if eof {
			end = n
		}
		pending := false
		for i, nd := range needles {
			if results[i].Found {
				continue
			}
			for from := 0; from < end; {
				j := bytes.Index(buf[from:n], nd.Text)
				if j < 0 || from+j >= end {
					break
				}
				at := from + j
				after := buf[at+len(nd.Text) : min(n, at+len(nd.Text)+nd.MaxValue)]
				if v, ok := acceptValue(nd, after); ok {
					results[i] = Result{Found: true, Value: v}
					break
				}
				from = at + 1
			}
			if !results[i].Found {
				pending = true
			}
		}
		if eof || !pending {
			return results, nil
		}
		copy(buf, buf[n-overlap:n])
		n = overlap
	}
}

func acceptValue(nd Needle, after []byte) (string, bool) {
	if nd.Value == nil {
		return "", true
	}
	return nd.Value(after)
}

// VersionChars returns the leading bytes of b that can be part of a version
// ([A-Za-z0-9._+-]); ok=false when there are none.
func VersionChars(b []byte) (string, bool) {
	i := 0
	for i < len(b) {
		c := b[i]
		if c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '.' || c == '-' || c == '_' || c == '+' {
			i++
			continue
		}
		break
	}
	return string(b[:i]), i > 0
}

// Quarkus analytics property and configuration prefix, as native images hold them.
var (
	quarkusVersionProperty = []byte("__quarkus_analytics__quarkus.version=")
	quarkusNative          = []byte("quarkus.native")
)

// Quarkus reports whether the native image in r holds Quarkus, and its
// version when the analytics property is there.
func Quarkus(r io.Reader, limit int64) (found bool, version string, err error) {
	res, err := Scan(r, limit, []Needle{
		{Text: quarkusVersionProperty, MaxValue: 128, Value: VersionChars},
		{Text: quarkusNative},
	})
	if err != nil {
		return false, "", err
	}
	if res[0].Found {
		return true, res[0].Value, nil
	}
	return res[1].Found, "", nil
}
