// Command fpr_native_executable is the "native-executable" fingerprint (SPEC §7); see fingerprints/README.md.
package main

import (
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint/cli"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint/detect/native"
)

func main() { cli.Main(native.Fingerprint) }
