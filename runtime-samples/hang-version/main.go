// Command hangtool is a hostile workload for the node e2e: asked for its
// --version (as the version-executable fingerprint does) it never answers,
// so the fingerprint must be killed at its time limit while the other
// containers' results still arrive. Before it hangs it starts a daemon, in a
// session of its own, that no parent-death signal reaches: only the kill of
// the run's cgroup ends it (and, when the coordinator itself was killed, the
// next coordinator's sweep of the dead one's cgroups).
package main

import (
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "--version" {
		// Hang, and ignore the polite signals too. A sleep, not an empty
		// select: the runtime would call that a deadlock and exit at once.
		signal.Ignore(syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
		if len(os.Args) == 2 {
			_, _ = syscall.ForkExec("/proc/self/exe", []string{os.Args[0], "--version", "daemon"},
				&syscall.ProcAttr{Sys: &syscall.SysProcAttr{Setsid: true}})
		}
		for {
			time.Sleep(time.Hour)
		}
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	<-sigs
}
