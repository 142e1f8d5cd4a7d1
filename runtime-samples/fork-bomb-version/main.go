// Command python3 is a hostile workload for the node e2e: named like a
// runtime the version-executable fingerprint knows, it answers --version with
// a fork bomb. The sandbox's pids limit must hold it, the run must be killed
// with everything it started, and the other containers must still be
// reported.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "--version" {
		for {
			// Each child does the same: the number of processes doubles until the
			// kernel refuses more.
			_, _ = syscall.ForkExec("/proc/self/exe", os.Args, &syscall.ProcAttr{Files: []uintptr{0, 1, 2}})
		}
	}
	// As PID 1 it reaps what is reparented to it, as an init should: the
	// processes of a --version run killed at a limit, whose parent died with them.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGCHLD)
	for sig := range sigs {
		if sig != syscall.SIGCHLD {
			return
		}
		for {
			var ws syscall.WaitStatus
			if pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil); pid <= 0 || err != nil {
				break
			}
		}
	}
}
