// Package native holds the detectors of the native-executable fingerprint: what runs or built a native executable (SPEC §7): .NET, GraalVM native images, Go and Rust, one file each.
// fpr_native_executable imports this package alone, which registers them.
package native

import "github.com/openshift/insights-runtime-extractor/internal/fingerprint"

// Fingerprint is the fingerprint these detectors belong to.
const Fingerprint = fingerprint.NameNativeExecutable
