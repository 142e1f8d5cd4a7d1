// Command python3 is a hostile workload for the node e2e: named like a
// runtime the version-executable fingerprint knows, its --version answers like
// Python but leaves orphans behind, one that exits at once and one that
// sleeps in a session of its own, and as PID 1 it never reaps. Whatever a run
// leaves is the sandbox's to reap and kill: after many scans its container
// must hold nothing but itself.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) > 2 && os.Args[1] == "--version" {
		if os.Args[2] == "sleep" {
			time.Sleep(time.Hour)
		}
		return
	}
	if len(os.Args) > 1 && os.Args[1] == "--version" {
		for _, role := range []string{"exit", "sleep"} {
			// Not waited for: they outlive the run.
			_, _ = syscall.ForkExec("/proc/self/exe", []string{os.Args[0], "--version", role},
				&syscall.ProcAttr{Sys: &syscall.SysProcAttr{Setsid: true}})
		}
		fmt.Println("Python 3.99.2")
		return
	}
	// PID 1 that never reaps (it does not ask for SIGCHLD): an orphan the
	// sandbox misses stays here as a zombie.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	<-sigs
}
