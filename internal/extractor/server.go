// Package extractor is extractor_server, the privileged half of the pod: it
// checks at start that the node can be scanned (capabilities, cgroups,
// config.toml, fingerprints, container runtime), then serves the trigger
// protocol (SPEC §3) on loopback by running one coordinator per request, one
// at a time, and answering the result directory it printed.
package extractor

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/sys/unix"

	"github.com/openshift/insights-runtime-extractor/internal/bounded"
	"github.com/openshift/insights-runtime-extractor/internal/coordinator"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint/rules"
	"github.com/openshift/insights-runtime-extractor/internal/privileges"
	"github.com/openshift/insights-runtime-extractor/internal/result"
	"github.com/openshift/insights-runtime-extractor/internal/sandbox"
	"github.com/openshift/insights-runtime-extractor/internal/trigger"
)

// Defaults of Config, used for zero values.
const (
	DefaultCoordinatorTimeout = 75 * time.Second
	DefaultReadTimeout        = 10 * time.Second
	DefaultMaxQueue           = 16
	// DefaultFirstByteTimeout is how long a connection may stay silent. The
	// only client, the exporter in the same pod, writes as soon as it is
	// connected; two seconds also cover an exporter starved of CPU.
	DefaultFirstByteTimeout = 2 * time.Second
	// DefaultMaxPending bounds the connections still reading their request.
	DefaultMaxPending = 64
)

const (
	// peerPollInterval is how often a waiting or running request checks
	// that its client is still there.
	peerPollInterval = 200 * time.Millisecond
	// maxStdout bounds what is kept of the coordinator's standard output:
	// one path.
	maxStdout = 4096
	// maxStderrLine and maxStderrLines bound what one coordinator run can
	// put into the server's log.
	maxStderrLine  = 4096
	maxStderrLines = 10000
	// maxReason bounds the coordinator's last stderr line relayed in an error
	// answer: room for a socket path and a hint, still one short line.
	maxReason = 400
)

// Config is everything extractor_server is told by its flags.
type Config struct {
	Listen      string // loopback host:port
	Coordinator string // executable run once per request
	ConfigPath  string // config.toml: checked at start, passed to the coordinator
	DataDir     string // where the coordinator creates result directories

	// Passed through to the coordinator when set.
	RuntimeEndpoint string
	FingerprintsDir string
	CgroupParent    string
	Concurrency     int
	// ScanTimeout is the coordinator's -scan-timeout (0: its default); it
	// must end before CoordinatorTimeout, so that a scan that runs out of
	// time still answers with what it finished.
	ScanTimeout      time.Duration
	ContainerTimeout time.Duration // the coordinator's -container-timeout (0: its default)
	LogLevel         string
	LogFormat        string

	CoordinatorTimeout time.Duration // a coordinator running longer is killed with its process group
	ReadTimeout        time.Duration // a client must send its request and half-close within it
	FirstByteTimeout   time.Duration // a client must send its first byte (or half-close) within it
	MaxQueue           int           // requests waiting for the running coordinator; more are refused
	// MaxPending bounds the connections still reading their request, apart
	// from the queue: idle connections can hold none of the queue's places,
	// and are dropped after FirstByteTimeout.
	MaxPending int

	Log *slog.Logger

	// requirePrivileges checks the capabilities of SPEC §8 and that the
	// sandbox can create its cgroups; requireRuntime that the container
	// runtime answers. Nil means the real checks; only tests of this package
	// replace them (export_test.go), so that they run without root or a
	// runtime. There is deliberately no flag for them.
	requirePrivileges, requireRuntime func() error
}

// Server runs one coordinator per request, at most one at a time.
type Server struct {
	cfg     Config
	log     *slog.Logger
	turn    chan struct{} // holds a token while a coordinator runs
	waiting atomic.Int64
	pending chan struct{} // bounds the connections still reading their request
	seq     atomic.Uint64
}

