//go:build linux && privileged

package detect_test

import (
	"path/filepath"
	"syscall"
	"testing"

	"github.com/openshift/insights-runtime-extractor/internal/fingerprint"
)

// An os-release that leads to a character device (/dev/zero, endless) is
// refused without reading, and the fallback file still answers. Making the
// device node in a tree needs root, hence the tag (make test runs it).
func TestOSReleaseLinkedToDevZeroFallsBack(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, map[string]string{"etc/os-release": "symlink:/dev/zero", "usr/lib/os-release": "ID=alpine\nVERSION_ID=3.20.2\n"})
	mkdir(t, filepath.Join(root, "dev"))
	if err := syscall.Mknod(filepath.Join(root, "dev/zero"), syscall.S_IFCHR|0o666, 1<<8|5); err != nil {
		t.Fatalf("mknod /dev/zero in the tree: %v", err)
	}
	got := fingerprintAll(t, root, fingerprint.Process{PID: 1, Name: "server"})
	if got.OS != "alpine" || got.OSVersion != "3.20.2" {
		t.Errorf("got %q %q", got.OS, got.OSVersion)
	}
}
