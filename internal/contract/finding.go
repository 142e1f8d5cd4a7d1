// Package contract is what every side of the product agrees on about a
// finding (SPEC §2–§4): its type and JSON names, its keys and the value rule
// with its limits (the same for an fpr_* executable's output and for the
// result directory), the key=value lines an fpr_* executable prints, and the
// obfuscation of values in the answer. It imports nothing of ours, so that
// the unprivileged exporter and the privileged coordinator can share it.
package contract

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Keys of the findings protocol between an fpr_* executable and the
// coordinator. The first five are the keys of os.txt and runtime-kind.txt
// (SPEC §4); each runtime is one "runtime=<name>=<version>" line.
const (
	KeyOSID            = "os-release-id"
	KeyOSVersionID     = "os-release-version-id"
	KeyKind            = "runtime-kind"
	KeyKindVersion     = "runtime-kind-version"
	KeyKindImplementer = "runtime-kind-implementer"
	KeyRuntime         = "runtime"
)

// Bounds of DecodeFinding: what one fingerprint may say about one container.
const (
	MaxFindingSize = 64 << 10
	MaxRuntimes    = 64
)

// ErrInvalidValue is returned by Encode for a value that breaks the format.
var ErrInvalidValue = errors.New("value is not one printable line of at most 256 bytes")

// Runtime is one runtime component (framework, application server).
// Version may be empty (e.g. a native Quarkus without its version).
type Runtime struct {
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
}

// Finding is what was found in one container, the one type from a detector
// to the JSON answer: a detector returns it, an fpr_* executable prints it
// (Encode), the coordinator reads it back (DecodeFinding) and stores it in the
// result directory, and the exporter serves it. Every field is optional; the
// JSON names are a contract with the Insights Operator (SPEC §2).
type Finding struct {
	OS              string    `json:"os,omitempty"`
	OSVersion       string    `json:"osVersion,omitempty"`
	Kind            string    `json:"kind,omitempty"`
	KindVersion     string    `json:"kindVersion,omitempty"`
	KindImplementer string    `json:"kindImplementer,omitempty"`
	Runtimes        []Runtime `json:"runtimes,omitempty"`
}

// Empty reports whether nothing was found.
func (f Finding) Empty() bool {
	return f.OS == "" && f.OSVersion == "" && f.Kind == "" && f.KindVersion == "" &&
		f.KindImplementer == "" && len(f.Runtimes) == 0
}

// Merge adds o to f: a field already set in f is kept, runtimes are appended
// unless one of the same name is already there.
func (f *Finding) Merge(o Finding) {
	set := func(dst *string, v string) {
		if *dst == "" {
			*dst = v
		}
	}
	set(&f.OS, o.OS)
	set(&f.OSVersion, o.OSVersion)
	set(&f.Kind, o.Kind)
	set(&f.KindVersion, o.KindVersion)
	set(&f.KindImplementer, o.KindImplementer)
	for _, r := range o.Runtimes {
		f.AddRuntime(r)
	}
}

// AddRuntime appends r unless a runtime of the same name is already there.
func (f *Finding) AddRuntime(r Runtime) {
	for _, have := range f.Runtimes {
		if have.Name == r.Name {
			return
		}
	}
	f.Runtimes = append(f.Runtimes, r)
}

// Sanitize returns f with every value cleaned (CleanValue) and every value
// that cannot be reported dropped; dropped lists what was dropped and why, for
// the log. A runtime whose name is invalid is dropped entirely; one whose
// version is invalid keeps its name.
func (f Finding) Sanitize() (clean Finding, dropped []string) {
	field := func(key, v string) string {
		if v == "" {
			return ""
		}
		c, ok := CleanValue(v)
		if !ok {
			dropped = append(dropped, fmt.Sprintf("%s=%q", key, truncate(v)))
			return ""
		}
		return c
	}
	clean.OS = field(KeyOSID, f.OS)
	clean.OSVersion = field(KeyOSVersionID, f.OSVersion)
	clean.Kind = field(KeyKind, f.Kind)
	clean.KindVersion = field(KeyKindVersion, f.KindVersion)
	clean.KindImplementer = field(KeyKindImplementer, f.KindImplementer)
	for _, r := range f.Runtimes {
		name, ok := CleanValue(r.Name)
		if !ok || strings.Contains(name, "=") {
			dropped = append(dropped, fmt.Sprintf("runtime name %q", truncate(r.Name)))
			continue
		}
		if len(clean.Runtimes) >= MaxRuntimes {
			dropped = append(dropped, fmt.Sprintf("runtime %q: more than %d runtimes", name, MaxRuntimes))
			continue
		}
		clean.AddRuntime(Runtime{Name: name, Version: field("runtime "+name+" version", r.Version)})
	}
	return clean, dropped
}

