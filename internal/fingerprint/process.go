package fingerprint

import (
	"encoding/json"
	"fmt"
	"io"
	"path"
	"strings"
)

// Process describes the workload process to a fingerprint (JSON on its
// standard input).
type Process struct {
	PID     int      `json:"pid"`  // as the fingerprint sees it: inside the container's pid namespace (NSpid)
	Name    string   `json:"name"` // comm
	Cmdline []string `json:"cmdline"`
	Env     []string `json:"env"` // "KEY=value"
	Cwd     string   `json:"cwd"` // inside the container
	// Exe is the executable's path inside the container as the kernel records
	// it, read by the coordinator from the host's /proc/<pid>/exe: a
	// fingerprint, holding no capability, may not follow the container's own
	// /proc/<pid>/exe when the target holds some.
	Exe string `json:"exe,omitempty"`
}

// Getenv returns the value of key in the process environment.
func (p Process) Getenv(key string) (string, bool) {
	for _, kv := range p.Env {
		if len(kv) > len(key) && kv[len(key)] == '=' && kv[:len(key)] == key {
			return kv[len(key)+1:], true
		}
	}
	return "", false
}

// Invocation is one fingerprint executable to run for a process.
type Invocation struct {
	Name       string // file stem for the runtimes it finds: "<Name>-fingerprints.txt"
	Executable string // looked up in the coordinator's -fingerprints-dir
	Args       []string
	Stdin      []byte // a Request as JSON
}

// Request is what every fpr_* executable reads on standard input: the
// process, plus the part of config.toml it needs (it runs inside the
// container and cannot read the extractor's /config.toml).
type Request struct {
	Process Process `json:"process"`
	// RuntimeKindName is the kind a version executable reports (e.g. "Node.js").
	RuntimeKindName string `json:"runtime-kind-name,omitempty"`
	// VersionPattern is the RE2 its version line must match, if any.
	VersionPattern string `json:"version-pattern,omitempty"`
	// Java holds the [[fingerprints.java]] rules.
	Java []JavaRule `json:"java,omitempty"`
}

// MaxRequestSize bounds a Request read by a fingerprint: a command line and
// an environment are each at most a few MiB on Linux, far more than we keep.
const MaxRequestSize = 4 << 20

// DecodeRequest reads a Request (at most MaxRequestSize bytes).
func DecodeRequest(r io.Reader) (Request, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxRequestSize+1))
	if err != nil {
		return Request{}, fmt.Errorf("read request: %w", err)
	}
	if len(data) > MaxRequestSize {
		return Request{}, fmt.Errorf("request larger than %d bytes", MaxRequestSize)
	}
	var req Request
	if err := json.Unmarshal(data, &req); err != nil {
		return Request{}, fmt.Errorf("decode request: %w", err)
	}
	return req, nil
}

// ExecutableName is the binary of a fingerprint: "fpr_" + its name with '_'.
func ExecutableName(name string) string {
	b := []byte("fpr_" + name)
	for i := range b {
		if b[i] == '-' {
			b[i] = '_'
		}
	}
	return string(b)
}

// DefaultDir is where the extractor image puts the fpr_* executables: the
// default -fingerprints-dir of the coordinator and of extractor_server.
const DefaultDir = "/"

// InCwd makes a command-line path of the process absolute: relative paths are relative to
// the process's working directory.
func (p Process) InCwd(name string) string {
	if strings.HasPrefix(name, "/") {
		return path.Clean(name)
	}
	cwd := p.Cwd
	if cwd == "" {
		cwd = "/"
	}
	return path.Join(cwd, name)
}
