// Package native holds the detectors of the native-executable fingerprint (SPEC §7), one file each: what runs or built a native executable (.NET, GraalVM native images, Go, Rust), and the runtimes whose executable or installation says their version without running anything (PHP, Perl, Mono, Erlang/OTP and Elixir).
// fpr_native_executable imports this package alone, which registers them.
package native

import "github.com/openshift/insights-runtime-extractor/internal/fingerprint"

// Fingerprint is the fingerprint these detectors belong to.
const Fingerprint = fingerprint.NameNativeExecutable
