package samples

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strings"
	"testing"
)

// ErrNeedRoot is returned by EnsureDebianPackages when a package is missing
// and this process cannot install it.
var ErrNeedRoot = errors.New("missing Debian packages and not root to install them")

// EnsureDebianPackages installs, with apt-get, each package whose marker
// file (an absolute path it provides) is missing. Not root, it returns
// ErrNeedRoot naming the packages (tests skip on it); apt-get lists are
// refreshed once if the first install fails.
func EnsureDebianPackages(markers map[string]string) error {
	var missing []string
	for pkg, file := range markers {
		if _, err := os.Stat(file); err != nil {
			missing = append(missing, pkg)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	sort.Strings(missing)
	if os.Geteuid() != 0 {
		return fmt.Errorf("%w: apt-get install %s", ErrNeedRoot, strings.Join(missing, " "))
	}
	if _, err := exec.LookPath("apt-get"); err != nil {
		return fmt.Errorf("missing packages %s and no apt-get: %w", strings.Join(missing, " "), err)
	}
	apt := func(args ...string) ([]byte, error) {
		cmd := exec.Command("apt-get", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		return cmd.CombinedOutput()
	}
	install := append([]string{"install", "-y", "-qq", "--no-install-recommends"}, missing...)
	if _, err := apt(install...); err != nil {
		// A fresh machine may have no package lists yet.
		if out, err := apt("update", "-qq"); err != nil {
			return fmt.Errorf("apt-get update: %w: %s", err, out)
		}
		if out, err := apt(install...); err != nil {
			return fmt.Errorf("apt-get install %s: %w: %s", strings.Join(missing, " "), err, out)
		}
	}
	return nil
}

// JDKPackages are what the Java generators need, by a file each provides.
func JDKPackages() map[string]string {
	return map[string]string{"openjdk-17-jdk-headless": "/usr/bin/javac"}
}

// NativePackages are what GraalVMNative needs (gcc, static libc, objcopy).
func NativePackages() map[string]string {
	return map[string]string{"gcc": "/usr/bin/gcc", "libc6-dev": "/usr/include/stdio.h", "binutils": "/usr/bin/objcopy"}
}

// NeedPackages is EnsureDebianPackages for a test: it skips the test with
// one line when not root, and fails it when the install fails.
func NeedPackages(t testing.TB, markers map[string]string) {
	t.Helper()
	err := EnsureDebianPackages(markers)
	if errors.Is(err, ErrNeedRoot) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
}
