package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRunRefusesBadCommandLines(t *testing.T) {
	tests := []struct {
		name      string
		args      []string
		wantUsage bool
		wantErr   string
	}{
		{"unknown flag", []string{"-nope"}, true, "flag provided but not defined: -nope"},
		{"ids are one comma-separated argument", []string{"a", "b"}, true, `unexpected argument "b"`},
		{"no concurrency", []string{"-concurrency", "0"}, true, "-concurrency must be at least 1, got 0"},
		{"no time for fingerprints", []string{"-fingerprint-timeout", "0s"}, true, "-fingerprint-timeout must be positive, got 0s"},
		{"no scan budget", []string{"-scan-timeout", "0s"}, true, "-scan-timeout must be positive, got 0s"},
		{"no container budget", []string{"-container-timeout", "-1s"}, true, "-container-timeout must be positive, got -1s"},
		{"bad log level", []string{"-log-level", "loud"}, true, `invalid -log-level "loud"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := run(tc.args)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("run(%q) = %v, want %q", tc.args, err, tc.wantErr)
			}
			if got := errors.As(err, new(usageError)); got != tc.wantUsage {
				t.Errorf("usage error = %v, want %v", got, tc.wantUsage)
			}
		})
	}
}

// A bad config is refused before anything is scanned (as root; otherwise the
// privilege check refuses first, which is what the second case proves).
func TestRunRefusesBadConfigOrMissingPrivileges(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(bad, []byte("[[fingerprints.java]]\nruntime-nam = \"x\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := run([]string{"-config", bad, "-data-dir", t.TempDir()})
	want := "unknown key"
	if os.Geteuid() != 0 {
		want = "missing capabilities"
	}
	if err == nil || !strings.Contains(err.Error(), want) || errors.As(err, new(usageError)) {
		t.Fatalf("run = %v, want a non-usage error containing %q", err, want)
	}
}
