package detect_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openshift/insights-runtime-extractor/internal/contract"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint"
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
	c, err := rules.Load(filepath.Join("..", "..", "..", "config.toml"))
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
