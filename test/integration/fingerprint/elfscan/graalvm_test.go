// The GraalVM stand-ins of test/samples (gcc, objcopy from Debian) through
// internal/fingerprint/elfscan: they install the packages as root and skip with one
// line otherwise.
package elfscan_test

import (
	"debug/elf"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/openshift/insights-runtime-extractor/internal/fingerprint/elfscan"
	"github.com/openshift/insights-runtime-extractor/test/debpkg/debpkgtest"
	"github.com/openshift/insights-runtime-extractor/test/samples"
)

// goBuild builds a tiny program with the Go toolchain running this test.
func goBuild(t *testing.T, goarch string, flags ...string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/hello\n\ngo 1.22\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte("package main\n\nimport \"time\"\n\nfunc main() { time.Sleep(time.Hour) }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "hello")
	cmd := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), append(append([]string{"build"}, flags...), "-o", out, ".")...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+goarch, "GOFLAGS=", "GOTOOLCHAIN=local")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v: %s", err, b)
	}
	return out
}

func TestGraalVMStandIns(t *testing.T) {
	debpkgtest.Need(t, samples.NativePackages()...)
	objcopy, err := exec.LookPath("objcopy")
	if err != nil {
		t.Skip("objcopy missing (package binutils)")
	}
	t.Run("64-bit with the elfscan.Quarkus analytics version", func(t *testing.T) {
		s, err := samples.GraalVMNative(t.TempDir(), "3.15.1")
		if errors.Is(err, samples.ErrNoCompiler) {
			t.Skip(err)
		}
		if err != nil {
			t.Fatal(err)
		}
		checkGraalVM(t, s.HostPath(samples.GraalVMPath), elf.ELFCLASS64, true, "3.15.1")
	})
	t.Run("64-bit with quarkus.native only", func(t *testing.T) {
		s, err := samples.GraalVMNative(t.TempDir(), "")
		if errors.Is(err, samples.ErrNoCompiler) {
			t.Skip(err)
		}
		if err != nil {
			t.Fatal(err)
		}
		checkGraalVM(t, s.HostPath(samples.GraalVMPath), elf.ELFCLASS64, true, "")
	})
	t.Run("32-bit ELF with a .svm_heap section", func(t *testing.T) {
		// gcc -m32 needs gcc-multilib; a 386 Go binary is a real ELFCLASS32 file.
		bin := goBuild(t, "386")
		heap := filepath.Join(t.TempDir(), "heap")
		if err := os.WriteFile(heap, []byte("\x00\x00__quarkus_analytics__quarkus.version=3.20.1\x00"), 0o644); err != nil {
			t.Fatal(err)
		}
		out := bin + ".svm"
		if b, err := exec.Command(objcopy, "--add-section", ".svm_heap="+heap, bin, out).CombinedOutput(); err != nil {
			t.Fatalf("objcopy: %v: %s", err, b)
		}
		checkGraalVM(t, out, elf.ELFCLASS32, true, "3.20.1")
	})
}

func checkGraalVM(t *testing.T, path string, class elf.Class, wantQuarkus bool, wantVersion string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ef, err := elf.NewFile(f)
	if err != nil || ef.Class != class {
		t.Fatalf("class: %v %v", ef, err)
	}
	if g, err := elfscan.IsGraalVM(f); err != nil || !g {
		t.Fatalf("elfscan.IsGraalVM = %v, %v", g, err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	found, version, err := elfscan.Quarkus(f, elfscan.MaxScan)
	if err != nil || found != wantQuarkus || version != wantVersion {
		t.Errorf("elfscan.Quarkus = %v %q %v, want %v %q", found, version, err, wantQuarkus, wantVersion)
	}
}
