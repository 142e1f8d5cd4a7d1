// Package privileges checks at start-up that a privileged binary (coordinator,
// extractor_server) holds the Linux capabilities it needs, so that a missing
// privilege is one clear message instead of a failure deep inside a scan.
package privileges

import (
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

// Cap is a Linux capability number (see capabilities(7)).
type Cap uint

// The capabilities the extractor needs: CAP_SYS_ADMIN to enter other
// namespaces (setns) and CAP_SETUID to become a container's user.
const (
	CapSetuid   Cap = unix.CAP_SETUID
	CapSysAdmin Cap = unix.CAP_SYS_ADMIN
)

var capNames = map[Cap]string{
	CapSetuid:   "CAP_SETUID",
	CapSysAdmin: "CAP_SYS_ADMIN",
}

// String returns the capability's name as capabilities(7) spells it.
func (c Cap) String() string {
	if name, ok := capNames[c]; ok {
		return name
	}
	return fmt.Sprintf("CAP_%d", uint(c))
}

// MissingError says which required capabilities the process lacks.
type MissingError struct {
	Missing []Cap
}

func (e *MissingError) Error() string {
	names := make([]string, len(e.Missing))
	for i, c := range e.Missing {
		names[i] = c.String()
	}
	return fmt.Sprintf("missing capabilities %s: run as root in a privileged container (securityContext.privileged: true)",
		strings.Join(names, ", "))
}

// Require returns a *MissingError naming every capability of caps that is
// not in the effective set of the calling process.
func Require(caps ...Cap) error {
	effective, err := Effective()
	if err != nil {
		return err
	}
	return Check(effective, caps...)
}

// Check is the pure part of Require: it compares caps against an effective
// capability set given as a bit mask (bit n = capability n).
func Check(effective uint64, caps ...Cap) error {
	var missing []Cap
	for _, c := range caps {
		if c >= 64 || effective&(1<<c) == 0 {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		return &MissingError{Missing: missing}
	}
	return nil
}

// Effective returns the effective capability set of the calling thread.
// Go threads of one process share their capabilities unless code changes them
// on a locked thread, which start-up code does not.
func Effective() (uint64, error) {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	// Version 3 fills two 32-bit halves.
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return 0, fmt.Errorf("read capabilities (capget): %w", err)
	}
	return uint64(data[0].Effective) | uint64(data[1].Effective)<<32, nil
}
