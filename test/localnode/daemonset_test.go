package localnode

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// Another process may bind a port between FreePort and the binary's bind:
// StartDaemonSet then starts again on new ports instead of failing.
func TestStartDaemonSetRetriesATakenPort(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("extractor_server needs CAP_SYS_ADMIN and CAP_SETUID: run as root")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	repo := repoRoot(t)
	bin := filepath.Join(t.TempDir(), "bin")
	if err := BuildBinaries(ctx, repo, bin); err != nil {
		t.Fatal(err)
	}
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	takenPort := taken.Addr().(*net.TCPAddr).Port
	calls := 0
	freePort = func() (int, error) {
		calls++
		if calls == 1 {
			return takenPort, nil // extractor_server's port, taken by "someone else"
		}
		return FreePort()
	}
	defer func() { freePort = FreePort }()
	dir := t.TempDir()
	// extractor_server listens only once the runtime answers: a real one.
	node, err := Start(ctx, Options{Dir: filepath.Join(dir, "node")})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := node.Stop(); err != nil {
			t.Error(err)
		}
	}()
	d, err := StartDaemonSet(ctx, DaemonSetOptions{
		BinDir: bin, Config: filepath.Join(repo, "config.toml"), DataDir: filepath.Join(dir, "data"),
		Endpoint: node.Endpoint(), LogDir: dir,
	})
	if err != nil {
		t.Fatalf("StartDaemonSet with a taken port: %v", err)
	}
	if err := d.Stop(); err != nil {
		t.Error(err)
	}
	if calls < 4 {
		t.Errorf("freePort called %d times: the taken port was not tried, or not given up", calls)
	}
	if d.ExtractorAddr == "127.0.0.1:"+strconv.Itoa(takenPort) {
		t.Errorf("extractor_server address %s is the taken port", d.ExtractorAddr)
	}
}
