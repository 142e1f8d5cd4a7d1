package native

import (
	"context"
	"io"
	"path"
	"strings"

	"github.com/openshift/insights-runtime-extractor/internal/contract"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint/banner"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint/detect"
)

// namedLike reports whether the process or the executable it runs has a name
// starting with one of prefixes: a script started through its #! line is
// named after the script, but runs the interpreter.
func namedLike(p fingerprint.Process, prefixes ...string) bool {
	for _, prefix := range prefixes {
		if strings.HasPrefix(p.Name, prefix) || p.Exe != "" && strings.HasPrefix(path.Base(p.Exe), prefix) {
			return true
		}
	}
	return false
}

// interpreter is a detector of a runtime whose executable holds its version
// (read by banner), for processes named like it: others never pay the scan.
func interpreter(name, kind string, prefixes []string, read func(io.ReaderAt) (banner.Found, error)) detect.Detector {
	return detect.Detector{
		Name:         name,
		Fingerprint:  Fingerprint,
		NeedsProcess: true,
		Applies:      func(r fingerprint.Request) bool { return namedLike(r.Process, prefixes...) },
		Detect: func(_ context.Context, env detect.Env) (contract.Finding, error) {
			file, err := openRunningExecutable(env)
			if err != nil {
				return contract.Finding{}, err
			}
			defer file.Close()
			found, err := read(file)
			if err != nil || !found.Is {
				return contract.Finding{}, err
			}
			return contract.Finding{Kind: kind, KindVersion: found.Version}, nil
		},
	}
}
