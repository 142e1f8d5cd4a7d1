package runtimesamples

import (
	"archive/zip"
	"bufio"
	"bytes"
	"fmt"
	"io"
	"regexp"
	"strings"
)

// Exec runs a command in a sample's running container (the cluster e2e
// execs in the pod) and returns its standard output and standard error.
type Exec func(cmd ...string) (stdout, stderr []byte, err error)

// Where the extractor reads each value (SPEC §7), as shell commands in the
// container.
const (
	osReleaseCmd   = `cat /etc/os-release 2>/dev/null || cat /usr/lib/os-release`
	javaReleaseCmd = `cat "${JAVA_HOME:-$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")}/release"`
	pythonCmd      = `python3 --version 2>&1 || python --version 2>&1`
	bootstrapCmd   = `cat "${CATALINA_HOME:-$JWS_HOME}/bin/bootstrap.jar"`
	versionTxtCmd  = `cat "$JBOSS_HOME/version.txt"`
)

// maxManifest bounds the manifest read from a jar of the container.
const maxManifest = 1 << 20

var jbossVersion = regexp.MustCompile(` - Version (\S+)`)

// Resolve returns the expectation with every "from-image" value replaced by
// what the running container holds where the extractor reads it: os-release,
// the JDK's release file, the runtime's own --version, Tomcat's bootstrap.jar
// manifest, JBoss's version.txt. A value it cannot read is an error, never an
// empty expectation.
func (x *Expect) Resolve(exec Exec) (*Expect, error) {
	outputs := map[string]map[string]string{} // command → its KEY=value lines
	keyOf := func(cmd, key string) func() (string, error) {
		return func() (string, error) {
			if _, ok := outputs[cmd]; !ok {
				out, _, err := exec("sh", "-c", cmd)
				if err != nil {
					return "", err
				}
				outputs[cmd] = KeyValues(string(out))
			}
			return outputs[cmd][key], nil
		}
	}
	cannot := func(what string) func() (string, error) {
		return func() (string, error) {
			return "", fmt.Errorf("cannot read %s from a %q image", what, x.Kind)
		}
	}
	kindVersion, kindImplementer := cannot("kindVersion"), cannot("kindImplementer")
	switch x.Kind {
	case "Java":
		kindVersion, kindImplementer = keyOf(javaReleaseCmd, "JAVA_VERSION"), keyOf(javaReleaseCmd, "IMPLEMENTOR")
	case "Python", "Node.js":
		cmd := []string{"sh", "-c", pythonCmd}
		if x.Kind == "Node.js" {
			cmd = []string{"node", "--version"}
		}
		kindVersion = func() (string, error) {
			stdout, stderr, err := exec(cmd...)
			// Python 2 prints its version on stderr.
			return strings.TrimSpace(string(stdout) + string(stderr)), err
		}
	}
	out := &Expect{Kind: x.Kind}
	for _, f := range []struct {
		what  string
		value string
		dst   *string
		read  func() (string, error)
	}{
		{"os", x.OS, &out.OS, keyOf(osReleaseCmd, "ID")},
		{"osVersion", x.OSVersion, &out.OSVersion, keyOf(osReleaseCmd, "VERSION_ID")},
		{"kindVersion", x.KindVersion, &out.KindVersion, kindVersion},
		{"kindImplementer", x.KindImplementer, &out.KindImplementer, kindImplementer},
	} {
		v, err := resolve(f.what, f.value, f.read)
		if err != nil {
			return nil, err
		}
		*f.dst = v
	}
	for _, r := range x.Runtimes {
		v, err := resolve("the version of "+r.Name, r.Version, func() (string, error) { return runtimeVersion(r.Name, exec) })
		if err != nil {
			return nil, err
		}
		out.Runtimes = append(out.Runtimes, Runtime{Name: r.Name, Version: v})
	}
	return out, nil
}

// resolve returns value, or what read finds in the image for "from-image".
func resolve(what, value string, read func() (string, error)) (string, error) {
	if value != FromImage {
		return value, nil
	}
	v, err := read()
	if err != nil {
		return "", fmt.Errorf("%s from the image: %w", what, err)
	}
	if v == "" {
		return "", fmt.Errorf("%s from the image: not found", what)
	}
	return v, nil
}

// runtimeVersion reads a framework's version inside the container.
func runtimeVersion(name string, exec Exec) (string, error) {
	switch {
	case name == "Apache Tomcat":
		// The manifest the fingerprint reads (SPEC §5), not version.sh, whose
		// Server version a vendor may spell differently.
		jar, _, err := exec("sh", "-c", bootstrapCmd)
		if err != nil {
			return "", err
		}
		return ManifestValue(jar, "Implementation-Version")
	case strings.HasPrefix(name, "WildFly"), strings.Contains(name, "JBoss Enterprise Application Platform"):
		out, _, err := exec("sh", "-c", versionTxtCmd)
		if err != nil {
			return "", err
		}
		m := jbossVersion.FindSubmatch(out)
		if m == nil {
			return "", fmt.Errorf("no %q in version.txt: %q", " - Version ", out)
		}
		return string(m[1]), nil
	}
	return "", fmt.Errorf("cannot read the version of %s from an image", name)
}

// ManifestValue returns one main attribute of a jar's META-INF/MANIFEST.MF,
// continuation lines joined.
func ManifestValue(jar []byte, key string) (string, error) {
	zr, err := zip.NewReader(bytes.NewReader(jar), int64(len(jar)))
	if err != nil {
		return "", fmt.Errorf("read the jar: %w", err)
	}
	f, err := zr.Open("META-INF/MANIFEST.MF")
	if err != nil {
		return "", fmt.Errorf("read the jar: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxManifest))
	if err != nil {
		return "", fmt.Errorf("read the manifest: %w", err)
	}
	joined := strings.ReplaceAll(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n ", "")
	for _, line := range strings.Split(joined, "\n") {
		if line == "" {
			break // the end of the main section
		}
		if k, v, ok := strings.Cut(line, ":"); ok && k == key {
			return strings.TrimSpace(v), nil
		}
	}
	return "", fmt.Errorf("no %s in the manifest's main section", key)
}

// KeyValues parses os-release and JDK release files: KEY=value, quotes and
// surrounding spaces stripped.
func KeyValues(s string) map[string]string {
	kv := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), "=")
		if ok {
			kv[k] = strings.Trim(strings.TrimSpace(v), `"'`)
		}
	}
	return kv
}