func truncate(v string) string {
	if len(v) > 64 {
		return v[:64] + "…"
	}
	return v
}

// Encode writes f as key=value lines, the standard output of an fpr_*
// executable. It refuses (ErrInvalidValue, nothing written) when a value would
// break the format: call Sanitize first.
func (f Finding) Encode(w io.Writer) error {
	var b strings.Builder
	for _, kv := range [][2]string{
		{KeyOSID, f.OS}, {KeyOSVersionID, f.OSVersion},
		{KeyKind, f.Kind}, {KeyKindImplementer, f.KindImplementer}, {KeyKindVersion, f.KindVersion},
	} {
		if kv[1] == "" {
			continue
		}
		if !ValidValue(kv[1]) || kv[1] != strings.TrimSpace(kv[1]) {
			return fmt.Errorf("%s=%q: %w", kv[0], truncate(kv[1]), ErrInvalidValue)
		}
		fmt.Fprintf(&b, "%s=%s\n", kv[0], kv[1])
	}
	if len(f.Runtimes) > MaxRuntimes {
		return fmt.Errorf("%d runtimes, at most %d: %w", len(f.Runtimes), MaxRuntimes, ErrInvalidValue)
	}
	for _, r := range f.Runtimes {
		if !ValidValue(r.Name) || strings.Contains(r.Name, "=") || r.Name != strings.TrimSpace(r.Name) {
			return fmt.Errorf("runtime name %q: %w", truncate(r.Name), ErrInvalidValue)
		}
		if r.Version != "" && (!ValidValue(r.Version) || r.Version != strings.TrimSpace(r.Version)) {
			return fmt.Errorf("runtime %s version %q: %w", r.Name, truncate(r.Version), ErrInvalidValue)
		}
		fmt.Fprintf(&b, "%s=%s=%s\n", KeyRuntime, r.Name, r.Version)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// DecodeFinding reads what an fpr_* executable printed. It reads at most
// MaxFindingSize bytes (more is an error), ignores unknown keys and lines
// without '=', keeps the first occurrence of a key, and drops every value that
// is not one printable line of at most 256 bytes. It never panics.
func DecodeFinding(r io.Reader) (Finding, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxFindingSize+1))
	if err != nil {
		return Finding{}, fmt.Errorf("read findings: %w", err)
	}
	if len(data) > MaxFindingSize {
		return Finding{}, fmt.Errorf("findings larger than %d bytes", MaxFindingSize)
	}
	var f Finding
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	sc.Buffer(make([]byte, 0, 4096), MaxFindingSize+1)
	for sc.Scan() {
		key, value, ok := strings.Cut(sc.Text(), "=")
		if !ok {
			continue
		}
		key = strings.TrimSpace(key)
		if key == KeyRuntime {
			name, version, _ := strings.Cut(value, "=")
			name, okName := CleanValue(name)
			if !okName || len(f.Runtimes) >= MaxRuntimes {
				continue
			}
			version, okVersion := CleanValue(version)
			if !okVersion {
				version = ""
			}
			f.AddRuntime(Runtime{Name: name, Version: version})
			continue
		}
		value, ok = CleanValue(value)
		if !ok {
			continue
		}
		var dst *string
		switch key {
		case KeyOSID:
			dst = &f.OS
		case KeyOSVersionID:
			dst = &f.OSVersion
		case KeyKind:
			dst = &f.Kind
		case KeyKindVersion:
			dst = &f.KindVersion
		case KeyKindImplementer:
			dst = &f.KindImplementer
		default:
			continue
		}
		if *dst == "" {
			*dst = value
		}
	}
	if err := sc.Err(); err != nil {
		return Finding{}, fmt.Errorf("read findings: %w", err)
	}
	return f, nil
}
