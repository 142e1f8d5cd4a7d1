// Package debpkg installs the Debian packages that a test setup, the demo or
// the benchmark needs and the machine lacks, with apt-get. It is the one
// place that runs apt: test packages run in parallel (go test ./...), and a
// lock shared by every process makes them install one at a time.
package debpkg

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/openshift/insights-runtime-extractor/test/flock"
)

// ErrNeedRoot is returned by Ensure when a package is missing and this
// process cannot install it; test helpers skip on it.
var ErrNeedRoot = errors.New("missing Debian packages and not root to install them")

// lockName is the file, in the temporary directory, that every process of
// this repository locks around apt-get.
const lockName = "insights-runtime-extractor-apt.lock"

// validName is Debian policy's package name: a name never reaches apt-get
// as an option.
var validName = regexp.MustCompile(`^[a-z0-9][a-z0-9+.-]+$`)

// Ensure installs, with apt-get, each package that dpkg does not report as
// installed. When everything is installed it changes nothing and needs no
// privilege; otherwise it needs root and returns ErrNeedRoot, naming the
// packages, when not root. A failed install is retried once after
// refreshing the package lists (a fresh machine may have none). log may be
// nil.
func Ensure(ctx context.Context, log *slog.Logger, pkgs ...string) error {
	return ensure(ctx, log, os.Geteuid(), filepath.Join(os.TempDir(), lockName), pkgs)
}

// ensure is Ensure for a given effective uid and lock file, so that tests
// can show what a non-root process gets and that the lock is waited for.
func ensure(ctx context.Context, log *slog.Logger, euid int, lockPath string, pkgs []string) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	for _, p := range pkgs {
		if !validName.MatchString(p) {
			return fmt.Errorf("%q is not a Debian package name", p)
		}
	}
	missing := notInstalled(ctx, pkgs)
	if len(missing) == 0 {
		return nil
	}
	if euid != 0 {
		return fmt.Errorf("%w: apt-get install %s", ErrNeedRoot, strings.Join(missing, " "))
	}
	unlock, err := flock.Lock(ctx, lockPath)
	if err != nil {
		return err
	}
	defer unlock()
	// Another process may have installed them while this one waited.
	if missing = notInstalled(ctx, missing); len(missing) == 0 {
		return nil
	}
	if _, err := exec.LookPath("apt-get"); err != nil {
		return fmt.Errorf("missing Debian packages %s and no apt-get: %w", strings.Join(missing, " "), err)
	}
	log.Info("installing missing Debian packages with apt-get", "packages", missing)
	start := time.Now()
	// apt itself waits for a dpkg lock held by anyone else.
	wait := "-oDPkg::Lock::Timeout=300"
	install := append([]string{wait, "install", "-y", "-q", "--no-install-recommends"}, missing...)
	if err := aptGet(ctx, install...); err != nil {
		log.Info("apt-get install failed; updating the package lists and retrying once", "error", err)
		if err := aptGet(ctx, wait, "update", "-q"); err != nil {
			return err
		}
		if err := aptGet(ctx, install...); err != nil {
			return err
		}
	}
	log.Info("Debian packages installed", "packages", missing, "took", time.Since(start).Round(time.Second))
	return nil
}

// notInstalled returns, sorted, the packages dpkg does not report as
// installed ("install ok installed", or "hold ok installed" for a held
// one): unknown, removed, left with only their config files, or broken.
func notInstalled(ctx context.Context, pkgs []string) []string {
	var out []string
	for _, p := range pkgs {
		status, err := exec.CommandContext(ctx, "dpkg-query", "-W", "-f=${Status}", p).Output()
		if err != nil || !strings.HasSuffix(strings.TrimSpace(string(status)), " ok installed") {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

// aptGet runs apt-get non-interactively; its error ends with the end of
// apt's output, which says why it failed.
func aptGet(ctx context.Context, args ...string) error {
	cmd := exec.CommandContext(ctx, "apt-get", args...)
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(out.String())
		if len(msg) > 2000 {
			msg = "…" + msg[len(msg)-2000:]
		}
		return fmt.Errorf("apt-get %s: %w: %s", strings.Join(args, " "), err, msg)
	}
	return nil
}
