package java

import (
	"context"
	"path"
	"strings"

	"github.com/openshift/insights-runtime-extractor/internal/contract"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint/detect"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint/properties"
)

// asMain is the main class of a GlassFish or Payara Server domain, as
// asadmin start-domain launches it:
// java -cp <install>/modules/glassfish.jar -Dcom.sun.aas.installRoot=<install> … ASMain.
const asMain = "com.sun.enterprise.glassfish.bootstrap.ASMain"

// brandingFile names the product of the install: product_name and its
// version parts (what asadmin version prints).
const brandingFile = "config/branding/glassfish-version.properties"

// glassFish reports Eclipse GlassFish or Payara Server (any server built on
// GlassFish's bootstrap), as its branding file names it.
func init() { detect.Register(glassFish) }

var glassFish = detect.Detector{
	Name:         "glassfish",
	Fingerprint:  Fingerprint,
	NeedsProcess: true,
	Applies: func(req fingerprint.Request) bool {
		return parseJavaCommand(req.Process).MainClass == asMain
	},
	Detect: func(_ context.Context, env detect.Env) (contract.Finding, error) {
		var f contract.Finding
		for _, root := range glassFishInstallRoots(env, parseJavaCommand(env.Request.Process)) {
			data, err := env.Root.ReadFile(path.Join(root, brandingFile), detect.MaxTextFile)
			if err != nil {
				continue
			}
			if name, version := glassFishProduct(properties.Parse(data)); name != "" {
				f.AddRuntime(contract.Runtime{Name: name, Version: version})
			}
			return f, nil
		}
		return f, nil
	},
}

// glassFishInstallRoots returns the candidate install roots:
// -Dcom.sun.aas.installRoot (what the server itself uses), then the parent
// of the modules directory of glassfish.jar on the class path.
func glassFishInstallRoots(env detect.Env, cmd javaCommand) []string {
	p := env.Request.Process
	var roots []string
	if r, ok := systemProperty(p, "com.sun.aas.installRoot"); ok && r != "" {
		roots = append(roots, p.InCwd(r))
	}
	for _, e := range cmd.ClassPath {
		if e = p.InCwd(e); path.Base(e) == "glassfish.jar" && path.Base(path.Dir(e)) == "modules" {
			roots = append(roots, path.Dir(path.Dir(e)))
		}
	}
	return roots
}

// glassFishProduct is the product_name of a branding file and its version:
// major_version.minor_version[.update_version][.payara_version], the parts
// that are set, as GlassFish and Payara compose it.
func glassFishProduct(props map[string]string) (name, version string) {
	name = strings.TrimSpace(props["product_name"])
	var parts []string
	for _, k := range []string{"major_version", "minor_version", "update_version", "payara_version"} {
		v := strings.TrimSpace(props[k])
		if v == "" {
			if k == "major_version" || k == "minor_version" {
				return name, "" // not a version without both
			}
			continue
		}
		parts = append(parts, v)
	}
	return name, strings.Join(parts, ".")
}
