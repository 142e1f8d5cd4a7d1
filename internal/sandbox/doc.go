// Package sandbox runs one fingerprint executable inside a target container's pid and mount
// namespaces, as the target's uid/gid, with no capabilities, no_new_privs, not dumpable, in its
// own process group, under a wall-clock limit and in a cgroup with memory, pids and CPU limits.
//
// How a run enters the container (see DESIGN.md, "Entering a container from Go"): a goroutine
// locks itself to its OS thread and never unlocks it, so the runtime throws the thread away
// when the run is over. On that thread, everything that lives on the host is opened first (the
// executable as an O_PATH descriptor, the target's ns/mnt, ns/pid and root directory, the run's
// cgroup), then the thread unshares its fs struct, joins the target's mount namespace, chroots
// into the target's own root directory (a container need not have pivot_root'ed: its root is
// what /proc/<pid>/root says, not the namespace's root mount), joins the pid namespace (for its
// children only), empties its capability bounding, inheritable and ambient sets, sets
// no_new_privs and keeps only CAP_SETUID and CAP_SETGID in its permitted and effective sets.
// The child is forked from that thread, so it is born in the namespaces, the root, the cgroup
// (v1: the thread was put in the run's cgroup; v2: clone3 CLONE_INTO_CGROUP) and with the
// reduced credentials of the thread; it drops to the target's uid/gid with no supplementary
// groups and executes "/proc/self/fd/N", N being the parent's close-on-exec O_PATH descriptor of
// the executable: the kernel resolves it through the container's /proc to the host file, and
// the descriptor is closed by that same execve, so the fingerprint holds no descriptor to any
// host file and its cwd and root are the container's "/".
//
// Why the thread keeps CAP_SETUID and CAP_SETGID and nothing else: the child needs them to
// change its ids, and without CAP_DAC_OVERRIDE/CAP_DAC_READ_SEARCH an execute-only (0111)
// executable cannot be read by the execve caller, so the kernel marks the new program
// non-dumpable even when the target runs as root and no uid changes. Execute-only executables
// are therefore part of the contract: Run refuses an executable that anyone may read.
//
// Everything a fingerprint prints is hostile input: Run bounds it (Limits.MaxOutput) and the
// caller validates it.
package sandbox
