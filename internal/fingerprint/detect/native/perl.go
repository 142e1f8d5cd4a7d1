package native

import (
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint/banner"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint/detect"
)

// perl reports Perl 5 and the version of its interpreter ("5.36.0"), read
// from the perl executable (Debian links the interpreter into it) or from the
// libperl.so it is linked to (Fedora, RHEL).
func init() {
	detect.Register(interpreter("perl", "Perl", []string{"perl"}, "libperl.so", banner.Perl))
}
