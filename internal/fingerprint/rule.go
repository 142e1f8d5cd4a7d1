package fingerprint

// Rules is the [fingerprints] table of config.toml (SPEC §5): what teaches
// the fingerprints a runtime or a framework, as data.
type Rules struct {
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
// versioned by an entry of a jar manifest, or (ClassPathJar instead of
// MainClass) recognised by its jar on the class path of the application and
// versioned by that jar's name or manifest.
type JavaRule struct {
	RuntimeName                 string `toml:"runtime-name" json:"runtime-name"`
	MainClass                   string `toml:"main-class" json:"main-class"`
	ClassPathJar                string `toml:"class-path-jar" json:"class-path-jar,omitempty"`
	MainJar                     string `toml:"main-jar" json:"main-jar,omitempty"`
	ReadManifestOfExecutableJar bool   `toml:"read-manifest-of-executable-jar" json:"read-manifest-of-executable-jar"`
	JarVersionManifestEntry     string `toml:"jar-version-manifest-entry" json:"jar-version-manifest-entry"`
}
