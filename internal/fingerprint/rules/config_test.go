package rules

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/openshift/insights-runtime-extractor/internal/fingerprint"
)

// The shipped config.toml holds the rules of SPEC §5 (more may follow: a
// new entry is all it takes to teach a framework, so this test lists only
// the contract's).
func TestRepositoryConfigHoldsTheSpecRules(t *testing.T) {
	c, err := Load(filepath.Join("..", "..", "..", "config.toml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []fingerprint.VersionExecutable{
		{ProcessNames: []string{"node", "MainThread"}, RuntimeKindName: "Node.js"},
		{ProcessNames: []string{"python", "python3"}, RuntimeKindName: "Python"},
	} {
		if !slices.ContainsFunc(c.Fingerprints.VersionExecutables, func(v fingerprint.VersionExecutable) bool {
			return slices.Equal(v.ProcessNames, want.ProcessNames) && v.RuntimeKindName == want.RuntimeKindName
		}) {
			t.Errorf("no version-executables entry %+v", want)
		}
	}
	for _, want := range []fingerprint.JavaRule{
		{RuntimeName: "Quarkus", MainClass: "io.quarkus.bootstrap.runner.QuarkusEntryPoint", MainJar: "io.quarkus.quarkus-core", JarVersionManifestEntry: "Implementation-Version"},
		{RuntimeName: "Spring Boot", MainClass: "org.springframework.boot.loader.JarLauncher", ReadManifestOfExecutableJar: true, JarVersionManifestEntry: "Spring-Boot-Version"},
		{RuntimeName: "Spring Boot", MainClass: "org.springframework.boot.loader.launch.JarLauncher", ReadManifestOfExecutableJar: true, JarVersionManifestEntry: "Spring-Boot-Version"},
		{RuntimeName: "Spring Boot", MainClass: "org.springframework.boot.loader.launch.WarLauncher", ReadManifestOfExecutableJar: true, JarVersionManifestEntry: "Spring-Boot-Version"},
		{RuntimeName: "Apache Tomcat", MainClass: "org.apache.catalina.startup.Bootstrap", MainJar: "bootstrap.jar", ReadManifestOfExecutableJar: true, JarVersionManifestEntry: "Implementation-Version"},
	} {
		if !slices.Contains(c.Fingerprints.Java, want) {
			t.Errorf("no java entry %+v", want)
		}
	}
}

func TestParseConfigRejects(t *testing.T) {
	const ruby = `
[[fingerprints.version-executables]]
process-names = ["ruby"]
runtime-kind-name = "Ruby"
`
	for _, tc := range []struct {
		name, toml, wantErr string
	}{
		{"unknown key naming it", ruby + "version-flag = \"-v\"\n", `unknown key fingerprints.version-executables.version-flag`},
		{"unknown table", "[fingerprint]\nx = 1\n", `unknown key fingerprint`},
		{"wrong type naming key and line", "[[fingerprints.java]]\nruntime-name = 3\n", `line 2 (last key "fingerprints.java.runtime-name"): incompatible types`},
		{"wrong type of a bool", "[[fingerprints.java]]\nruntime-name = \"X\"\nmain-class = \"a.B\"\nread-manifest-of-executable-jar = \"yes\"\njar-version-manifest-entry = \"V\"\n", `key "fingerprints.java.read-manifest-of-executable-jar"): incompatible types`},
		{"syntax error with line", "[[fingerprints.java]]\nruntime-name = \n", `line 2`},
		{"missing runtime-name", "[[fingerprints.java]]\nmain-class = \"a.B\"\nread-manifest-of-executable-jar = true\njar-version-manifest-entry = \"V\"\n", `fingerprints.java[0]: runtime-name is required`},
		{"missing main-class", "[[fingerprints.java]]\nruntime-name = \"X\"\nread-manifest-of-executable-jar = true\njar-version-manifest-entry = \"V\"\n", `fingerprints.java[0]: main-class is required`},
		{"missing manifest entry", "[[fingerprints.java]]\nruntime-name = \"X\"\nmain-class = \"a.B\"\nread-manifest-of-executable-jar = true\n", `fingerprints.java[0]: jar-version-manifest-entry is required`},
		{"class-path jar without main-jar", "[[fingerprints.java]]\nruntime-name = \"X\"\nmain-class = \"a.B\"\njar-version-manifest-entry = \"V\"\n", `main-jar is required when read-manifest-of-executable-jar is false`},
		{"class-path-jar with main-class", "[[fingerprints.java]]\nruntime-name = \"X\"\nclass-path-jar = \"x-core\"\nmain-class = \"a.B\"\n", `class-path-jar excludes main-class, main-jar and read-manifest-of-executable-jar`},
		{"class-path-jar with read-manifest-of-executable-jar", "[[fingerprints.java]]\nruntime-name = \"X\"\nclass-path-jar = \"x-core\"\nread-manifest-of-executable-jar = true\n", `class-path-jar excludes`},
		{"class-path-jar as a path", "[[fingerprints.java]]\nruntime-name = \"X\"\nclass-path-jar = \"lib/x-core.jar\"\n", `class-path-jar "lib/x-core.jar" must be a jar's name without version, directory or .jar`},
		{"runtime name with '='", "[[fingerprints.java]]\nruntime-name = \"a=b\"\nmain-class = \"a.B\"\nread-manifest-of-executable-jar = true\njar-version-manifest-entry = \"V\"\n", `runtime-name "a=b" must be one printable line`},
		{"empty process-names", ruby + "[[fingerprints.version-executables]]\nprocess-names = []\nruntime-kind-name = \"X\"\n", `fingerprints.version-executables[1]: process-names is required`},
		{"missing runtime-kind-name", "[[fingerprints.version-executables]]\nprocess-names = [\"x\"]\n", `fingerprints.version-executables[0]: runtime-kind-name is required`},
		{"process name in two entries", ruby + ruby, `process name "ruby" is already in entry 0`},
		{"version-pattern not RE2", ruby + "[[fingerprints.version-executables]]\nprocess-names = [\"x\"]\nruntime-kind-name = \"X\"\nversion-pattern = \"(?<=v)1\"\n", `fingerprints.version-executables[1]: version-pattern: error parsing regexp`},
		{"version-pattern too long", ruby + "[[fingerprints.version-executables]]\nprocess-names = [\"x\"]\nruntime-kind-name = \"X\"\nversion-pattern = \"" + strings.Repeat("a", fingerprint.MaxPatternLen+1) + "\"\n", `version-pattern longer than 256 bytes`},
		{"too large", "#" + strings.Repeat("x", maxConfigSize), `larger than`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(strings.NewReader(tc.toml))
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}

func TestLoadConfigNamesTheFileAndRefusesNonRegularFiles(t *testing.T) {
	dir := t.TempDir()
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("directory: %v", err)
	}
	missing := filepath.Join(dir, "missing.toml")
	if _, err := Load(missing); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing file: %v", err)
	}
	bad := filepath.Join(dir, "bad.toml")
	if err := os.WriteFile(bad, []byte("[x]\ny=1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(bad); err == nil || !strings.Contains(err.Error(), bad) || !strings.Contains(err.Error(), "unknown key x") {
		t.Errorf("bad file: %v", err)
	}
}

func TestNewEntriesTeachWithoutCodeChange(t *testing.T) {
	extra := `
[[fingerprints.version-executables]]
process-names = ["perl"]
runtime-kind-name = "Perl"

[[fingerprints.java]]
runtime-name = "Micronaut"
main-class = "com.example.Application"
main-jar = "micronaut-core"
read-manifest-of-executable-jar = false
jar-version-manifest-entry = "Implementation-Version"
`
	base, err := os.ReadFile(filepath.Join("..", "..", "..", "config.toml"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := Parse(strings.NewReader(string(base) + extra))
	if err != nil {
		t.Fatal(err)
	}
	if !c.Recognizes("perl") {
		t.Error("perl not recognized")
	}
	plan := c.Plan(fingerprint.Process{PID: 7, Name: "perl"})
	if len(plan) != 2 || plan[1].Executable != "fpr_version_executable" {
		t.Fatalf("plan %+v", plan)
	}
	req, err := fingerprint.DecodeRequest(strings.NewReader(string(plan[1].Stdin)))
	if err != nil || req.RuntimeKindName != "Perl" || req.Process.PID != 7 {
		t.Errorf("request %+v, %v", req, err)
	}
	plan = c.Plan(fingerprint.Process{PID: 8, Name: "java"})
	req, err = fingerprint.DecodeRequest(strings.NewReader(string(plan[1].Stdin)))
	if err != nil || len(req.Java) != len(c.Fingerprints.Java) || req.Java[len(req.Java)-1].RuntimeName != "Micronaut" {
		t.Errorf("java request %+v, %v", req, err)
	}
}

func TestPlanChoosesOneKindPathAfterTheOS(t *testing.T) {
	c, err := Load(filepath.Join("..", "..", "..", "config.toml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		want []string
	}{
		{"node", []string{"fpr_os", "fpr_version_executable"}},
		{"MainThread", []string{"fpr_os", "fpr_version_executable"}},
		{"python3", []string{"fpr_os", "fpr_version_executable"}},
		{"java", []string{"fpr_os", "fpr_java"}},
		{"myjava", []string{"fpr_os", "fpr_java"}},
		{"javac", []string{"fpr_os", "fpr_native_executable"}},
		{"python3.11", []string{"fpr_os", "fpr_native_executable"}},
		{"server", []string{"fpr_os", "fpr_native_executable"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, inv := range c.Plan(fingerprint.Process{PID: 1, Name: tc.name}) {
				got = append(got, inv.Executable)
				if inv.Executable != "fpr_os" {
					var req fingerprint.Request
					if err := json.Unmarshal(inv.Stdin, &req); err != nil || req.Process.Name != tc.name {
						t.Errorf("stdin %s: %v", inv.Stdin, err)
					}
				}
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("plan %v, want %v", got, tc.want)
			}
			wantRecognized := tc.want[1] != "fpr_native_executable"
			if c.Recognizes(tc.name) != wantRecognized {
				t.Errorf("Recognizes(%q) = %v", tc.name, !wantRecognized)
			}
		})
	}
}

func FuzzParseConfig(f *testing.F) {
	if data, err := os.ReadFile(filepath.Join("..", "..", "..", "config.toml")); err == nil {
		f.Add(data)
	}
	f.Add([]byte("[[fingerprints.java]]\nruntime-name = 3\n"))
	f.Add([]byte("[fingerprints]\nversion-executables = [{process-names = [\"\"]}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(strings.NewReader(string(data)))
		if err != nil {
			return
		}
		// An accepted config plans every process without failing.
		for _, name := range []string{"java", "node", "python3", "x"} {
			if plan := c.Plan(fingerprint.Process{PID: 1, Name: name}); len(plan) != 2 {
				t.Fatalf("plan of %s: %d invocations", name, len(plan))
			}
		}
	})
}

// Executables is what extractor_server checks at start: exactly the
// executables Plan can choose under the repository's config, each a main under
// fingerprints/.
func TestExecutablesAreWhatPlanCanChoose(t *testing.T) {
	c, err := Load(filepath.Join("..", "..", "..", "config.toml"))
	if err != nil {
		t.Fatal(err)
	}
	planned := map[string]bool{}
	for _, name := range []string{"node", "python3", "java", "sh", "app"} {
		for _, inv := range c.Plan(fingerprint.Process{Name: name}) {
			planned[inv.Executable] = true
		}
	}
	exes := Executables()
	for _, exe := range exes {
		if !planned[exe] {
			t.Errorf("Executables names %s, which Plan never chooses", exe)
		}
		if _, err := os.Stat(filepath.Join("..", "..", "..", "fingerprints", exe, "main.go")); err != nil {
			t.Errorf("Executables names %s, which is no fingerprint main: %v", exe, err)
		}
		delete(planned, exe)
	}
	if len(planned) > 0 {
		t.Errorf("Plan chooses %v, which Executables %v lacks", planned, exes)
	}
}
