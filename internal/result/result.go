// Package result is the result directory of one extraction (SPEC §4): the
// coordinator writes it with a Writer, the exporter reads it with Read. Its
// values follow the finding's keys and value rules (package contract).
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
	"slices"

	"github.com/openshift/insights-runtime-extractor/internal/contract"
)

// File names and keys of SPEC §4. The keys of os.txt and runtime-kind.txt
// are those of the finding (contract.KeyOSID …).
const (
	ContainerInfoFile  = "container-info.txt"
	OSFile             = "os.txt"
	RuntimeKindFile    = "runtime-kind.txt"
	FingerprintsSuffix = "-fingerprints.txt"

	KeyContainerID  = "container-id"
	KeyPodName      = "pod-name"
	KeyPodNamespace = "pod-namespace"

	// DirPrefix starts the name of every result directory in the data dir.
	DirPrefix = "out-"
	// OtherRuntimes is the stem of the fingerprints file of the runtimes
	// whose fingerprint Container.ReportedBy does not name.
	OtherRuntimes = "runtimes"
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

// Container is what one container directory holds.
type Container struct {
	PID                                int    // directory name: pid of the scanned process
	PodName, PodNamespace, ContainerID string // container-info.txt; ContainerID is "<runtime>://<64 hex>"
	// Finding is what was found in the container: os.txt, runtime-kind.txt,
	// and as its runtimes every line of every fingerprints file.
	Finding contract.Finding
	// ReportedBy names, for a runtime name, the fingerprint that reported
	// it: the runtime is written to "<fingerprint>-fingerprints.txt", so
	// that the directory shows which fingerprint said what.
	ReportedBy map[string]string
}

// Merge adds what the fingerprint named fingerprint found to c, as
// contract.Finding.Merge does (what c already holds is kept), and records
// that fingerprint as the reporter of the runtimes it added.
func (c *Container) Merge(fingerprint string, f contract.Finding) {
	for _, r := range f.Runtimes {
		known := slices.ContainsFunc(c.Finding.Runtimes, func(have contract.Runtime) bool { return have.Name == r.Name })
		if _, named := c.ReportedBy[r.Name]; !known && !named {
			if c.ReportedBy == nil {
				c.ReportedBy = make(map[string]string)
			}
			c.ReportedBy[r.Name] = fingerprint
		}
	}
	c.Finding.Merge(f)
}
