package localnode

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Proc is what the tests need of one line of /proc/<pid>/stat.
type Proc struct {
	PID, PPID int
	Comm      string
	// State is the one-letter state: "Z" for a zombie.
	State string
	// StartTime is in clock ticks after boot: with PID, it names one process.
	StartTime uint64
}

// ReadProc reads pid's /proc/<pid>/stat.
func ReadProc(pid int) (Proc, error) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return Proc{}, err
	}
	return parseStat(string(b))
}

// Procs reads every process's stat line; processes that exit meanwhile are left out.
func Procs() []Proc {
	matches, _ := filepath.Glob("/proc/[0-9]*/stat")
	var out []Proc
	for _, m := range matches {
		b, err := os.ReadFile(m)
		if err != nil {
			continue
		}
		if p, err := parseStat(string(b)); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// parseStat parses "pid (comm) state ppid …": comm may hold spaces and
// parentheses, the other fields follow its last ')'.
func parseStat(s string) (Proc, error) {
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || end < open {
		return Proc{}, errors.New("stat: no command name")
	}
	f := strings.Fields(s[end+1:])
	// f[0] is field 3 (state), f[19] field 22 (start time).
	if len(f) < 20 {
		return Proc{}, fmt.Errorf("stat: %d fields after the command name", len(f))
	}
	pid, err1 := strconv.Atoi(strings.TrimSpace(s[:open]))
	ppid, err2 := strconv.Atoi(f[1])
	start, err3 := strconv.ParseUint(f[19], 10, 64)
	if err := errors.Join(err1, err2, err3); err != nil {
		return Proc{}, fmt.Errorf("stat: %w", err)
	}
	return Proc{PID: pid, PPID: ppid, Comm: s[open+1 : end], State: f[0], StartTime: start}, nil
}
