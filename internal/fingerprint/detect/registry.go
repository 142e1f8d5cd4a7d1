// Package detect is the registry of detectors and runs those of one
// fingerprint against a root directory (the container's "/" when an fpr_*
// executable runs inside it, a fixture tree in tests).
//
// A detector is one file in the package of its fingerprint (osrelease,
// versionexec, java, native) that registers itself from init: its name,
// its fingerprint, when it applies and what it reports. An fpr_* executable
// imports the package of its fingerprint only, and so links only its
// detectors.
package detect

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"

	"github.com/openshift/insights-runtime-extractor/internal/contract"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint/rootfs"
)

// MaxTextFile bounds every text file a detector reads (SPEC §8).
const MaxTextFile = 1 << 20

// Env is what a detector works with.
type Env struct {
	Root    *rootfs.Root
	Request fingerprint.Request
	Log     *slog.Logger
}

// Detector is one thing a fingerprint detects.
type Detector struct {
	// Name identifies the detector in logs and tests; detectors of a
	// fingerprint run in the order of their names.
	Name string
	// Fingerprint is the fingerprint (fpr_* executable) that runs it.
	Fingerprint string
	// NeedsProcess is false when the detector reads only the root (the OS).
	NeedsProcess bool
	// Applies, when set, says whether the request gives the detector
	// anything to look at; nil means always.
	Applies func(fingerprint.Request) bool
	// Detect returns what it found; an error means it could not look, and
	// never discards what other detectors found.
	Detect func(ctx context.Context, env Env) (contract.Finding, error)
}

var (
	mu       sync.Mutex
	registry = map[string]Detector{}
)

// Register adds a detector; it is called from the init of the detector's
// file. A detector without a name, a fingerprint or a Detect function, or a
// name registered twice, is a programming error and panics at start.
func Register(d Detector) {
	mu.Lock()
	defer mu.Unlock()
	if d.Name == "" || d.Fingerprint == "" || d.Detect == nil {
		panic(fmt.Sprintf("detect: incomplete detector %+v", d))
	}
	if _, dup := registry[d.Name]; dup {
		panic("detect: detector " + d.Name + " registered twice")
	}
	registry[d.Name] = d
}

// Of returns the registered detectors of one fingerprint, by name.
func Of(fingerprintName string) []Detector {
	mu.Lock()
	defer mu.Unlock()
	var out []Detector
	for _, d := range registry {
		if d.Fingerprint == fingerprintName {
			out = append(out, d)
		}
	}
	slices.SortFunc(out, func(a, b Detector) int { return cmp.Compare(a.Name, b.Name) })
	return out
}

// Run runs the detectors of a fingerprint that apply to the request and
// merges their findings (the first value found for a field wins). Errors of
// single detectors are logged; Run fails only for a fingerprint without
// detectors, or when ctx ends.
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
		if d.Applies != nil && !d.Applies(env.Request) {
			continue
		}
		f, err := d.Detect(ctx, env)
		if err != nil {
			env.Log.Info("detector could not look", "detector", d.Name, "err", err)
		}
		all.Merge(f)
	}
	return all, nil
}
