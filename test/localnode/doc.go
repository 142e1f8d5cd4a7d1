// Package localnode runs a real, private Kubernetes-like node on the local
// machine for end-to-end tests, the demo and the benchmarks: Debian's
// containerd and runc, or CRI-O (built by test/crio/build.sh) with Debian's
// runc and conmon, started on their own socket and directories; sample
// images built offline from the recipes under runtime-samples/ and
// imported; and pods created through the CRI gRPC API the way the kubelet
// creates them (sandbox metadata, io.kubernetes.* labels, host network). It
// can also attach to a CRI-O that runs already (Options.CRIO), e.g. one that
// systemd started.
//
// It needs root. Nothing it starts outlives Node.Stop: containers, sandboxes,
// the runtime with its shims or conmons, its mounts, its directories and the
// cgroups of its pods are removed there. Set IRE_NODE_KEEP_LOG to a directory
// to keep the runtime's own log when the node is removed.
package localnode
