package detect_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/openshift/insights-runtime-extractor/internal/contract"
	"github.com/openshift/insights-runtime-extractor/test/debpkg/debpkgtest"
)

const tomcatHome = "/usr/share/tomcat10"

// needTomcat installs Debian's tomcat10 when missing (as root), else skips.
func needTomcat(t *testing.T) {
	t.Helper()
	debpkgtest.Need(t, "tomcat10")
}

// tomcatPackageVersion is the upstream version of the installed package
// ("10.1.60-1~deb12u1" -> "10.1.60").
func tomcatPackageVersion(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("dpkg-query", "-W", "-f=${Version}", "tomcat10").Output()
	if err != nil {
		t.Fatalf("dpkg-query: %v", err)
	}
	return regexp.MustCompile(`^(?:\d+:)?([0-9.]+)`).FindStringSubmatch(string(out))[1]
}

// privateCatalinaBase copies Debian's configuration into a fresh
// CATALINA_BASE, with the ports taken by no one (HTTP on a free port, no
// shutdown port): the real server, isolated from the machine's.
func privateCatalinaBase(t *testing.T) string {
	t.Helper()
	base := t.TempDir()
	for _, d := range []string{"conf", "logs", "temp", "webapps", "work"} {
		mkdir(t, filepath.Join(base, d))
	}
	confs, _ := filepath.Glob("/etc/tomcat10/*")
	for _, c := range confs {
		st, err := os.Stat(c)
		if err != nil || !st.Mode().IsRegular() {
			continue
		}
		data, err := os.ReadFile(c)
		if err != nil {
			t.Fatal(err)
		}
		if filepath.Base(c) == "server.xml" {
			s := string(data)
			s = strings.Replace(s, `port="8005"`, `port="-1"`, 1)
			s = strings.Replace(s, `port="8080"`, `port="0"`, 1)
			data = []byte(s)
		}
		if err := os.WriteFile(filepath.Join(base, "conf", filepath.Base(c)), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return base
}

func TestApacheTomcatOfDebianLive(t *testing.T) {
	needTomcat(t)
	j := machineJDKs(t)[0]
	for _, jj := range machineJDKs(t) {
		if strings.Contains(jj.home, "openjdk") {
			j = jj // Debian's tomcat10 is built for Debian's OpenJDK
		}
	}
	want := tomcatPackageVersion(t)
	base := privateCatalinaBase(t)
	// catalina.sh run execs java -classpath bin/bootstrap.jar:bin/tomcat-juli.jar
	// … org.apache.catalina.startup.Bootstrap start, as the service does.
	cmd := exec.Command(tomcatHome+"/bin/catalina.sh", "run")
	cmd.Env = append(envWithout("JAVA_HOME", "CATALINA_HOME", "CATALINA_BASE", "JAVA_OPTS", "CATALINA_OPTS"),
		"JAVA_HOME="+j.home, "CATALINA_HOME="+tomcatHome, "CATALINA_BASE="+base, "CATALINA_OPTS=-Xmx64m")
	cmd.Dir = base
	p := startLive(t, cmd, "java")
	if !strings.Contains(strings.Join(p.Cmdline, " "), "org.apache.catalina.startup.Bootstrap") {
		t.Fatalf("not Tomcat's command line: %q", p.Cmdline)
	}
	wantFindings(t, withoutOS(fingerprintAll(t, "/", p)), contract.Finding{Kind: "Java", KindVersion: j.version, KindImplementer: j.implementor,
		Runtimes: []contract.Runtime{{Name: "Apache Tomcat", Version: want}}})
}
