package extractor_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openshift/insights-runtime-extractor/internal/extractor"
	"github.com/openshift/insights-runtime-extractor/internal/result"
	"github.com/openshift/insights-runtime-extractor/internal/trigger"
)

// testCoordinator is the test coordinator built once for all tests.
var testCoordinator string

// testFingerprints is a -fingerprints-dir that passes the checks of New:
// every fpr_* a config can need, static and execute-only.
var testFingerprints string

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "extractor-test-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	testCoordinator = filepath.Join(dir, "testcoordinator")
	// With the sandbox helper beside it, as shipped: the start check looks for it there.
	build := exec.Command("go", "build", "-buildvcs=false", "-o", dir+"/",
		"github.com/openshift/insights-runtime-extractor/internal/extractor/testdata/testcoordinator",
		"github.com/openshift/insights-runtime-extractor/cmd/sandbox_helper")
	// Static, so that it can stand for the fingerprints too.
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build test coordinator: %v\n%s", err, out)
		return 1
	}
	testFingerprints = filepath.Join(dir, "fingerprints")
	if err := fakeFingerprints(testFingerprints); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// syncBuffer collects the server's log for assertions.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// testServer is an extractor server on a real loopback port, running the
// test coordinator through a wrapper script that sets its mode.
type testServer struct {
	addr     string
	dataDir  string
	record   string // one JSON line of arguments per coordinator run
	childPID string // where a hanging coordinator writes its child's pid
	log      *syncBuffer
	srv      *extractor.Server
	stop     context.CancelFunc
	done     chan error
}

