// Command probe reports, from inside, what a process started by internal/sandbox is: its ids,
// capabilities, no_new_privs, dumpability, namespaces, root, working directory, process group,
// cgroups and open descriptors. Run through the sandbox like a fingerprint, it is the proof of
// the privilege model (SPEC §8); the package tests and the node e2e use it. Build it static
// (CGO_ENABLED=0) and ship it execute-only (0111), as the fingerprints are.
//
// Usage:
//
//	probe [-sleep D] [-read PATH]     report mode (default)
//	probe escape -pid N [-caps LIST]  escape mode
//	probe watch -for D [-caps LIST]   watch mode
//
// Report mode prints one JSON object (type report.Report) and exits 0:
//
//	pid, ppid, pgid, sid  getpid(), getppid(), getpgrp(), getsid(0): as seen in its pid namespace
//	status                selected /proc/self/status fields, inner whitespace collapsed to one
//	                      space: Uid, Gid (real effective saved fs), Groups, CapInh, CapPrm,
//	                      CapEff, CapBnd, CapAmb (16 hex digits), NoNewPrivs, Seccomp, NSpid
//	dumpable              prctl(PR_GET_DUMPABLE): 0 = not dumpable
//	ns                    readlink /proc/self/ns/{mnt,pid,pid_for_children,net,ipc,uts,cgroup},
//	                      e.g. "mnt:[4026531841]"
//	syscalls              the error of system calls a seccomp filter should deny, by name:
//	                      setns(-1, 0) (EBADF unfiltered), ptrace(PTRACE_PEEKDATA, 1) (ESRCH
//	                      unfiltered), "ok" when one succeeded
//	root, cwd             {"dev","ino"} of stat("/") and stat(".")
//	cwd_path              getcwd()
//	cgroup                the lines of /proc/self/cgroup
//	fds                   fd number -> readlink /proc/self/fd/N (the descriptor of the listing
//	                      itself excluded)
//	file                  with -read PATH: the first 4 KiB of PATH (to tell which file system it sees)
//	errors                what could not be read, one string each
//
// -sleep D waits D before reporting, so that a test can look at the process from outside.
//
// Escape mode plays a hostile process of the container: it first keeps only the capabilities
// of -caps (comma-separated names such as "sys_ptrace", "default" for the container runtimes'
// default set, "none"; "all" keeps everything), then tries to open /proc/N/cwd, /proc/N/root,
// /proc/N/exe and every /proc/N/fd/* of process N (a pid in its own pid namespace), and
// follows ".." from every directory it could open until it stops moving. It prints one JSON
// object (type report.Escape): its own uid, CapEff and root, and per link the open error or the
// file type, device and inode, and for a directory the top reached and "escaped": true when
// that top is not its own root, i.e. the link led outside its file system. Exit status 0
// unless the attack could not be run at all.
//
// Watch mode is escape mode against every process that appears in its pid namespace during
// -for D (polling /proc as fast as it can), at every moment it can catch it: also between a
// fingerprint's fork and its execve. It prints one JSON object (type watchReport): how many
// new processes it saw, how many links it opened, every link that led outside its root, and
// the distinct targets of the exe links and path names of the maps it read.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/openshift/insights-runtime-extractor/test/sandbox/probe/report"
)

var statusKeys = []string{"Uid", "Gid", "Groups", "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs", "Seccomp", "NSpid"}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "watch" {
		if err := watchMain(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "probe watch:", err)
			os.Exit(2)
		}
		return
	}
	if len(os.Args) > 1 && os.Args[1] == "escape" {
		if err := escapeMain(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "probe escape:", err)
			os.Exit(2)
		}
		return
	}
	fs := flag.NewFlagSet("probe", flag.ContinueOnError)
	sleep := fs.Duration("sleep", 0, "wait this long before reporting")
	read := fs.String("read", "", "include the first 4 KiB of this file in the report")
	if err := fs.Parse(os.Args[1:]); err != nil {
		os.Exit(2)
	}
	time.Sleep(*sleep)
	if err := json.NewEncoder(os.Stdout).Encode(collect(*read)); err != nil {
		fmt.Fprintln(os.Stderr, "probe:", err)
		os.Exit(1)
	}
}

