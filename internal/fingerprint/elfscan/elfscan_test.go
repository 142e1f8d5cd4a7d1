package elfscan

import (
	"bytes"
	"debug/elf"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"
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

func goVersionOfToolchain(t *testing.T) string {
	t.Helper()
	b, err := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "env", "GOVERSION").Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func TestGoVersionOfBinariesBuiltNow(t *testing.T) {
	want := goVersionOfToolchain(t)
	for _, tc := range []struct {
		name, goarch string
		flags        []string
		class        elf.Class
	}{
		{"plain", "amd64", nil, elf.ELFCLASS64},
		{"trimpath stripped", "amd64", []string{"-trimpath", "-ldflags=-s -w"}, elf.ELFCLASS64},
		{"arm64", "arm64", []string{"-trimpath"}, elf.ELFCLASS64},
		{"386", "386", nil, elf.ELFCLASS32},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := os.Open(goBuild(t, tc.goarch, tc.flags...))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if got := GoVersion(f); got != want {
				t.Errorf("GoVersion = %q, want %q", got, want)
			}
			if g, err := IsGraalVM(f); err != nil || g {
				t.Errorf("IsGraalVM = %v, %v", g, err)
			}
			ef, err := elf.NewFile(f)
			if err != nil || ef.Class != tc.class {
				t.Errorf("class %v, %v", ef, err)
			}
		})
	}
}

func TestNotELF(t *testing.T) {
	if _, err := IsGraalVM(strings.NewReader("#!/bin/sh\necho hi\n")); !errors.Is(err, ErrNotELF) {
		t.Errorf("%v", err)
	}
	if v := GoVersion(strings.NewReader("#!/bin/sh\n")); v != "" {
		t.Errorf("%q", v)
	}
}

func TestScanFindsMatchesAcrossReadBoundaries(t *testing.T) {
	needle := "__quarkus_analytics__quarkus.version="
	for _, at := range []int{0, 1, chunk - len(needle) - 10, chunk - len(needle), chunk - 20, chunk - 5, chunk - 1, chunk, chunk + 1, 3*chunk - 7, 5 * chunk} {
		data := make([]byte, 6*chunk)
		copy(data[at:], needle+"3.8.6.Final-redhat-00001\x00")
		for _, rd := range []struct {
			name string
			r    func() io.Reader
		}{
			{"whole", func() io.Reader { return bytes.NewReader(data) }},
			{"one byte at a time", func() io.Reader { return iotest.OneByteReader(bytes.NewReader(data)) }},
			{"halves", func() io.Reader { return iotest.HalfReader(bytes.NewReader(data)) }},
		} {
			found, v, err := Quarkus(rd.r(), MaxScan)
			if err != nil || !found || v != "3.8.6.Final-redhat-00001" {
				t.Errorf("needle at %d, %s: %v %q %v", at, rd.name, found, v, err)
			}
		}
	}
}

func TestScanValueCutAtEndOfFileAndLaterOccurrences(t *testing.T) {
	for _, tc := range []struct {
		name, data, want string
		found            bool
	}{
		{"value at end of file", "xx__quarkus_analytics__quarkus.version=3.15.1", "3.15.1", true},
		{"empty value then a real one", "__quarkus_analytics__quarkus.version=\x00...__quarkus_analytics__quarkus.version=3.2.0", "3.2.0", true},
		{"only quarkus.native", "abc quarkus.native.builder-image def", "", true},
		{"nothing", strings.Repeat("quarkus", 1000), "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			found, v, err := Quarkus(strings.NewReader(tc.data), MaxScan)
			if err != nil || found != tc.found || v != tc.want {
				t.Errorf("%v %q %v", found, v, err)
			}
		})
	}
}

func TestScanStopsAtTheLimit(t *testing.T) {
	data := append(make([]byte, 1000), "quarkus.native"...)
	if found, _, _ := Quarkus(bytes.NewReader(data), 1000); found {
		t.Error("found beyond the limit")
	}
	if found, _, _ := Quarkus(bytes.NewReader(data), 1014); !found {
		t.Error("not found within the limit")
	}
}

// zeros is an endless stream, like /dev/zero.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

func TestScanMemoryIsConstant(t *testing.T) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	found, _, err := Quarkus(zeros{}, 256<<20)
	runtime.ReadMemStats(&after)
	if err != nil || found {
		t.Fatalf("%v %v", found, err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<20 {
		t.Errorf("scanning 256 MiB allocated %d bytes", alloc)
	}
}

func FuzzELF(f *testing.F) {
	if self, err := os.ReadFile("/proc/self/exe"); err == nil && len(self) > 0 {
		f.Add(self[:min(len(self), 8192)])
	}
	f.Add([]byte("\x7fELF\x01\x01\x01\x00"))
	f.Add([]byte("\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x3e\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = IsGraalVM(bytes.NewReader(data))
		_ = GoVersion(bytes.NewReader(data))
	})
}

func FuzzScan(f *testing.F) {
	f.Add([]byte("junk"), uint16(3), "3.15.1", uint8(7))
	f.Add(make([]byte, 300), uint16(299), "1.0.0.Final", uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, at uint16, version string, step uint8) {
		// Whatever surrounds it, a planted property is found with its version.
		v, ok := VersionChars([]byte(version))
		if !ok || len(v) > 128 || strings.Contains(string(data), "__quarkus_analytics__quarkus.version=") {
			return
		}
		pos := int(at) % (len(data) + 1)
		planted := append(append(append([]byte{}, data[:pos]...), "__quarkus_analytics__quarkus.version="+v+"\x00"...), data[pos:]...)
		var r io.Reader = bytes.NewReader(planted)
		if step%2 == 1 {
			r = iotest.OneByteReader(r)
		}
		found, got, err := Quarkus(r, MaxScan)
		if err != nil || !found || got != v {
			t.Fatalf("planted %q at %d: %v %q %v", v, pos, found, got, err)
		}
	})
}
