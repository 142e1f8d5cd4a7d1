// Command misbehave is the sandbox tests' stand-in for a container's init and for fingerprints
// that go wrong. The first argument picks the behaviour:
//
//	sleeper  a container init: keeps only the capabilities a container runtime gives by default
//	         (plus "sleeper CAPS" more, comma-separated numbers), drops to uid/gid $SLEEPER_UID
//	         when set, creates /tmp/ready, reaps orphans (unless $SLEEPER_NO_REAP is set, as
//	         an init that never reaps), exits on SIGTERM
//	echo     copies standard input to standard output, then prints its arguments one a line
//	fail     prints its arguments on standard error and exits 3
//	hang     ignores SIGTERM, SIGINT and SIGHUP and never ends
//	forkbomb forks paused children until fork fails, prints how many, exits 3
//	orphans  forks 3 paused children that keep standard output open, prints "left 3", exits 0
//	orphans-hang  forks 3 paused children, then never ends
//	memhog   touches memory 16 MiB at a time until killed
//	flood    writes 1 MiB to standard output
package main

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: misbehave sleeper|echo|touch|fail|hang|forkbomb|orphans|orphans-hang|memhog|flood [args]")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "sleeper":
		if err := containerCredentials(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "misbehave sleeper:", err)
			os.Exit(1)
		}
		// Tells the test the container is ready: its credentials are final.
		if err := os.WriteFile("/tmp/ready", nil, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "misbehave sleeper:", err)
			os.Exit(1)
		}
		sleeper()
	case "echo":
		io.Copy(os.Stdout, os.Stdin)
		for _, a := range os.Args[2:] {
			fmt.Println(a)
		}
	case "touch":
		if err := os.WriteFile(os.Args[2], nil, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "misbehave touch:", err)
			os.Exit(1)
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
	case "orphans-hang":
		for range 3 {
			if forkPaused() != nil {
				os.Exit(1)
			}
		}
		for {
			time.Sleep(time.Hour)
		}
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
	if os.Getenv("SLEEPER_NO_REAP") == "" {
		signal.Notify(chld, syscall.SIGCHLD)
	}
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

// defaultCaps are the capabilities containerd, CRI-O and Docker give a container by default:
// chown, dac_override, fowner, fsetid, kill, setgid, setuid, setpcap, net_bind_service,
// net_raw, sys_chroot, mknod, audit_write, setfcap.
var defaultCaps = []int{0, 1, 3, 4, 5, 6, 7, 8, 10, 13, 18, 27, 29, 31}

// containerCredentials makes this process look like a container's init: only the default
// capabilities (and extra, numbers) in every set, bounding included, then the uid/gid of
// $SLEEPER_UID if set.
func containerCredentials(extra []string) error {
	keep := map[int]bool{}
	for _, c := range defaultCaps {
		keep[c] = true
	}
	for _, list := range extra {
		for _, c := range strings.Split(list, ",") {
			n, err := strconv.Atoi(c)
			if err != nil {
				return fmt.Errorf("capability %q: %w", c, err)
			}
			keep[n] = true
		}
	}
	b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	if err != nil {
		return err
	}
	last, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return err
	}
	type capData struct{ effective, permitted, inheritable uint32 }
	var data [2]capData
	for c := 0; c <= last; c++ {
		if keep[c] {
			data[c/32].effective |= 1 << (c % 32)
			continue
		}
		if _, _, e := syscall.AllThreadsSyscall(syscall.SYS_PRCTL, 24 /* PR_CAPBSET_DROP */, uintptr(c), 0); e != 0 {
			return fmt.Errorf("drop bounding capability %d: %w", c, e)
		}
	}
	for i := range data {
		data[i].permitted = data[i].effective
	}
	hdr := struct {
		version uint32
		pid     int32
	}{version: 0x20080522} // _LINUX_CAPABILITY_VERSION_3
	if _, _, e := syscall.AllThreadsSyscall(syscall.SYS_CAPSET, uintptr(unsafe.Pointer(&hdr)), uintptr(unsafe.Pointer(&data[0])), 0); e != 0 {
		return fmt.Errorf("capset: %w", e)
	}
	if v := os.Getenv("SLEEPER_UID"); v != "" {
		id, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("SLEEPER_UID: %w", err)
		}
		if err := syscall.Setgroups(nil); err != nil {
			return err
		}
		if err := syscall.Setgid(id); err != nil {
			return err
		}
		if err := syscall.Setuid(id); err != nil {
			return err
		}
	}
	return nil
}
