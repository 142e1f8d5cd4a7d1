package native

import (
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint/banner"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint/detect"
)

// mono reports the Mono runtime (mono, mono-sgen) and its version ("6.8.0.105").
func init() { detect.Register(interpreter("mono", "Mono", []string{"mono"}, banner.Mono)) }
