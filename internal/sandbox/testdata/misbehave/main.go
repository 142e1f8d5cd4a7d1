// Command misbehave is the sandbox tests' stand-in for a container's init and for fingerprints
// that go wrong. The first argument picks the behaviour:
//
//	sleeper  a container init: reaps orphans, exits on SIGTERM
//	echo     copies standard input to standard output, then prints its arguments one a line
//	fail     prints its arguments on standard error and exits 3
//	hang     ignores SIGTERM, SIGINT and SIGHUP and never ends
//	forkbomb forks paused children until fork fails, prints how many, exits 3
//	orphans  forks 3 paused children that keep standard output open, prints "left 3", exits 0
//	memhog   touches memory 16 MiB at a time until killed
//	flood    writes 1 MiB to standard output
package main

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: misbehave sleeper|echo|fail|hang|forkbomb|memhog|flood [args]")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "sleeper":
		sleeper()
	case "echo":
		io.Copy(os.Stdout, os.Stdin)
		for _, a := range os.Args[2:] {
			fmt.Println(a)
		}
	case "fail":
		fmt.Fprintln(os.Stderr, strings.Join(os.Args[2:], " "))
		os.Exit(3)
	case "hang":
		signal.Ignore(syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
		for {
			time.Sleep(time.Hour)
		}
	case "forkbomb":
		forkbomb()
	case "orphans":
		for range 3 {
			if forkPaused() != nil {
				os.Exit(1)
			}
		}
		fmt.Println("left 3")
	case "memhog":
		var keep [][]byte
		for {
			b := make([]byte, 16<<20)
			for i := 0; i < len(b); i += 4096 {
				b[i] = 1
			}
			keep = append(keep, b)
		}
	case "flood":
		os.Stdout.Write([]byte(strings.Repeat("x", 1<<20)))
	default:
		fmt.Fprintln(os.Stderr, "misbehave: unknown mode", os.Args[1])
		os.Exit(2)
	}
}

func sleeper() {
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	chld := make(chan os.Signal, 16)
	signal.Notify(chld, syscall.SIGCHLD)
	for {
		select {
		case <-term:
			os.Exit(0)
		case <-chld:
			for {
				pid, err := syscall.Wait4(-1, nil, syscall.WNOHANG, nil)
				if pid <= 0 || err != nil {
					break
				}
			}
		case <-time.After(time.Hour):
		}
	}
}

// forkbomb forks paused children until fork fails.
func forkbomb() {
	n := 0
	var err error
	for range 1 << 16 {
		if err = forkPaused(); err != nil {
			break
		}
		n++
	}
	fmt.Printf("forked %d: %v\n", n, err)
	os.Exit(3)
}

// forkPaused forks with the raw system call a child that only pauses: no Go runtime threads
// of its own, so it costs exactly one pid of the cgroup, and it keeps every inherited
// descriptor (standard output included) open.
func forkPaused() error {
	r1, _, errno := syscall.RawSyscall(syscall.SYS_FORK, 0, 0, 0)
	if errno != 0 {
		return errno
	}
	if r1 == 0 {
		for {
			syscall.RawSyscall(syscall.SYS_PAUSE, 0, 0, 0)
		}
	}
	return nil
}
