package rootfs

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// tree builds a root with the layouts a container may have, hostile or not.
func tree(t *testing.T) (*Root, string) {
	t.Helper()
	dir := t.TempDir()
	mk := func(p, content string) {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ln := func(target, p string) {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, full); err != nil {
			t.Fatal(err)
		}
	}
	mk("usr/lib/jvm/java-17/bin/java", "ELF")
	mk("usr/lib/os-release", "ID=debian\n")
	ln("../usr/lib/os-release", "etc/os-release")
	ln("/etc/alternatives/java", "usr/bin/java")
	ln("/usr/lib/jvm/java-17/bin/java", "etc/alternatives/java")
	ln("/etc/passwd", "escape-absolute")
	ln("../../../../../../../../etc/passwd", "escape-dotdot")
	ln("loop-b", "loop-a")
	ln("loop-a", "loop-b")
	mk("etc/passwd", "container-passwd\n")
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	ln("/fifo", "link-to-fifo")
	mk("big", strings.Repeat("x", 2048))
	r, err := New(dir)
	if err != nil {
		t.Fatal(err)
	}
	return r, dir
}

func TestResolveStaysInsideTheRootLikeAChroot(t *testing.T) {
	r, _ := tree(t)
	for _, tc := range []struct{ name, want string }{
		{"/usr/bin/java", "/usr/lib/jvm/java-17/bin/java"},
		{"usr/bin/java", "/usr/lib/jvm/java-17/bin/java"},
		{"/etc/os-release", "/usr/lib/os-release"},
		{"/escape-absolute", "/etc/passwd"},
		{"/escape-dotdot", "/etc/passwd"},
		{"/../../usr/bin/../bin/java", "/usr/lib/jvm/java-17/bin/java"},
	} {
		got, err := r.Resolve(tc.name)
		if err != nil || got != tc.want {
			t.Errorf("Resolve(%q) = %q, %v; want %q", tc.name, got, err, tc.want)
		}
	}
	if _, err := r.Resolve("/loop-a"); !errors.Is(err, ErrLoop) {
		t.Errorf("loop: %v", err)
	}
	if _, err := r.Resolve("/missing/x"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing: %v", err)
	}
}

func TestReadFileReadsOnlyRegularFilesInsideTheRoot(t *testing.T) {
	r, _ := tree(t)
	for _, name := range []string{"/escape-absolute", "/escape-dotdot"} {
		b, err := r.ReadFile(name, 1024)
		if err != nil || string(b) != "container-passwd\n" {
			t.Errorf("%s: %q, %v (must read the container's file, not the host's)", name, b, err)
		}
	}
	b, err := r.ReadFile("/usr/bin/java", 1024)
	if err != nil || string(b) != "ELF" {
		t.Errorf("java through two absolute links: %q, %v", b, err)
	}
	for _, tc := range []struct {
		name string
		want error
	}{
		{"/fifo", ErrNotRegular},
		{"/link-to-fifo", ErrNotRegular},
		{"/usr", ErrNotRegular},
		{"/loop-a", ErrLoop},
		{"/big", ErrTooLarge},
		{"/nothing", fs.ErrNotExist},
	} {
		start := time.Now()
		_, err := r.ReadFile(tc.name, 1024)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
		if time.Since(start) > time.Second {
			t.Errorf("%s took %v", tc.name, time.Since(start))
		}
	}
}

func TestHostRootRefusesDevices(t *testing.T) {
	r, err := New("/")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.ReadFile("/dev/zero", 1<<20); !errors.Is(err, ErrNotRegular) {
		t.Errorf("/dev/zero: %v", err)
	}
	if !r.IsHostRoot() {
		t.Error("/ is the host root")
	}
}

func TestReadDirNamesIsBounded(t *testing.T) {
	r, dir := tree(t)
	for i := 0; i < 20; i++ {
		if err := os.WriteFile(filepath.Join(dir, "usr/lib/jvm", "f"+string(rune('a'+i))), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	names, more, err := r.ReadDirNames("/usr/lib/jvm", 5)
	if err != nil || len(names) != 5 || !more {
		t.Errorf("%v %v %v", names, more, err)
	}
	names, more, err = r.ReadDirNames("/usr/lib/jvm", 100)
	if err != nil || len(names) != 21 || more {
		t.Errorf("%d names, more=%v, %v", len(names), more, err)
	}
}

func TestExecutableOfALiveProcess(t *testing.T) {
	r, err := New("/")
	if err != nil {
		t.Fatal(err)
	}
	f, p, err := r.Executable(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if p != self {
		t.Errorf("path %q, want %q", p, self)
	}
}

func TestExecutableInAFixtureTreeResolvesTheLinkInsideIt(t *testing.T) {
	r, dir := tree(t)
	if err := os.MkdirAll(filepath.Join(dir, "proc/42"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/usr/bin/java", filepath.Join(dir, "proc/42/exe")); err != nil {
		t.Fatal(err)
	}
	f, p, err := r.Executable(42)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if p != "/usr/bin/java" {
		t.Errorf("path %q", p)
	}
}
