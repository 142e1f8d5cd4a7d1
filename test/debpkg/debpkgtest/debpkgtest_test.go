package debpkgtest

import "testing"

// Installed packages need no root: the test goes on, neither skipped nor
// failed.
func TestNeedGoesOnWhenEverythingIsInstalled(t *testing.T) {
	skipped := true
	ok := t.Run("need", func(t *testing.T) {
		defer func() { skipped = t.Skipped() }() // a skip ends the subtest here
		Need(t, "dpkg", "coreutils")
	})
	if !ok || skipped {
		t.Fatalf("Need of installed packages: passed %v, skipped %v; want it to go on", ok, skipped)
	}
}
