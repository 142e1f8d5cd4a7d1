package localnode

import (
	"os"
	"path/filepath"
	"testing"
)

// A recipe's Go package is built in the module that holds it: the
// repository's, or a nested one (the test module).
func TestModuleOfFindsTheNearestGoMod(t *testing.T) {
	repo := t.TempDir()
	for _, d := range []string{"runtime-samples/pause", "test/sandbox/probe"} {
		if err := os.MkdirAll(filepath.Join(repo, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"go.mod", "test/go.mod"} {
		if err := os.WriteFile(filepath.Join(repo, f), []byte("module x\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct{ pkg, dir, rel string }{
		{"./runtime-samples/pause", repo, "./runtime-samples/pause"},
		{"./test/sandbox/probe", filepath.Join(repo, "test"), "./sandbox/probe"},
	} {
		dir, rel, err := moduleOf(repo, tc.pkg)
		if err != nil || dir != tc.dir || rel != tc.rel {
			t.Errorf("moduleOf(%s) = %s, %s, %v; want %s, %s", tc.pkg, dir, rel, err, tc.dir, tc.rel)
		}
	}
	if _, _, err := moduleOf(t.TempDir(), "./x"); err == nil {
		t.Error("moduleOf without any go.mod: no error")
	}
}
