package rules

import (
	"encoding/json"

	"github.com/openshift/insights-runtime-extractor/internal/fingerprint"
)

// Executables returns the fpr_* executable of every fingerprint of the
// catalogue: the extractor image ships them all, and extractor_server checks
// them at start.
func Executables() []string {
	exes := make([]string, len(fingerprint.Catalogue))
	for i, fp := range fingerprint.Catalogue {
		exes[i] = fingerprint.ExecutableName(fp.Name)
	}
	return exes
}

// Plan returns the fingerprints that apply to p (SPEC §7), in the order of
// fingerprint.Catalogue: each one that is not a kind fingerprint, then the
// first kind fingerprint that selects p.
func (c *Config) Plan(p fingerprint.Process) []fingerprint.Invocation {
	var plan []fingerprint.Invocation
	kind := false
	for _, fp := range fingerprint.Catalogue {
		if fp.Kind && kind {
			continue
		}
		req, ok := fp.Select(c.Fingerprints, p)
		if !ok {
			continue
		}
		kind = kind || fp.Kind
		plan = append(plan, invocation(fp.Name, req))
	}
	return plan
}

// Recognizes reports whether a process of that name is a workload some
// fingerprint knows (SPEC §6 prefers such a leaf): a kind fingerprint other
// than the fallback selects it.
func (c *Config) Recognizes(processName string) bool {
	p := fingerprint.Process{Name: processName}
	for _, fp := range fingerprint.Catalogue {
		if !fp.Kind || fp.Fallback {
			continue
		}
		if _, ok := fp.Select(c.Fingerprints, p); ok {
			return true
		}
	}
	return false
}

func invocation(name string, req *fingerprint.Request) fingerprint.Invocation {
	inv := fingerprint.Invocation{Name: name, Executable: fingerprint.ExecutableName(name), Args: []string{"-root", "/"}}
	if req == nil {
		return inv
	}
	// Marshalling these plain structs cannot fail (no channels, funcs or
	// cyclic values); invalid UTF-8 is replaced, never an error.
	inv.Stdin, _ = json.Marshal(req)
	inv.Args = append(inv.Args, "-request", "-")
	return inv
}
