// Command fpr_java is the "java" fingerprint (SPEC §7); see fingerprints/README.md.
package main

import (
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint/cli"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint/detect/java"
)

func main() { cli.Main(java.Fingerprint) }
