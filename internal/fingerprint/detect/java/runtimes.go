package java

import (
	"context"
	"fmt"
	"net/url"
	"path"
	"sort"
	"strings"

	"github.com/openshift/insights-runtime-extractor/internal/contract"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint/detect"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint/jar"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint/manifest"
)

// Bounds of the jar search for one process.
const (
	maxClassPathJars = 256  // jars whose directory is read for one rule
	maxDirEntries    = 4096 // entries read from one directory
)

// mainJarMatches reports whether a jar file name is the rule's main-jar:
// the name itself ("bootstrap.jar"), or the name with a version
// ("io.quarkus.quarkus-core" matches io.quarkus.quarkus-core-3.15.1.jar, not
// io.quarkus.quarkus-core-deployment-3.15.1.jar).
func mainJarMatches(mainJar, file string) bool {
	if mainJar == "" {
		return false
	}
	if file == mainJar || file == mainJar+".jar" {
		return true
	}
	rest, ok := strings.CutPrefix(file, mainJar+"-")
	return ok && strings.HasSuffix(rest, ".jar") && rest != "" && rest[0] >= '0' && rest[0] <= '9'
}

// javaRuntimes reports the frameworks of config.toml's [[fingerprints.java]]
// rules (SPEC §7 "Java runtimes").
func init() { detect.Register(javaRuntimes) }

var javaRuntimes = detect.Detector{
	Name:         "java-runtimes",
	Fingerprint:  Fingerprint,
	NeedsProcess: true,
	// Without rules there is nothing to look for.
	Applies: func(req fingerprint.Request) bool { return len(req.Java) > 0 },
	Detect: func(_ context.Context, env detect.Env) (contract.Finding, error) {
		var f contract.Finding
		cmd := parseJavaCommand(env.Request.Process)
		switch {
		case cmd.Jar != "":
			jarPath := env.Request.Process.InCwd(cmd.Jar)
			m, _, err := readManifest(env, jarPath)
			if err != nil {
				return f, fmt.Errorf("-jar %s: %w", cmd.Jar, err)
			}
			mainClass := m.Get("Main-Class")
			for _, rule := range env.Request.Java {
				if rule.MainClass == "" || rule.MainClass != mainClass {
					continue
				}
				version := ""
				if rule.ReadManifestOfExecutableJar {
					version = m.Get(rule.JarVersionManifestEntry)
				} else {
					version = versionBesideJar(env, jarPath, m, rule, mainClass)
				}
				f.AddRuntime(contract.Runtime{Name: rule.RuntimeName, Version: version})
			}
		case cmd.MainClass != "":
			for _, rule := range env.Request.Java {
				if rule.MainClass != cmd.MainClass {
					continue
				}
				f.AddRuntime(contract.Runtime{Name: rule.RuntimeName, Version: versionOnClassPath(env, cmd, rule)})
			}
		}
		return f, nil
	},
}

// readManifest reads the manifest of a jar, or of a class path directory
// (<dir>/META-INF/MANIFEST.MF, e.g. an exploded Spring Boot jar).
func readManifest(env detect.Env, p string) (manifest.Manifest, *jar.Jar, error) {
	if env.Root.IsDir(p) {
		data, err := env.Root.ReadFile(path.Join(p, jar.ManifestPath), jar.MaxManifestSize)
		if err != nil {
			return manifest.Manifest{}, nil, err
		}
		return manifest.Parse(data), nil, nil
	}
	file, err := env.Root.Open(p)
	if err != nil {
		return manifest.Manifest{}, nil, err
	}
	defer file.Close()
	st, err := file.Stat()
	if err != nil {
		return manifest.Manifest{}, nil, fmt.Errorf("stat %s: %w", p, err)
	}
	j, err := jar.Open(file, st.Size())
	if err != nil {
		return manifest.Manifest{}, nil, fmt.Errorf("%s: %w", p, err)
	}
	m, err := j.Manifest()
	if err != nil {
		return manifest.Manifest{}, j, fmt.Errorf("%s: %w", p, err)
	}
	return m, j, nil
}

