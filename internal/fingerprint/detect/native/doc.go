// Package native holds the detectors of the native-executable fingerprint: Go build info and GraalVM native images (SPEC §7), one file each.
// fpr_native_executable imports this package alone, which registers them.
package native

import "github.com/openshift/insights-runtime-extractor/internal/fingerprint"

// Fingerprint is the fingerprint these detectors belong to.
const Fingerprint = fingerprint.NameNativeExecutable
