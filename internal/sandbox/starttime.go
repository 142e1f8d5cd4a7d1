package sandbox

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// A pid names a process only with its start time: between the moment a process is described
// and the moment its namespaces are opened, it may exit and its pid go to another. Run opens
// the target's namespace files relative to one /proc/<pid> descriptor, then reads the start
// time through that same descriptor: if it matches, those files are the described process's
// (a descriptor of a /proc/<pid> whose process died reads nothing more). The sandbox's own
// cgroup names carry its process's start time for the same reason (sweepStale).

// parseStartTime returns field 22 of a /proc/<pid>/stat line: the start time in clock ticks
// after boot. The command name (field 2) may hold spaces and parentheses: fields are counted
// from its last ')'.
func parseStartTime(stat []byte) (uint64, error) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errors.New("stat: no command name")
	}
	f := bytes.Fields(stat[i+1:])
	// f[0] is field 3 (state): field 22 is f[19].
	if len(f) < 20 {
		return 0, fmt.Errorf("stat: %d fields after the command name, want at least 20", len(f))
	}
	v, err := strconv.ParseUint(string(f[19]), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("stat: start time: %w", err)
	}
	return v, nil
}

// startTimeAt reads the start time of the process whose /proc/<pid> directory dir is open.
func startTimeAt(dir int) (uint64, error) {
	fd, err := unix.Openat(dir, "stat", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, err
	}
	f := os.NewFile(uintptr(fd), "stat")
	defer f.Close()
	buf := make([]byte, 4096) // a stat line is a few hundred bytes
	n, err := f.Read(buf)
	if err != nil {
		return 0, err
	}
	return parseStartTime(buf[:n])
}

// startTimeOf reads pid's start time from /proc.
func startTimeOf(pid int) (uint64, error) {
	dir, err := unix.Open("/proc/"+strconv.Itoa(pid), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, err
	}
	defer unix.Close(dir)
	return startTimeAt(dir)
}
