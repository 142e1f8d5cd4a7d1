package trigger

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// writeTimeout bounds writing an answer line.
const writeTimeout = 5 * time.Second

// deliveryWait bounds how long WriteAnswer waits for the client's kernel to
// acknowledge the answer.
const deliveryWait = time.Second

var (
	// ErrProbe is a connection reset before its first byte: a readiness
	// probe (Client.Probe), to be answered with nothing.
	ErrProbe = errors.New("connection reset before any request")
	// ErrTooLarge is a request over MaxPayload.
	ErrTooLarge = fmt.Errorf("request larger than %d bytes", MaxPayload)
	// ErrTooManyConnections refuses a connection unread: the server already
	// reads as many requests as it allows.
	ErrTooManyConnections = errors.New(BusyPrefix + "too many connections")
	// errNotDelivered is an answer the client's kernel refused.
	errNotDelivered = errors.New("the client had closed the connection")
)

// ErrIdle is a connection that sent nothing, not even its half-close,
// within the first-byte limit of ReadRequest: an idle connection, dropped
// so that it holds no place a real client needs.
var ErrIdle = errors.New("no request")

// ReadRequest reads one request up to the client's half-close and returns the
// ids it asks for (nil: every container). Its first byte, or the half-close
// of an empty request, must come within firstByte; the half-close within
// timeout. ErrProbe means there is nothing to answer; any other error
// (ErrIdle among them) is to be answered with WriteError.
func ReadRequest(conn net.Conn, firstByte, timeout time.Duration) ([]string, error) {
	start := time.Now()
	r := &firstByteReader{conn: conn, rest: start.Add(timeout)}
	_ = conn.SetReadDeadline(start.Add(min(firstByte, timeout)))
	defer conn.SetReadDeadline(time.Time{})
	payload, err := io.ReadAll(io.LimitReader(r, MaxPayload+1))
	var netErr net.Error
	switch {
	case len(payload) == 0 && errors.Is(err, syscall.ECONNRESET):
		return nil, ErrProbe
	case errors.As(err, &netErr) && netErr.Timeout() && !r.started:
		return nil, fmt.Errorf("%w within %v", ErrIdle, min(firstByte, timeout))
	case errors.As(err, &netErr) && netErr.Timeout():
		return nil, fmt.Errorf("request not ended (half-closed) within %v", timeout)
	case err != nil:
		return nil, fmt.Errorf("read request: %w", err)
	case len(payload) > MaxPayload:
		return nil, ErrTooLarge
	}
	return ParseIDs(payload)
}

// firstByteReader moves the read deadline from the first byte's to the
// whole request's once the first byte arrived.
type firstByteReader struct {
	conn    net.Conn
	rest    time.Time
	started bool
}

func (r *firstByteReader) Read(p []byte) (int, error) {
	n, err := r.conn.Read(p)
	if n > 0 && !r.started {
		r.started = true
		_ = r.conn.SetReadDeadline(r.rest)
	}
	return n, err
}

// WriteError answers "error: <err>" on one line. After ErrTooLarge or
// ErrTooManyConnections, answered before the request was read, it then
// discards what the client still sends, for a bounded time, so that closing
// does not reset the connection before the client has read the answer.
func WriteError(conn net.Conn, err error) error {
	_ = conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	msg := strings.ReplaceAll(err.Error(), "\n", " ")
	_, werr := io.WriteString(conn, ErrorPrefix+msg+"\n")
	if errors.Is(err, ErrTooLarge) || errors.Is(err, ErrTooManyConnections) {
		drain(conn)
	}
	return werr
}

// WriteAnswer answers the result directory dir, and fails when nobody will
// read it: the client had closed the connection, not only half-closed it (a
// bare connect-and-close, like a TCP probe, looks the same as an empty
// request until the answer is refused).
func WriteAnswer(conn net.Conn, dir string) error {
	_ = conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	if _, err := io.WriteString(conn, dir+"\n"); err != nil {
		return err
	}
	if !delivered(conn, deliveryWait) {
		return errNotDelivered
	}
	return nil
}

// drain discards what a client still sends after it was answered.
func drain(conn net.Conn) {
	if tcp, ok := conn.(*net.TCPConn); ok {
		_ = tcp.CloseWrite()
	}
	_ = conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	_, _ = io.Copy(io.Discard, io.LimitReader(conn, 16*MaxPayload))
}

// PeerGone reports whether the client gave up on its request: it reset or
// fully closed the connection in a way the kernel reports as a hang-up, or,
// on loopback, it closed its socket after the half-close (peerClosed). A
// half-closed client that still waits (the normal case) is not gone.
func PeerGone(conn net.Conn) bool {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return false
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return true
	}
	gone := false
	err = raw.Control(func(fd uintptr) {
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		if n, err := unix.Poll(fds, 0); err == nil && n > 0 {
			gone = fds[0].Revents&(unix.POLLHUP|unix.POLLERR|unix.POLLNVAL) != 0
		}
	})
	if gone || err != nil {
		return true
	}
	closed, _ := peerClosed(conn)
	return closed
}

// tcpClose is TCP_CLOSE of the kernel's TCP states (include/net/tcp_states.h).
const tcpClose = 7

// delivered waits, at most within, until the client's kernel acknowledged
// everything written, and reports false when it answered with a reset
// instead. When it cannot tell it reports true.
func delivered(conn net.Conn, within time.Duration) bool {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return true
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return true
	}
	deadline := time.Now().Add(within)
	for {
		var info *unix.TCPInfo
		var infoErr error
		if err := raw.Control(func(fd uintptr) {
			info, infoErr = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO)
		}); err != nil || infoErr != nil {
			return true
		}
		switch {
		case info.State == tcpClose:
			return false
		case info.Unacked == 0 || time.Now().After(deadline):
			return true
		}
		time.Sleep(2 * time.Millisecond)
	}
}