// coordinatorScript writes an executable that runs the test coordinator with env.
func coordinatorScript(t testing.TB, env map[string]string) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("#!/bin/sh\n")
	for k, v := range env {
		fmt.Fprintf(&b, "export %s='%s'\n", k, v)
	}
	fmt.Fprintf(&b, "exec '%s' \"$@\"\n", testCoordinator)
	path := filepath.Join(t.TempDir(), "coordinator")
	if err := os.WriteFile(path, []byte(b.String()), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

func startServer(t testing.TB, env map[string]string, tweak func(*extractor.Config)) *testServer {
	t.Helper()
	tmp := t.TempDir()
	ts := &testServer{
		dataDir:  filepath.Join(tmp, "data"),
		record:   filepath.Join(tmp, "record"),
		childPID: filepath.Join(tmp, "child.pid"),
		log:      &syncBuffer{},
		done:     make(chan error, 1),
	}
	if err := os.Mkdir(ts.dataDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if env == nil {
		env = map[string]string{}
	}
	env["TESTCOORDINATOR_RECORD"] = ts.record
	env["TESTCOORDINATOR_CHILDPID"] = ts.childPID
	cfg := extractor.Config{
		Coordinator:     coordinatorScript(t, env),
		ConfigPath:      filepath.Join("testdata", "config.toml"),
		DataDir:         ts.dataDir,
		FingerprintsDir: testFingerprints,
		Log:             slog.New(slog.NewTextHandler(ts.log, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	extractor.SkipNodeChecks(&cfg)
	if tweak != nil {
		tweak(&cfg)
	}
	srv, err := extractor.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts.addr, ts.srv = ln.Addr().String(), srv
	ctx, cancel := context.WithCancel(context.Background())
	ts.stop = cancel
	go func() { ts.done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-ts.done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("Serve did not return after its context ended")
		}
		if log := ts.log.String(); t.Failed() {
			t.Logf("server log (end):\n%s", log[max(0, len(log)-8192):])
		}
	})
	return ts
}

// runs returns the argument lists of the coordinator runs so far.
func (ts *testServer) runs(t testing.TB) [][]string {
	t.Helper()
	data, err := os.ReadFile(ts.record)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var runs [][]string
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var args []string
		if err := json.Unmarshal([]byte(line), &args); err != nil {
			t.Fatalf("record line %q: %v", line, err)
		}
		runs = append(runs, args)
	}
	return runs
}

// outDirs lists the result directories left in the data dir.
func (ts *testServer) outDirs(t testing.TB) []string {
	t.Helper()
	matches, err := filepath.Glob(filepath.Join(ts.dataDir, "out-*"))
	if err != nil {
		t.Fatal(err)
	}
	return matches
}

// request sends payload, half-closes and returns the whole answer.
func request(t testing.TB, addr, payload string) string {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.WriteString(conn, payload); err != nil {
		t.Fatal(err)
	}
	if err := conn.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	answer, err := io.ReadAll(conn)
	if err != nil {
		t.Fatalf("read answer: %v", err)
	}
	return string(answer)
}

// containerKeys reads a result directory the way the exporter does.
func containerKeys(t testing.TB, dir string) []string {
	t.Helper()
	cs, err := result.Read(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, c := range cs {
		keys = append(keys, c.ContainerID)
	}
	return keys
}

// waitFor polls cond for up to d.
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// processGone reports whether pid no longer runs (absent or a zombie).
func processGone(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	i := bytes.LastIndexByte(stat, ')')
	return i < 0 || i+2 >= len(stat) || stat[i+2] == 'Z'
}

func TestIDsArePassedThrough(t *testing.T) {
	ts := startServer(t, nil, nil)
	full := strings.Repeat("5e", 32)
	tests := []struct {
		name     string
		payload  string
		wantArg  string   // positional argument; "" means none
		wantKeys []string // containers in the answered result
	}{
		{name: "empty payload means every container", payload: "", wantKeys: []string{
			"containerd://" + strings.Repeat("a1", 32), "containerd://" + strings.Repeat("b2", 32), "cri-o://" + strings.Repeat("c3", 32)}},
		{name: "blank payload means every container", payload: "\n", wantKeys: []string{
			"containerd://" + strings.Repeat("a1", 32), "containerd://" + strings.Repeat("b2", 32), "cri-o://" + strings.Repeat("c3", 32)}},
		{name: "one full id", payload: full, wantArg: full, wantKeys: []string{"containerd://" + full}},
		{name: "prefixed ids and a hex prefix", payload: "cri-o://" + full + ",containerd://abc,def0",
			wantArg: "cri-o://" + full + ",containerd://abc,def0", wantKeys: []string{"cri-o://" + full, "containerd://abc", "containerd://def0"}},
		{name: "normalized: trimmed, lowered, unique", payload: " ABC , abc,Def\n", wantArg: "abc,def",
			wantKeys: []string{"containerd://abc", "containerd://def"}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			answer := request(t, ts.addr, tt.payload)
			dir, ok := strings.CutSuffix(answer, "\n")
			if !ok || filepath.Dir(dir) != ts.dataDir || !strings.HasPrefix(filepath.Base(dir), "out-") {
				t.Fatalf("answer %q is not an out-* directory of %s and a newline", answer, ts.dataDir)
			}
			if got := containerKeys(t, dir); !slices.Equal(got, tt.wantKeys) {
				t.Errorf("result holds %q, want %q", got, tt.wantKeys)
			}
			runs := ts.runs(t)
			if len(runs) != i+1 {
				t.Fatalf("%d coordinator runs, want %d", len(runs), i+1)
			}
			want := []string{"-config", filepath.Join("testdata", "config.toml"), "-data-dir", ts.dataDir, "-fingerprints-dir", testFingerprints}
			if tt.wantArg != "" {
				want = append(want, tt.wantArg)
			}
			if got := runs[i]; !slices.Equal(got, want) {
				t.Errorf("coordinator args %q, want %q", got, want)
			}
		})
	}
}

func TestPassThroughFlagsReachTheCoordinator(t *testing.T) {
	ts := startServer(t, nil, func(c *extractor.Config) {
		c.RuntimeEndpoint, c.Concurrency = "unix:///run/containerd/containerd.sock", 4
		c.LogLevel, c.LogFormat = "debug", "json"
	})
	answer := request(t, ts.addr, "abc")
	if !strings.HasPrefix(answer, ts.dataDir+"/out-") {
		t.Fatalf("answer %q", answer)
	}
	want := []string{"-config", filepath.Join("testdata", "config.toml"), "-data-dir", ts.dataDir,
		"-runtime-endpoint", "unix:///run/containerd/containerd.sock", "-fingerprints-dir", testFingerprints,
		"-log-level", "debug", "-log-format", "json", "-concurrency", "4", "abc"}
	if runs := ts.runs(t); len(runs) != 1 || !slices.Equal(runs[0], want) {
		t.Errorf("coordinator runs %q, want one with %q", runs, want)
	}
	// Its stderr (JSON records here) reaches the server's log line by line.
	if log := ts.log.String(); !strings.Contains(log, `stderr="{\"time\":`) || !strings.Contains(log, `\"msg\":\"testcoordinator started\"`) {
		t.Errorf("coordinator stderr not in the server log:\n%s", ts.log.String())
	}
}

func TestBadPayloadsGetAnErrorLineAndNoScan(t *testing.T) {
	ts := startServer(t, nil, nil)
	tests := []struct {
		name, payload, want string
	}{
		{"not hex", "xyz", `error: invalid container id at position 1: "xyz"` + "\n"},
		{"shell injection", "abc;reboot", `error: invalid container id at position 1: "abc;reboot"` + "\n"},
		{"option injection", "-data-dir=/", `error: invalid container id at position 1: "-data-dir=/"` + "\n"},
		{"unknown runtime", "docker://abc", `error: invalid container id at position 1: "docker://abc"` + "\n"},
		{"65 hex digits", strings.Repeat("a", 65), `error: invalid container id at position 1: "` + strings.Repeat("a", 65) + `"` + "\n"},
		{"empty element", "abc,,def", "error: empty container id at position 2\n"},
		{"binary garbage", "\x00\x01\xff\xfe", `error: invalid container id at position 1: "\x00\x01\xff\xfe"` + "\n"},
		{"newline inside", "abc\ndef", `error: invalid container id at position 1: "abc\ndef"` + "\n"},
		{"1 MiB + 1 byte", strings.Repeat("a", trigger.MaxPayload+1), "error: request larger than 1048576 bytes\n"},
		{"almost 1 MiB of distinct ids", distinctIDs(100000), "error: too many container ids: 699999 bytes joined, at most 131071\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := request(t, ts.addr, tt.payload)
			if !strings.HasPrefix(got, tt.want) || !strings.HasSuffix(got, "\n") || strings.Count(got, "\n") != 1 {
				t.Errorf("answer %q, want %q", got, tt.want)
			}
		})
	}
	if runs := ts.runs(t); runs != nil {
		t.Errorf("bad payloads ran the coordinator: %q", runs)
	}
}

func TestClientThatNeverHalfClosesIsAnsweredInBoundedTime(t *testing.T) {
	ts := startServer(t, nil, func(c *extractor.Config) { c.ReadTimeout = 300 * time.Millisecond })
	conn, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	io.WriteString(conn, "abc")
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	answer, err := io.ReadAll(conn)
	if err != nil {
		t.Fatal(err)
	}
	if want := "error: request not ended (half-closed) within 300ms\n"; string(answer) != want {
		t.Errorf("answer %q, want %q", answer, want)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("answered after %v", d)
	}
	if runs := ts.runs(t); runs != nil {
		t.Errorf("coordinator ran: %q", runs)
	}
}

// TestConcurrentClientsGetTheirOwnResults: 20 clients at once; the
// coordinator refuses to run beside another one (lock file), so any overlap
// would fail a request.
func TestConcurrentClientsGetTheirOwnResults(t *testing.T) {
	ts := startServer(t, map[string]string{"TESTCOORDINATOR_SLEEP": "10ms"}, func(c *extractor.Config) { c.MaxQueue = 32 })
	const clients = 20
	answers := make([]string, clients)
	var wg sync.WaitGroup
	for i := range clients {
		wg.Go(func() {
			answers[i] = request(t, ts.addr, fmt.Sprintf("%064x,cri-o://%064x", i, 1000+i))
		})
	}
	wg.Wait()
	seen := map[string]bool{}
	for i, answer := range answers {
		dir, ok := strings.CutSuffix(answer, "\n")
		if !ok || !strings.HasPrefix(dir, ts.dataDir+"/out-") {
			t.Fatalf("client %d: answer %q", i, answer)
		}
		if seen[dir] {
			t.Fatalf("client %d got the directory of another client: %s", i, dir)
		}
		seen[dir] = true
		want := []string{fmt.Sprintf("containerd://%064x", i), fmt.Sprintf("cri-o://%064x", 1000+i)}
		if got := containerKeys(t, dir); !slices.Equal(got, want) {
			t.Errorf("client %d: result holds %q, want %q", i, got, want)
		}
	}
	if runs := ts.runs(t); len(runs) != clients {
		t.Errorf("%d coordinator runs, want %d", len(runs), clients)
	}
}

func TestQueueIsBounded(t *testing.T) {
	ts := startServer(t, map[string]string{"TESTCOORDINATOR_SLEEP": "1500ms"}, func(c *extractor.Config) { c.MaxQueue = 2 })
	answers := make(chan string, 3)
	go func() { answers <- request(t, ts.addr, "a1") }()
	waitFor(t, 5*time.Second, "the first coordinator to start", func() bool { return len(ts.runs(t)) == 1 })
	for _, id := range []string{"b2", "c3"} {
		go func() { answers <- request(t, ts.addr, id) }()
	}
	waitFor(t, 5*time.Second, "two waiting requests", func() bool { return extractor.Waiting(ts.srv) == 2 })
	if got, want := request(t, ts.addr, "d4"), "error: busy: 2 requests already waiting\n"; got != want {
		t.Errorf("fourth request: %q, want %q", got, want)
	}
	for range 3 {
		if a := <-answers; !strings.HasPrefix(a, ts.dataDir+"/out-") {
			t.Errorf("queued request answered %q", a)
		}
	}
	if runs := ts.runs(t); len(runs) != 3 {
		t.Errorf("%d runs, want 3", len(runs))
	}
}

// idle opens n connections to addr that never send a byte.
func idle(t *testing.T, addr string, n int) []net.Conn {
	t.Helper()
	conns := make([]net.Conn, n)
	for i := range conns {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		conns[i] = c
	}
	return conns
}

// Idle connections, more than the queue has places, hold none of them: a
// real client is served at once, long before they are dropped.
func TestIdleConnectionsDoNotHoldTheQueue(t *testing.T) {
	ts := startServer(t, nil, func(c *extractor.Config) { c.FirstByteTimeout = time.Minute })
	idle(t, ts.addr, 30)
	time.Sleep(100 * time.Millisecond) // every one accepted
	if a := request(t, ts.addr, "abc"); !strings.HasPrefix(a, ts.dataDir+"/out-") {
		t.Fatalf("a real client behind 30 idle connections was answered %q", a)
	}
}

// Beyond MaxPending silent connections the server refuses, until their
// first-byte limit drops them; a client that started its request is not
// held to that limit.
func TestIdleConnectionsAreDroppedAtTheFirstByteLimit(t *testing.T) {
	ts := startServer(t, nil, func(c *extractor.Config) {
		c.MaxPending, c.FirstByteTimeout = 4, 500*time.Millisecond
	})
	conns := idle(t, ts.addr, 4)
	time.Sleep(100 * time.Millisecond)
	if got, want := request(t, ts.addr, "abc"), "error: busy: too many connections\n"; got != want {
		t.Errorf("with every pending place held: %q, want %q", got, want)
	}
	for _, c := range conns {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		got, err := io.ReadAll(c)
		if err != nil || string(got) != "error: no request within 500ms\n" {
			t.Errorf("idle connection answered %q, %v", got, err)
		}
	}
	slow, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	io.WriteString(slow, "ab")
	time.Sleep(time.Second) // twice the first-byte limit
	io.WriteString(slow, "c")
	slow.(*net.TCPConn).CloseWrite()
	slow.SetReadDeadline(time.Now().Add(5 * time.Second))
	if got, _ := io.ReadAll(slow); !strings.HasPrefix(string(got), ts.dataDir+"/out-") {
		t.Errorf("a slow client that had started was answered %q", got)
	}
}

// distinctIDs returns n distinct hex ids, comma-joined.
func distinctIDs(n int) string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("%06x", i)
	}
	return strings.Join(ids, ",")
}

