package bounded

import (
	"bytes"
	"io"
	"strings"
	"sync"
	"testing"
)

func TestBufferKeepsOnlyTheFirstBytes(t *testing.T) {
	b := &Buffer{Max: 10}
	for _, s := range []string{"0123", "456789abc", "def"} {
		if n, err := b.Write([]byte(s)); n != len(s) || err != nil {
			t.Fatalf("Write(%q) = %d, %v: it must swallow everything", s, n, err)
		}
	}
	if got := string(b.Bytes()); got != "0123456789" {
		t.Errorf("kept %q", got)
	}
	if !b.Truncated() {
		t.Error("not truncated")
	}
}

func TestBufferOfExactlyMaxIsNotTruncated(t *testing.T) {
	overflows := 0
	b := &Buffer{Max: 4, OnOverflow: func() { overflows++ }}
	b.Write([]byte("ab"))
	b.Write([]byte("cd"))
	if b.Truncated() || overflows != 0 || b.String() != "abcd" {
		t.Fatalf("exactly Max bytes: truncated=%v overflows=%d kept %q", b.Truncated(), overflows, b.String())
	}
	b.Write([]byte("e"))
	b.Write([]byte("fgh"))
	if !b.Truncated() || overflows != 1 {
		t.Errorf("past Max: truncated=%v, OnOverflow called %d times, want once", b.Truncated(), overflows)
	}
}

func TestBufferStringIsValidText(t *testing.T) {
	bad := &Buffer{Max: 8}
	bad.Write([]byte("ok\xff\xfe"))
	if got := bad.String(); got != "ok\uFFFD" {
		t.Errorf("invalid UTF-8 kept as %q, want it replaced", got)
	}
	if got := bad.Bytes(); !bytes.Equal(got, []byte("ok\xff\xfe")) {
		t.Errorf("Bytes = %q, want the raw bytes", got)
	}
	cut := &Buffer{Max: 3}
	cut.Write([]byte("aé")) // 'é' is two bytes: the cut splits it
	cut.Write([]byte("z"))
	if got := cut.String(); got != "aé" {
		t.Errorf("String = %q", got)
	}
	cut = &Buffer{Max: 2}
	cut.Write([]byte("aé"))
	if got := cut.String(); got != "a\uFFFD" {
		t.Errorf("a split character reads as %q, want U+FFFD", got)
	}
}

// Two streams copied into one buffer at once: nothing is lost or torn
// below Max.
func TestBufferIsSafeForConcurrentWriters(t *testing.T) {
	b := &Buffer{Max: 1 << 20}
	var wg sync.WaitGroup
	for _, c := range []string{"a", "b"} {
		wg.Go(func() { io.Copy(b, strings.NewReader(strings.Repeat(c, 100000))) })
	}
	wg.Wait()
	if got := b.String(); strings.Count(got, "a") != 100000 || strings.Count(got, "b") != 100000 {
		t.Errorf("kept %d a and %d b", strings.Count(got, "a"), strings.Count(got, "b"))
	}
}
