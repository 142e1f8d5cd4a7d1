//go:build linux && privileged

package sandbox

// The JSON documents the probe (test/sandbox/probe) prints, as its package report
// declares them: that package is in the test module, which this one cannot import.
// The tests decode strictly, so a field the probe prints and this copy lacks fails them.

// probeFileID names a file by device and inode, so that two paths can be compared
// across mount namespaces.
type probeFileID struct {
	Dev uint64 `json:"dev"`
	Ino uint64 `json:"ino"`
}

// probeReport is what the probe says of itself in report mode.
type probeReport struct {
	PID      int               `json:"pid"`
	PPID     int               `json:"ppid"`
	PGID     int               `json:"pgid"`
	SID      int               `json:"sid"`
	Status   map[string]string `json:"status"`
	Dumpable int               `json:"dumpable"`
	NS       map[string]string `json:"ns"`
	Syscalls map[string]string `json:"syscalls"`
	Root     probeFileID       `json:"root"`
	Cwd      probeFileID       `json:"cwd"`
	CwdPath  string            `json:"cwd_path"`
	Cgroup   []string          `json:"cgroup"`
	FDs      map[string]string `json:"fds"`
	File     string            `json:"file,omitempty"`
	Errors   []string          `json:"errors,omitempty"`
}

// probeLink is one attempt to open a /proc/<pid>/ link of a fingerprint.
type probeLink struct {
	Link    string       `json:"link"`
	Error   string       `json:"error,omitempty"`
	Type    string       `json:"type,omitempty"`
	ID      *probeFileID `json:"id,omitempty"`
	Top     *probeFileID `json:"top,omitempty"`
	Path    string       `json:"path,omitempty"`
	Escaped bool         `json:"escaped"`
}

// probeEscape is what the probe says in escape mode: who attacked, and each link's outcome.
type probeEscape struct {
	UID       int         `json:"uid"`
	CapEff    string      `json:"cap_eff"`
	Root      probeFileID `json:"root"`
	FDList    string      `json:"fd_list_error,omitempty"`
	Maps      []string    `json:"maps,omitempty"`
	MapsError string      `json:"maps_error,omitempty"`
	Links     []probeLink `json:"links"`
}
