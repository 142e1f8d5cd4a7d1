//go:build linux && privileged

// Built only with -tags privileged (make test, as root): the real extractor_server needs
// CAP_SYS_ADMIN and CAP_SETUID and makes its sandbox's cgroups. It shares the chain's
// helpers of this package's tests, so it stays here rather than in test/integration.

package extractor_test

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/openshift/insights-runtime-extractor/internal/exporter"
)

// TestRealBinaries runs the two real binaries as the DaemonSet does: the
// extractor as root, the exporter as an unprivileged user, sharing a data
// dir owned by that user.
func TestRealBinaries(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: the extractor_server binary requires CAP_SYS_ADMIN and CAP_SETUID")
	}
	bin := t.TempDir()
	build := exec.Command("go", "build", "-buildvcs=false", "-o", bin+"/",
		"github.com/openshift/insights-runtime-extractor/cmd/extractor_server",
		"github.com/openshift/insights-runtime-extractor/cmd/exporter")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	// uid 1000 must reach the data dir and run the exporter.
	for _, d := range []string{bin, filepath.Dir(bin)} {
		os.Chmod(d, 0o755)
	}
	parent := t.TempDir()
	os.Chmod(parent, 0o755)
	dataDir := filepath.Join(parent, "data")
	if err := os.Mkdir(dataDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dataDir, 1000, 1000); err != nil {
		t.Fatal(err)
	}
	config, err := filepath.Abs(filepath.Join("testdata", "config.toml"))
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(testCoordinator, 0o755)
	os.Chmod(filepath.Dir(testCoordinator), 0o755)
	asUser := &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 1000, Gid: 1000}}
	sock := filepath.Join(t.TempDir(), "crio.sock")
	serveRuntime(t, sock)

	t.Run("refuses without capabilities", func(t *testing.T) {
		cmd := exec.Command(bin+"/extractor_server", "-listen", "127.0.0.1:0", "-coordinator", testCoordinator, "-config", config, "-data-dir", dataDir)
		cmd.SysProcAttr = asUser
		assertOneLineExit(t, cmd, 1, "extractor_server: missing capabilities CAP_SYS_ADMIN, CAP_SETUID: run as root in a privileged container (securityContext.privileged: true)\n")
	})
	t.Run("refuses a bad config", func(t *testing.T) {
		bad, _ := filepath.Abs(filepath.Join("testdata", "bad-config.toml"))
		cmd := exec.Command(bin+"/extractor_server", "-listen", "127.0.0.1:0", "-coordinator", testCoordinator, "-config", bad, "-data-dir", dataDir)
		assertOneLineExit(t, cmd, 1, "extractor_server: -config "+bad+": ")
	})
	t.Run("refuses a bad flag", func(t *testing.T) {
		assertOneLineExit(t, exec.Command(bin+"/extractor_server", "-listen-port", "1"), 2, "extractor_server: flag provided but not defined: -listen-port\n")
		assertOneLineExit(t, exec.Command(bin+"/exporter", "-port", "x"), 2, `exporter: invalid value "x" for flag -port: parse error`+"\n")
		assertOneLineExit(t, exec.Command(bin+"/exporter", "-log-format", "xml"), 2, `exporter: invalid -log-format "xml": want text or json`+"\n")
	})

	extractorAddr, exporterPort := freeAddr(t), freeAddr(t)
	_, port, _ := net.SplitHostPort(exporterPort)
	server := exec.Command(bin+"/extractor_server", "-listen", extractorAddr, "-coordinator", testCoordinator,
		"-config", config, "-data-dir", dataDir, "-fingerprints-dir", testFingerprints, "-runtime-endpoint", "unix://"+sock, "-log-format", "json")
	exp := exec.Command(bin+"/exporter", "-bind", "127.0.0.1", "-port", port, "-extractor-address", extractorAddr, "-data-dir", dataDir)
	exp.SysProcAttr = asUser
	var serverLog, exporterLog syncBuffer
	server.Stderr, exp.Stderr = &serverLog, &exporterLog
	for _, cmd := range []*exec.Cmd{server, exp} {
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill() })
	}
	// Not by connecting: an empty connection to the extractor is a request.
	waitFor(t, 10*time.Second, "both to listen", func() bool {
		return strings.Contains(serverLog.String(), "extractor_server listening") && strings.Contains(exporterLog.String(), "exporter listening")
	})
	status, body := httpDo(t, "GET", "http://"+exporterPort+exporter.Path+"?hash=false", "")
	if want := wantJSON(t, false, allContainers...); status != 200 || body != want {
		t.Errorf("got %d %s\nwant 200 %s\nextractor log:\n%s\nexporter log:\n%s", status, body, want, serverLog.String(), exporterLog.String())
	}
	// The exporter deletes the result after answering.
	deadline := time.Now().Add(5 * time.Second)
	for entries, _ := os.ReadDir(dataDir); len(entries) != 0; entries, _ = os.ReadDir(dataDir) {
		if time.Now().After(deadline) {
			t.Fatalf("the unprivileged exporter did not delete the result %v; its log:\n%s\nextractor log:\n%s", entries, exporterLog.String(), serverLog.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	for name, cmd := range map[string]*exec.Cmd{"extractor_server": server, "exporter": exp} {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("%s after SIGTERM: %v", name, err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("%s did not stop on SIGTERM", name)
		}
	}
}

func assertOneLineExit(t *testing.T, cmd *exec.Cmd, code int, wantPrefix string) {
	t.Helper()
	var stderr syncBuffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	exit, ok := err.(*exec.ExitError)
	if !ok || exit.ExitCode() != code {
		t.Fatalf("%v: %v, want exit status %d", cmd.Args, err, code)
	}
	got := stderr.String()
	if !strings.HasPrefix(got, wantPrefix) || strings.Count(got, "\n") != 1 {
		t.Errorf("stderr %q, want one line starting %q", got, wantPrefix)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
