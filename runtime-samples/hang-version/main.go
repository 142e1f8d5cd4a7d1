// Command hangtool is a hostile workload for the node e2e: asked for its
// --version (as the version-executable fingerprint does) it never answers,
// so the fingerprint must be killed at its time limit while the other
// containers' results still arrive.
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
		for {
			time.Sleep(time.Hour)
		}
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	<-sigs
}
