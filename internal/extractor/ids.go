// Package extractor is the TCP protocol between the exporter and
// extractor_server (SPEC §3): the server, which runs one coordinator per
// request, one at a time, and the client the exporter uses.
//
// A client connects, writes the container ids joined by ',' (nothing means
// every container), half-closes its write side and reads one line: the path
// of the result directory, or "error: <message>" when no extraction happened.
package extractor

import (
	"fmt"
	"regexp"
	"strings"
)

const (
	// MaxPayload is the largest request the server reads (1 MiB).
	MaxPayload = 1 << 20
	// maxArgLen is the longest single argument Linux passes to a new
	// program (MAX_ARG_STRLEN, 32 pages): the ids reach the coordinator as
	// one comma-joined argument.
	maxArgLen = 32*4096 - 1
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
			return nil, fmt.Errorf("invalid container id at position %d: %s", i+1, quote(raw))
		}
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	if n := len(strings.Join(ids, ",")); n > maxArgLen {
		return nil, fmt.Errorf("too many container ids: %d bytes joined, at most %d", n, maxArgLen)
	}
	return ids, nil
}

// quote renders untrusted text as one short, printable, quoted string.
func quote(s string) string {
	const max = 80
	if len(s) > max {
		return fmt.Sprintf("%q…", s[:max])
	}
	return fmt.Sprintf("%q", s)
}
