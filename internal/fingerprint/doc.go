// Package fingerprint decides which fingerprints apply to a container's
// workload process (from config.toml, SPEC §5 and §7), and carries the
// findings between an fpr_* executable, which runs inside the container, and
// the coordinator, which validates and stores them.
//
// The detectors themselves live in the sub-packages under detect/; the
// parsers of hostile container input (os-release, MANIFEST.MF, jar, ELF,
// --version output) live in their own small, fuzzed packages.
package fingerprint
