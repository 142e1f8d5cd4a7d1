// Package versionexec holds the detectors of the version-executable fingerprint: the kind and version a runtime prints with --version (SPEC §7), one file each.
// fpr_version_executable imports this package alone, which registers them.
package versionexec

import "github.com/openshift/insights-runtime-extractor/internal/fingerprint"

// Fingerprint is the fingerprint these detectors belong to.
const Fingerprint = fingerprint.NameVersionExecutable
