package trigger

import (
	"strings"
	"testing"
)

// FuzzParseIDs: whatever a client sends, parsing never panics, and what it
// accepts can only be valid ids, safe as one coordinator argument.
func FuzzParseIDs(f *testing.F) {
	for _, seed := range []string{"", "abc", "cri-o://abc,containerd://def", "a,,b", "\x00\xff", "-config=/x", " ABC ,abc"} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		ids, err := ParseIDs(payload)
		if err != nil {
			if strings.Contains(err.Error(), "\n") && !strings.Contains(err.Error(), `\n`) {
				t.Fatalf("error spans lines: %q", err)
			}
			return
		}
		seen := map[string]bool{}
		for _, id := range ids {
			if _, ok := NormalizeID(id); !ok || seen[id] || strings.HasPrefix(id, "-") {
				t.Fatalf("accepted %q", id)
			}
			seen[id] = true
		}
		if len(strings.Join(ids, ",")) > MaxIDsLen {
			t.Fatal("joined ids longer than one argument")
		}
	})
}
