package native

import (
	"context"
	"errors"
	"path"
	"strings"

	"github.com/openshift/insights-runtime-extractor/internal/contract"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint/beam"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint/detect"
)

// elixir reports Elixir, with the vsn of its application resource file
// (elixir.app: "1.14.0"), as a runtime of a BEAM that runs it: Elixir's ebin
// is on the emulator's code path (-pa, as the elixir script starts it), or
// in the lib directory of the release it boots (a mix release).
func init() { detect.Register(elixir) }

// maxLibEntries bounds the listing of a release's lib directory.
const maxLibEntries = 4096

var elixir = detect.Detector{
	Name:         "elixir",
	Fingerprint:  Fingerprint,
	NeedsProcess: true,
	Applies:      isBEAM,
	Detect: func(_ context.Context, env detect.Env) (contract.Finding, error) {
		p := env.Request.Process
		ebin, ok := beam.ElixirEbin(p.Cmdline)
		if !ok {
			lib, ok := beam.ReleaseLib(p.Cmdline)
			if !ok {
				return contract.Finding{}, nil // no Elixir on this emulator
			}
			if ebin, ok = releaseElixirEbin(env, p.InCwd(lib)); !ok {
				return contract.Finding{}, nil
			}
		}
		data, err := env.Root.ReadFile(path.Join(p.InCwd(ebin), "elixir.app"), detect.MaxTextFile)
		if err != nil {
			return contract.Finding{}, err
		}
		vsn, ok := beam.AppVsn(data, "elixir")
		if !ok {
			return contract.Finding{}, errors.New("elixir.app holds no vsn")
		}
		var f contract.Finding
		f.AddRuntime(contract.Runtime{Name: "Elixir", Version: vsn})
		return f, nil
	},
}

// releaseElixirEbin finds lib/elixir-<vsn>/ebin in a release's lib
// directory; a release holds one Elixir.
func releaseElixirEbin(env detect.Env, lib string) (string, bool) {
	names, _, err := env.Root.ReadDirNames(lib, maxLibEntries)
	if err != nil {
		return "", false
	}
	var found []string
	for _, n := range names {
		if strings.HasPrefix(n, "elixir-") {
			found = append(found, n)
		}
	}
	if len(found) != 1 {
		return "", false
	}
	return path.Join(lib, found[0], "ebin"), true
}
