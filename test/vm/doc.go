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
// What a payload finds in the guest (Debian 12, kernel 6.1, systemd 252):
//   - /payload: the payload directory (its own ext4 disk), also the working
//     directory of run; /results: an empty directory handed back to the host;
//   - crio.service active, socket /run/crio/crio.sock, crictl configured for
//     it (/etc/crictl.yaml), crio and pinns and crictl in /usr/local/bin;
//   - no network and no registry: images come from the payload, copied with
//     skopeo into containers-storage: (the store CRI-O uses, overlay). CRI-O's
//     pause image is localhost/insights-runtime-extractor/pause:e2e, to be
//     imported by the payload before a pod that needs one; with
//     drop_infra_ctr on, only pods that share one PID namespace do
//     (namespace_options.pid POD, kubelet's shareProcessNamespace);
//   - run's stdout and stderr go to the host, and to the console as
//     progress; a timeout (the run's deadline less a margin) ends it with
//     exit code 124.
//
// The CI machines are cgroup v1 hosts whose PID 1 is not systemd; the node
// the product ships to is cgroup v2 with systemd. This package closes that
// gap for the tests that need the real thing.
package vm
