// Command fpr_os is the "os" fingerprint (SPEC §7); see fingerprints/README.md.
package main

import (
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint/cli"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint/detect/osrelease"
)

func main() { cli.Main(osrelease.Fingerprint) }
