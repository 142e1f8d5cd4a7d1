package release

import (
	"os"
	"path/filepath"
	"testing"
)

// repoRoot is the checkout's top directory (this package is test/release).
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "go.mod")); err != nil {
		t.Fatalf("repository root not found from test/release: %v", err)
	}
	return dir
}
