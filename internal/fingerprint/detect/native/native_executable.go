package native

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/openshift/insights-runtime-extractor/internal/contract"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint/detect"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint/elfscan"
)

// nativeExecutable reports what runs or built the executable the process
// runs, asking each recognizer in turn; the first that knows it answers
// alone, so that no finding mixes the kind of one with the version of
// another.
func init() { detect.Register(nativeExecutable) }

// recognizer tells one kind from the executable (exe, at exePath inside the
// root); ok=false lets the next one look.
type recognizer func(env detect.Env, exe *os.File, exePath string) (f contract.Finding, ok bool, err error)

// recognizers, in order of authority: a runtime's installation around the
// executable (.NET), then what built the file (GraalVM native-image, Go,
// Rust).
var recognizers = []struct {
	name      string
	recognize recognizer
}{
	{"dotnet", dotnet},
	{"graalvm", graalVM},
	{"go", goBuild},
	{"rust", rustBuild},
}

var nativeExecutable = detect.Detector{
	Name:         "native-executable",
	Fingerprint:  Fingerprint,
	NeedsProcess: true,
	Detect: func(_ context.Context, env detect.Env) (contract.Finding, error) {
		file, exePath, err := openRunningExecutable(env)
		if err != nil {
			return contract.Finding{}, err
		}
		defer file.Close()
		for _, r := range recognizers {
			if _, err := file.Seek(0, io.SeekStart); err != nil {
				return contract.Finding{}, fmt.Errorf("rewind executable: %w", err)
			}
			f, ok, err := r.recognize(env, file, exePath)
			if err != nil {
				env.Log.Debug("recognizer could not look", "recognizer", r.name, "err", err)
			}
			if ok {
				return f, nil
			}
		}
		return contract.Finding{}, nil
	},
}

// graalVM recognizes a GraalVM native image (kind GraalVM), and Quarkus with
// its version when the image holds it.
func graalVM(_ detect.Env, exe *os.File, _ string) (contract.Finding, bool, error) {
	var f contract.Finding
	graal, err := elfscan.IsGraalVM(exe)
	if err != nil || !graal {
		return f, false, nil // a script or another format: nothing to say
	}
	f.Kind = "GraalVM"
	if _, err := exe.Seek(0, io.SeekStart); err != nil {
		return f, true, fmt.Errorf("rewind executable: %w", err)
	}
	found, version, err := elfscan.Quarkus(exe, elfscan.MaxScan)
	if found {
		f.AddRuntime(contract.Runtime{Name: "Quarkus", Version: version})
	}
	return f, true, err
}

// goBuild recognizes a Go program (kind Golang, the Go version).
func goBuild(_ detect.Env, exe *os.File, _ string) (contract.Finding, bool, error) {
	v := elfscan.GoVersion(exe)
	return contract.Finding{Kind: "Golang", KindVersion: v}, v != "", nil
}

// openRunningExecutable opens the executable the process runs and returns
// its path inside the root: the one the kernel recorded, else argv[0] as the
// shell found it.
func openRunningExecutable(env detect.Env) (*os.File, string, error) {
	f, exe, err := detect.RecordedExecutable(env)
	if err == nil {
		return f, exe, nil
	}
	env.Log.Debug("executable not recorded, falling back to argv[0]", "pid", env.Request.Process.PID, "err", err)
	exe, err = detect.Argv0Executable(env)
	if err != nil {
		return nil, "", err
	}
	f, err = env.Root.Open(exe)
	return f, exe, err
}
