// Package trigger is the TCP protocol between the exporter and
// extractor_server (SPEC §3), and nothing else: the request (container ids)
// and its limits, the answer line, the client the exporter uses and the
// helpers the server reads a request and writes an answer with. Both sides
// import it; it imports nothing of either.
//
// A client connects, writes the container ids joined by ',' (nothing means
// every container), half-closes its write side and reads one line: the path
// of the result directory, or "error: <message>" when no extraction happened.
// A client that gives up resets the connection (it does not close it), so
// that the server can tell it is gone from a client that merely half-closed;
// a connection reset before its first byte is a probe and runs nothing.
package trigger

import (
	"fmt"
	"regexp"
	"strings"
)

const (
	// MaxPayload is the largest request the server reads (1 MiB).
	MaxPayload = 1 << 20
	// MaxIDsLen bounds the ids of one request, comma-joined: they reach the
	// coordinator as one argument, and Linux passes no single argument
	// longer than MAX_ARG_STRLEN (32 pages) to a new program.
	MaxIDsLen = 32*4096 - 1
	// ErrorPrefix starts the answer line of a failed request.
	ErrorPrefix = "error: "
	// BusyPrefix follows ErrorPrefix when the server refused the request
	// because its queue or its connections are full: nothing ran, and the
	// client may retry later. The client tells it apart by this prefix alone.
	BusyPrefix = "busy: "
	// TimeoutPrefix follows ErrorPrefix when the coordinator ran past its
	// limit and was killed.
	TimeoutPrefix = "coordinator timed out "
)

// idPattern is a container id as the kubelet shows it, or a prefix of one:
// 1 to 64 lowercase hex digits, optionally after the runtime's scheme.
var idPattern = regexp.MustCompile(`^(?:(?:cri-o|containerd)://)?[0-9a-f]{1,64}$`)

// NormalizeID returns id trimmed and lowercased, and whether it is a valid
// container id or id prefix (hex, optionally "cri-o://" or "containerd://").
func NormalizeID(id string) (string, bool) {
	id = strings.ToLower(strings.TrimSpace(id))
	return id, idPattern.MatchString(id)
}

// ParseIDs parses a request payload: container ids joined by ','. An empty
// (or blank) payload means every container and returns nil. Duplicates are
// dropped; an empty element or an invalid id is an error that quotes it.
func ParseIDs(payload []byte) ([]string, error) {
	text := strings.TrimSpace(string(payload))
	if text == "" {
		return nil, nil
	}
	var ids []string
	seen := make(map[string]bool)
	for i, raw := range strings.Split(text, ",") {
		id, ok := NormalizeID(raw)
		if id == "" {
			return nil, fmt.Errorf("empty container id at position %d", i+1)
		}
		if !ok {
			return nil, fmt.Errorf("invalid container id at position %d: %s", i+1, Quote(raw))
		}
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	if n := len(strings.Join(ids, ",")); n > MaxIDsLen {
		return nil, fmt.Errorf("too many container ids: %d bytes joined, at most %d", n, MaxIDsLen)
	}
	return ids, nil
}

// Quote renders untrusted text (a peer's request, a coordinator's output) as
// one short, printable, quoted string, fit for an answer line.
func Quote(s string) string {
	const max = 80
	if len(s) > max {
		return fmt.Sprintf("%q…", s[:max])
	}
	return fmt.Sprintf("%q", s)
}
