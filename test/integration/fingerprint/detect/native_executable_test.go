package detect_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/openshift/insights-runtime-extractor/internal/contract"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint"
	"github.com/openshift/insights-runtime-extractor/test/debpkg/debpkgtest"
	"github.com/openshift/insights-runtime-extractor/test/samples"
)

func buildGo(t *testing.T, flags ...string) string {
	t.Helper()
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"go.mod":  "module example.com/server\n\ngo 1.22\n",
		"main.go": "package main\n\nimport \"time\"\n\nfunc main() { time.Sleep(time.Hour) }\n",
	})
	out := filepath.Join(dir, "server")
	cmd := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), append(append([]string{"build"}, flags...), "-o", out, ".")...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=", "GOTOOLCHAIN=local")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v: %s", err, b)
	}
	return out
}

func TestGoBinaryLive(t *testing.T) {
	gv, err := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "env", "GOVERSION").Output()
	if err != nil {
		t.Fatal(err)
	}
	want := strings.TrimSpace(string(gv))
	for _, flags := range [][]string{nil, {"-trimpath", "-ldflags=-s -w"}} {
		t.Run(strings.Join(append([]string{"go build"}, flags...), " "), func(t *testing.T) {
			bin := buildGo(t, flags...)
			cmd := exec.Command(bin)
			cmd.Args[0] = "/usr/bin/python3-lies" // argv[0] is never trusted
			p := startLive(t, cmd, "server")
			wantFindings(t, withoutOS(fingerprintAll(t, "/", p)), contract.Finding{Kind: "Golang", KindVersion: want})
		})
	}
}

func TestGraalVMNativeImagesLive(t *testing.T) {
	debpkgtest.Need(t, samples.NativePackages()...)
	for _, version := range []string{"3.15.1", ""} {
		t.Run("quarkus "+version, func(t *testing.T) {
			s, err := samples.GraalVMNative(t.TempDir(), version)
			if errors.Is(err, samples.ErrNoCompiler) {
				t.Skip(err)
			}
			if err != nil {
				t.Fatal(err)
			}
			p := startLive(t, exec.Command(s.HostPath(samples.GraalVMPath)), "application")
			wantFindings(t, withoutOS(fingerprintAll(t, "/", p)), contract.Finding{Kind: "GraalVM",
				Runtimes: []contract.Runtime{{Name: "Quarkus", Version: version}}})
		})
	}
}

func TestNativeExecutableFromArgv0InATree(t *testing.T) {
	debpkgtest.Need(t, samples.NativePackages()...)
	s, err := samples.GraalVMNative(t.TempDir(), "3.20.1")
	if errors.Is(err, samples.ErrNoCompiler) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	// No /proc in the tree: the executable is argv[0] relative to the cwd.
	p := fingerprint.Process{PID: 12, Name: "application", Cmdline: []string{"./application"}, Cwd: filepath.Dir(samples.GraalVMPath)}
	wantFindings(t, withoutOS(fingerprintAll(t, s.Root, p)), contract.Finding{Kind: "GraalVM",
		Runtimes: []contract.Runtime{{Name: "Quarkus", Version: "3.20.1"}}})
}

func TestNativeExecutableOfAScriptOrNothing(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, map[string]string{"proc/5/exe": "symlink:/bin/run.sh", "bin/run.sh": "#!/bin/sh\nsleep 1\n", "proc/6/exe": "symlink:/dev/zero"})
	for _, pid := range []int{5, 6, 7} {
		if got := withoutOS(fingerprintAll(t, root, fingerprint.Process{PID: pid, Name: "run.sh"})); !got.Empty() {
			t.Errorf("pid %d: %+v", pid, got)
		}
	}
}

// The Rust and .NET samples of the node e2e, in a tree: what built the
// program (Debian's rustc) or what the fixture copies (.NET) is reported.
func TestRustAndDotnetSamplesInATree(t *testing.T) {
	debpkgtest.Need(t, append(samples.RustPackages(), samples.NativePackages()...)...)
	for _, tc := range []struct {
		name, comm, exe string
		make            func(root string) (samples.Sample, error)
	}{
		{"rust", "hello-rust", "/usr/local/bin/hello-rust", func(root string) (samples.Sample, error) {
			return samples.RustProgram(context.Background(), root, "/usr/local/bin/hello-rust")
		}},
		{"dotnet app.dll", "dotnet", "/usr/share/dotnet/dotnet", func(root string) (samples.Sample, error) {
			return samples.Dotnet(root, samples.DotnetFrameworkDependent, "8.0.11")
		}},
		{"self-contained", "shop", "/app/shop", func(root string) (samples.Sample, error) {
			return samples.Dotnet(root, samples.DotnetSelfContained, "9.0.0")
		}},
		{"single-file", "shop", "/app/shop", func(root string) (samples.Sample, error) {
			return samples.Dotnet(root, samples.DotnetSingleFile, "10.0.1")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := tc.make(t.TempDir())
			if errors.Is(err, samples.ErrNoCompiler) {
				t.Skip(err)
			}
			if err != nil {
				t.Fatal(err)
			}
			p := fingerprint.Process{Name: tc.comm, Exe: tc.exe, Cmdline: s.Cmdline, Cwd: s.Cwd}
			wantFindings(t, withoutOS(fingerprintAll(t, s.Root, p)), contract.Finding{Kind: s.Kind, KindVersion: s.KindVersion})
		})
	}
}
