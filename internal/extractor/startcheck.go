package extractor

import (
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"

	"github.com/openshift/insights-runtime-extractor/internal/cri"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint/rules"
	"github.com/openshift/insights-runtime-extractor/internal/sandbox"
)

// DefaultRuntimeWait bounds how long New waits for the container runtime to
// answer: on a booting node CRI-O may start after the pod's containers.
const DefaultRuntimeWait = 60 * time.Second

// Backoff between two attempts to reach the container runtime.
const (
	runtimeRetryFirst = 500 * time.Millisecond
	runtimeRetryMax   = 8 * time.Second
)

// checkFingerprints checks that dir holds every fingerprint, as the sandbox
// will run them; otherwise every container would lose its findings, scan
// after scan, with only a warning per container to show it.
func checkFingerprints(dir string, log *slog.Logger) error {
	for _, exe := range rules.Executables() {
		if err := checkFingerprint(filepath.Join(dir, exe), log); err != nil {
			return err
		}
	}
	return nil
}

// checkFingerprint returns one line saying what to fix about the fingerprint
// at path, or nil.
func checkFingerprint(path string, log *slog.Logger) error {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("fingerprint %s: missing: -fingerprints-dir must hold every fpr_* executable of make build", path)
	} else if err != nil {
		return fmt.Errorf("fingerprint %s: %w", path, err)
	}
	if err := sandbox.CheckMode(st.Mode); err != nil {
		return fmt.Errorf("fingerprint %s: %w: chmod 0111 it, as make build and the image do", path, err)
	}
	f, err := elf.Open(path)
	if errors.Is(err, fs.ErrPermission) {
		// Only without CAP_DAC_OVERRIDE, which the privileged extractor has:
		// an execute-only file cannot be read then, and the sandbox will say
		// at each run what is wrong with it.
		log.Warn("cannot read a fingerprint to check that it is statically linked", "path", path, "error", err)
		return nil
	}
	if err != nil {
		return fmt.Errorf("fingerprint %s: not an executable of this machine: %w", path, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type != elf.PT_INTERP {
			continue
		}
		// A dynamic executable would run the container's own loader and
		// libraries, if the container has any at all.
		interp, _ := io.ReadAll(io.LimitReader(p.Open(), 256))
		return fmt.Errorf("fingerprint %s: dynamically linked (PT_INTERP %s): build it with CGO_ENABLED=0",
			path, bytes.TrimRight(interp, "\x00"))
	}
	return nil
}

// waitForRuntime dials the container runtime until it answers its Version
// call, logging meanwhile that it is not ready, for at most wait.
func waitForRuntime(endpoint string, wait time.Duration, log *slog.Logger) error {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	delay := runtimeRetryFirst
	var last error
	for {
		c, err := cri.Dial(ctx, endpoint, cri.WithLogger(log))
		if err == nil {
			log.Info("container runtime answers", "endpoint", c.Endpoint(), "runtime", c.Runtime(), "version", c.RuntimeVersion())
			return c.Close()
		}
		if ctx.Err() == nil || last == nil {
			// An attempt cut short by the deadline says less than the one before.
			last = err
		}
		if ctx.Err() == nil {
			log.Warn("container runtime not ready, retrying", "error", err, "next_attempt_in", delay)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("container runtime not ready after %v: %w", wait, last)
		case <-time.After(delay):
		}
		delay = min(2*delay, runtimeRetryMax)
	}
}
