package samples

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha512"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A cached npm tarball is used only when its sha512 is the pinned one, and
// only the named member is taken from it.
func TestNPMBinaryFromTheCache(t *testing.T) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for name, content := range map[string]string{"package/package.json": "{}", "package/bin/tool": "#!/bin/sh\n"} {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(content)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(content))
	}
	tw.Close()
	zw.Close()
	sum := sha512.Sum512(buf.Bytes())
	integrity := "sha512-" + base64.StdEncoding.EncodeToString(sum[:])
	cache := t.TempDir()
	if err := os.MkdirAll(filepath.Join(cache, "npm"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(cache, "npm", "@acme+tool@1.0.0.tgz"), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	s, err := NPMBinary(context.Background(), cache, root, "@acme/tool", "1.0.0", integrity, "package/bin/tool", "/usr/local/bin/tool", "Tool")
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(s.HostPath("/usr/local/bin/tool"))
	if err != nil || string(got) != "#!/bin/sh\n" || s.Kind != "Tool" {
		t.Errorf("got %q, %v, kind %q", got, err, s.Kind)
	}
	if st, _ := os.Stat(s.HostPath("/usr/local/bin/tool")); st == nil || st.Mode().Perm() != 0o755 {
		t.Errorf("mode %v, want 0755", st)
	}
	wrong := "sha512-" + strings.Repeat("A", 86) + "=="
	if _, err := NPMBinary(context.Background(), cache, t.TempDir(), "@acme/tool", "1.0.0", wrong, "package/bin/tool", "/tool", "Tool"); err == nil || !strings.Contains(err.Error(), "integrity") {
		t.Errorf("a tarball of another integrity: %v", err)
	}
	if _, err := NPMBinary(context.Background(), cache, t.TempDir(), "@acme/tool", "1.0.0", integrity, "package/bin/other", "/tool", "Tool"); err == nil {
		t.Error("a member the tarball lacks was found")
	}
}