func collect(readPath string) report.Report {
	r := report.Report{
		PID: os.Getpid(), PPID: os.Getppid(), PGID: syscall.Getpgrp(),
		Status: map[string]string{}, NS: map[string]string{}, FDs: map[string]string{},
	}
	fail := func(err error) { r.Errors = append(r.Errors, err.Error()) }
	if sid, err := unix.Getsid(0); err == nil {
		r.SID = sid
	} else {
		fail(err)
	}
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			k, v, ok := strings.Cut(line, ":")
			if ok && contains(statusKeys, k) {
				r.Status[k] = strings.Join(strings.Fields(v), " ")
			}
		}
	} else {
		fail(err)
	}
	if d, err := unix.PrctlRetInt(unix.PR_GET_DUMPABLE, 0, 0, 0, 0); err == nil {
		r.Dumpable = d
	} else {
		fail(fmt.Errorf("PR_GET_DUMPABLE: %w", err))
	}
	r.Syscalls = map[string]string{}
	errName := func(e syscall.Errno) string {
		if e == 0 {
			return "ok"
		}
		return unix.ErrnoName(e)
	}
	_, _, e := syscall.RawSyscall(unix.SYS_SETNS, ^uintptr(0), 0, 0)
	r.Syscalls["setns"] = errName(e)
	_, _, e = syscall.RawSyscall6(unix.SYS_PTRACE, unix.PTRACE_PEEKDATA, 1, 0, 0, 0, 0)
	r.Syscalls["ptrace"] = errName(e)
	for _, ns := range []string{"mnt", "pid", "pid_for_children", "net", "ipc", "uts", "cgroup"} {
		if l, err := os.Readlink("/proc/self/ns/" + ns); err == nil {
			r.NS[ns] = l
		} else {
			fail(err)
		}
	}
	var err error
	if r.Root, err = statID("/"); err != nil {
		fail(err)
	}
	if r.Cwd, err = statID("."); err != nil {
		fail(err)
	}
	if r.CwdPath, err = os.Getwd(); err != nil {
		fail(err)
	}
	if b, err := os.ReadFile("/proc/self/cgroup"); err == nil {
		r.Cgroup = strings.Split(strings.TrimSpace(string(b)), "\n")
	} else {
		fail(err)
	}
	if d, err := os.Open("/proc/self/fd"); err == nil {
		names, _ := d.Readdirnames(-1)
		for _, n := range names {
			if n == strconv.Itoa(int(d.Fd())) {
				continue
			}
			if l, err := os.Readlink("/proc/self/fd/" + n); err == nil {
				r.FDs[n] = l
			}
		}
		d.Close()
	} else {
		fail(err)
	}
	if readPath != "" {
		if f, err := os.Open(readPath); err == nil {
			b, _ := io.ReadAll(io.LimitReader(f, 4096))
			r.File = string(b)
			f.Close()
		} else {
			fail(err)
		}
	}
	return r
}

func statID(path string) (report.FileID, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return report.FileID{}, fmt.Errorf("stat %s: %w", path, err)
	}
	return report.FileID{Dev: st.Dev, Ino: st.Ino}, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// capNumbers are the capabilities escape mode knows by name.
var capNumbers = map[string]int{
	"chown": 0, "dac_override": 1, "dac_read_search": 2, "fowner": 3, "fsetid": 4, "kill": 5,
	"setgid": 6, "setuid": 7, "setpcap": 8, "net_bind_service": 10, "net_raw": 13,
	"sys_chroot": 18, "sys_ptrace": 19, "sys_admin": 21, "mknod": 27, "audit_write": 29,
	"setfcap": 31,
}

// defaultCaps is the capability set containerd, CRI-O and Docker give a container by default.
var defaultCaps = []string{"chown", "dac_override", "fsetid", "fowner", "mknod", "net_raw", "setgid",
	"setuid", "setfcap", "setpcap", "net_bind_service", "sys_chroot", "kill", "audit_write"}

