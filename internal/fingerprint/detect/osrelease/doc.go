// Package osrelease holds the detectors of the OS fingerprint: os-release(5) of the container's image (SPEC §7), one file each.
// fpr_os imports this package alone, which registers them.
package osrelease

import "github.com/openshift/insights-runtime-extractor/internal/fingerprint"

// Fingerprint is the fingerprint these detectors belong to.
const Fingerprint = fingerprint.NameOS
