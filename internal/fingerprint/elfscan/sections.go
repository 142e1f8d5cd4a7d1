package elfscan

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"strings"
)

// MaxSmallSection bounds a section read whole (.comment, the dynamic
// strings): real ones hold a few KiB, a hostile header may claim gigabytes.
const MaxSmallSection = 1 << 20

// SmallSection returns the bytes of the named section; ok=false when the
// file has no such section. A section larger than MaxSmallSection or
// compressed is an error.
func SmallSection(f *elf.File, name string) (data []byte, ok bool, err error) {
	s := f.Section(name)
	if s == nil || s.Type == elf.SHT_NOBITS {
		return nil, false, nil
	}
	if s.Size > MaxSmallSection || s.Flags&elf.SHF_COMPRESSED != 0 {
		return nil, false, fmt.Errorf("section %s: %d bytes or compressed", name, s.Size)
	}
	data = make([]byte, s.Size)
	if _, err := s.ReadAt(data, 0); err != nil {
		return nil, false, fmt.Errorf("read section %s: %w", name, err)
	}
	return data, true, nil
}

// Rodata returns a reader of the .rodata section, where compilers put the
// constant strings a version lives in: scanning it alone reads a fraction
// of the file. ok=false when there is none.
func Rodata(f *elf.File) (*io.SectionReader, bool) {
	s := f.Section(".rodata")
	if s == nil || s.Type == elf.SHT_NOBITS || s.Flags&elf.SHF_COMPRESSED != 0 {
		return nil, false
	}
	return io.NewSectionReader(s.ReaderAt, 0, int64(s.Size)), true
}

// Dynamic returns the libraries f needs (DT_NEEDED) and the directories it
// asks the loader to search first (DT_RUNPATH, else DT_RPATH). A static
// executable has neither.
func Dynamic(f *elf.File) (needed, runPath []string, err error) {
	for _, name := range []string{".dynamic", ".dynstr"} {
		if s := f.Section(name); s != nil && s.Size > MaxSmallSection {
			return nil, nil, fmt.Errorf("section %s: %d bytes", name, s.Size)
		}
	}
	if f.Section(".dynamic") == nil {
		return nil, nil, nil
	}
	if needed, err = f.DynString(elf.DT_NEEDED); err != nil {
		return nil, nil, fmt.Errorf("dynamic section: %w", err)
	}
	for _, tag := range []elf.DynTag{elf.DT_RUNPATH, elf.DT_RPATH} {
		paths, err := f.DynString(tag)
		if err != nil {
			return nil, nil, fmt.Errorf("dynamic section: %w", err)
		}
		for _, p := range paths {
			runPath = append(runPath, strings.Split(p, ":")...)
		}
		if len(runPath) > 0 {
			break
		}
	}
	return needed, runPath, nil
}

// ErrDisagree is returned by Agreed when a needle is followed by different
// values: such a file is not trusted to say which is its own.
var ErrDisagree = errors.New("occurrences disagree")

// Agreed reads r (at most limit bytes) and returns the value that every
// accepted occurrence of needle agrees on: "" when none is accepted, and
// ErrDisagree when two differ.
func Agreed(r io.Reader, limit int64, needle []byte, maxValue int, value func(after []byte) (string, bool)) (string, error) {
	var found string
	disagree := false
	_, err := Scan(r, limit, []Needle{{Text: needle, MaxValue: maxValue, Value: func(after []byte) (string, bool) {
		v, ok := value(after)
		if !ok {
			return "", false
		}
		if found == "" {
			found = v
		} else if v != found {
			disagree = true
		}
		// Never accept: every occurrence is seen.
		return "", false
	}}})
	if err != nil {
		return "", err
	}
	if disagree {
		return "", fmt.Errorf("%q: %w", needle, ErrDisagree)
	}
	return found, nil
}

// Release parses a release version at the start of b: three dot-separated
// numbers of at most 6 digits each ("18.20.4"), then, when pre is set, an
// optional "-" and pre-release identifiers ([0-9A-Za-z.]+). It returns the
// version and the bytes after it.
func Release(b []byte, pre bool) (version string, rest []byte, ok bool) {
	i := 0
	for part := 0; part < 3; part++ {
		if part > 0 {
			if i >= len(b) || b[i] != '.' {
				return "", b, false
			}
			i++
		}
		start := i
		for i < len(b) && i-start < 7 && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == start || i-start > 6 {
			return "", b, false
		}
	}
	if pre && i < len(b) && b[i] == '-' {
		start := i + 1
		j := start
		for j < len(b) && (isAlnum(b[j]) || b[j] == '.') {
			j++
		}
		if j == start {
			return "", b, false
		}
		i = j
	}
	return string(b[:i]), b[i:], true
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// CString returns the bytes of b before its first NUL; ok=false when b
// holds none (a value cut by the scan's limit).
func CString(b []byte) ([]byte, bool) {
	i := bytes.IndexByte(b, 0)
	if i < 0 {
		return nil, false
	}
	return b[:i], true
}
