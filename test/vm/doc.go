// Package vm boots an OpenShift-like node for tests on machines that are not
// one: a Debian kernel under qemu (software emulation, no KVM needed), systemd
// as PID 1, cgroup v2 only, and CRI-O with the systemd cgroup driver, conmon
// and runc. It is test machinery only.
//
// EnsureImage builds the kernel, initramfs and root disk once and caches them
// outside the checkout, keyed by a hash of the whole recipe; Run boots a
// throwaway copy-on-write view of that disk, runs a payload directory's
// `run` program as root once CRI-O is up, and hands back its exit code,
// output and everything it wrote to /results.
//
// The CI machines are cgroup v1 hosts whose PID 1 is not systemd; the node
// the product ships to is cgroup v2 with systemd. This package closes that
// gap for the tests that need the real thing.
package vm
