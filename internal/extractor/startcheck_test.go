package extractor_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	rt "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/openshift/insights-runtime-extractor/internal/extractor"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint"
)

// fakeFingerprints fills dir with every fpr_* a config can need: copies of
// the static test coordinator, execute-only, as the image ships them.
func fakeFingerprints(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	exe, err := os.ReadFile(testCoordinator)
	if err != nil {
		return err
	}
	for _, name := range []string{fingerprint.NameOS, fingerprint.NameJava, fingerprint.NameNativeExecutable, fingerprint.NameVersionExecutable} {
		path := filepath.Join(dir, fingerprint.ExecutableName(name))
		if err := os.WriteFile(path, exe, 0o111); err != nil {
			return err
		}
		if err := os.Chmod(path, 0o111); err != nil { // umask
			return err
		}
	}
	return nil
}

// New refuses a fingerprint directory the sandbox could not use, with one
// line that says what to fix, before it serves a single request.
func TestNewRefusesUnusableFingerprints(t *testing.T) {
	noVersionExecutables := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(noVersionExecutables, []byte("[[fingerprints.java]]\nruntime-name = \"Spring Boot\"\n"+
		"main-class = \"org.springframework.boot.loader.JarLauncher\"\nread-manifest-of-executable-jar = true\n"+
		"jar-version-manifest-entry = \"Spring-Boot-Version\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		config  string
		change  func(t *testing.T, dir string)
		wantErr string // %s is the fingerprints directory
	}{
		{
			name:    "a readable fingerprint",
			change:  func(t *testing.T, dir string) { chmod(t, filepath.Join(dir, "fpr_os"), 0o755) },
			wantErr: "fingerprint %s/fpr_os: mode 0755 is readable, want execute-only (e.g. 0111): chmod 0111 it, as make build and the image do",
		},
		{
			name:    "a missing fingerprint",
			change:  func(t *testing.T, dir string) { remove(t, filepath.Join(dir, "fpr_native_executable")) },
			wantErr: "fingerprint %s/fpr_native_executable: missing: -fingerprints-dir must hold every fpr_* executable of make build",
		},
		{
			name:    "the version-executable fingerprint when the config has version executables",
			change:  func(t *testing.T, dir string) { remove(t, filepath.Join(dir, "fpr_version_executable")) },
			wantErr: "fingerprint %s/fpr_version_executable: missing: -fingerprints-dir must hold every fpr_* executable of make build",
		},
		{
			// The image ships every fingerprint: one missing is a broken install even
			// when this config plans it for no process.
			name:    "every fingerprint needed, even without version executables",
			config:  noVersionExecutables,
			change:  func(t *testing.T, dir string) { remove(t, filepath.Join(dir, "fpr_version_executable")) },
			wantErr: "fingerprint %s/fpr_version_executable: missing: -fingerprints-dir must hold every fpr_* executable of make build",
		},
		{name: "every fingerprint in place", change: func(*testing.T, string) {}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "fingerprints")
			if err := fakeFingerprints(dir); err != nil {
				t.Fatal(err)
			}
			tc.change(t, dir)
			c := extractor.Config{Listen: "127.0.0.1:0", Coordinator: testCoordinator, DataDir: t.TempDir(),
				ConfigPath: filepath.Join("testdata", "config.toml"), FingerprintsDir: dir}
			if tc.config != "" {
				c.ConfigPath = tc.config
			}
			extractor.SkipNodeChecks(&c)
			_, err := extractor.New(c)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("New = %v, want it to start", err)
				}
				return
			}
			if want := fmt.Sprintf(tc.wantErr, dir); err == nil || err.Error() != want {
				t.Fatalf("New = %v\nwant %s", err, want)
			}
		})
	}
}

// Without a runtime, the start waits a bounded time, saying so, and then
// fails with one line that names the socket.
func TestWaitForRuntimeGivesUpWithOneLine(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "crio.sock")
	var log syncBuffer
	start := time.Now()
	err := extractor.WaitForRuntime("unix://"+sock, 1200*time.Millisecond, slog.New(slog.NewTextHandler(&log, nil)))
	took := time.Since(start)
	want := "container runtime not ready after 1.2s: container runtime at unix://" + sock + ": container runtime socket missing: no socket at " + sock +
		" (is the runtime running, is its socket mounted?)"
	if err == nil || err.Error() != want {
		t.Fatalf("WaitForRuntime = %v\nwant %s", err, want)
	}
	if took < time.Second || took > 5*time.Second {
		t.Errorf("WaitForRuntime gave up after %v, want about 1.2s", took)
	}
	if n := strings.Count(log.String(), "container runtime not ready, retrying"); n < 2 {
		t.Errorf("log has %d not-ready lines, want one per failed attempt (at least 2):\n%s", n, log.String())
	}
}

func chmod(t *testing.T, path string, mode os.FileMode) {
	t.Helper()
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

func remove(t *testing.T, path string) {
	t.Helper()
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
}

// versionOnlyRuntime is a container runtime that answers Version and
// nothing else: all that the start check asks.
type versionOnlyRuntime struct {
	rt.UnimplementedRuntimeServiceServer
}

func (versionOnlyRuntime) Version(context.Context, *rt.VersionRequest) (*rt.VersionResponse, error) {
	return &rt.VersionResponse{Version: "0.1.0", RuntimeName: "cri-o", RuntimeVersion: "1.34.0", RuntimeApiVersion: "v1"}, nil
}

// serveRuntime serves a versionOnlyRuntime on the unix socket sock until
// the test ends.
func serveRuntime(t testing.TB, sock string) {
	t.Helper()
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer()
	rt.RegisterRuntimeServiceServer(s, versionOnlyRuntime{})
	go s.Serve(ln)
	t.Cleanup(s.Stop)
}

// A runtime that comes up while the extractor waits is taken.
func TestWaitForRuntimeTakesALateRuntime(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "crio.sock")
	time.AfterFunc(700*time.Millisecond, func() { serveRuntime(t, sock) })
	var log syncBuffer
	if err := extractor.WaitForRuntime("unix://"+sock, 20*time.Second, slog.New(slog.NewTextHandler(&log, nil))); err != nil {
		t.Fatalf("WaitForRuntime = %v, want the late runtime", err)
	}
	for _, want := range []string{"container runtime not ready, retrying", `msg="container runtime answers" endpoint=unix://` + sock + " runtime=cri-o version=1.34.0"} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, log.String())
		}
	}
}