// resetAfterHalfClose sends a request, half-closes and returns a function
// that resets the connection, as the exporter does when its client leaves.
func resetAfterHalfClose(t *testing.T, addr, payload string) func() {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	tcp := conn.(*net.TCPConn)
	io.WriteString(tcp, payload)
	tcp.CloseWrite()
	return func() {
		tcp.SetLinger(0)
		tcp.Close()
	}
}

func TestClientGoneWhileWaitingIsDropped(t *testing.T) {
	ts := startServer(t, map[string]string{"TESTCOORDINATOR_SLEEP": "1s"}, nil)
	first := make(chan string, 1)
	go func() { first <- request(t, ts.addr, "a1") }()
	waitFor(t, 5*time.Second, "the first coordinator to start", func() bool { return len(ts.runs(t)) == 1 })
	reset := resetAfterHalfClose(t, ts.addr, "b2")
	time.Sleep(100 * time.Millisecond) // let the server queue it
	reset()
	if a := <-first; !strings.HasPrefix(a, ts.dataDir+"/out-") {
		t.Fatalf("first request answered %q", a)
	}
	waitFor(t, 5*time.Second, "the drop to be logged", func() bool {
		return strings.Contains(ts.log.String(), "client gone while waiting, request dropped")
	})
	time.Sleep(300 * time.Millisecond)
	if runs := ts.runs(t); len(runs) != 1 {
		t.Errorf("%d runs, want only the first: %q", len(runs), runs)
	}
}