// New checks what must hold before serving: the capabilities and cgroups for
// the sandbox, a valid config.toml, every fingerprint it needs in place as
// the sandbox runs them (statically linked, execute-only), an executable
// coordinator, an existing data dir, a loopback listen address and a
// container runtime that answers (waiting up to DefaultRuntimeWait for it). Each
// failure is one line that says what to fix.
func New(cfg Config) (*Server, error) {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.CoordinatorTimeout <= 0 {
		cfg.CoordinatorTimeout = DefaultCoordinatorTimeout
	}
	if cfg.ReadTimeout <= 0 {
		cfg.ReadTimeout = DefaultReadTimeout
	}
	if cfg.MaxQueue <= 0 {
		cfg.MaxQueue = DefaultMaxQueue
	}
	if cfg.FirstByteTimeout <= 0 {
		cfg.FirstByteTimeout = DefaultFirstByteTimeout
	}
	if cfg.MaxPending <= 0 {
		cfg.MaxPending = DefaultMaxPending
	}
	// The coordinator's default when ScanTimeout is 0.
	if budget := cmp.Or(cfg.ScanTimeout, coordinator.DefaultScanTimeout); budget >= cfg.CoordinatorTimeout {
		return nil, fmt.Errorf("-scan-timeout %s must be shorter than -coordinator-timeout %s: a coordinator killed at its limit answers nothing", budget, cfg.CoordinatorTimeout)
	}
	check := cfg.requirePrivileges
	if check == nil {
		check = func() error {
			if err := privileges.Require(privileges.CapSysAdmin, privileges.CapSetuid); err != nil {
				return err
			}
			// The helper the coordinator uses by default: the one installed beside it.
			return sandbox.Check(sandbox.Options{Helper: sandbox.HelperBeside(cfg.Coordinator), CgroupParent: cfg.CgroupParent, Logger: cfg.Log})
		}
	}
	if err := check(); err != nil {
		return nil, err
	}
	if _, err := rules.Load(cfg.ConfigPath); err != nil {
		return nil, fmt.Errorf("-config %s: %w", cfg.ConfigPath, err)
	}
	if err := checkFingerprints(cmp.Or(cfg.FingerprintsDir, fingerprint.DefaultDir), cfg.Log); err != nil {
		return nil, err
	}
	if st, err := os.Stat(cfg.Coordinator); err != nil {
		return nil, fmt.Errorf("-coordinator: %w", err)
	} else if !st.Mode().IsRegular() || st.Mode().Perm()&0o111 == 0 {
		return nil, fmt.Errorf("-coordinator %s is not an executable file", cfg.Coordinator)
	}
	if st, err := os.Stat(cfg.DataDir); err != nil {
		return nil, fmt.Errorf("-data-dir: %w", err)
	} else if !st.IsDir() {
		return nil, fmt.Errorf("-data-dir %s is not a directory", cfg.DataDir)
	}
	if cfg.Listen != "" {
		if err := checkLoopback(cfg.Listen); err != nil {
			return nil, err
		}
	}
	// Last: it may wait for the runtime, and every other check is instant.
	runtimeUp := cfg.requireRuntime
	if runtimeUp == nil {
		runtimeUp = func() error { return waitForRuntime(cfg.RuntimeEndpoint, DefaultRuntimeWait, cfg.Log) }
	}
	if err := runtimeUp(); err != nil {
		return nil, oneLine(err)
	}
	return &Server{
		cfg:     cfg,
		log:     cfg.Log,
		turn:    make(chan struct{}, 1),
		pending: make(chan struct{}, cfg.MaxPending),
	}, nil
}

// checkLoopback refuses an address reachable from outside the pod (SPEC §3, §8).
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("-listen %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("-listen %s: not a loopback address; the extractor must only be reachable from its own pod", addr)
	}
	return nil
}

// ListenAndServe listens on Config.Listen and serves until ctx ends.
func (s *Server) ListenAndServe(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	s.log.Info("extractor_server listening", "address", ln.Addr().String(), "coordinator", s.cfg.Coordinator)
	return s.Serve(ctx, ln)
}

