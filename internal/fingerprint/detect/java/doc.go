// Package java holds the detectors of the Java fingerprint: the JDK's release file, the frameworks of config.toml's Java rules and the JBoss products (SPEC §7), one file each.
// fpr_java imports this package alone, which registers them.
package java

import "github.com/openshift/insights-runtime-extractor/internal/fingerprint"

// Fingerprint is the fingerprint these detectors belong to.
const Fingerprint = fingerprint.NameJava
