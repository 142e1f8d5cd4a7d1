package trigger

import (
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// freeAddr returns a loopback address nobody listens on (for now).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// An exporter asked before extractor_server listens (the pod starts both at
// once) answers that first request when the server comes, within its budget.
func TestExtractWaitsForAServerNotListeningYet(t *testing.T) {
	addr := freeAddr(t)
	served := make(chan string, 1)
	go func() {
		time.Sleep(700 * time.Millisecond)
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			served <- err.Error()
			return
		}
		defer ln.Close()
		conn, err := ln.Accept()
		if err != nil {
			served <- err.Error()
			return
		}
		defer conn.Close()
		req, _ := io.ReadAll(conn)
		_, _ = io.WriteString(conn, "/data/out-1\n")
		served <- "request " + string(req)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	got, err := (&Client{Address: addr}).Extract(ctx, []string{"abc"})
	if err != nil || got != "/data/out-1" {
		t.Fatalf("Extract = %q, %v; want the answer of the late server", got, err)
	}
	if s := <-served; s != "request abc" {
		t.Errorf("server saw %q", s)
	}
	if d := time.Since(start); d < 600*time.Millisecond {
		t.Errorf("answered after %v, before the server listened", d)
	}
}

// With nobody listening, Extract gives up when the request's budget ends,
// saying the connection was refused.
func TestExtractGivesUpWhenTheBudgetEnds(t *testing.T) {
	addr := freeAddr(t)
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := (&Client{Address: addr}).Extract(ctx, nil)
	if err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("Extract with no server: %v, want connection refused", err)
	}
	if d := time.Since(start); d < 400*time.Millisecond || d > 3*time.Second {
		t.Errorf("gave up after %v, want at the 500ms budget", d)
	}
}