func escapeMain(args []string) error {
	fs := flag.NewFlagSet("probe escape", flag.ContinueOnError)
	pid := fs.Int("pid", 0, "the process to attack, as a pid of this pid namespace")
	capsFlag := fs.String("caps", "all", `capabilities to keep: comma-separated names, "default", "none" or "all"`)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *pid <= 0 {
		return errors.New("-pid is required")
	}
	if *capsFlag != "all" {
		if err := keepOnlyCaps(*capsFlag); err != nil {
			return err
		}
	}
	root, err := statID("/")
	if err != nil {
		return err
	}
	rep := report.Escape{UID: os.Getuid(), Root: root}
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "CapEff:"); ok {
				rep.CapEff = strings.TrimSpace(v)
			}
		}
	}
	base := "/proc/" + strconv.Itoa(*pid)
	links := []string{"cwd", "root", "exe"}
	if d, err := os.Open(base + "/fd"); err == nil {
		names, _ := d.Readdirnames(-1)
		d.Close()
		sort.Strings(names)
		for _, n := range names {
			links = append(links, "fd/"+n)
		}
	} else {
		rep.FDList = err.Error()
	}
	for _, l := range links {
		rep.Links = append(rep.Links, attack(filepath.Join(base, l), l, root))
	}
	rep.Maps, err = mappedPaths(base + "/maps")
	if err != nil {
		rep.MapsError = err.Error()
	}
	return json.NewEncoder(os.Stdout).Encode(rep)
}

// attack opens one magic link and, for a directory, climbs ".." until it stops moving: from
// inside a chroot the climb stops at the chroot's root unless the directory lies outside it.
func attack(path, name string, self report.FileID) report.Link {
	res := report.Link{Link: name}
	fd, err := unix.Open(path, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		res.Error = err.Error()
		return res
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		res.Error = err.Error()
		return res
	}
	res.ID = &report.FileID{Dev: st.Dev, Ino: st.Ino}
	res.Path, _ = os.Readlink(path)
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		res.Type = "dir"
	case unix.S_IFREG:
		res.Type = "file"
	case unix.S_IFIFO:
		res.Type = "fifo"
	case unix.S_IFSOCK:
		res.Type = "socket"
	case unix.S_IFCHR:
		res.Type = "char"
	default:
		res.Type = "other"
	}
	if res.Type != "dir" {
		return res
	}
	cur, err := unix.Dup(fd)
	if err != nil {
		res.Error = err.Error()
		return res
	}
	top := *res.ID
	for range 4096 {
		up, err := unix.Openat(cur, "..", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			res.Error = "climb: " + err.Error()
			break
		}
		unix.Close(cur)
		cur = up
		if err := unix.Fstat(cur, &st); err != nil {
			res.Error = "climb: " + err.Error()
			break
		}
		id := report.FileID{Dev: st.Dev, Ino: st.Ino}
		if id == top {
			break
		}
		top = id
	}
	unix.Close(cur)
	res.Top = &top
	res.Escaped = top != self
	return res
}

