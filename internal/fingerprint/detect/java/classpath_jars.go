package java

import (
	"context"
	"fmt"
	"path"
	"strings"

	"github.com/openshift/insights-runtime-extractor/internal/contract"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint/detect"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint/jar"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint/properties"
)

// classPathJars reports the frameworks of config.toml's [[fingerprints.java]]
// rules with a class-path-jar: libraries embedded in an application that
// starts its own main class (Micronaut, Helidon, Vert.x, Dropwizard, embedded
// Jetty, Undertow). The framework is there when its jar is on the class path
// the JVM was given: -cp (a "dir/*" entry stands for the jars of dir) or,
// with -jar, the Class-Path of the jar's manifest. Else, when it is inside
// the application's jar (the -jar jar, or one of the first maxFatJars jars of
// -cp): nested in a fat jar's library directory (Spring Boot's
// BOOT-INF/lib), or shaded into it with its Maven pom.properties.
func init() { detect.Register(classPathJars) }

// maxFatJars bounds the jars of a -cp class path looked into.
const maxFatJars = 4

var classPathJars = detect.Detector{
	Name:         "java-class-path-jars",
	Fingerprint:  Fingerprint,
	NeedsProcess: true,
	Applies: func(req fingerprint.Request) bool {
		for _, r := range req.Java {
			if r.ClassPathJar != "" {
				return true
			}
		}
		return false
	},
	Detect: func(_ context.Context, env detect.Env) (contract.Finding, error) {
		var f contract.Finding
		cmd := parseJavaCommand(env.Request.Process)
		var entries []string
		switch {
		case cmd.Jar != "":
			jarPath := env.Request.Process.InCwd(cmd.Jar)
			m, _, err := readManifest(env, jarPath)
			if err != nil {
				return f, fmt.Errorf("-jar %s: %w", cmd.Jar, err)
			}
			entries = append([]string{jarPath}, manifestClassPath(jarPath, m)...)
		case cmd.MainClass != "":
			entries = classPathEntries(env, cmd)
		}
		var fat []string // the application's own jars, looked into
		if cmd.Jar != "" {
			fat = entries[:1]
		} else {
			for _, e := range entries {
				if len(fat) < maxFatJars && strings.HasSuffix(e, ".jar") {
					fat = append(fat, e)
				}
			}
		}
		var inside []fatJar // read once, when a rule needs them
	rules:
		for _, rule := range env.Request.Java {
			if rule.ClassPathJar == "" {
				continue
			}
			for _, e := range entries {
				if mainJarMatches(rule.ClassPathJar, path.Base(e)) {
					// The first on the class path is the one the JVM loads.
					f.AddRuntime(contract.Runtime{Name: rule.RuntimeName, Version: classPathJarVersion(env, e, rule)})
					continue rules
				}
			}
			if inside == nil {
				inside = readFatJars(env, fat)
			}
			for _, fj := range inside {
				if v, ok := fj.version(rule.ClassPathJar); ok {
					f.AddRuntime(contract.Runtime{Name: rule.RuntimeName, Version: v})
					continue rules
				}
			}
		}
		return f, nil
	},
}

// fatJar is what an application jar holds of its libraries: the names of
// its nested jars, and the version of each pom.properties looked up.
type fatJar struct {
	nested []string
	poms   map[string]string // artifactId: version ("" when unreadable)
}

// readFatJars reads the nested jar names and the pom.properties of the
// artifacts of every class-path-jar rule, of each jar; unreadable ones are
// skipped.
func readFatJars(env detect.Env, jars []string) []fatJar {
	out := []fatJar{}
	for _, p := range jars {
		file, err := env.Root.Open(p)
		if err != nil {
			continue
		}
		st, err := file.Stat()
		if err != nil || !st.Mode().IsRegular() {
			file.Close()
			continue
		}
		j, err := jar.Open(file, st.Size())
		if err != nil {
			env.Log.Debug("jar not read", "path", p, "err", err)
			file.Close()
			continue
		}
		fj := fatJar{poms: map[string]string{}}
		for _, n := range j.NestedJars() {
			fj.nested = append(fj.nested, path.Base(n))
		}
		for _, rule := range env.Request.Java {
			if rule.ClassPathJar == "" {
				continue
			}
			data, ok, err := j.PomProperties(rule.ClassPathJar)
			if !ok {
				continue
			}
			fj.poms[rule.ClassPathJar] = ""
			if err != nil {
				env.Log.Debug("pom.properties not read", "path", p, "artifact", rule.ClassPathJar, "err", err)
				continue
			}
			if props := properties.Parse(data); props["artifactId"] == rule.ClassPathJar {
				fj.poms[rule.ClassPathJar] = props["version"]
			}
		}
		file.Close()
		out = append(out, fj)
	}
	return out
}

// version reports whether the framework's jar is nested or shaded in the
// jar, and its version: of the nested jar's name, else of its pom.properties.
func (fj fatJar) version(name string) (string, bool) {
	for _, n := range fj.nested {
		if mainJarMatches(name, n) {
			return versionInJarName(name, n), true
		}
	}
	v, ok := fj.poms[name]
	return v, ok
}

// classPathJarVersion is the version in the jar's file name
// (micronaut-core-4.7.6.jar: 4.7.6), which Maven and Gradle always write,
// else the rule's manifest entry of the jar (Debian's jetty9-server.jar).
func classPathJarVersion(env detect.Env, jarPath string, rule fingerprint.JavaRule) string {
	if v := versionInJarName(rule.ClassPathJar, path.Base(jarPath)); v != "" {
		return v
	}
	if rule.JarVersionManifestEntry == "" {
		return ""
	}
	return manifestEntry(env, jarPath, rule.JarVersionManifestEntry)
}

// versionInJarName returns what follows "<name>-" in "<name>-<version>.jar"
// when it starts with a digit, else "".
func versionInJarName(name, file string) string {
	rest, ok := strings.CutPrefix(file, name+"-")
	if !ok {
		return ""
	}
	v, ok := strings.CutSuffix(rest, ".jar")
	if !ok || v == "" || v[0] < '0' || v[0] > '9' {
		return ""
	}
	return v
}
