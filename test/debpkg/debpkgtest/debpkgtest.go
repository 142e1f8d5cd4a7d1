// Package debpkgtest is debpkg for tests: Need installs the Debian packages
// a test needs, or skips the test with one line when that needs root.
package debpkgtest

import (
	"errors"
	"log/slog"
	"testing"

	"github.com/openshift/insights-runtime-extractor/test/debpkg"
)

// Need makes sure the Debian packages are installed: it installs the
// missing ones as root, skips the test when not root, and fails it when the
// install fails.
func Need(t testing.TB, pkgs ...string) {
	t.Helper()
	err := debpkg.Ensure(t.Context(), slog.New(slog.NewTextHandler(t.Output(), nil)), pkgs...)
	if errors.Is(err, debpkg.ErrNeedRoot) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
}