// keepOnlyCaps reduces every thread of this process to the named capabilities it holds
// (effective, permitted, inheritable, bounding), as a container runtime would have started it.
func keepOnlyCaps(list string) error {
	keep := map[int]bool{}
	for _, name := range strings.Split(list, ",") {
		switch name = strings.TrimSpace(strings.ToLower(name)); name {
		case "", "none":
		case "default":
			for _, c := range defaultCaps {
				keep[capNumbers[c]] = true
			}
		default:
			n, ok := capNumbers[strings.TrimPrefix(name, "cap_")]
			if !ok {
				return fmt.Errorf("unknown capability %q", name)
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
		return fmt.Errorf("cap_last_cap: %w", err)
	}
	// Only drop: a capability this process does not hold (CRI-O's default
	// set is smaller than containerd's) cannot be kept.
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var held [2]unix.CapUserData
	if err := unix.Capget(&hdr, &held[0]); err != nil {
		return fmt.Errorf("capget: %w", err)
	}
	var data [2]unix.CapUserData
	for c := 0; c <= last; c++ {
		if keep[c] && held[c/32].Permitted&(1<<(c%32)) != 0 {
			data[c/32].Effective |= 1 << (c % 32)
			continue
		}
		if _, _, e := syscall.AllThreadsSyscall(syscall.SYS_PRCTL, unix.PR_CAPBSET_DROP, uintptr(c), 0); e != 0 {
			return fmt.Errorf("drop bounding capability %d: %w", c, e)
		}
	}
	for i := range data {
		data[i].Permitted = data[i].Effective
		data[i].Inheritable = data[i].Effective
	}
	if _, _, e := syscall.AllThreadsSyscall(syscall.SYS_CAPSET, uintptr(unsafe.Pointer(&hdr)), uintptr(unsafe.Pointer(&data[0])), 0); e != 0 {
		return fmt.Errorf("capset: %w", e)
	}
	return nil
}

type watchReport struct {
	Seen    int                      `json:"seen"`
	Opened  int                      `json:"opened"`
	Escapes []watchEscape            `json:"escapes"`
	Files   map[string]report.FileID `json:"files"` // distinct regular files reached: "pid/link" of the first sighting
	Exes    map[string]string        `json:"exes"`  // distinct exe link targets: "pid" of the first sighting
	Maps    map[string]string        `json:"maps"`  // distinct path names in maps: "pid" of the first sighting
}

type watchEscape struct {
	PID int `json:"pid"`
	report.Link
}

func watchMain(args []string) error {
	fs := flag.NewFlagSet("probe watch", flag.ContinueOnError)
	dur := fs.Duration("for", 5*time.Second, "how long to watch")
	capsFlag := fs.String("caps", "all", `capabilities to keep, as in escape mode`)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *capsFlag != "all" {
		if err := keepOnlyCaps(*capsFlag); err != nil {
			return err
		}
	}
	root, err := statID("/")
	if err != nil {
		return err
	}
	before := map[string]bool{}
	if names, err := readDirNames("/proc"); err == nil {
		for _, n := range names {
			before[n] = true
		}
	}
	self := strconv.Itoa(os.Getpid())
	rep := watchReport{Escapes: []watchEscape{}, Files: map[string]report.FileID{}, Exes: map[string]string{}, Maps: map[string]string{}}
	seen := map[string]bool{}
	files := map[report.FileID]bool{}
	for deadline := time.Now().Add(*dur); time.Now().Before(deadline); {
		names, err := readDirNames("/proc")
		if err != nil {
			return err
		}
		for _, n := range names {
			pid, err := strconv.Atoi(n)
			if err != nil || before[n] || n == self {
				continue
			}
			if !seen[n] {
				seen[n] = true
				rep.Seen++
			}
			base := "/proc/" + n
			links := []string{"cwd", "root", "exe"}
			if fds, err := readDirNames(base + "/fd"); err == nil {
				for _, fd := range fds {
					links = append(links, "fd/"+fd)
				}
			}
			paths, _ := mappedPaths(base + "/maps")
			for _, p := range paths {
				if _, ok := rep.Maps[p]; !ok {
					rep.Maps[p] = n
				}
			}
			for _, l := range links {
				res := attack(filepath.Join(base, l), l, root)
				if res.Error != "" {
					continue
				}
				rep.Opened++
				if res.Escaped {
					rep.Escapes = append(rep.Escapes, watchEscape{PID: pid, Link: res})
				}
				if _, ok := rep.Exes[res.Path]; l == "exe" && !ok {
					rep.Exes[res.Path] = n
				}
				if res.Type == "file" && !files[*res.ID] {
					files[*res.ID] = true
					rep.Files[n+"/"+l] = *res.ID
				}
			}
		}
	}
	return json.NewEncoder(os.Stdout).Encode(rep)
}

func readDirNames(dir string) ([]string, error) {
	d, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	return d.Readdirnames(-1)
}

// mappedPaths returns the distinct path names of a /proc/<pid>/maps file, sorted (the
// kernel's own mappings such as "[vdso]" included; anonymous ones have none).
func mappedPaths(maps string) ([]string, error) {
	b, err := os.ReadFile(maps)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		// address perms offset dev inode pathname; the pathname may contain spaces.
		f := strings.SplitN(line, " ", 6)
		if len(f) < 6 {
			continue
		}
		p := strings.TrimLeft(f[5], " ")
		if p != "" && !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out, nil
}
