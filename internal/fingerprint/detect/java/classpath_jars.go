package java

import (
	"context"
	"fmt"
	"path"
	"strings"

	"github.com/openshift/insights-runtime-extractor/internal/contract"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint/detect"
)

// classPathJars reports the frameworks of config.toml's [[fingerprints.java]]
// rules with a class-path-jar: libraries embedded in an application that
// starts its own main class (Micronaut, Helidon, Vert.x, Dropwizard, embedded
// Jetty, Undertow). The framework is there when its jar is on the class path
// the JVM was given: -cp (a "dir/*" entry stands for the jars of dir) or,
// with -jar, the Class-Path of the jar's manifest.
func init() { detect.Register(classPathJars) }

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
		for _, rule := range env.Request.Java {
			if rule.ClassPathJar == "" {
				continue
			}
			for _, e := range entries {
				if !mainJarMatches(rule.ClassPathJar, path.Base(e)) {
					continue
				}
				f.AddRuntime(contract.Runtime{Name: rule.RuntimeName, Version: classPathJarVersion(env, e, rule)})
				break // the first on the class path is the one the JVM loads
			}
		}
		return f, nil
	},
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