// Serve answers connections of ln until ctx ends, then closes ln, kills the
// running coordinator, answers the waiting requests and returns.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				s.log.Info("extractor_server stopping")
				return nil
			}
			if errors.Is(err, net.ErrClosed) {
				return fmt.Errorf("accept: %w", err)
			}
			// Out of file descriptors and the like: wait instead of spinning.
			s.log.Warn("accept failed", "error", err)
			select {
			case <-time.After(100 * time.Millisecond):
			case <-ctx.Done():
			}
			continue
		}
		// A connection takes a place among the pending ones until its
		// request is read; then the queue (MaxQueue) bounds it.
		select {
		case s.pending <- struct{}{}:
			wg.Go(func() { s.handle(ctx, conn, sync.OnceFunc(func() { <-s.pending })) })
		default:
			// Answer without reading: too many clients already.
			wg.Go(func() {
				defer conn.Close()
				s.answerError(conn, s.log, trigger.ErrTooManyConnections)
			})
		}
	}
}

// errClientGone ends a request whose client reset the connection.
var errClientGone = errors.New("client gone")

// handle serves one connection; read gives up its place among the pending
// connections.
func (s *Server) handle(ctx context.Context, conn net.Conn, read func()) {
	defer conn.Close()
	defer read()
	log := s.log.With("request", s.seq.Add(1))
	start := time.Now()

	ids, err := trigger.ReadRequest(conn, s.cfg.FirstByteTimeout, s.cfg.ReadTimeout)
	read()
	if errors.Is(err, trigger.ErrProbe) {
		log.Debug("connection reset before any request: a probe (Client.Probe)")
		return
	}
	if errors.Is(err, trigger.ErrIdle) {
		log.Info("idle connection dropped", "error", err)
		s.answerError(conn, log, err)
		return
	}
	if err != nil {
		log.Warn("bad request", "error", err)
		s.answerError(conn, log, err)
		return
	}
	log = log.With("ids", len(ids))

	// From here on the request ends when its client goes away.
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go watchPeer(ctx, conn, cancel)

	release, err := s.waitTurn(ctx)
	if errors.Is(err, errClientGone) {
		log.Info("client gone while waiting, request dropped")
		return
	}
	if err != nil {
		log.Warn("request not run", "error", err)
		s.answerError(conn, log, err)
		return
	}
	dir, err := s.extract(ctx, ids, log)
	release()
	if errors.Is(err, errClientGone) {
		log.Info("client gone while the coordinator ran: killed it, request dropped")
		return
	}
	if err != nil {
		log.Error("extraction failed", "error", err, "duration", time.Since(start))
		s.answerError(conn, log, err)
		return
	}
	if err := trigger.WriteAnswer(conn, dir); err != nil {
		// Nobody will read or delete it. Removed before the line is logged,
		// so that whoever reads the log finds it gone.
		_ = os.RemoveAll(dir)
		log.Warn("answer not delivered, removing the result", "dir", dir, "error", err)
		return
	}
	log.Info("extraction done", "dir", dir, "duration", time.Since(start))
}

func (s *Server) answerError(conn net.Conn, log *slog.Logger, err error) {
	if werr := trigger.WriteError(conn, err); werr != nil {
		log.Debug("error answer not delivered", "error", werr)
	}
}

// waitTurn waits until no coordinator runs, in a first-come first-served
// queue of at most MaxQueue requests, and returns the function that ends the
// turn. It gives up when ctx ends: the client went away or the server stops.
func (s *Server) waitTurn(ctx context.Context) (release func(), err error) {
	release = func() { <-s.turn }
	select {
	case s.turn <- struct{}{}:
		return release, nil
	default:
	}
	if n := s.waiting.Add(1); n > int64(s.cfg.MaxQueue) {
		s.waiting.Add(-1)
		return nil, fmt.Errorf(trigger.BusyPrefix+"%d requests already waiting", s.cfg.MaxQueue)
	}
	defer s.waiting.Add(-1)
	// Blocked senders on a channel are served in order: the queue is FIFO.
	select {
	case s.turn <- struct{}{}:
		if ctx.Err() != nil { // the client left just as its turn came
			release()
			return nil, errClientGone
		}
		return release, nil
	case <-ctx.Done():
		if errors.Is(context.Cause(ctx), errClientGone) {
			return nil, errClientGone
		}
		return nil, errors.New("server shutting down")
	}
}

