package debpkg

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/openshift/insights-runtime-extractor/test/flock"
)

// nobody is an effective uid that may not install anything.
const nobody = 65534

// absent is a valid package name that no Debian archive has.
const absent = "ire-no-such-package"

func TestNotInstalledAsksDpkg(t *testing.T) {
	if _, err := os.Stat("/var/lib/dpkg/status"); err != nil {
		t.Skip("not a Debian system: no dpkg status")
	}
	tests := []struct {
		name string
		pkgs []string
		want []string
	}{
		{"installed", []string{"dpkg", "coreutils"}, nil},
		{"unknown", []string{absent}, []string{absent}},
		{"mixed, sorted", []string{"dpkg", absent + "-b", absent + "-a"}, []string{absent + "-a", absent + "-b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := notInstalled(t.Context(), tt.pkgs); !slices.Equal(got, tt.want) {
				t.Errorf("notInstalled(%q) = %q, want %q", tt.pkgs, got, tt.want)
			}
		})
	}
}

func TestEnsure(t *testing.T) {
	if _, err := os.Stat("/var/lib/dpkg/status"); err != nil {
		t.Skip("not a Debian system: no dpkg status")
	}
	tests := []struct {
		name     string
		pkgs     []string
		wantRoot bool   // the error is ErrNeedRoot
		wantErr  string // the whole error; "" for none
	}{
		{"nothing to do needs no root", []string{"dpkg", "coreutils"}, false, ""},
		{"no packages at all", nil, false, ""},
		{"missing without root names only what is missing", []string{"dpkg", absent}, true, ErrNeedRoot.Error() + ": apt-get install " + absent},
		{"an option is not a package", []string{"dpkg", "-oAPT::Get::Simulate=1"}, false, `"-oAPT::Get::Simulate=1" is not a Debian package name`},
		{"an upper-case name is not a package", []string{"Dpkg"}, false, `"Dpkg" is not a Debian package name`},
		{"an empty name is not a package", []string{""}, false, `"" is not a Debian package name`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// As nobody and with a private lock: nothing here may reach apt.
			err := ensure(t.Context(), nil, nobody, filepath.Join(t.TempDir(), lockName), tt.pkgs)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Ensure(%q) = %v, want nil", tt.pkgs, err)
				}
				return
			}
			if err == nil || err.Error() != tt.wantErr || errors.Is(err, ErrNeedRoot) != tt.wantRoot {
				t.Fatalf("Ensure(%q) = %v, want %q (ErrNeedRoot: %v)", tt.pkgs, err, tt.wantErr, tt.wantRoot)
			}
		})
	}
}

// While another process holds the lock, a root Ensure with something to
// install waits, and gives up with its context, before running apt-get.
func TestEnsureWaitsForTheLockOfAnotherInstall(t *testing.T) {
	if _, err := os.Stat("/var/lib/dpkg/status"); err != nil {
		t.Skip("not a Debian system: no dpkg status")
	}
	path := filepath.Join(t.TempDir(), lockName)
	held, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	// flock locks belong to an open file: this one conflicts with the one
	// Ensure opens, as another process's would.
	if err := unix.Flock(int(held.Fd()), unix.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	start := time.Now() // before the deadline is set: the wait is measured from there
	ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
	defer cancel()
	err = ensure(ctx, nil, 0, path, []string{absent})
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) < 500*time.Millisecond {
		t.Fatalf("Ensure with the lock held = %v after %s, want it to wait 500ms for the lock and give up", err, time.Since(start))
	}
	// Released, the lock is free again for the next install.
	if err := unix.Flock(int(held.Fd()), unix.LOCK_UN); err != nil {
		t.Fatal(err)
	}
	unlock, err := flock.Lock(t.Context(), path)
	if err != nil {
		t.Fatalf("lock after release: %v", err)
	}
	unlock()
}
