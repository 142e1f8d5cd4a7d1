// The start checks of internal/extractor that need root and Debian's gcc: root, to
// read the execute-only fingerprints (and so pass the real privilege and cgroup checks);
// gcc, installed as root, to make a dynamically linked one. They skip with one line
// when not root.
package extractor_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/openshift/insights-runtime-extractor/internal/extractor"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint"
	"github.com/openshift/insights-runtime-extractor/test/debpkg"
)

// The glibc loader a dynamic executable of this machine names.
var glibcLoader = map[string]string{"amd64": "/lib64/ld-linux-x86-64.so.2", "arm64": "/lib/ld-linux-aarch64.so.1"}

// New refuses a dynamically linked fingerprint, with one line that says what
// to fix, before it serves a single request.
func TestNewRefusesADynamicallyLinkedFingerprint(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: reads the execute-only fingerprints, and installs gcc")
	}
	loader, ok := glibcLoader[runtime.GOARCH]
	if !ok {
		t.Skipf("no known glibc loader on %s", runtime.GOARCH)
	}
	// With the sandbox helper beside it, as shipped: the start check looks for it there.
	bin := t.TempDir()
	coordinator := filepath.Join(bin, "testcoordinator")
	build := exec.Command("go", "build", "-o", bin+"/", "github.com/openshift/insights-runtime-extractor/internal/extractor/testdata/testcoordinator",
		"github.com/openshift/insights-runtime-extractor/cmd/sandbox_helper")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the test coordinator: %v\n%s", err, out)
	}
	dir := filepath.Join(t.TempDir(), "fingerprints")
	if err := fakeFingerprints(dir, coordinator); err != nil {
		t.Fatal(err)
	}
	replaceWith(t, filepath.Join(dir, "fpr_java"), dynamicExecutable)
	c := extractor.Config{Listen: "127.0.0.1:0", Coordinator: coordinator, DataDir: t.TempDir(),
		ConfigPath: filepath.Join("..", "..", "..", "internal", "extractor", "testdata", "config.toml"), FingerprintsDir: dir}
	_, err := extractor.New(c)
	want := fmt.Sprintf("fingerprint %s/fpr_java: dynamically linked (PT_INTERP %s): build it with CGO_ENABLED=0", dir, loader)
	if err == nil || err.Error() != want {
		t.Fatalf("New = %v\nwant %s", err, want)
	}
}

// fakeFingerprints fills dir with every fpr_* a config can need: copies of
// the static exe, execute-only, as the image ships them.
func fakeFingerprints(dir, exe string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	data, err := os.ReadFile(exe)
	if err != nil {
		return err
	}
	for _, name := range []string{fingerprint.NameOS, fingerprint.NameJava, fingerprint.NameNativeExecutable, fingerprint.NameVersionExecutable} {
		path := filepath.Join(dir, fingerprint.ExecutableName(name))
		if err := os.WriteFile(path, data, 0o111); err != nil {
			return err
		}
		if err := os.Chmod(path, 0o111); err != nil { // umask
			return err
		}
	}
	return nil
}

// dynamicExecutable builds a dynamically linked C program with gcc.
func dynamicExecutable(t *testing.T, path string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := debpkg.Ensure(ctx, nil, "gcc", "libc6-dev"); err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(t.TempDir(), "main.c")
	if err := os.WriteFile(src, []byte("int main(void) { return 0; }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.CommandContext(ctx, "gcc", "-o", path, src).CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v: %s", err, out)
	}
}

func replaceWith(t *testing.T, path string, build func(*testing.T, string)) {
	t.Helper()
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	build(t, path)
	if err := os.Chmod(path, 0o111); err != nil {
		t.Fatal(err)
	}
}
