// The fpr_* executables of internal/fingerprint/cli against a sample built with a real
// JDK (Debian's, installed as root; the test skips with one line otherwise).
package cli_test

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/openshift/insights-runtime-extractor/internal/contract"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint/rules"
	"github.com/openshift/insights-runtime-extractor/test/debpkg/debpkgtest"
	"github.com/openshift/insights-runtime-extractor/test/samples"
)

var fprs = []string{"fpr_os", "fpr_version_executable", "fpr_java", "fpr_native_executable"}

// buildFingerprints builds the fpr_* executables as the Makefile does.
func buildFingerprints(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range fprs {
		cmd := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-trimpath", "-ldflags=-s -w", "-o", filepath.Join(dir, name), "./fingerprints/"+name)
		cmd.Dir = filepath.Join("..", "..", "..", "..")
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

func TestFingerprintExecutablesWithAJDK(t *testing.T) {
	bin := buildFingerprints(t)
	c, err := rules.Load(filepath.Join("..", "..", "..", "..", "config.toml"))
	if err != nil {
		t.Fatal(err)
	}

	t.Run("fpr_java with the request Plan builds, against a Quarkus tree", func(t *testing.T) {
		debpkgtest.Need(t, samples.JDKPackages()...)
		s, err := samples.QuarkusFastJar(t.TempDir(), "3.15.3.redhat-00002")
		if errors.Is(err, samples.ErrNoJDK) {
			t.Skip(err)
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(s.HostPath("/usr/lib/jvm/jre-17"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(s.HostPath("/usr/lib/jvm/jre-17/release"), []byte("IMPLEMENTOR=\"Red Hat, Inc.\"\nJAVA_VERSION=\"17.0.13\"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		p := fingerprint.Process{PID: 1, Name: "java", Cmdline: s.Cmdline, Env: []string{"JAVA_HOME=/usr/lib/jvm/jre-17"}, Cwd: s.Cwd}
		plan := c.Plan(p)
		if len(plan) != 2 || plan[1].Executable != "fpr_java" {
			t.Fatalf("plan %+v", plan)
		}
		args := append([]string{}, plan[1].Args...)
		args[1] = s.Root // -root: the tree instead of the container's /
		stdout, stderr, code := run(t, filepath.Join(bin, plan[1].Executable), plan[1].Stdin, args...)
		want := "runtime-kind=Java\nruntime-kind-implementer=Red Hat, Inc.\nruntime-kind-version=17.0.13\nruntime=Quarkus=3.15.3.redhat-00002\n"
		if code != 0 || stdout != want {
			t.Errorf("code %d, stdout %q, stderr %q", code, stdout, stderr)
		}
		got, err := contract.DecodeFinding(strings.NewReader(stdout))
		if err != nil || got.Runtimes[0].Version != "3.15.3.redhat-00002" {
			t.Errorf("decoded %+v, %v", got, err)
		}
	})
}
