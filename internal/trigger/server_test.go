package trigger

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"
)

func TestPeerGone(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	tests := []struct {
		name  string
		close func(c *net.TCPConn)
		want  bool
	}{
		{"connected client", func(c *net.TCPConn) {}, false},
		{"half-closed client", func(c *net.TCPConn) { c.CloseWrite() }, false},
		{"reset client", func(c *net.TCPConn) { c.CloseWrite(); c.SetLinger(0); c.Close() }, true},
		// Nothing reaches the server after the half-close: only the client's
		// own socket, orphaned, tells that it left.
		{"client that half-closed, then closed", func(c *net.TCPConn) { c.CloseWrite(); c.Close() }, true},
		{"client that closed without a half-close", func(c *net.TCPConn) { c.Close() }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client, server := connectedPair(t, ln)
			tt.close(client.(*net.TCPConn))
			time.Sleep(50 * time.Millisecond)
			if got := PeerGone(server); got != tt.want {
				t.Errorf("PeerGone = %v, want %v", got, tt.want)
			}
		})
	}
}

// serveOnce answers one connection of ln as a server of the protocol does,
// with answer (a path, or an error to write as such), and reports what
// ReadRequest returned.
func serveOnce(t *testing.T, ln net.Listener, answer any) <-chan error {
	t.Helper()
	got := make(chan error, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			got <- err
			return
		}
		defer conn.Close()
		ids, err := ReadRequest(conn, 5*time.Second, 5*time.Second)
		if err != nil {
			got <- err
			return
		}
		switch a := answer.(type) {
		case string:
			err = WriteAnswer(conn, a)
		case error:
			err = WriteError(conn, a)
		}
		if err == nil {
			err = fmt.Errorf("ids %q", ids)
		}
		got <- err
	}()
	return got
}

// Both sides of the protocol, as the exporter and extractor_server use them.
func TestClientAndServerSides(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c := &Client{Address: ln.Addr().String()}
	ctx := context.Background()

	seen := serveOnce(t, ln, "/data/out-1")
	if dir, err := c.Extract(ctx, []string{"ABC", "cri-o://def", "abc"}); err != nil || dir != "/data/out-1" {
		t.Errorf("Extract = %q, %v", dir, err)
	}
	if err := <-seen; err == nil || err.Error() != `ids ["abc" "cri-o://def"]` {
		t.Errorf("server read %v", err)
	}

	seen = serveOnce(t, ln, fmt.Errorf(BusyPrefix+"%d requests already waiting", 16))
	if _, err := c.Extract(ctx, nil); !errors.Is(err, ErrBusy) {
		t.Errorf("Extract of a busy server = %v, want ErrBusy", err)
	}
	if err := <-seen; err == nil || err.Error() != `ids []` {
		t.Errorf("server read %v", err)
	}

	seen = serveOnce(t, ln, "/data/out-2")
	if err := c.Probe(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-seen; !errors.Is(err, ErrProbe) {
		t.Errorf("a probe read as %v, want ErrProbe", err)
	}
}

// The first byte must come soon; the rest of the request may take longer.
func TestReadRequestDeadlines(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	tests := []struct {
		name    string
		client  func(c *net.TCPConn)
		wantErr error // nil: the request is read
	}{
		{"idle", func(c *net.TCPConn) {}, ErrIdle},
		{"slow after its first byte", func(c *net.TCPConn) {
			c.Write([]byte("ab"))
			time.Sleep(400 * time.Millisecond)
			c.Write([]byte("c"))
			c.CloseWrite()
		}, nil},
		{"empty, half-closed at once", func(c *net.TCPConn) { c.CloseWrite() }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client, server := connectedPair(t, ln)
			go tt.client(client.(*net.TCPConn))
			_, err = ReadRequest(server, 200*time.Millisecond, 5*time.Second)
			if (tt.wantErr == nil && err != nil) || (tt.wantErr != nil && !errors.Is(err, tt.wantErr)) {
				t.Errorf("ReadRequest = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

// connectedPair dials ln and accepts: both ends of one loopback connection,
// closed at the end of the test.
func connectedPair(t *testing.T, ln net.Listener) (client, server net.Conn) {
	t.Helper()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	server, err = ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { server.Close() })
	return client, server
}