func TestClientGoneWhileRunningKillsTheCoordinator(t *testing.T) {
	ts := startServer(t, map[string]string{"TESTCOORDINATOR_MODE": "hang"}, nil)
	reset := resetAfterHalfClose(t, ts.addr, "")
	child := waitChild(t, ts)
	reset()
	waitFor(t, 5*time.Second, "the coordinator's child to be killed", func() bool { return processGone(child) })
	waitFor(t, 5*time.Second, "the drop to be logged", func() bool {
		return strings.Contains(ts.log.String(), "client gone while the coordinator ran")
	})
	if dirs := ts.outDirs(t); dirs != nil {
		t.Errorf("the killed run left %q", dirs)
	}
}

// A client that half-closes and then simply closes its socket (no reset:
// nothing more reaches the server) has left all the same: its coordinator is
// killed, not run to the end for nobody.
func TestClientThatClosesAfterTheHalfCloseKillsTheCoordinator(t *testing.T) {
	ts := startServer(t, map[string]string{"TESTCOORDINATOR_MODE": "hang"}, nil)
	conn, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	tcp := conn.(*net.TCPConn)
	if err := tcp.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	child := waitChild(t, ts)
	if err := tcp.Close(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the coordinator's child to be killed", func() bool { return processGone(child) })
	waitFor(t, 5*time.Second, "the drop to be logged", func() bool {
		return strings.Contains(ts.log.String(), "client gone while the coordinator ran")
	})
	if dirs := ts.outDirs(t); dirs != nil {
		t.Errorf("the killed run left %q", dirs)
	}
}

// waitChild returns the pid of the hanging coordinator's child, running.
func waitChild(t *testing.T, ts *testServer) int {
	t.Helper()
	pid := childPID(t, ts)
	if processGone(pid) {
		t.Fatalf("child %d not running", pid)
	}
	return pid
}

// childPID returns the pid the hanging coordinator wrote for its child.
func childPID(t *testing.T, ts *testServer) int {
	t.Helper()
	var pid int
	waitFor(t, 5*time.Second, "the hanging coordinator's child", func() bool {
		data, err := os.ReadFile(ts.childPID)
		if err != nil {
			return false
		}
		pid, err = strconv.Atoi(string(data))
		return err == nil
	})
	return pid
}

func TestHangingCoordinatorIsKilledWithItsProcessGroup(t *testing.T) {
	ts := startServer(t, map[string]string{"TESTCOORDINATOR_MODE": "hang"}, func(c *extractor.Config) {
		c.CoordinatorTimeout, c.ScanTimeout = 700*time.Millisecond, 500*time.Millisecond
	})
	start := time.Now()
	answer := make(chan string, 1)
	go func() { answer <- request(t, ts.addr, "") }()
	child := waitChild(t, ts)
	if got, want := <-answer, "error: coordinator timed out after 700ms and was killed\n"; got != want {
		t.Errorf("answer %q, want %q", got, want)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("answered after %v", d)
	}
	waitFor(t, 5*time.Second, "the coordinator's child to be killed", func() bool { return processGone(child) })
	if dirs := ts.outDirs(t); dirs != nil {
		t.Errorf("the killed run left %q", dirs)
	}
	// The server is free again.
	if runs := len(ts.runs(t)); runs != 1 {
		t.Fatalf("%d runs", runs)
	}
}

func TestMisbehavingCoordinator(t *testing.T) {
	// What the real coordinator says when the CRI socket is not mounted:
	// the path and the hint are at its end.
	const socketMissing = "coordinator: container runtime at unix:///run/containerd/containerd.sock: " +
		"container runtime socket missing: no socket at /run/containerd/containerd.sock (is the runtime running, is its socket mounted?)"
	long := strings.Repeat("word ", 100) + "end"
	tests := []struct {
		mode, message string
		wantAnswer    string // prefix of the answer
		wantLog       string
	}{
		{"fail", "", `error: coordinator failed: exit status 1: testcoordinator: cannot reach the container runtime` + "\n",
			`stderr="testcoordinator: cannot reach the container runtime"`},
		{"fail", socketMissing, "error: coordinator failed: exit status 1: testcoordinator: " + socketMissing + "\n", "socket missing"},
		{"fail", long, "error: coordinator failed: exit status 1: testcoordinator: " + strings.Repeat("word ", 76) + "…\n", "end"},
		{"fail", "tab\tand bell \a", "error: coordinator failed: exit status 1: testcoordinator: tab and bell ?\n", "bell"},
		{"garbage", "", `error: coordinator printed no result directory of `, `stderr="\x11\x18\x1f&-4;BIPW^elsz`},
		{"outside", "", `error: coordinator printed no result directory of `, `testcoordinator started`},
		{"symlink", "", `error: coordinator result `, `testcoordinator started`},
		{"unknown-mode", "", `error: coordinator failed: exit status 1: testcoordinator: unknown TESTCOORDINATOR_MODE`, `unknown TESTCOORDINATOR_MODE`},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			ts := startServer(t, map[string]string{"TESTCOORDINATOR_MODE": tt.mode, "TESTCOORDINATOR_MESSAGE": tt.message}, nil)
			got := request(t, ts.addr, "")
			if !strings.HasPrefix(got, tt.wantAnswer) || strings.Count(got, "\n") != 1 || len(got) > 4096 {
				t.Errorf("answer %q, want one short line starting %q", got, tt.wantAnswer)
			}
			if !strings.Contains(ts.log.String(), tt.wantLog) {
				t.Errorf("server log lacks %q", tt.wantLog)
			}
			// The server still works afterwards.
			ok := startServer(t, nil, nil)
			if a := request(t, ok.addr, "abc"); !strings.HasPrefix(a, ok.dataDir+"/out-") {
				t.Errorf("a good run then answered %q", a)
			}
		})
	}
}

