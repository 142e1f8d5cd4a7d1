package detect_test

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/openshift/insights-runtime-extractor/internal/fingerprint"
)

func TestOSReleaseOfEachDistributionAgreesWithTheShell(t *testing.T) {
	fixtures, err := filepath.Glob(filepath.Join("..", "keyvalue", "testdata", "os-release", "*"))
	if err != nil || len(fixtures) < 12 {
		t.Fatalf("fixtures: %v %v", fixtures, err)
	}
	want := map[string][2]string{
		"debian-11": {"debian", "11"}, "debian-12": {"debian", "12"}, "debian-13": {"debian", "13"},
		"ubi-8": {"rhel", "8.10"}, "ubi-9": {"rhel", "9.4"}, "rhel-10": {"rhel", "10.0"},
		"alpine-3.20": {"alpine", "3.20.2"}, "ubuntu-20.04": {"ubuntu", "20.04"}, "ubuntu-24.04": {"ubuntu", "24.04"},
		"centos-7": {"centos", "7"}, "oraclelinux-8": {"ol", "8.10"}, "oraclelinux-10": {"ol", "10.0"},
	}
	for _, fx := range fixtures {
		name := filepath.Base(fx)
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(fx)
			if err != nil {
				t.Fatal(err)
			}
			sh := shellValues(t, fx, "ID", "VERSION_ID")
			if w, ok := want[name]; !ok || sh[0] != w[0] || sh[1] != w[1] {
				t.Fatalf("fixture %s: the shell reads %q, table says %q", name, sh, w)
			}
			for _, layout := range []struct {
				name  string
				files map[string]string
			}{
				{"/etc/os-release", map[string]string{"etc/os-release": string(data)}},
				{"/usr/lib/os-release only", map[string]string{"usr/lib/os-release": string(data)}},
				{"/etc/os-release -> ../usr/lib/os-release", map[string]string{"usr/lib/os-release": string(data), "etc/os-release": "symlink:../usr/lib/os-release"}},
				{"absolute link /etc/os-release -> /usr/lib/os-release", map[string]string{"usr/lib/os-release": string(data), "etc/os-release": "symlink:/usr/lib/os-release"}},
			} {
				root := t.TempDir()
				writeTree(t, root, layout.files)
				got := fingerprintAll(t, root, fingerprint.Process{PID: 1, Name: "server"})
				if got.OS != sh[0] || got.OSVersion != sh[1] {
					t.Errorf("%s: %q %q, want %q", layout.name, got.OS, got.OSVersion, sh)
				}
			}
		})
	}
}

func TestOSReleaseOfThisMachine(t *testing.T) {
	sh := shellValues(t, "/etc/os-release", "ID", "VERSION_ID")
	got := fingerprintAll(t, "/", fingerprint.Process{PID: os.Getpid(), Name: "detect.test"})
	if got.OS != sh[0] || got.OSVersion != sh[1] {
		t.Errorf("%q %q, the shell says %q", got.OS, got.OSVersion, sh)
	}
}

func TestOSReleaseFallsBackWhenEtcIsUnusable(t *testing.T) {
	good := "ID=alpine\nVERSION_ID=3.20.2\n"
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, root string)
	}{
		{"a directory", func(t *testing.T, root string) { mkdir(t, filepath.Join(root, "etc/os-release")) }},
		{"a FIFO", func(t *testing.T, root string) {
			mkdir(t, filepath.Join(root, "etc"))
			if err := syscall.Mkfifo(filepath.Join(root, "etc/os-release"), 0o644); err != nil {
				t.Fatal(err)
			}
		}},
		{"a symlink loop", func(t *testing.T, root string) {
			writeTree(t, root, map[string]string{"etc/os-release": "symlink:os-release2", "etc/os-release2": "symlink:os-release"})
		}},
		{"a link to the host's file", func(t *testing.T, root string) {
			// Resolves to <root>/etc/debian_version, absent: never the host's.
			writeTree(t, root, map[string]string{"etc/os-release": "symlink:../../../../../../etc/debian_version"})
		}},
		{"larger than 1 MiB", func(t *testing.T, root string) {
			writeTree(t, root, map[string]string{"etc/os-release": "ID=evil\n" + strings.Repeat("#", 1<<20)})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			tc.setup(t, root)
			writeTree(t, root, map[string]string{"usr/lib/os-release": good})
			got := fingerprintAll(t, root, fingerprint.Process{PID: 1, Name: "server"})
			if got.OS != "alpine" || got.OSVersion != "3.20.2" {
				t.Errorf("got %q %q", got.OS, got.OSVersion)
			}
		})
	}
	t.Run("neither file: nothing, no error", func(t *testing.T) {
		got := fingerprintAll(t, t.TempDir(), fingerprint.Process{PID: 1, Name: "server"})
		if !got.Empty() {
			t.Errorf("%+v", got)
		}
	})
}

func mkdir(t *testing.T, p string) {
	t.Helper()
	if err := os.MkdirAll(p, 0o755); err != nil {
		t.Fatal(err)
	}
}
