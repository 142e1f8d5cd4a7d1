package detect

import (
	"context"
	"errors"
	"fmt"
	"io/fs"

	"github.com/openshift/insights-runtime-extractor/internal/fingerprint"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint/keyvalue"
)

// maxTextFile bounds every text file a detector reads (SPEC §8).
const maxTextFile = 1 << 20

// osRelease reads os-release(5): /etc/os-release, else /usr/lib/os-release.
var osRelease = Detector{
	Name:        "os-release",
	Fingerprint: fingerprint.NameOS,
	Detect: func(_ context.Context, env Env) (fingerprint.Findings, error) {
		var errs []error
		for _, p := range []string{"/etc/os-release", "/usr/lib/os-release"} {
			data, err := env.Root.ReadFile(p, maxTextFile)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			kv := keyvalue.Parse(data)
			return fingerprint.Findings{OSID: kv["ID"], OSVersionID: kv["VERSION_ID"]}, nil
		}
		if err := errors.Join(errs...); !allNotExist(errs) {
			return fingerprint.Findings{}, fmt.Errorf("os-release: %w", err)
		}
		return fingerprint.Findings{}, nil
	},
}

func allNotExist(errs []error) bool {
	for _, err := range errs {
		if !errors.Is(err, fs.ErrNotExist) {
			return false
		}
	}
	return true
}