func TestShutdownKillsTheRunningCoordinator(t *testing.T) {
	ts := startServer(t, map[string]string{"TESTCOORDINATOR_MODE": "hang"}, nil)
	answer := make(chan string, 1)
	go func() { answer <- request(t, ts.addr, "") }()
	child := waitChild(t, ts)
	ts.stop()
	select {
	case err := <-ts.done:
		ts.done <- err // for the cleanup
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return")
	}
	if got, want := <-answer, "error: server shutting down: coordinator killed\n"; got != want {
		t.Errorf("answer %q, want %q", got, want)
	}
	// The kill is sent before Serve returns; the kernel may take a moment to
	// reap the child.
	waitFor(t, 5*time.Second, "the killed coordinator to be gone", func() bool { return processGone(child) })
	if _, err := net.Dial("tcp", ts.addr); err == nil {
		t.Error("still listening")
	}
}

// TestClosedClientsResultIsRemoved: a client that connects and closes (a TCP
// probe) looks like an empty request; its answer is refused by its kernel,
// and the result nobody will read is removed.
func TestClosedClientsResultIsRemoved(t *testing.T) {
	ts := startServer(t, nil, nil)
	conn, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
	// A connect-and-close is an empty request whose client is gone: its
	// coordinator is killed when the server sees it gone (the usual case), or
	// its answer is refused when the run ended first; either way no result stays.
	waitFor(t, 5*time.Second, "the gone client to be noticed", func() bool {
		log := ts.log.String()
		return strings.Contains(log, "answer not delivered, removing the result") ||
			strings.Contains(log, "client gone while the coordinator ran") || strings.Contains(log, "client gone while waiting")
	})
	if dirs := ts.outDirs(t); dirs != nil {
		t.Errorf("left %q", dirs)
	}
	// A client that reads its answer keeps its result.
	if a := request(t, ts.addr, ""); !strings.HasPrefix(a, ts.dataDir+"/out-") {
		t.Fatalf("answer %q", a)
	}
	if dirs := ts.outDirs(t); len(dirs) != 1 {
		t.Errorf("result dirs %q, want the delivered one", dirs)
	}
}

