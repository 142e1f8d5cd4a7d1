// Command fpr_version_executable is the "version-executable" fingerprint (SPEC §7); see fingerprints/README.md.
package main

import (
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint/cli"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint/detect/versionexec"
)

func main() { cli.Main(versionexec.Fingerprint) }
