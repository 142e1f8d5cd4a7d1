// Package fingerprint decides which fingerprints apply to a container's
// workload process (from config.toml, SPEC §5 and §7), and describes that
// process to an fpr_* executable, which runs inside the container.
//
// The detectors themselves live in the sub-packages under detect/; the
// parsers of hostile container input (os-release, MANIFEST.MF, jar, ELF,
// --version output) live in their own small, fuzzed packages. What a
// fingerprint reports is a contract.Finding.
package fingerprint
