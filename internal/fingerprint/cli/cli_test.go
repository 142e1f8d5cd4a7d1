package cli_test

import (
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/openshift/insights-runtime-extractor/internal/fingerprint/cli"
)

var fprs = []string{"fpr_os", "fpr_version_executable", "fpr_java", "fpr_native_executable"}

// buildFingerprints builds the fpr_* executables as the Makefile does.
func buildFingerprints(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range fprs {
		cmd := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-trimpath", "-ldflags=-s -w", "-o", filepath.Join(dir, name), "./fingerprints/"+name)
		cmd.Dir = filepath.Join("..", "..", "..")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("build %s: %v: %s", name, err, out)
		}
	}
	return dir
}

func run(t *testing.T, exe string, stdin []byte, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(exe, args...)
	cmd.Stdin = bytes.NewReader(stdin)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return o.String(), e.String(), code
}

func TestFingerprintExecutables(t *testing.T) {
	bin := buildFingerprints(t)

	t.Run("static, no interpreter", func(t *testing.T) {
		for _, name := range fprs {
			f, err := elf.Open(filepath.Join(bin, name))
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range f.Progs {
				if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
					t.Errorf("%s has %v: not static", name, p.Type)
				}
			}
			f.Close()
		}
	})

	t.Run("-h", func(t *testing.T) {
		for _, name := range fprs {
			_, stderr, code := run(t, filepath.Join(bin, name), nil, "-h")
			if code != 0 || !strings.Contains(stderr, "-root") || !strings.Contains(stderr, "Usage: "+name) {
				t.Errorf("%s -h: code %d, %q", name, code, stderr)
			}
		}
	})

	t.Run("bad flags: one line, exit 2", func(t *testing.T) {
		for _, args := range [][]string{{"-bogus"}, {"-log-format", "xml"}, {"-log-level", "loud"}, {"extra"}, {"-config", "x.toml"}, {"-pid", "1", "-request"}} {
			_, stderr, code := run(t, filepath.Join(bin, "fpr_java"), nil, args...)
			if code != cli.ExitUsage || strings.Count(stderr, "\n") != 1 {
				t.Errorf("%v: code %d, stderr %q", args, code, stderr)
			}
		}
	})

	t.Run("bad root or request: exit 1", func(t *testing.T) {
		_, stderr, code := run(t, filepath.Join(bin, "fpr_os"), nil, "-root", "/nonexistent")
		if code != cli.ExitError || !strings.Contains(stderr, "/nonexistent") {
			t.Errorf("code %d, %q", code, stderr)
		}
		_, stderr, code = run(t, filepath.Join(bin, "fpr_java"), []byte("{not json"))
		if code != cli.ExitError || !strings.Contains(stderr, "decode request") {
			t.Errorf("code %d, %q", code, stderr)
		}
	})

	t.Run("fpr_os against a tree", func(t *testing.T) {
		root := t.TempDir()
		if err := os.MkdirAll(filepath.Join(root, "usr/lib"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, "usr/lib/os-release"), []byte("ID=\"rhel\"\nVERSION_ID=\"8.10\"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		stdout, stderr, code := run(t, filepath.Join(bin, "fpr_os"), nil, "-root", root)
		if code != 0 || stdout != "os-release-id=rhel\nos-release-version-id=8.10\n" {
			t.Errorf("code %d, stdout %q, stderr %q", code, stdout, stderr)
		}
	})

	t.Run("-pid of a live process, by hand", func(t *testing.T) {
		sleeper := exec.Command("sleep", "600")
		if err := sleeper.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { _ = sleeper.Process.Kill(); _ = sleeper.Wait() }()
		waitComm(t, sleeper.Process.Pid, "sleep")
		stdout, stderr, code := run(t, filepath.Join(bin, "fpr_native_executable"), nil, "-pid", strconv.Itoa(sleeper.Process.Pid), "-log-format", "json")
		// Debian's sleep is C: neither Go nor GraalVM, nothing to report.
		if code != 0 || stdout != "" || strings.Contains(stderr, "level\":\"ERROR") {
			t.Errorf("code %d, stdout %q, stderr %q", code, stdout, stderr)
		}
	})

	t.Run("SIGTERM during --version stops it and its child", func(t *testing.T) {
		// A Go program named node that never answers --version.
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/node\n\ngo 1.22\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte("package main\n\nimport \"time\"\n\nfunc main() { time.Sleep(time.Hour) }\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		build := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", filepath.Join(dir, "node"), ".")
		build.Dir = dir
		build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=")
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		node := exec.Command(filepath.Join(dir, "node"))
		if err := node.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { _ = node.Process.Kill(); _ = node.Wait() }()
		waitComm(t, node.Process.Pid, "node")
		fpr := exec.Command(filepath.Join(bin, "fpr_version_executable"), "-pid", strconv.Itoa(node.Process.Pid), "-request", "-")
		fpr.Stdin = strings.NewReader(`{"runtime-kind-name": "Node.js"}`)
		var out bytes.Buffer
		fpr.Stdout = &out
		if err := fpr.Start(); err != nil {
			t.Fatal(err)
		}
		var child int
		for deadline := time.Now().Add(5 * time.Second); child == 0 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			// A Go program forks from any of its threads.
			tasks, _ := filepath.Glob("/proc/" + strconv.Itoa(fpr.Process.Pid) + "/task/*/children")
			for _, task := range tasks {
				b, _ := os.ReadFile(task)
				if f := strings.Fields(string(b)); len(f) > 0 {
					child, _ = strconv.Atoi(f[0])
				}
			}
		}
		if child == 0 {
			t.Fatal("the --version process never started")
		}
		start := time.Now()
		if err := fpr.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		done := make(chan error, 1)
		go func() { done <- fpr.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("exit: %v", err)
			}
		case <-ctx.Done():
			_ = fpr.Process.Kill()
			t.Fatal("did not stop within 3s of SIGTERM")
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("stopped %v after SIGTERM", d)
		}
		if _, err := os.Stat("/proc/" + strconv.Itoa(child)); err == nil {
			if b, _ := os.ReadFile("/proc/" + strconv.Itoa(child) + "/stat"); !strings.Contains(string(b), ") Z ") {
				t.Errorf("--version child %d still runs: %s", child, b)
			}
		}
		// A --version that was stopped proves nothing: not even the kind.
		if out.String() != "" {
			t.Errorf("stdout %q, want nothing", out.String())
		}
	})
}

func waitComm(t *testing.T, pid int, comm string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm"); err == nil && strings.TrimSpace(string(b)) == comm {
			return
		}
	}
	t.Fatalf("pid %d never showed comm %q", pid, comm)
}
