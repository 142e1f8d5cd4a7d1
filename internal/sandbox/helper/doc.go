// Package helper is the sandbox helper: the small program package sandbox starts, from a
// sealed copy, with the descriptors of a target container's namespaces and root. It joins the
// container, gives up every privilege and forks the reaper that forks the fingerprint.
//
// Why a helper at all: Go forks with CLONE_VM|CLONE_VFORK, so a child forked by the
// coordinator into a container's pid namespace would share the coordinator's memory and a
// copy of its descriptors until its execve, in plain view of the container (a process there
// with CAP_SYS_PTRACE can attach to it in that window). The helper is started in the host's
// pid namespace, which no container sees, from a fresh image holding nothing but its
// descriptors, and forks into the container with a real fork, so that what the container can
// see until the fingerprint's execve is a copy of the helper's small memory.
//
// Why a program of its own rather than the coordinator started again: every start pays for
// the image's size and its packages' initialisation, and the helper starts once per
// fingerprint run. It links this package and golang.org/x/sys and x/net/bpf only.
package helper
