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
// Other choices, each proven by the package tests:
//   - Descriptors: Go opens everything close-on-exec, but descriptors this process inherited
//     are not; Run marks every descriptor from 3 up close-on-exec (close_range), process-wide,
//     before each fork, so a fingerprint gets its three pipes and nothing else. The child's
//     streams are our own pipes (not os/exec's copying goroutines), so Wait returns when the
//     fingerprint exits even if descendants hold a stream; those die with the cgroup.
//   - Session: the fingerprint leads a new session (Setsid): its own process group, killed
//     as a whole, and no controlling terminal to reach through /dev/tty.
//   - No Pdeathsig: Go's child kills itself when getppid() is not its parent's pid, and across
//     pid namespaces getppid() is 0. Instead every run's cgroup is killed before Run returns,
//     and New kills and removes what sandboxes of dead processes left behind (their cgroup
//     names carry their pid).
//   - The fork-to-execve window: Go forks with CLONE_VM|CLONE_VFORK, so until its execve the
//     child shares this process's memory and holds a copy of its descriptors, while it is
//     already visible in the container's pid namespace. New makes this process non-dumpable,
//     so that only CAP_SYS_PTRACE lets a process of the container attach to the child then,
//     and Run refuses (ErrTargetCanPtrace) a target whose pid namespace, or an ancestor of
//     it below ours, has a process that may hold CAP_SYS_PTRACE in any set. What remains is
//     a process with that capability entering the namespace after the check and winning a
//     race of microseconds; closing it needs a helper that is exec'd fresh in the host pid
//     namespace before anything is forked into the container's (as runc's nsexec).
//   - The main thread never enters a container: /proc/self of the whole process is the main
//     thread's view, so a locked goroutine that lands there hands over to another thread.
//   - cgroup v1 (and hybrid): the per-run cgroup has memory (and memory+swap when accounted),
//     pids and cpu (CFS quota) limits; the forking thread is put in it (v1 "tasks" moves one
//     thread) just before the fork and taken back right after. cgroup v2: the child is born
//     in it (clone3 CLONE_INTO_CGROUP), memory.max, memory.swap.max 0, memory.oom.group,
//     pids.max and cpu.max; killed through cgroup.kill. On v2 the parent must be a cgroup
//     without processes (Options.CgroupParent).
//
// Everything a fingerprint prints is hostile input: Run bounds it (Limits.MaxOutput) and the
// caller validates it.
package sandbox
