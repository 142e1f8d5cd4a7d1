package localnode

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// EnsurePackages installs the Debian packages that are not installed yet,
// with apt-get (one update, then one install). It needs root when anything
// is missing; when everything is present it changes nothing.
func EnsurePackages(ctx context.Context, log *slog.Logger, pkgs ...string) error {
	var missing []string
	for _, p := range pkgs {
		out, err := exec.CommandContext(ctx, "dpkg-query", "-W", "-f=${Status}", p).Output()
		if err != nil || !strings.HasSuffix(strings.TrimSpace(string(out)), "install ok installed") {
			missing = append(missing, p)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("packages %s are missing and installing them needs root", strings.Join(missing, ", "))
	}
	// Test packages run in parallel (go test ./...): one apt at a time, and
	// apt itself waits for a dpkg lock held by anyone else.
	lock, err := os.OpenFile(filepath.Join(os.TempDir(), "insights-runtime-extractor-apt.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return err
	}
	defer lock.Close()
	if err := flockContext(ctx, lock); err != nil {
		return err
	}
	defer unix.Flock(int(lock.Fd()), unix.LOCK_UN)
	log.Info("installing missing packages with apt-get", "packages", missing)
	wait := "-oDPkg::Lock::Timeout=300"
	if err := runQuiet(ctx, "apt-get", wait, "update", "-q"); err != nil {
		return err
	}
	args := append([]string{wait, "install", "-y", "-q", "--no-install-recommends"}, missing...)
	return runQuiet(ctx, "apt-get", args...)
}

// runQuiet runs a command with a non-interactive environment and returns its
// combined output in the error when it fails.
func runQuiet(ctx context.Context, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, tail(out.String(), 2000))
	}
	return nil
}

// tail keeps the last n bytes of s: the end of a tool's output says why it failed.
func tail(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
