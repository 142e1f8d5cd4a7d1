// Command stopper is a hostile workload for the node e2e: it stops
// (SIGSTOP) every process that appears in its pid namespace, as a container
// can do to a fingerprint, which runs there under the container's uid. A
// stopped fingerprint never ends by itself: the scan must bound what it
// costs (a container budget, then a backoff) and answer for the others.
//
// A fingerprint may be done in a few milliseconds, before it is seen. So,
// asked for its --version (with a config.toml rule naming it), it stops the
// fingerprint that asked, its parent, and hangs: the fingerprint is then
// stopped by one or the other, for certain.
package main

import (
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "--version" {
		_ = syscall.Kill(os.Getppid(), syscall.SIGSTOP)
		signal.Ignore(syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
		for {
			time.Sleep(time.Hour)
		}
	}
	// What runs at start (itself, a shared pause) is left alone.
	before := pids()
	// The init of its pid namespace: it reaps what is left to it, as an init does.
	go func() {
		for {
			if _, err := syscall.Wait4(-1, nil, 0, nil); err != nil {
				time.Sleep(100 * time.Millisecond)
			}
		}
	}()
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-sigs:
			return
		case <-tick.C:
			for pid := range pids() {
				if !before[pid] {
					_ = syscall.Kill(pid, syscall.SIGSTOP)
				}
			}
		}
	}
}

// pids lists the processes of this pid namespace, as its /proc shows them.
func pids() map[int]bool {
	out := map[int]bool{}
	d, err := os.Open("/proc")
	if err != nil {
		return out
	}
	defer d.Close()
	names, _ := d.Readdirnames(-1)
	for _, n := range names {
		if pid, err := strconv.Atoi(n); err == nil {
			out[pid] = true
		}
	}
	return out
}
