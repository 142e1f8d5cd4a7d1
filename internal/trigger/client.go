package trigger

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"time"
)

// maxAnswer bounds the answer line a client accepts.
const maxAnswer = 64 << 10

// ServerError is an "error: …" answer of the server: it ran no extraction
// (or its extraction failed) and says why.
type ServerError struct{ Message string }

func (e *ServerError) Error() string { return "extractor: " + e.Message }

// Kinds of ServerError, matched with errors.Is.
var (
	// ErrBusy: the server's queue was full; nothing ran.
	ErrBusy = errors.New("extractor busy")
	// ErrCoordinatorTimeout: the coordinator ran past its limit and was killed.
	ErrCoordinatorTimeout = errors.New("coordinator timed out")
)

// Is tells the kinds apart by the exact prefix the server writes.
func (e *ServerError) Is(target error) bool {
	switch target {
	case ErrBusy:
		return strings.HasPrefix(e.Message, BusyPrefix)
	case ErrCoordinatorTimeout:
		return strings.HasPrefix(e.Message, TimeoutPrefix)
	}
	return false
}

// Client asks an extractor_server for extractions.
type Client struct {
	Address string // host:port of the server, e.g. 127.0.0.1:3000
}

// Extract asks for one extraction of ids (nil or empty: every container)
// and returns the result directory path the server answers, unchecked.
//
// When ctx ends first the connection is reset rather than closed, so that
// the server sees the client is gone and drops or kills its extraction.
func (c *Client) Extract(ctx context.Context, ids []string) (string, error) {
	conn, err := c.dial(ctx)
	if err != nil {
		return "", fmt.Errorf("connect to extractor %s: %w", c.Address, err)
	}
	tcp, ok := conn.(*net.TCPConn)
	if !ok {
		conn.Close()
		return "", fmt.Errorf("connect to extractor %s: not a TCP connection", c.Address)
	}
	defer tcp.Close()
	stop := context.AfterFunc(ctx, func() {
		// SO_LINGER 0: close sends RST; a plain close after the half-close
		// would look to the server just like the half-close.
		_ = tcp.SetLinger(0)
		_ = tcp.Close()
	})
	defer stop()

	if _, err := io.WriteString(tcp, strings.Join(ids, ",")); err != nil {
		return "", c.ioError(ctx, "send request", err)
	}
	if err := tcp.CloseWrite(); err != nil {
		return "", c.ioError(ctx, "half-close", err)
	}
	answer, err := io.ReadAll(io.LimitReader(tcp, maxAnswer+1))
	if err != nil {
		return "", c.ioError(ctx, "read answer", err)
	}
	if len(answer) > maxAnswer {
		return "", fmt.Errorf("extractor %s: answer longer than %d bytes", c.Address, maxAnswer)
	}
	return ParseAnswer(string(answer))
}

// dial connects to the server, trying again while it refuses connections
// and ctx lasts: the exporter of a starting pod may be asked before
// extractor_server listens (it checks the runtime and its fingerprints first),
// and that first request must still be answered.
func (c *Client) dial(ctx context.Context) (net.Conn, error) {
	var d net.Dialer
	wait := 100 * time.Millisecond
	for {
		conn, err := d.DialContext(ctx, "tcp", c.Address)
		if err == nil || !errors.Is(err, syscall.ECONNREFUSED) {
			return conn, err
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Second)
	}
}

// Probe tells whether the server accepts connections, without running an
// extraction: it connects, then resets the connection before sending a byte.
// A plain close would be an empty request, that is a scan of every container;
// a reset is a read error to the server (and to any server that reads the
// request to its end), which then runs nothing.
func (c *Client) Probe(ctx context.Context) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", c.Address)
	if err != nil {
		return fmt.Errorf("connect to extractor %s: %w", c.Address, err)
	}
	if tcp, ok := conn.(*net.TCPConn); ok {
		_ = tcp.SetLinger(0)
	}
	return conn.Close()
}

func (c *Client) ioError(ctx context.Context, what string, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("extractor %s: %s: %w", c.Address, what, ctxErr)
	}
	return fmt.Errorf("extractor %s: %s: %w", c.Address, what, err)
}

// ParseAnswer turns the server's answer into a path or a *ServerError.
func ParseAnswer(answer string) (string, error) {
	line := strings.TrimSpace(answer)
	if msg, ok := strings.CutPrefix(line, strings.TrimSpace(ErrorPrefix)); ok {
		return "", &ServerError{Message: strings.TrimSpace(msg)}
	}
	if line == "" {
		return "", errors.New("extractor closed the connection without an answer")
	}
	if strings.ContainsAny(line, "\n\x00") {
		return "", fmt.Errorf("extractor answered more than one line: %s", Quote(line))
	}
	return line, nil
}