// watchPeer cancels ctx with errClientGone when the client goes away.
func watchPeer(ctx context.Context, conn net.Conn, cancel context.CancelCauseFunc) {
	tick := time.NewTicker(peerPollInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if trigger.PeerGone(conn) {
				cancel(errClientGone)
				return
			}
		}
	}
}

// coordinatorArgs are the flags the coordinator gets before the ids.
func (s *Server) coordinatorArgs(ids []string) []string {
	c := s.cfg
	args := []string{"-config", c.ConfigPath, "-data-dir", c.DataDir}
	for _, f := range []struct{ name, value string }{
		{"-runtime-endpoint", c.RuntimeEndpoint},
		{"-fingerprints-dir", c.FingerprintsDir},
		{"-cgroup-parent", c.CgroupParent},
		{"-log-level", c.LogLevel},
		{"-log-format", c.LogFormat},
	} {
		if f.value != "" {
			args = append(args, f.name, f.value)
		}
	}
	if c.Concurrency > 0 {
		args = append(args, "-concurrency", strconv.Itoa(c.Concurrency))
	}
	for _, f := range []struct {
		name  string
		value time.Duration
	}{{"-scan-timeout", c.ScanTimeout}, {"-container-timeout", c.ContainerTimeout}} {
		if f.value > 0 {
			args = append(args, f.name, f.value.String())
		}
	}
	if len(ids) > 0 {
		args = append(args, strings.Join(ids, ","))
	}
	return args
}

// extract runs the coordinator once and returns the result directory it
// printed. The coordinator is killed with its whole process group when it
// runs past CoordinatorTimeout or when ctx ends (the client went away, the
// server stops); whatever it left in the data dir is then removed.
func (s *Server) extract(ctx context.Context, ids []string, log *slog.Logger) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.CoordinatorTimeout)
	defer cancel()

	started := time.Now()
	cmd := exec.CommandContext(ctx, s.cfg.Coordinator, s.coordinatorArgs(ids)...)
	// Its own process group, so that a kill reaches the fingerprints it
	// started too; and it dies with the server.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 2 * time.Second
	stdout := &bounded.Buffer{Max: maxStdout}
	stderr := &lineLogger{log: log}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("start coordinator: %w", err)
	}
	log.Debug("coordinator started", "pid", cmd.Process.Pid, "args", cmd.Args[1:])
	waitExit(cmd.Process.Pid)
	// Whatever of its group outlived it goes now, before its pid can be reused.
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	err := cmd.Wait()
	stderr.flush()

	if err != nil {
		s.removeResultsSince(started, log)
		switch cause := context.Cause(ctx); {
		case errors.Is(cause, errClientGone):
			return "", errClientGone
		case errors.Is(cause, context.DeadlineExceeded):
			return "", fmt.Errorf(trigger.TimeoutPrefix+"after %v and was killed", s.cfg.CoordinatorTimeout)
		case cause != nil:
			return "", errors.New("server shutting down: coordinator killed")
		}
		if last := stderr.last; last != "" {
			return "", fmt.Errorf("coordinator failed: %w: %s", err, clip(last, maxReason))
		}
		return "", fmt.Errorf("coordinator failed: %w", err)
	}
	dir, err := s.resultDir(string(stdout.Bytes()))
	if err != nil {
		s.removeResultsSince(started, log)
		return "", err
	}
	return dir, nil
}

// waitExit blocks until the process pid has exited, without reaping it, so
// that its pid (and process group id) stays reserved.
func waitExit(pid int) {
	for {
		var info unix.Siginfo
		err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if !errors.Is(err, unix.EINTR) {
			return
		}
	}
}

