// Package result is the result directory of one extraction (SPEC §4), the only
// thing the coordinator and the exporter share: the coordinator writes it with
// a Writer, the exporter reads it with Read.
//
//	<data-dir>/out-<stamp>/
//	  <pid>/container-info.txt      container-id=…  pod-name=…  pod-namespace=…
//	  <pid>/os.txt                  os-release-id=…  os-release-version-id=…
//	  <pid>/runtime-kind.txt        runtime-kind=…  runtime-kind-implementer=…  runtime-kind-version=…
//	  <pid>/<stem>-fingerprints.txt <name>=<version>, one line per runtime component
//
// Files are "key=value" lines with keys sorted; a missing file or key means
// "not detected". One more top-level file, SummaryFile, tells how the scan
// went; only this project's exporter reads it.
package result

import (
	"strings"
	"unicode"
)

// File names and keys of SPEC §4.
const (
	ContainerInfoFile  = "container-info.txt"
	OSFile             = "os.txt"
	RuntimeKindFile    = "runtime-kind.txt"
	FingerprintsSuffix = "-fingerprints.txt"

	KeyContainerID     = "container-id"
	KeyPodName         = "pod-name"
	KeyPodNamespace    = "pod-namespace"
	KeyOSID            = "os-release-id"
	KeyOSVersionID     = "os-release-version-id"
	KeyKind            = "runtime-kind"
	KeyKindImplementer = "runtime-kind-implementer"
	KeyKindVersion     = "runtime-kind-version"

	// DirPrefix starts the name of every result directory in the data dir.
	DirPrefix = "out-"
)

// Bounds of the reader; the writer never produces anything beyond them.
const (
	MaxFileSize   = 64 << 10 // bytes of one file
	MaxLineSize   = 4 << 10  // bytes of one line, newline included
	MaxContainers = 10000    // container directories of one result
	// maxEntries bounds the entries of a result directory examined, so that
	// a directory full of junk cannot keep the reader busy.
	maxEntries = 2 * MaxContainers
	// maxFilesPerContainer bounds the entries of one container directory.
	maxFilesPerContainer = 256
)

// Runtime is one runtime component found in a container (a framework or
// application server): one line "<Name>=<Version>" of a fingerprints file.
type Runtime struct{ Name, Version string }

// Container is what one container directory holds.
type Container struct {
	PID                                int    // directory name: pid of the scanned process
	PodName, PodNamespace, ContainerID string // ContainerID is "<runtime>://<64 hex>"
	OSID, OSVersionID                  string // os.txt
	Kind, KindVersion, KindImplementer string // runtime-kind.txt
	// Fingerprints maps a file stem to its items: file "<stem>-fingerprints.txt".
	Fingerprints map[string][]Runtime
}

// trimValue strips the white space and quotes that surround a value (SPEC §4).
func trimValue(v string) string {
	return strings.TrimFunc(v, func(r rune) bool {
		return unicode.IsSpace(r) || r == '"' || r == '\''
	})
}

// printable reports whether s is one line of printable UTF-8 text: what a
// value must be to survive the format and to be safe to show.
func printable(s string) bool {
	for _, r := range s {
		if r == unicode.ReplacementChar || !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}
