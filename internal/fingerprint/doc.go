// Package fingerprint is what the coordinator and an fpr_* executable share:
// the catalogue of fingerprints and when each applies (SPEC §7), the rules of
// config.toml as data (SPEC §5), and the request that describes the workload
// process to a fingerprint running inside its container. It parses nothing:
// config.toml is read by fingerprint/rules, the container's files by the
// detectors under fingerprint/detect, and a fingerprint reports a
// contract.Finding.
package fingerprint
