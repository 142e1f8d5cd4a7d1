// Package detect holds the detectors of SPEC §7, one per file, and runs those
// of one fingerprint against a root directory (the container's "/" when an
// fpr_* executable runs inside it, a fixture tree in tests).
package detect

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/openshift/insights-runtime-extractor/internal/contract"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint/rootfs"
)

// Env is what a detector works with.
type Env struct {
	Root    *rootfs.Root
	Request fingerprint.Request
	Log     *slog.Logger
}

// Detector is one thing a fingerprint detects.
type Detector struct {
	// Name identifies the detector in logs and tests.
	Name string
	// Fingerprint is the fingerprint (fpr_* executable) that runs it.
	Fingerprint string
	// NeedsProcess is false when the detector reads only the root (the OS).
	NeedsProcess bool
	// Detect returns what it found; an error means it could not look, and
	// never discards what other detectors found.
	Detect func(ctx context.Context, env Env) (contract.Finding, error)
}

// Detectors is the registry, the one place a detector is added: the
// detectors of a fingerprint run in this order and the first value found for
// a field wins.
func Detectors() []Detector {
	return []Detector{
		osRelease,
		versionExecutable,
		javaVersion,
		javaRuntimes,
		jbossModules,
		nativeExecutable,
	}
}

// Of returns the detectors of one fingerprint.
func Of(fingerprintName string) []Detector {
	var out []Detector
	for _, d := range Detectors() {
		if d.Fingerprint == fingerprintName {
			out = append(out, d)
		}
	}
	return out
}

// Run runs the detectors of a fingerprint and merges their findings. Errors
// of single detectors are logged; Run fails only for an unknown fingerprint.
func Run(ctx context.Context, fingerprintName string, env Env) (contract.Finding, error) {
	ds := Of(fingerprintName)
	if len(ds) == 0 {
		return contract.Finding{}, fmt.Errorf("no detector for fingerprint %q", fingerprintName)
	}
	if env.Log == nil {
		env.Log = slog.New(slog.DiscardHandler)
	}
	var all contract.Finding
	for _, d := range ds {
		if err := ctx.Err(); err != nil {
			return all, fmt.Errorf("%s: %w", d.Name, err)
		}
		f, err := d.Detect(ctx, env)
		if err != nil {
			env.Log.Info("detector could not look", "detector", d.Name, "err", err)
		}
		all.Merge(f)
	}
	return all, nil
}
