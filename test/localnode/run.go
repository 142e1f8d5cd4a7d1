package localnode

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// progressInterval is how often a long step (a Go build, debootstrap) says
// that it still runs: someone watching a first run must be able to tell a
// slow step from a stuck one.
const progressInterval = 20 * time.Second

// runQuiet runs a command with a non-interactive environment and returns its
// combined output in the error when it fails.
func runQuiet(ctx context.Context, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, tail(out.String(), 2000))
	}
	return nil
}

// runLogged runs cmd, keeping its combined output for the error, and logs
// what it is doing: that it starts, that it still runs (with the elapsed
// time, every progressInterval), that it is done; with stream, also each
// line of its output as it comes (debootstrap's "I: Retrieving …").
func runLogged(log *slog.Logger, what string, stream bool, cmd *exec.Cmd) error {
	return runLoggedEvery(log, what, stream, cmd, progressInterval)
}

func runLoggedEvery(log *slog.Logger, what string, stream bool, cmd *exec.Cmd, every time.Duration) error {
	if log == nil {
		log = slog.Default()
	}
	out := &progressWriter{log: log, what: what, stream: stream}
	cmd.Stdout, cmd.Stderr = out, out
	start := time.Now()
	log.Info(what + ": started")
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				log.Info(what+": still running", "elapsed", time.Since(start).Round(time.Second))
			}
		}
	})
	err := cmd.Run()
	close(done)
	wg.Wait()
	if err != nil {
		return fmt.Errorf("%s: %w: %s", what, err, tail(out.String(), 2000))
	}
	log.Info(what+": done", "elapsed", time.Since(start).Round(time.Second))
	return nil
}

// progressWriter keeps a command's output and, when stream is set, logs it
// line by line.
type progressWriter struct {
	log     *slog.Logger
	what    string
	stream  bool
	mu      sync.Mutex
	all     bytes.Buffer
	partial []byte
}

func (w *progressWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.all.Write(p)
	if !w.stream {
		return len(p), nil
	}
	w.partial = append(w.partial, p...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			break
		}
		if line := strings.TrimSpace(string(w.partial[:i])); line != "" {
			w.log.Info(w.what, "output", line)
		}
		w.partial = w.partial[i+1:]
	}
	return len(p), nil
}

func (w *progressWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.all.String()
}

// tail keeps the last n bytes of s: the end of a tool's output says why it failed.
func tail(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
