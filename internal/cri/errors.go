package cri

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"syscall"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Errors callers can test with errors.Is. The wrapping error says which
// endpoint, which call and what the runtime answered.
var (
	// ErrSocketMissing: no socket at the endpoint's path (or not a socket).
	ErrSocketMissing = errors.New("container runtime socket missing")
	// ErrPermission: the socket or the runtime refused us (run as root, mount the socket).
	ErrPermission = errors.New("permission denied by container runtime")
	// ErrUnavailable: the socket exists but the runtime does not answer in
	// time, refuses connections or does not serve CRI v1.
	ErrUnavailable = errors.New("container runtime unavailable")
	// ErrContainerGone: the container stopped or was removed during the scan.
	ErrContainerGone = errors.New("container gone")
	// ErrBadResponse: the runtime answered something unusable (no pid, a malformed name).
	ErrBadResponse = errors.New("unusable answer from container runtime")
	// ErrUnknownID: a requested id matches no running container.
	ErrUnknownID = errors.New("no running container has this id")
	// ErrAmbiguousID: a requested id prefix matches several running containers.
	ErrAmbiguousID = errors.New("container id prefix matches several containers")
)

// wrapCall turns a gRPC error of a CRI call into one of the errors above,
// keeping the gRPC error in the chain for its message.
func wrapCall(endpoint, call string, err error) error {
	var sentinel error
	switch status.Code(err) {
	case codes.Unavailable, codes.DeadlineExceeded, codes.ResourceExhausted, codes.Aborted:
		sentinel = ErrUnavailable
	case codes.Unimplemented:
		return fmt.Errorf("container runtime at %s: %s: %w: it does not serve CRI v1 (runtime.v1.RuntimeService): %w",
			endpoint, call, ErrUnavailable, err)
	case codes.PermissionDenied, codes.Unauthenticated:
		sentinel = ErrPermission
	case codes.NotFound:
		sentinel = ErrContainerGone
	case codes.Canceled:
		return fmt.Errorf("container runtime at %s: %s: %w", endpoint, call, context.Canceled)
	default:
		return fmt.Errorf("container runtime at %s: %s: %w", endpoint, call, err)
	}
	return fmt.Errorf("container runtime at %s: %s: %w: %w", endpoint, call, sentinel, err)
}

// probeSocket connects once to the socket to tell apart a missing socket, a
// permission problem and a runtime that is not listening.
func probeSocket(ctx context.Context, path string, timeout time.Duration) error {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%w: no socket at %s (is the runtime running, is its socket mounted?)", ErrSocketMissing, path)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("%w: %w", ErrPermission, err)
	case err != nil:
		return fmt.Errorf("%w: %w", ErrSocketMissing, err)
	case fi.Mode().Type() != fs.ModeSocket:
		return fmt.Errorf("%w: %s is not a socket", ErrSocketMissing, path)
	}
	d := net.Dialer{Timeout: timeout}
	conn, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return classifyDial(path, err)
	}
	_ = conn.Close()
	return nil
}

func classifyDial(path string, err error) error {
	switch {
	case errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM):
		return fmt.Errorf("%w: connect %s: %w", ErrPermission, path, err)
	case errors.Is(err, syscall.ENOENT):
		return fmt.Errorf("%w: connect %s: %w", ErrSocketMissing, path, err)
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("%w: nothing listens on %s: %w", ErrUnavailable, path, err)
	default:
		return fmt.Errorf("%w: connect %s: %w", ErrUnavailable, path, err)
	}
}
