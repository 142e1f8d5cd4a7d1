// Package localnode runs a real, private Kubernetes-like node on the local
// machine for end-to-end tests, the demo and the benchmark: Debian's
// containerd and runc started on their own socket and directories, sample
// images built offline from the recipes under runtime-samples/ and imported,
// and pods created through the CRI gRPC API the way the kubelet creates them
// (sandbox metadata, io.kubernetes.* labels, host network).
//
// It needs root. Nothing it starts outlives Node.Stop: containers, sandboxes,
// containerd, its directories and the cgroups of its pods are removed there.
package localnode
