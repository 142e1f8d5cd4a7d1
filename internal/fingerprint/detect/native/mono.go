package native

import (
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint/banner"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint/detect"
)

// mono reports the Mono runtime (mono, mono-sgen) and its version ("6.8.0.105"),
// read from the executable or from the libmonosgen-2.0.so it is linked to.
func init() {
	detect.Register(interpreter("mono", "Mono", []string{"mono"}, "libmonosgen-2.0.so", banner.Mono))
}
