package native

import (
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint/banner"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint/detect"
)

// perl reports Perl 5 and the version of its interpreter ("5.36.0").
func init() { detect.Register(interpreter("perl", "Perl", []string{"perl"}, banner.Perl)) }
