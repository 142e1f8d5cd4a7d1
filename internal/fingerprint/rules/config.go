// Package rules reads config.toml (SPEC §5) strictly and turns it into the
// plan of one process: which fpr_* executables run, with which request. Only
// the coordinator and extractor_server link it; a fingerprint gets its rules
// in the request and never parses TOML.
package rules

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/openshift/insights-runtime-extractor/internal/contract"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint"
)

// maxConfigSize bounds config.toml: it is ours, but a wrong mount must give a
// clear error, not an out-of-memory kill.
const maxConfigSize = 1 << 20

// Config is config.toml (SPEC §5).
type Config struct {
	Fingerprints fingerprint.Rules `toml:"fingerprints"`
}

// Load reads and strictly validates config.toml: an unknown key, a
// wrong type or a missing required field is an error naming the key.
func Load(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("config %s: not a regular file", path)
	}
	c, err := Parse(f)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// Parse is Load on a reader (at most 1 MiB is accepted).
func Parse(r io.Reader) (*Config, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxConfigSize+1))
	if err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	if len(data) > maxConfigSize {
		return nil, fmt.Errorf("larger than %d bytes", maxConfigSize)
	}
	var c Config
	md, err := toml.NewDecoder(bytes.NewReader(data)).Decode(&c)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			if pe.LastKey != "" {
				return nil, fmt.Errorf("line %d, key %q: %s", pe.Position.Line, pe.LastKey, pe.Message)
			}
			return nil, fmt.Errorf("line %d: %s", pe.Position.Line, pe.Message)
		}
		// Type errors name the line and key themselves.
		return nil, errors.New(strings.TrimPrefix(err.Error(), "toml: "))
	}
	if undecoded := md.Undecoded(); len(undecoded) > 0 {
		keys := make([]string, len(undecoded))
		for i, k := range undecoded {
			keys[i] = k.String()
		}
		return nil, fmt.Errorf("unknown key %s", strings.Join(keys, ", "))
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

func (c *Config) validate() error {
	var errs []error
	missing := func(table string, i int, key string) {
		errs = append(errs, fmt.Errorf("fingerprints.%s[%d]: %s is required", table, i, key))
	}
	seen := map[string]int{}
	for i, v := range c.Fingerprints.VersionExecutables {
		if len(v.ProcessNames) == 0 {
			missing("version-executables", i, "process-names")
		}
		for _, n := range v.ProcessNames {
			if n == "" {
				errs = append(errs, fmt.Errorf("fingerprints.version-executables[%d]: process-names holds an empty name", i))
			} else if j, dup := seen[n]; dup {
				errs = append(errs, fmt.Errorf("fingerprints.version-executables[%d]: process name %q is already in entry %d", i, n, j))
			} else {
				seen[n] = i
			}
		}
		if len(v.VersionPattern) > fingerprint.MaxPatternLen {
			errs = append(errs, fmt.Errorf("fingerprints.version-executables[%d]: version-pattern longer than %d bytes", i, fingerprint.MaxPatternLen))
		} else if _, err := regexp.Compile(v.VersionPattern); err != nil {
			errs = append(errs, fmt.Errorf("fingerprints.version-executables[%d]: version-pattern: %w", i, err))
		}
		if v.RuntimeKindName == "" {
			missing("version-executables", i, "runtime-kind-name")
		} else if !contract.ValidValue(v.RuntimeKindName) {
			errs = append(errs, fmt.Errorf("fingerprints.version-executables[%d]: runtime-kind-name %q is not one printable line of at most %d bytes", i, v.RuntimeKindName, contract.MaxValueLen))
		}
	}
	for i, j := range c.Fingerprints.Java {
		if j.RuntimeName == "" {
			missing("java", i, "runtime-name")
		} else if !contract.ValidValue(j.RuntimeName) || strings.Contains(j.RuntimeName, "=") {
			errs = append(errs, fmt.Errorf("fingerprints.java[%d]: runtime-name %q must be one printable line of at most %d bytes without '='", i, j.RuntimeName, contract.MaxValueLen))
		}
		switch {
		case j.ClassPathJar != "":
			// Recognised by its jar on the class path: versioned by that jar alone.
			if j.MainClass != "" || j.MainJar != "" || j.ReadManifestOfExecutableJar {
				errs = append(errs, fmt.Errorf("fingerprints.java[%d]: class-path-jar excludes main-class, main-jar and read-manifest-of-executable-jar", i))
			}
			if strings.ContainsAny(j.ClassPathJar, "/:*") || strings.HasSuffix(j.ClassPathJar, ".jar") {
				errs = append(errs, fmt.Errorf("fingerprints.java[%d]: class-path-jar %q must be a jar's name without version, directory or .jar", i, j.ClassPathJar))
			}
		case j.MainClass == "":
			missing("java", i, "main-class")
		default:
			if j.JarVersionManifestEntry == "" {
				missing("java", i, "jar-version-manifest-entry")
			}
			if !j.ReadManifestOfExecutableJar && j.MainJar == "" {
				errs = append(errs, fmt.Errorf("fingerprints.java[%d]: main-jar is required when read-manifest-of-executable-jar is false", i))
			}
		}
	}
	return errors.Join(errs...)
}