// resultDir validates the coordinator's output: one line, a direct child
// "out-*" of the data dir that is a directory and not a symlink.
func (s *Server) resultDir(out string) (string, error) {
	line := strings.TrimSpace(out)
	dir := filepath.Clean(line)
	if line == "" || strings.ContainsAny(line, "\n\r\x00") || !filepath.IsAbs(line) ||
		filepath.Dir(dir) != filepath.Clean(s.cfg.DataDir) || !strings.HasPrefix(filepath.Base(dir), result.DirPrefix) {
		return "", fmt.Errorf("coordinator printed no result directory of %s: %s", s.cfg.DataDir, trigger.Quote(out))
	}
	st, err := os.Lstat(dir)
	if err != nil {
		return "", fmt.Errorf("coordinator result: %w", err)
	}
	if !st.IsDir() {
		return "", fmt.Errorf("coordinator result %s is not a directory", dir)
	}
	return dir, nil
}

// removeResultsSince removes the result directories created from start on:
// with one coordinator at a time they belong to the failed run.
func (s *Server) removeResultsSince(start time.Time, log *slog.Logger) {
	entries, err := os.ReadDir(s.cfg.DataDir)
	if err != nil {
		log.Warn("cannot clean the data dir", "error", err)
		return
	}
	for _, e := range entries {
		if at, ok := result.StampTime(e.Name()); ok && !at.Before(start) {
			path := filepath.Join(s.cfg.DataDir, e.Name())
			if err := os.RemoveAll(path); err != nil {
				log.Warn("cannot remove a failed run's result", "dir", path, "error", err)
			} else {
				log.Info("removed a failed run's result", "dir", path)
			}
		}
	}
}

// oneLine joins the lines of a multi-line error (errors.Join of the default
// sockets tried, for one) so that the failure at start is one line.
func oneLine(err error) error {
	if msg := err.Error(); strings.Contains(msg, "\n") {
		return errors.New(strings.ReplaceAll(msg, "\n", "; "))
	}
	return err
}

// lineLogger sends the coordinator's standard error to the server's log,
// one record per line, with lines and line count bounded.
type lineLogger struct {
	log     *slog.Logger
	partial []byte
	lines   int
	last    string // last non-empty line, for the error answer
}

func (l *lineLogger) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			room := maxStderrLine - len(l.partial)
			l.partial = append(l.partial, p[:max(0, min(room, len(p)))]...)
			break
		}
		room := maxStderrLine - len(l.partial)
		l.partial = append(l.partial, p[:max(0, min(room, i))]...)
		l.emit()
		p = p[i+1:]
	}
	return n, nil
}

func (l *lineLogger) emit() {
	line := strings.TrimRight(string(l.partial), "\r")
	l.partial = l.partial[:0]
	if line == "" {
		return
	}
	l.last = line
	l.lines++
	switch {
	case l.lines <= maxStderrLines:
		l.log.Info("coordinator", "stderr", line)
	case l.lines == maxStderrLines+1:
		l.log.Warn("coordinator stderr: too many lines, ignoring the rest", "max", maxStderrLines)
	}
}

func (l *lineLogger) flush() {
	if len(l.partial) > 0 {
		l.emit()
	}
}

// clip renders untrusted text as one printable line of at most max bytes.
// A longer text is cut at its last space within the bound, or mid-word only
// when the bound holds no space in its second half, and ends with " …" so
// that a reader knows it was cut.
func clip(s string, max int) string {
	s = strings.TrimSpace(strings.Map(func(r rune) rune {
		switch {
		case unicode.IsSpace(r):
			return ' '
		case r == utf8.RuneError || !unicode.IsPrint(r):
			return '?'
		}
		return r
	}, s))
	if len(s) <= max {
		return s
	}
	const marker = " …"
	cut := s[:max-len(marker)]
	for !utf8.ValidString(cut) { // a rune split at the end
		cut = cut[:len(cut)-1]
	}
	if s[len(cut)] != ' ' { // the cut is inside a word
		if i := strings.LastIndexByte(cut, ' '); i >= len(cut)/2 {
			cut = cut[:i]
		}
	}
	return strings.TrimRight(cut, " ") + marker
}
