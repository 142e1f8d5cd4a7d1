// Command node is a hostile workload for the node e2e: named like a runtime
// the version-executable fingerprint knows, it answers --version by taking all
// the memory it can. The sandbox's memory limit must hold it (the run is
// OOM-killed as a group, swap included), and the other containers must still
// be reported.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "--version" {
		var held [][]byte
		for {
			b := make([]byte, 16<<20)
			for i := 0; i < len(b); i += 4096 {
				b[i] = 1 // touch every page: memory is charged when used, not when mapped
			}
			held = append(held, b)
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
