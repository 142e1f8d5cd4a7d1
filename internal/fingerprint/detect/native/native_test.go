package native

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/openshift/insights-runtime-extractor/internal/contract"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint/detect"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint/elfscan/elffixture"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint/rootfs"
)

// elfWith is an executable holding the given sections.
func elfWith(sections ...elffixture.Section) string {
	return string(elffixture.File{Sections: sections}.Bytes())
}

// detectIn writes files (path inside the root → content) and runs the
// native-executable detector for the process p.
func detectIn(t *testing.T, files map[string]string, p fingerprint.Process) contract.Finding {
	t.Helper()
	dir := t.TempDir()
	for name, data := range files {
		host := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(host), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(host, []byte(data), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	root, err := rootfs.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	f, err := nativeExecutable.Detect(context.Background(), detect.Env{Root: root, Request: fingerprint.Request{Process: p}, Log: discard})
	if err != nil {
		t.Fatal(err)
	}
	return f
}
