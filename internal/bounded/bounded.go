// Package bounded keeps at most a fixed number of bytes of a stream that is
// not trusted to end: the output of a process the caller runs.
package bounded

import (
	"strings"
	"sync"
	"unicode/utf8"
)

// Buffer is an io.Writer that keeps the first Max bytes written to it and
// discards the rest. Write never fails, so that whatever copies a process's
// output into it drains that output to its end instead of blocking the
// process or failing it with EPIPE. It is safe for concurrent use, so that
// two streams may share one. Set Max and OnOverflow before the first Write.
type Buffer struct {
	// Max is the number of bytes kept.
	Max int
	// OnOverflow, when set, is called once, by the Write that brings the
	// total written past Max: to stop a process that says too much.
	OnOverflow func()

	mu        sync.Mutex
	buf       []byte
	truncated bool
}

// Write keeps what fits of p and always reports all of p written.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	room := max(b.Max-len(b.buf), 0)
	if len(p) <= room {
		b.buf = append(b.buf, p...)
		return len(p), nil
	}
	b.buf = append(b.buf, p[:room]...)
	if !b.truncated {
		b.truncated = true
		if b.OnOverflow != nil {
			b.OnOverflow()
		}
	}
	return len(p), nil
}

// Bytes returns a copy of the kept bytes.
func (b *Buffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]byte(nil), b.buf...)
}

// String returns the kept bytes as text: valid UTF-8, every invalid sequence
// (a character the cut split, bytes that were never text) replaced by U+FFFD.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.ToValidUTF8(string(b.buf), string(utf8.RuneError))
}

// Truncated reports whether more than Max bytes were written.
func (b *Buffer) Truncated() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.truncated
}
