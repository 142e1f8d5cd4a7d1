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

// nativeExecutable reports what built the executable the process runs: Go
// (kind Golang, the Go version) or GraalVM native-image (kind GraalVM, and
// Quarkus with its version when the image holds it).
func init() { detect.Register(nativeExecutable) }

var nativeExecutable = detect.Detector{
	Name:         "native-executable",
	Fingerprint:  Fingerprint,
	NeedsProcess: true,
	Detect: func(_ context.Context, env detect.Env) (contract.Finding, error) {
		var f contract.Finding
		file, err := openRunningExecutable(env)
		if err != nil {
			return f, err
		}
		defer file.Close()
		graal, err := elfscan.IsGraalVM(file)
		if err != nil {
			return f, nil // a script or another format: nothing to say
		}
		if graal {
			f.Kind = "GraalVM"
			if _, err := file.Seek(0, io.SeekStart); err != nil {
				return f, fmt.Errorf("rewind executable: %w", err)
			}
			found, version, err := elfscan.Quarkus(file, elfscan.MaxScan)
			if err != nil {
				return f, err
			}
			if found {
				f.AddRuntime(contract.Runtime{Name: "Quarkus", Version: version})
			}
			return f, nil
		}
		if v := elfscan.GoVersion(file); v != "" {
			f.Kind, f.KindVersion = "Golang", v
		}
		return f, nil
	},
}

// openRunningExecutable opens the executable the process runs: the one the
// kernel recorded, else argv[0] as the shell found it.
func openRunningExecutable(env detect.Env) (*os.File, error) {
	f, _, err := detect.RecordedExecutable(env)
	if err == nil {
		return f, nil
	}
	env.Log.Debug("executable not recorded, falling back to argv[0]", "pid", env.Request.Process.PID, "err", err)
	exe, err := detect.Argv0Executable(env)
	if err != nil {
		return nil, err
	}
	return env.Root.Open(exe)
}
