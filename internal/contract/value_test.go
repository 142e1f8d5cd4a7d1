package contract

import (
	"strings"
	"testing"
)

func TestCleanValue(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"rhel", "rhel", true},
		{` "rhel"` + "\r", "rhel", true},
		{`'8.10' `, "8.10", true},
		{`" 'x' "`, "x", true}, // any mix of quotes and spaces: cleaning is idempotent
		{"Red Hat, Inc.", "Red Hat, Inc.", true},
		{`""`, "", false},
		{"", "", false},
		{"a\nb", "a\nb", false},
		{"go1\x00.22", "go1\x00.22", false},
		{"1.8.0\xc3(", "1.8.0\xc3(", false},
		{"ok\uFFFD", "ok\uFFFD", false},
		{strings.Repeat("9", MaxValueLen), strings.Repeat("9", MaxValueLen), true},
		{strings.Repeat("9", MaxValueLen+1), strings.Repeat("9", MaxValueLen+1), false},
	}
	for _, tt := range tests {
		got, ok := CleanValue(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("CleanValue(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
		if again, _ := CleanValue(got); again != got {
			t.Errorf("CleanValue(%q) = %q: not idempotent", got, again)
		}
	}
}
