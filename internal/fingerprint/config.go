package fingerprint

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
)

// maxConfigSize bounds config.toml: it is ours, but a wrong mount must give a
// clear error, not an out-of-memory kill.
const maxConfigSize = 1 << 20

// Config is config.toml (SPEC §5).
type Config struct {
	Fingerprints Fingerprints `toml:"fingerprints"`
}

// Fingerprints is the [fingerprints] table.
type Fingerprints struct {
	VersionExecutables []VersionExecutable `toml:"version-executables"`
	Java               []JavaRule          `toml:"java"`
}

// VersionExecutable teaches a runtime that is recognised by its process name
// and reports its version through `<executable> --version`.
type VersionExecutable struct {
	ProcessNames    []string `toml:"process-names" json:"process-names"`
	RuntimeKindName string   `toml:"runtime-kind-name" json:"runtime-kind-name"`
	// VersionPattern (RE2), when set, is what the version line must match:
	// a process named like the runtime that answers something else is not it.
	VersionPattern string `toml:"version-pattern" json:"version-pattern,omitempty"`
}

// MaxPatternLen bounds a version-pattern: a version shape, not a program.
const MaxPatternLen = 256

// JavaRule teaches a Java framework that is recognised by its main class and
// versioned by an entry of a jar manifest.
type JavaRule struct {
	RuntimeName                 string `toml:"runtime-name" json:"runtime-name"`
	MainClass                   string `toml:"main-class" json:"main-class"`
	MainJar                     string `toml:"main-jar" json:"main-jar,omitempty"`
	ReadManifestOfExecutableJar bool   `toml:"read-manifest-of-executable-jar" json:"read-manifest-of-executable-jar"`
	JarVersionManifestEntry     string `toml:"jar-version-manifest-entry" json:"jar-version-manifest-entry"`
}

// LoadConfig reads and strictly validates config.toml: an unknown key, a
// wrong type or a missing required field is an error naming the key.
func LoadConfig(path string) (*Config, error) {
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
	c, err := ParseConfig(f)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// ParseConfig is LoadConfig on a reader (at most 1 MiB is accepted).
func ParseConfig(r io.Reader) (*Config, error) {
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
		if len(v.VersionPattern) > MaxPatternLen {
			errs = append(errs, fmt.Errorf("fingerprints.version-executables[%d]: version-pattern longer than %d bytes", i, MaxPatternLen))
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
		if j.MainClass == "" {
			missing("java", i, "main-class")
		}
		if j.JarVersionManifestEntry == "" {
			missing("java", i, "jar-version-manifest-entry")
		}
		if !j.ReadManifestOfExecutableJar && j.MainJar == "" && j.MainClass != "" {
			errs = append(errs, fmt.Errorf("fingerprints.java[%d]: main-jar is required when read-manifest-of-executable-jar is false", i))
		}
	}
	return errors.Join(errs...)
}

// Recognizes reports whether a process of that name is a workload some
// fingerprint knows (SPEC §6 prefers such a leaf).
func (c *Config) Recognizes(processName string) bool {
	return isJava(processName) || c.versionExecutable(processName) != nil
}

func (c *Config) versionExecutable(processName string) *VersionExecutable {
	for i := range c.Fingerprints.VersionExecutables {
		for _, n := range c.Fingerprints.VersionExecutables[i].ProcessNames {
			if n == processName {
				return &c.Fingerprints.VersionExecutables[i]
			}
		}
	}
	return nil
}

func isJava(processName string) bool { return strings.HasSuffix(processName, "java") }