// versionBesideJar finds the version for a rule whose version is not in the
// executable jar (read-manifest-of-executable-jar = false): in the manifest of
// the main-jar named in its Class-Path, else of the main-jar in the jar's
// directory tree (two levels: Quarkus keeps io.quarkus.quarkus-core in
// lib/main, outside the Class-Path), else of the Class-Path jar that holds the
// main class.
func versionBesideJar(env detect.Env, jarPath string, m manifest.Manifest, rule fingerprint.JavaRule, mainClass string) string {
	dir := path.Dir(jarPath)
	classPath := manifestClassPath(jarPath, m)
	for _, e := range classPath {
		if mainJarMatches(rule.MainJar, path.Base(e)) {
			if v := manifestEntry(env, e, rule.JarVersionManifestEntry); v != "" {
				return v
			}
		}
	}
	if p, ok := findJar(env, dir, rule.MainJar, 2); ok {
		if v := manifestEntry(env, p, rule.JarVersionManifestEntry); v != "" {
			return v
		}
	}
	for _, e := range classPath {
		if mf, j, err := readManifest(env, e); err == nil && j != nil && j.HasClass(mainClass) {
			return mf.Get(rule.JarVersionManifestEntry)
		}
	}
	return ""
}

// versionOnClassPath finds the version for a rule matched by the main class
// of a class path launch: in the class path entry that is the main-jar (a
// "dir/*" entry stands for the jars of dir), else the entry holding the main
// class.
func versionOnClassPath(env detect.Env, cmd javaCommand, rule fingerprint.JavaRule) string {
	entries := classPathEntries(env, cmd)
	for _, e := range entries {
		if mainJarMatches(rule.MainJar, path.Base(e)) {
			if v := manifestEntry(env, e, rule.JarVersionManifestEntry); v != "" {
				return v
			}
		}
	}
	for _, e := range entries {
		mf, j, err := readManifest(env, e)
		if err != nil {
			continue
		}
		if j != nil && j.HasClass(cmd.MainClass) {
			return mf.Get(rule.JarVersionManifestEntry)
		}
		if j == nil {
			// A class directory: holds the class as a file.
			if _, err := env.Root.Resolve(path.Join(e, strings.ReplaceAll(cmd.MainClass, ".", "/")+".class")); err == nil {
				return mf.Get(rule.JarVersionManifestEntry)
			}
		}
	}
	return ""
}

// classPathEntries returns the entries of the command's class path, in
// order, at most maxClassPathJars: a "dir/*" entry stands for the jars of dir.
func classPathEntries(env detect.Env, cmd javaCommand) []string {
	var entries []string
	for _, e := range cmd.ClassPath {
		e = env.Request.Process.InCwd(e)
		if path.Base(e) == "*" {
			names, _, err := env.Root.ReadDirNames(path.Dir(e), maxDirEntries)
			if err != nil {
				continue
			}
			sort.Strings(names)
			for _, n := range names {
				if strings.HasSuffix(n, ".jar") {
					entries = append(entries, path.Join(path.Dir(e), n))
				}
			}
		} else {
			entries = append(entries, e)
		}
		if len(entries) >= maxClassPathJars {
			return entries[:maxClassPathJars]
		}
	}
	return entries
}

// manifestClassPath returns the Class-Path of the manifest of the jar at
// jarPath as paths (relative URLs are relative to the jar's directory; other
// URLs are skipped), at most maxClassPathJars.
func manifestClassPath(jarPath string, m manifest.Manifest) []string {
	dir := path.Dir(jarPath)
	var classPath []string
	for _, e := range m.ClassPath() {
		if u, err := url.PathUnescape(e); err == nil {
			e = u
		}
		if strings.Contains(e, "://") || strings.HasPrefix(e, "file:") {
			continue // a URL, not a path beside the jar
		}
		classPath = append(classPath, path.Join(dir, e))
		if len(classPath) == maxClassPathJars {
			break
		}
	}
	return classPath
}

func manifestEntry(env detect.Env, p, entry string) string {
	m, _, err := readManifest(env, p)
	if err != nil {
		env.Log.Debug("manifest not read", "path", p, "err", err)
		return ""
	}
	return m.Get(entry)
}

// findJar looks for the main-jar under dir, breadth first, depth levels deep.
func findJar(env detect.Env, dir, mainJar string, depth int) (string, bool) {
	if mainJar == "" {
		return "", false
	}
	level := []string{dir}
	budget := maxDirEntries // entries looked at in all directories together
	for d := 0; d <= depth && len(level) > 0; d++ {
		var next []string
		for _, dd := range level {
			if budget <= 0 {
				break
			}
			names, _, err := env.Root.ReadDirNames(dd, budget)
			if err != nil {
				continue
			}
			budget -= len(names)
			sort.Strings(names)
			for _, n := range names {
				p := path.Join(dd, n)
				if mainJarMatches(mainJar, n) && !env.Root.IsDir(p) {
					return p, true
				}
				if d < depth && len(next) < maxClassPathJars && env.Root.IsDir(p) {
					next = append(next, p)
				}
			}
		}
		level = next
		if budget <= 0 {
			break
		}
	}
	return "", false
}
