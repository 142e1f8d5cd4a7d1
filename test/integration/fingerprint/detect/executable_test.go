package detect_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/openshift/insights-runtime-extractor/internal/contract"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint/keyvalue"
	"github.com/openshift/insights-runtime-extractor/test/debpkg/debpkgtest"
	"github.com/openshift/insights-runtime-extractor/test/samples"
)

// A fingerprint, holding no capability, may not follow /proc/<pid>/exe of a
// target that holds some (most root containers): it then uses the executable
// the coordinator read from the host's /proc (Process.Exe), never argv[0].
// Here the pid is unknown (0) and argv[0] lies, so only Exe can be right.
func TestRecordedExecutableWhenExeLinkIsRefused(t *testing.T) {
	debpkgtest.Need(t, "nodejs")
	debpkgtest.Need(t, samples.JDKPackages()...)
	gv, err := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "env", "GOVERSION").Output()
	if err != nil {
		t.Fatal(err)
	}
	node, err := filepath.EvalSymlinks("/usr/bin/node")
	if err != nil {
		t.Fatal(err)
	}
	java, err := filepath.EvalSymlinks("/usr/bin/java")
	if err != nil {
		t.Fatal(err)
	}
	release, err := os.ReadFile(filepath.Join(filepath.Dir(filepath.Dir(java)), "release"))
	if err != nil {
		t.Fatal(err)
	}
	kv := keyvalue.Parse(release)
	for _, tc := range []struct {
		name, comm, exe string
		want            contract.Finding
	}{
		{"version executable", "node", node, contract.Finding{Kind: "Node.js", KindVersion: versionOf(t, node)}},
		{"java home of the java that runs", "java", java,
			contract.Finding{Kind: "Java", KindVersion: kv["JAVA_VERSION"], KindImplementer: kv["IMPLEMENTOR"]}},
		{"native executable", "server", buildGo(t), contract.Finding{Kind: "Golang", KindVersion: strings.TrimSpace(string(gv))}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := fingerprint.Process{Name: tc.comm, Exe: tc.exe, Cmdline: []string{"/nonexistent/lies", "-x"}, Cwd: "/", Env: []string{"PATH=/nonexistent"}}
			wantFindings(t, withoutOS(fingerprintAll(t, "/", p)), tc.want)
		})
	}
}
