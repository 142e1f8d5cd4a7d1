package procargs

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestRead(t *testing.T) {
	entry := strings.Repeat("x", 999) // 1000 bytes with its NUL
	for _, tc := range []struct {
		name    string
		content string
		want    []string
	}{
		{"empty", "", []string{}},
		{"entries", "a\x00b=c\x00", []string{"a", "b=c"}},
		{"no final NUL", "a\x00b", []string{"a", "b"}},
		{"empty entry kept", "a\x00\x00b\x00", []string{"a", "", "b"}},
		{"argv padded with NULs", "nginx: master process\x00\x00\x00\x00", []string{"nginx: master process"}},
		{"only NULs", strings.Repeat("\x00", MaxBytes+10), []string{}},
		{"over the limit: the cut entry is dropped", strings.Repeat(entry+"\x00", 1100), repeat(entry, MaxBytes/1000)},
		{"one entry over the limit", strings.Repeat("y", 2*MaxBytes), []string{}},
		{"too many entries", strings.Repeat("a\x00", MaxEntries+5), repeat("a", MaxEntries)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "list")
			if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := Read(path)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Read: %d entries %.80q, want %d entries %.80q", len(got), got, len(tc.want), tc.want)
			}
		})
	}
}

func repeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}
