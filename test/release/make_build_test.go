package release

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// TestMakeBuildProducesWhatTheImagesShip runs `make build` and checks that
// bin/<arch>/ holds exactly the binaries of cmd/ and fingerprints/, static
// executables for their architecture, with the modes of the extractor image
// (a 0755 fingerprint would be refused by extractor_server), and that each
// of them answers -version with exit status 0.
func TestMakeBuildProducesWhatTheImagesShip(t *testing.T) {
	repo := repoRoot(t)
	bin := t.TempDir()
	cmd := exec.Command("make", "-C", repo, "build", "BIN="+bin)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make build: %v\n%s", err, tail(out, 4000))
	}
	var want []string
	for _, pattern := range []string{"cmd/*", "fingerprints/fpr_*"} {
		dirs, err := filepath.Glob(filepath.Join(repo, pattern))
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range dirs {
			want = append(want, filepath.Base(d))
		}
	}
	slices.Sort(want)
	for arch, machine := range elfMachine {
		entries, err := os.ReadDir(filepath.Join(bin, arch))
		if err != nil {
			t.Fatalf("make build made no %s binaries: %v", arch, err)
		}
		var got []string
		for _, e := range entries {
			got = append(got, e.Name())
		}
		if !slices.Equal(got, want) {
			t.Fatalf("bin/%s = %v, want %v", arch, got, want)
		}
		for _, name := range want {
			path := filepath.Join(bin, arch, name)
			st, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			wantMode := os.FileMode(0o755)
			if strings.HasPrefix(name, "fpr_") {
				wantMode = 0o111
			}
			if st.Mode() != wantMode {
				t.Errorf("bin/%s/%s: mode %v, want %v", arch, name, st.Mode(), wantMode)
			}
			checkStaticELF(t, path, machine)
			if arch != runtime.GOARCH {
				continue
			}
			out, err := exec.Command(path, "-version").CombinedOutput()
			if err != nil || !strings.HasPrefix(string(out), name+" ") || !strings.HasSuffix(string(out), runtime.Version()+"\n") {
				t.Errorf("bin/%s/%s -version = %q, %v; want %q, exit 0", arch, name, out, err, name+" <version> "+runtime.Version())
			}
		}
	}
}

// checkStaticELF fails unless path is an executable for machine without an
// interpreter. Root reads the execute-only fingerprints; others cannot.
func checkStaticELF(t *testing.T, path string, machine elf.Machine) {
	t.Helper()
	if os.Geteuid() != 0 && strings.HasPrefix(filepath.Base(path), "fpr_") {
		return
	}
	f, err := elf.Open(path)
	if err != nil {
		t.Errorf("%s: %v", path, err)
		return
	}
	defer f.Close()
	if f.Machine != machine || f.Type != elf.ET_EXEC {
		t.Errorf("%s: %v %v, want an executable for %v", path, f.Type, f.Machine, machine)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("%s: dynamically linked", path)
		}
	}
}
