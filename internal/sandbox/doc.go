// Package sandbox runs fingerprint executables inside a target container's pid, mount, net,
// ipc, uts and cgroup namespaces, as the target's uid/gid, with no capabilities, no_new_privs,
// under a seccomp filter, not dumpable, in their own session, each under a wall-clock limit,
// and in a cgroup with memory, pids and CPU limits. All the fingerprints of one container
// (RunJobs) go through one helper, which enters the container once, and one cgroup.
//
// How a run enters the container (DESIGN.md, "Entering a container from Go", with one more
// step). Go forks with CLONE_VM|CLONE_VFORK: a child forked by the caller straight into the
// container's pid namespace would share the caller's memory and a copy of all its descriptors
// until its execve, visible to the container, and a process there holding CAP_SYS_PTRACE can
// attach to it in that window (the escape test caught exactly that). So:
//
//  1. RunJobs checks each executable (execute-only, a static ELF: no PT_INTERP, which would
//     load the container's ld.so) and runs a sealed memfd copy of it (memfd.go; copied once
//     per file), so that the fingerprint's exe and maps name "/memfd:<name> (deleted)", a
//     file that exists nowhere on the host and cannot be changed; the helper (Options.Helper,
//     copied once by New) runs from such a copy too. Relative to one /proc/<pid> descriptor,
//     it opens the target's ns/mnt, ns/pid, ns/net, ns/ipc, ns/uts, ns/cgroup and root
//     directory; it takes a run cgroup (an idle one, or a new one; v1: the forking thread is
//     moved into it for the fork and back after; v2: clone3 CLONE_INTO_CGROUP) and marks
//     every inherited descriptor close-on-exec.
//  2. It starts the helper (package helper, a small program of its own) with just those
//     descriptors, the jobs' executables and pipes, a status pipe and a control pipe, in the
//     host's pid and mount namespaces, where no container sees it, in a session of its own,
//     dying with the caller (Pdeathsig).
//  3. The helper joins on its main thread the target's mount namespace, chroots into the
//     target's own root (a container need not have pivot_root'ed: its root is what
//     /proc/<pid>/root says, not the namespace's root mount), joins the pid namespace (for
//     its children) and the net, ipc, uts and cgroup namespaces (what the fingerprint runs
//     from the container, a --version, must not see the extractor's network, hostname or
//     IPC), sets no_new_privs, empties the bounding and ambient sets, drops to the target's
//     uid/gid with no supplementary groups, empties every capability set and installs the
//     seccomp filter (helper/seccomp.go: a deny-list answering EPERM, another architecture's
//     calls killed), all on that thread only (raw system calls; credentials are per thread
//     in Linux).
//  4. Then, for each job in turn (unless the control pipe was closed: the caller gave up), it
//     forks from that thread with a real fork (no shared memory) the job's reaper: born in
//     the container's pid namespace, mount namespace and root, in the cgroup, with those
//     credentials, it starts a new session, asks for SIGKILL when the helper dies, becomes
//     the child subreaper of what it starts, and forks the fingerprint, which starts a
//     session of its own, asks for SIGKILL when this reaper dies, takes the job's pipes as
//     its standard streams and execveat()s the executable's descriptor (AT_EMPTY_PATH: no
//     reliance on the container's /proc). The reaper reaps every descendant (orphans are
//     reparented to it, not to the container's init, which might never reap them); once the
//     fingerprint has exited it kills its remaining children and reaps them, then exits with
//     the fingerprint's status. Both are copies of the helper's small memory, holding nothing
//     but descriptors of their own container and of the executable's sealed copy. The helper
//     reaps the reaper and tells the job's start (the reaper's pid), end (its status) and
//     CPU time on the status pipe, then closes the job's descriptors.
//
// Not dumpable: with no CAP_DAC_OVERRIDE or CAP_DAC_READ_SEARCH left, the execute-only (0111)
// executable (the memfd copy is made 0111 too) cannot be read by its execve caller, so the
// kernel makes the fingerprint non-dumpable even for a root target whose uid does not change.
// Run refuses an executable that anyone may read.
//
// Other choices, each proven by the package tests:
//   - Descriptors: the fingerprint gets its three pipes and nothing else. They are our own
//     pipes, not os/exec's copying goroutines, so a job's end is seen when its reaper ends
//     even if descendants that escaped hold a stream.
//   - Killing: a job that overruns its time or output limit, or runs when the caller gives
//     up, is killed through its reaper's children (the reaper then kills and reaps the rest:
//     a zombie left to the container's init might never be reaped); once the helper has
//     exited, whatever is left in the cgroup is killed. New kills and removes what sandboxes
//     of dead processes left behind (their cgroup names carry their pid and its start time: a
//     live process that took a dead owner's pid is told apart).
//   - On v2 the run cgroup has memory.oom.group: an OOM kills the whole run, helper included,
//     so the container's jobs after the one that ran out of memory get no result in that scan
//     (their error says the helper ended first). A scan plans the OS fingerprint first.
//   - Run cgroups are reused: one per container scanned at once, not one per container. The
//     limit counters of a reused cgroup are read at the start of each run, and a job is
//     blamed for the events that occur while it runs. A v2 cgroup that had to be emptied
//     through cgroup.kill is removed instead: some kernels kill every process later cloned
//     into it.
//   - PID reuse: with Target.StartTime, the target's start time is read through the same
//     /proc/<pid> descriptor as its namespace files, after they were opened (starttime.go).
//   - Parent death: the forked child checks getppid() after asking for SIGKILL on its
//     parent's death, so that a helper that died before that is noticed.
//   - The main thread never moves to a run's cgroup: /proc/self shows the main thread's view.
//   - cgroup v1 (and hybrid): memory (and memory+swap when accounted), pids and cpu (CFS
//     quota) limits, under this process's own cgroup found from mountinfo (in a pod, the
//     mounted hierarchy is the pod's cgroup). cgroup v2: memory.max, memory.swap.max 0,
//     memory.oom.group, pids.max and cpu.max. On v2 a cgroup that
//     holds processes cannot give controllers to children, so with no Options.CgroupParent
//     every process of this process's cgroup first moves into its leaf V2Leaf (in a pod with
//     a private cgroup namespace, or a systemd unit with Delegate=yes), and the cgroup itself
//     becomes the parent of the sandboxes.
//   - The helper and its Go runtime count against the run's memory and pids limits (a few
//     MiB, a few threads: it and the fingerprints run with GOMAXPROCS=1), and so does the
//     reaper (one pid).
//
// Everything a fingerprint prints is hostile input: RunJobs bounds it (Limits.MaxOutput) and
// the caller validates it.
package sandbox
