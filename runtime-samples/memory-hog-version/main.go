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
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	<-sigs
}
