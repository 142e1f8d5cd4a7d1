//go:build linux && privileged

// The tests of the result directory that need root: the coordinator writes
// as root, the exporter reads and deletes as another user.
package result

import (
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
)

// TestWriterGivesTreeToDataDirOwner runs as root: the coordinator (root)
// writes, the exporter must be able to read and delete: as the data dir's
// owner (uid 1000 here), or, in a pod whose /data is an emptyDir owned by root
// and group fsGroup, as another user of that group.
func TestWriterGivesTreeToDataDirOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("needs root (the privileged tests run as root in make test): chown to another user")
	}
	tests := []struct {
		name             string
		ownerUID, gid    int
		mode             os.FileMode
		wantDir          os.FileMode
		exporterUID, grp uint32
	}{
		{"exporter owns the data dir", 1000, 1000, 0o755, 0o755, 1000, 1000},
		{"fsGroup emptyDir: root owns it, the exporter shares its group", 0, 2000, 0o2775, 0o775, 65532, 2000},
		{"the Insights Operator's emptyDir: root's, 0777, no fsGroup", 0, 0, 0o777, 0o777, 65532, 65532},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			old := syscall.Umask(0o077) // the modes must not depend on the umask
			defer syscall.Umask(old)
			parent := t.TempDir()
			for _, d := range []string{parent, filepath.Dir(parent)} { // the exporter must reach the data dir
				if err := os.Chmod(d, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			dataDir := filepath.Join(parent, "data")
			if err := os.Mkdir(dataDir, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.Chown(dataDir, tc.ownerUID, tc.gid); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(dataDir, tc.mode); err != nil {
				t.Fatal(err)
			}
			w, err := Create(dataDir)
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Add(quarkus); err != nil {
				t.Fatal(err)
			}
			err = filepath.Walk(w.Dir(), func(path string, info os.FileInfo, err error) error {
				if err != nil {
					return err
				}
				st := info.Sys().(*syscall.Stat_t)
				want := os.FileMode(0o644)
				if info.IsDir() {
					want = tc.wantDir
				}
				if int(st.Uid) != tc.ownerUID || int(st.Gid) != tc.gid || info.Mode().Perm() != want {
					t.Errorf("%s: owner %d:%d mode %v, want %d:%d %v", path, st.Uid, st.Gid, info.Mode().Perm(), tc.ownerUID, tc.gid, want)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			rm := exec.Command("rm", "-r", w.Dir())
			rm.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: tc.exporterUID, Gid: tc.grp}}
			if out, err := rm.CombinedOutput(); err != nil {
				t.Fatalf("the exporter (uid %d gid %d) cannot delete the result dir: %v\n%s", tc.exporterUID, tc.grp, err, out)
			}
		})
	}
}
