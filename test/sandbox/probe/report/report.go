// Package report holds the JSON documents the sandbox probe prints, shared by
// the probe and the tests that read what it reports from inside a container.
// The privileged tests of internal/sandbox, in the product module, which cannot
// import this one, decode them with a copy (internal/sandbox/probe_report_test.go):
// change both together.
package report

// FileID names a file by device and inode, so that two paths can be compared
// across mount namespaces.
type FileID struct {
	Dev uint64 `json:"dev"`
	Ino uint64 `json:"ino"`
}

// Report is what the probe says of itself in report mode.
type Report struct {
	PID      int               `json:"pid"`
	PPID     int               `json:"ppid"`
	PGID     int               `json:"pgid"`
	SID      int               `json:"sid"`
	Status   map[string]string `json:"status"`
	Dumpable int               `json:"dumpable"`
	NS       map[string]string `json:"ns"`
	Syscalls map[string]string `json:"syscalls"`
	Root     FileID            `json:"root"`
	Cwd      FileID            `json:"cwd"`
	CwdPath  string            `json:"cwd_path"`
	Cgroup   []string          `json:"cgroup"`
	FDs      map[string]string `json:"fds"`
	File     string            `json:"file,omitempty"`
	Errors   []string          `json:"errors,omitempty"`
}

// Link is one attempt to open a /proc/<pid>/ link of a fingerprint.
type Link struct {
	Link    string  `json:"link"`
	Error   string  `json:"error,omitempty"`
	Type    string  `json:"type,omitempty"`
	ID      *FileID `json:"id,omitempty"`
	Top     *FileID `json:"top,omitempty"`
	Path    string  `json:"path,omitempty"`
	Escaped bool    `json:"escaped"`
}

// Escape is what the probe says in escape mode: who attacked, and each link's outcome.
type Escape struct {
	UID       int      `json:"uid"`
	CapEff    string   `json:"cap_eff"`
	Root      FileID   `json:"root"`
	FDList    string   `json:"fd_list_error,omitempty"`
	Maps      []string `json:"maps,omitempty"`
	MapsError string   `json:"maps_error,omitempty"`
	Links     []Link   `json:"links"`
}
