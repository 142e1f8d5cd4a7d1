package native

import (
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint/banner"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint/detect"
)

// php reports PHP (the CLI, php-fpm, php-cgi) and the PHP_VERSION its
// executable was built with ("8.2.36").
func init() { detect.Register(interpreter("php", "PHP", []string{"php"}, "", banner.PHP)) }
