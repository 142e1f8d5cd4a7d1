// Command python3 is a hostile workload for the node e2e: named like a
// runtime the version-executable fingerprint knows, it answers --version by
// checking where it runs. It prints "Python 3.99.0" only when its net, ipc,
// uts, cgroup and mount namespaces are those of the container's PID 1 (not
// the extractor's) and a seccomp filter denies setns and ptrace with EPERM
// (unfiltered, the kernel would answer EBADF and ESRCH). Otherwise it prints
// "Python 0.0.N", N the sum of the failed checks, so that the node e2e's
// exact JSON shows what escaped.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "--version" {
		fmt.Printf("Python %s\n", version())
		return
	}
	// What --version compares with: a process without capabilities may not read the
	// namespace links of PID 1, which holds some, so PID 1 writes them down.
	var own []byte
	for _, ns := range namespaces {
		l, err := os.Readlink("/proc/self/ns/" + ns)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		own = append(own, l+"\n"...)
	}
	if err := os.WriteFile(initNamespaces, own, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// As PID 1 it reaps what is reparented to it, as an init should.
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

// namespaces are the ones --version must share with PID 1, in the order of their bits.
var namespaces = []string{"net", "ipc", "uts", "cgroup", "mnt"}

// initNamespaces is where PID 1 writes its namespace links, one a line.
const initNamespaces = "/init-namespaces"

func version() string {
	failed := 0
	b, _ := os.ReadFile(initNamespaces)
	init := strings.Split(string(b), "\n")
	for i, ns := range namespaces {
		self, err := os.Readlink("/proc/self/ns/" + ns)
		if err != nil || i >= len(init) || self != init[i] {
			failed += 1 << i
		}
	}
	if _, _, e := syscall.RawSyscall(syscall.SYS_UNSHARE, 0, 0, 0); e != syscall.EPERM {
		failed += 1 << 5
	}
	if _, _, e := syscall.RawSyscall6(syscall.SYS_PTRACE, syscall.PTRACE_PEEKDATA, 1, 0, 0, 0, 0); e != syscall.EPERM {
		failed += 1 << 6
	}
	if failed == 0 {
		return "3.99.0"
	}
	return fmt.Sprintf("0.0.%d", failed)
}
