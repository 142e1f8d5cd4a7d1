package fingerprint

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

// Bounds of DecodeFindings: what one fingerprint may say about one container.
const (
	MaxFindingsSize = 64 << 10
	MaxRuntimes     = 64
)

// ErrInvalidValue is returned by Encode for a value that breaks the format.
var ErrInvalidValue = errors.New("value is not one printable line of at most 256 bytes")

// Component is one runtime component (framework, application server).
// Version may be empty (e.g. a native Quarkus without its version).
type Component struct{ Name, Version string }

// Findings is what one fingerprint reports.
type Findings struct {
	OSID, OSVersionID, Kind, KindVersion, KindImplementer string
	Runtimes                                              []Component
}

// Empty reports whether nothing was found.
func (f Findings) Empty() bool {
	return f.OSID == "" && f.OSVersionID == "" && f.Kind == "" && f.KindVersion == "" &&
		f.KindImplementer == "" && len(f.Runtimes) == 0
}

// Merge adds o to f: a field already set in f is kept, runtimes are appended
// unless one of the same name is already there.
func (f *Findings) Merge(o Findings) {
	set := func(dst *string, v string) {
		if *dst == "" {
			*dst = v
		}
	}
	set(&f.OSID, o.OSID)
	set(&f.OSVersionID, o.OSVersionID)
	set(&f.Kind, o.Kind)
	set(&f.KindVersion, o.KindVersion)
	set(&f.KindImplementer, o.KindImplementer)
	for _, r := range o.Runtimes {
		f.AddRuntime(r)
	}
}

// AddRuntime appends r unless a runtime of the same name is already there.
func (f *Findings) AddRuntime(r Component) {
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
func (f Findings) Sanitize() (clean Findings, dropped []string) {
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
	clean.OSID = field(KeyOSID, f.OSID)
	clean.OSVersionID = field(KeyOSVersionID, f.OSVersionID)
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
		clean.AddRuntime(Component{Name: name, Version: field("runtime "+name+" version", r.Version)})
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
func (f Findings) Encode(w io.Writer) error {
	var b strings.Builder
	for _, kv := range [][2]string{
		{KeyOSID, f.OSID}, {KeyOSVersionID, f.OSVersionID},
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

// DecodeFindings reads what an fpr_* executable printed. It reads at most
// MaxFindingsSize bytes (more is an error), ignores unknown keys and lines
// without '=', keeps the first occurrence of a key, and drops every value that
// is not one printable line of at most 256 bytes. It never panics.
func DecodeFindings(r io.Reader) (Findings, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxFindingsSize+1))
	if err != nil {
		return Findings{}, fmt.Errorf("read findings: %w", err)
	}
	if len(data) > MaxFindingsSize {
		return Findings{}, fmt.Errorf("findings larger than %d bytes", MaxFindingsSize)
	}
	var f Findings
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	sc.Buffer(make([]byte, 0, 4096), MaxFindingsSize+1)
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
			f.AddRuntime(Component{Name: name, Version: version})
			continue
		}
		value, ok = CleanValue(value)
		if !ok {
			continue
		}
		var dst *string
		switch key {
		case KeyOSID:
			dst = &f.OSID
		case KeyOSVersionID:
			dst = &f.OSVersionID
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
		return Findings{}, fmt.Errorf("read findings: %w", err)
	}
	return f, nil
}
