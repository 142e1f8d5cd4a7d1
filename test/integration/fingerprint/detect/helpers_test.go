// The tests of internal/fingerprint/detect that need real runtimes (JDKs, node, python3,
// tomcat10, GraalVM-like natives) installed from Debian: they install them as root and skip
// with one line otherwise. The unit tests stay beside the package.
package detect_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openshift/insights-runtime-extractor/internal/contract"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint/cli"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint/detect"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint/rootfs"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint/rules"

	// The detectors of every fingerprint, as the four fpr_* executables hold them.
	_ "github.com/openshift/insights-runtime-extractor/internal/fingerprint/detect/java"
	_ "github.com/openshift/insights-runtime-extractor/internal/fingerprint/detect/native"
	_ "github.com/openshift/insights-runtime-extractor/internal/fingerprint/detect/osrelease"
	_ "github.com/openshift/insights-runtime-extractor/internal/fingerprint/detect/versionexec"
)

func repoConfig(t *testing.T) *rules.Config {
	t.Helper()
	c, err := rules.Load(filepath.Join("..", "..", "..", "..", "config.toml"))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// fingerprintAll runs, against root, every fingerprint the repository's
// config.toml plans for p, each from the request Plan built (as the
// coordinator does), and merges what they found.
func fingerprintAll(t *testing.T, root string, p fingerprint.Process) contract.Finding {
	t.Helper()
	r, err := rootfs.New(root)
	if err != nil {
		t.Fatal(err)
	}
	var all contract.Finding
	for _, inv := range repoConfig(t).Plan(p) {
		var req fingerprint.Request
		if inv.Stdin != nil {
			if req, err = fingerprint.DecodeRequest(strings.NewReader(string(inv.Stdin))); err != nil {
				t.Fatal(err)
			}
		}
		f, err := detect.Run(context.Background(), inv.Name, detect.Env{Root: r, Request: req})
		if err != nil {
			t.Fatalf("%s: %v", inv.Name, err)
		}
		clean, dropped := f.Sanitize()
		if len(dropped) > 0 {
			t.Errorf("%s dropped %v", inv.Name, dropped)
		}
		all.Merge(clean)
	}
	return all
}

// withoutOS blanks the OS fields, for tests about the kind path.
func withoutOS(f contract.Finding) contract.Finding {
	f.OS, f.OSVersion = "", ""
	return f
}

func wantFindings(t *testing.T, got, want contract.Finding) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("findings\n got %+v\nwant %+v", got, want)
	}
}

// startLive starts cmd, kills it at the end of the test, and waits until the
// kernel shows it under the wanted comm (wrappers and shims have exec'd).
func startLive(t *testing.T, cmd *exec.Cmd, wantComm string) fingerprint.Process {
	t.Helper()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		comm, err := os.ReadFile("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/comm")
		if err == nil && strings.TrimSpace(string(comm)) == wantComm {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("pid %d never showed comm %q (last %q, %v)", cmd.Process.Pid, wantComm, comm, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The real code path of the coordinator side: the description from /proc.
	p, err := cli.ReadProcess("/proc", cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// shellValues sources a KEY=value file with the shell and prints variables:
// the reference our parser must agree with.
func shellValues(t *testing.T, file string, vars ...string) []string {
	t.Helper()
	var script strings.Builder
	script.WriteString(". \"$1\"")
	for _, v := range vars {
		script.WriteString("; printf '%s\\n' \"$" + v + "\"")
	}
	out, err := exec.Command("/bin/sh", "-c", script.String(), "sh", file).Output()
	if err != nil {
		t.Fatalf("sh . %s: %v", file, err)
	}
	return strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
}

func writeTree(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for p, content := range files {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if target, ok := strings.CutPrefix(content, "symlink:"); ok {
			if err := os.Symlink(target, full); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.WriteFile(full, []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

func mkdir(t *testing.T, p string) {
	t.Helper()
	if err := os.MkdirAll(p, 0o755); err != nil {
		t.Fatal(err)
	}
}
