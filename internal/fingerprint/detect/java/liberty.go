package java

import (
	"context"
	"path"

	"github.com/openshift/insights-runtime-extractor/internal/contract"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint/detect"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint/properties"
)

// libertyServerJar is what Liberty's server script starts:
// java … -jar <wlp>/bin/tools/ws-server.jar <server name>.
const libertyServerJar = "bin/tools/ws-server.jar"

// The product files of a Liberty install (<wlp>/lib/versions), in lookup
// order: WebSphere Liberty is built on Open Liberty, so its own file decides.
var libertyProducts = []struct{ file, name string }{
	{"lib/versions/WebSphereApplicationServer.properties", "WebSphere Liberty"},
	{"lib/versions/openliberty.properties", "Open Liberty"},
}

// liberty reports Open Liberty or WebSphere Liberty, versioned by the
// com.ibm.websphere.productVersion of the install's product file (what
// Liberty's productInfo prints).
func init() { detect.Register(liberty) }

var liberty = detect.Detector{
	Name:         "liberty",
	Fingerprint:  Fingerprint,
	NeedsProcess: true,
	Applies: func(req fingerprint.Request) bool {
		return libertyHome(req.Process) != ""
	},
	Detect: func(_ context.Context, env detect.Env) (contract.Finding, error) {
		var f contract.Finding
		home := libertyHome(env.Request.Process)
		for _, p := range libertyProducts {
			data, err := env.Root.ReadFile(path.Join(home, p.file), detect.MaxTextFile)
			if err != nil {
				continue
			}
			f.AddRuntime(contract.Runtime{Name: p.name, Version: properties.Parse(data)["com.ibm.websphere.productVersion"]})
			return f, nil
		}
		return f, nil
	},
}

// libertyHome is the <wlp> directory of a process started with
// -jar <wlp>/bin/tools/ws-server.jar, else "".
func libertyHome(p fingerprint.Process) string {
	jar := parseJavaCommand(p).Jar
	if jar == "" {
		return ""
	}
	jar = p.InCwd(jar)
	if path.Base(jar) != path.Base(libertyServerJar) || path.Base(path.Dir(jar)) != "tools" || path.Base(path.Dir(path.Dir(jar))) != "bin" {
		return ""
	}
	return path.Dir(path.Dir(path.Dir(jar)))
}
