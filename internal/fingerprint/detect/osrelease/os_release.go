package osrelease

import (
	"context"
	"errors"
	"fmt"
	"io/fs"

	"github.com/openshift/insights-runtime-extractor/internal/contract"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint/detect"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint/keyvalue"
)

// osRelease reads os-release(5): /etc/os-release, else /usr/lib/os-release.
func init() { detect.Register(osRelease) }

var osRelease = detect.Detector{
	Name:        "os-release",
	Fingerprint: Fingerprint,
	Detect: func(_ context.Context, env detect.Env) (contract.Finding, error) {
		var errs []error
		for _, p := range []string{"/etc/os-release", "/usr/lib/os-release"} {
			data, err := env.Root.ReadFile(p, detect.MaxTextFile)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			kv := keyvalue.Parse(data)
			return contract.Finding{OS: kv["ID"], OSVersion: kv["VERSION_ID"]}, nil
		}
		if err := errors.Join(errs...); !allNotExist(errs) {
			return contract.Finding{}, fmt.Errorf("os-release: %w", err)
		}
		return contract.Finding{}, nil
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
