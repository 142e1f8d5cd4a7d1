// Package procargs reads the NUL-separated lists of a process, /proc/<pid>/cmdline and
// /proc/<pid>/environ, bounded: a container controls both. The coordinator and the fpr_*
// executables share it; it links nothing but the standard library, so a fingerprint pays for
// no more than it uses at start.
package procargs

import (
	"bytes"
	"fmt"
	"io"
	"os"
)

const (
	// MaxBytes bounds what is read of either file. Longer contents are truncated to the
	// whole entries within the first MaxBytes.
	MaxBytes = 1 << 20
	// MaxEntries bounds the number of strings kept, so that a file of a million NUL bytes
	// cannot become a million-element slice.
	MaxEntries = 1 << 16
)

// Read reads a NUL-separated list such as cmdline or environ, at most MaxBytes
// of it and MaxEntries entries; an entry cut by the limit is dropped.
//
// It is hand-written on purpose: procfs's CmdLine and Environ read the same
// first MiB but keep the entry the cut splits as if it were whole (a
// truncated value taken for the real one), and put no bound on the number
// of entries, which the container chooses (a MiB of one-byte entries is half
// a million strings).
func Read(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	truncated := len(data) > MaxBytes
	if truncated {
		data = data[:MaxBytes]
		if i := bytes.LastIndexByte(data, 0); i >= 0 {
			data = data[:i]
		} else {
			data = nil
		}
	}
	// Processes that rewrite their argv (nginx, postgres) pad it with NULs.
	data = bytes.TrimRight(data, "\x00")
	if len(data) == 0 {
		return []string{}, nil
	}
	parts := bytes.SplitN(data, []byte{0}, MaxEntries+1)
	if len(parts) > MaxEntries {
		parts = parts[:MaxEntries]
	}
	out := make([]string, len(parts))
	for i, p := range parts {
		out[i] = string(p)
	}
	return out, nil
}