func TestNewRefusesToStart(t *testing.T) {
	notExec := filepath.Join(t.TempDir(), "coordinator")
	os.WriteFile(notExec, []byte("#!/bin/sh\n"), 0o644)
	good := func() extractor.Config {
		c := extractor.Config{Listen: "127.0.0.1:0", Coordinator: testCoordinator,
			ConfigPath: filepath.Join("testdata", "config.toml"), DataDir: t.TempDir(), FingerprintsDir: testFingerprints}
		extractor.SkipNodeChecks(&c)
		return c
	}
	tests := []struct {
		name    string
		change  func(c *extractor.Config)
		wantErr string
	}{
		{"missing capabilities", func(c *extractor.Config) {
			extractor.SetPrivilegeCheck(c, func() error { return errors.New("missing capabilities CAP_SYS_ADMIN") })
		}, "missing capabilities CAP_SYS_ADMIN"},
		{"config with a syntax error", func(c *extractor.Config) { c.ConfigPath = filepath.Join("testdata", "bad-config.toml") }, "-config testdata/bad-config.toml: "},
		{"missing config", func(c *extractor.Config) { c.ConfigPath = "testdata/nope.toml" }, "-config testdata/nope.toml: "},
		{"missing coordinator", func(c *extractor.Config) { c.Coordinator = "/nonexistent/coordinator" }, "-coordinator: "},
		{"coordinator not executable", func(c *extractor.Config) { c.Coordinator = notExec }, "is not an executable file"},
		{"missing data dir", func(c *extractor.Config) { c.DataDir = "/nonexistent/data" }, "-data-dir: "},
		{"data dir is a file", func(c *extractor.Config) { c.DataDir = notExec }, "is not a directory"},
		{"listen on every interface", func(c *extractor.Config) { c.Listen = "0.0.0.0:3000" }, "not a loopback address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := good()
			tt.change(&c)
			_, err := extractor.New(c)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("New = %v, want one line containing %q", err, tt.wantErr)
			}
		})
	}
	if _, err := extractor.New(good()); err != nil {
		t.Fatalf("the good config is refused: %v", err)
	}
}

// TestProbeRunsNothing: a readiness probe, however fast it resets, is never
// taken for an empty request (a scan of every container) nor logged as a bad
// request.
func TestProbeRunsNothing(t *testing.T) {
	ts := startServer(t, nil, nil)
	c := &trigger.Client{Address: ts.addr}
	const probes = 20
	for range probes {
		if err := c.Probe(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 5*time.Second, "every probe to be seen", func() bool { return strings.Count(ts.log.String(), "a probe") == probes })
	if runs := ts.runs(t); len(runs) != 0 {
		t.Errorf("probes ran the coordinator %d times", len(runs))
	}
	if strings.Contains(ts.log.String(), "bad request") {
		t.Errorf("a probe was logged as a bad request:\n%s", ts.log.String())
	}
	// A request after the probes is served as usual.
	if a := request(t, ts.addr, "abc"); !strings.HasPrefix(a, ts.dataDir+"/out-") {
		t.Errorf("request after probes answered %q", a)
	}
}
