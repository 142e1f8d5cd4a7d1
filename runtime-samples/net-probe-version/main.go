// Command python3 is a hostile workload for the node e2e: named like a
// runtime the version-executable fingerprint knows, it answers --version by
// checking where it runs. As PID 1 it first makes net, uts (with a hostname
// of its own) and cgroup namespaces of its own, which it may with
// CAP_SYS_ADMIN: the pods of the local node share the host's network, and so
// its net and uts namespaces, where a --version run in the extractor's
// namespaces would look the same. Its --version prints "Python 3.99.0" only
// when its net, ipc, uts, cgroup and mount namespaces and its hostname are
// those of PID 1 (not the extractor's) and a seccomp filter is on (Seccomp: 2)
// that denies setns and ptrace with EPERM (unfiltered, the kernel would
// answer EBADF and ESRCH). Otherwise it prints "Python 0.0.N", N the sum of
// the failed checks, so that the node e2e's exact JSON shows what escaped. It
// also writes what it saw to /version-report, for the node e2e to read.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strings"
	"syscall"
)

// namespaces are the ones --version must share with PID 1, in the order of their bits.
var namespaces = []string{"net", "ipc", "uts", "cgroup", "mnt"}

const (
	// initNamespaces is where PID 1 writes its namespace links, one a line, then its hostname.
	initNamespaces = "/init-namespaces"
	// versionReport is where --version writes "key=value" lines of what it saw.
	versionReport = "/version-report"
	// hostname is the one PID 1 gives its own uts namespace.
	hostname = "net-probe-pod"
	// ownNamespacesEnv marks PID 1 re-executed in its own namespaces.
	ownNamespacesEnv = "NET_PROBE_OWN_NAMESPACES=1"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "--version" {
		fmt.Printf("Python %s\n", version())
		return
	}
	if err := initMain(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func initMain() error {
	if !slices.Contains(os.Environ(), ownNamespacesEnv) {
		// unshare changes the calling thread only: re-executed, the process has just it.
		runtime.LockOSThread()
		if err := syscall.Unshare(syscall.CLONE_NEWNET | syscall.CLONE_NEWUTS | syscall.CLONE_NEWCGROUP); err != nil {
			return fmt.Errorf("unshare (the container needs CAP_SYS_ADMIN): %w", err)
		}
		if err := syscall.Sethostname([]byte(hostname)); err != nil {
			return err
		}
		exe, err := os.Executable()
		if err != nil {
			return err
		}
		return syscall.Exec(exe, os.Args, append(os.Environ(), ownNamespacesEnv))
	}
	// What --version compares with: a process without capabilities may not read the
	// namespace links of PID 1, which holds some, so PID 1 writes them down.
	var own []byte
	for _, ns := range namespaces {
		l, err := os.Readlink("/proc/self/ns/" + ns)
		if err != nil {
			return err
		}
		own = append(own, l+"\n"...)
	}
	name, err := os.Hostname()
	if err != nil {
		return err
	}
	own = append(own, name+"\n"...)
	if err := os.WriteFile(initNamespaces, own, 0o644); err != nil {
		return err
	}
	// Writable by --version, which runs without capabilities under any uid.
	if err := os.WriteFile(versionReport, nil, 0o666); err != nil {
		return err
	}
	if err := os.Chmod(versionReport, 0o666); err != nil {
		return err
	}
	// As PID 1 it reaps what is reparented to it, as an init should.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGCHLD)
	for sig := range sigs {
		if sig != syscall.SIGCHLD {
			return nil
		}
		for {
			var ws syscall.WaitStatus
			if pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil); pid <= 0 || err != nil {
				break
			}
		}
	}
	return nil
}

func version() string {
	failed := 0
	var report []string
	b, _ := os.ReadFile(initNamespaces)
	init := strings.Split(string(b), "\n")
	for i, ns := range namespaces {
		self, err := os.Readlink("/proc/self/ns/" + ns)
		report = append(report, ns+"="+self)
		if err != nil || i >= len(init) || self != init[i] {
			failed += 1 << i
		}
	}
	e := syscall.Errno(0)
	if _, _, e = syscall.RawSyscall(syscall.SYS_UNSHARE, 0, 0, 0); e != syscall.EPERM {
		failed += 1 << 5
	}
	report = append(report, "unshare="+errnoName(e))
	if _, _, e = syscall.RawSyscall6(syscall.SYS_PTRACE, syscall.PTRACE_PEEKDATA, 1, 0, 0, 0, 0); e != syscall.EPERM {
		failed += 1 << 6
	}
	report = append(report, "ptrace="+errnoName(e))
	name, _ := os.Hostname()
	if len(init) <= len(namespaces) || name != init[len(namespaces)] {
		failed += 1 << 7
	}
	report = append(report, "hostname="+name)
	seccomp := statusField("Seccomp")
	if seccomp != "2" {
		failed += 1 << 8
	}
	report = append(report, "seccomp="+seccomp, "seccomp_filters="+statusField("Seccomp_filters"))
	_ = os.WriteFile(versionReport, []byte(strings.Join(report, "\n")+"\n"), 0)
	if failed == 0 {
		return "3.99.0"
	}
	return fmt.Sprintf("0.0.%d", failed)
}

func errnoName(e syscall.Errno) string {
	switch e {
	case 0:
		return "OK"
	case syscall.EPERM:
		return "EPERM"
	}
	return fmt.Sprintf("errno %d (%v)", int(e), e)
}

// statusField returns a field of /proc/self/status, blanks trimmed.
func statusField(key string) string {
	b, _ := os.ReadFile("/proc/self/status")
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, key+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
