package java

import (
	"context"
	"path"
	"sort"
	"strings"

	"github.com/openshift/insights-runtime-extractor/internal/contract"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint/detect"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint/jar"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint/manifest"
)

// Where a JBoss Modules based server (WildFly, JBoss EAP) declares its
// product, in the order they are looked up.
const (
	productModuleDir    = "modules/system/layers/base/org/jboss/as/product/main"
	productManifest     = productModuleDir + "/dir/META-INF/MANIFEST.MF"
	productConfJar      = "wildfly-feature-pack-product-conf"
	productNameEntry    = "JBoss-Product-Release-Name"
	productVersionEntry = "JBoss-Product-Release-Version"
)

// jbossModules reports the product of a server started with
// `java … -jar …/jboss-modules.jar` (SPEC §7 "JBoss modules").
func init() { detect.Register(jbossModules) }

var jbossModules = detect.Detector{
	Name:         "jboss-modules",
	Fingerprint:  Fingerprint,
	NeedsProcess: true,
	Applies: func(req fingerprint.Request) bool {
		return strings.HasSuffix(parseJavaCommand(req.Process).Jar, "jboss-modules.jar")
	},
	Detect: func(_ context.Context, env detect.Env) (contract.Finding, error) {
		var f contract.Finding
		p := env.Request.Process
		cmd := parseJavaCommand(p)
		for _, home := range jbossHomes(p, cmd) {
			if name, version, ok := jbossProduct(env, home); ok {
				f.AddRuntime(contract.Runtime{Name: name, Version: version})
				return f, nil
			}
		}
		return f, nil
	},
}

// jbossHomes returns the candidate homes: -Djboss.home.dir (what the server
// itself uses), $JBOSS_HOME, then the directory of jboss-modules.jar (where
// every distribution keeps it).
func jbossHomes(p fingerprint.Process, cmd javaCommand) []string {
	var homes []string
	if h, ok := systemProperty(p, "jboss.home.dir"); ok && h != "" {
		homes = append(homes, p.InCwd(h))
	}
	if h, ok := p.Getenv("JBOSS_HOME"); ok && h != "" {
		homes = append(homes, p.InCwd(h))
	}
	return append(homes, path.Dir(p.InCwd(cmd.Jar)))
}

// jbossProduct reads the product of a home: version.txt ("<name> - Version
// <version>"), the product module's manifest, or the manifest of the
// feature-pack product-conf jar of the product module.
func jbossProduct(env detect.Env, home string) (name, version string, ok bool) {
	if data, err := env.Root.ReadFile(path.Join(home, "version.txt"), detect.MaxTextFile); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if n, v, found := strings.Cut(line, "- Version"); found {
				if n, v = strings.TrimSpace(n), strings.TrimSpace(v); n != "" {
					return n, v, true
				}
			}
		}
	}
	if data, err := env.Root.ReadFile(path.Join(home, productManifest), jar.MaxManifestSize); err == nil {
		if m := manifest.Parse(data); m.Get(productNameEntry) != "" {
			return m.Get(productNameEntry), m.Get(productVersionEntry), true
		}
	}
	dir := path.Join(home, productModuleDir)
	names, _, err := env.Root.ReadDirNames(dir, maxDirEntries)
	if err != nil {
		return "", "", false
	}
	sort.Strings(names)
	for _, n := range names {
		if !strings.HasPrefix(n, productConfJar) || !strings.HasSuffix(n, ".jar") {
			continue
		}
		if m, _, err := readManifest(env, path.Join(dir, n)); err == nil && m.Get(productNameEntry) != "" {
			return m.Get(productNameEntry), m.Get(productVersionEntry), true
		}
	}
	return "", "", false
}
