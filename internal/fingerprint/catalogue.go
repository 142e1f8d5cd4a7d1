package fingerprint

import "strings"

// The fingerprints (SPEC §7): Name is the stem of the result file, the
// executable is ExecutableName(Name) under fingerprints/.
const (
	NameOS                = "os"
	NameVersionExecutable = "version-executable"
	NameJava              = "java"
	NameNativeExecutable  = "native-executable"
)

// Fingerprint is one fpr_* executable and when the coordinator runs it.
type Fingerprint struct {
	Name string
	// Kind fingerprints say what runs the process; at most one of them runs
	// for a process: the first of Catalogue that selects it.
	Kind bool
	// Fallback is the kind fingerprint for a process no other one knows; a
	// process it selects is not "recognised" (SPEC §6 prefers a known one).
	Fallback bool
	// Select says whether the fingerprint applies to p under the rules, and
	// with which request. A fingerprint that reads no request returns nil.
	Select func(r Rules, p Process) (req *Request, ok bool)
}

// Catalogue lists the fingerprints in order of authority: the first to
// report a field keeps it. Adding a fingerprint is one entry here, one
// package of detectors under detect/ and a one-line main under fingerprints/.
var Catalogue = []Fingerprint{
	{Name: NameOS, Select: always},
	{Name: NameVersionExecutable, Kind: true, Select: selectVersionExecutable},
	{Name: NameJava, Kind: true, Select: selectJava},
	{Name: NameNativeExecutable, Kind: true, Fallback: true, Select: selectAny},
}

// always applies and needs only the root directory (the OS).
func always(Rules, Process) (*Request, bool) { return nil, true }

// selectVersionExecutable applies when a version-executables entry names the
// process, and passes that entry's kind and version pattern.
func selectVersionExecutable(r Rules, p Process) (*Request, bool) {
	for _, v := range r.VersionExecutables {
		for _, n := range v.ProcessNames {
			if n == p.Name {
				return &Request{Process: p, RuntimeKindName: v.RuntimeKindName, VersionPattern: v.VersionPattern}, true
			}
		}
	}
	return nil, false
}

// selectJava applies to a JVM (its process name ends with "java", as the
// original decides) and passes the Java framework rules.
func selectJava(r Rules, p Process) (*Request, bool) {
	if !strings.HasSuffix(p.Name, "java") {
		return nil, false
	}
	return &Request{Process: p, Java: r.Java}, true
}

// selectAny applies to every process, with nothing but the process.
func selectAny(_ Rules, p Process) (*Request, bool) { return &Request{Process: p}, true }
