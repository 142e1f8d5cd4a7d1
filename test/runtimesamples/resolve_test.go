package runtimesamples

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/openshift/insights-runtime-extractor/test/samples"
)

// fakeContainer answers the commands Resolve runs with a container's files;
// a command it does not know fails as a missing file would.
type fakeContainer map[string]string

func (c fakeContainer) exec(cmd ...string) ([]byte, []byte, error) {
	key := strings.Join(cmd, " ")
	if len(cmd) == 3 && cmd[0] == "sh" && cmd[1] == "-c" {
		key = cmd[2]
	}
	out, ok := c[key]
	if !ok {
		return nil, []byte("No such file or directory"), errors.New("command terminated with exit code 1")
	}
	if strings.HasPrefix(out, "stderr:") {
		return nil, []byte(strings.TrimPrefix(out, "stderr:")), nil
	}
	return []byte(out), nil, nil
}

func TestResolveReadsFromImageValuesWhereTheExtractorDoes(t *testing.T) {
	const rhel = "NAME=\"Red Hat Enterprise Linux\"\nID=\"rhel\"\nVERSION_ID=\"8.10\"\n"
	const jdk = "IMPLEMENTOR=\"Red Hat, Inc.\"\nJAVA_VERSION=\"17.0.13\"\n"
	tests := []struct {
		name      string
		expect    Expect
		container fakeContainer
		want      *Expect
		wantErr   string
	}{
		{
			name:   "exact values need no container",
			expect: Expect{OS: "ol", OSVersion: "8.10"},
			want:   &Expect{OS: "ol", OSVersion: "8.10"},
		},
		{
			name:      "os-release and the JDK release file",
			expect:    Expect{OS: "rhel", OSVersion: FromImage, Kind: "Java", KindVersion: FromImage, KindImplementer: FromImage},
			container: fakeContainer{osReleaseCmd: rhel, javaReleaseCmd: jdk},
			want:      &Expect{OS: "rhel", OSVersion: "8.10", Kind: "Java", KindVersion: "17.0.13", KindImplementer: "Red Hat, Inc."},
		},
		{
			name:      "Python 2 answers --version on stderr",
			expect:    Expect{OS: "debian", OSVersion: "10", Kind: "Python", KindVersion: FromImage},
			container: fakeContainer{pythonCmd: "stderr:Python 2.7.18\n"},
			want:      &Expect{OS: "debian", OSVersion: "10", Kind: "Python", KindVersion: "Python 2.7.18"},
		},
		{
			name:      "Node.js",
			expect:    Expect{Kind: "Node.js", KindVersion: FromImage},
			container: fakeContainer{"node --version": "v22.6.0\n"},
			want:      &Expect{Kind: "Node.js", KindVersion: "v22.6.0"},
		},
		{
			name:      "JBoss version.txt",
			expect:    Expect{Kind: "Java", Runtimes: []Runtime{{Name: "Red Hat JBoss Enterprise Application Platform", Version: FromImage}}},
			container: fakeContainer{versionTxtCmd: "Red Hat JBoss Enterprise Application Platform - Version 7.4.21.GA\n"},
			want:      &Expect{Kind: "Java", Runtimes: []Runtime{{Name: "Red Hat JBoss Enterprise Application Platform", Version: "7.4.21.GA"}}},
		},
		{
			name:      "a runtime without version stays without",
			expect:    Expect{Kind: "GraalVM", Runtimes: []Runtime{{Name: "Quarkus"}}},
			container: fakeContainer{},
			want:      &Expect{Kind: "GraalVM", Runtimes: []Runtime{{Name: "Quarkus"}}},
		},
		{
			name:      "a missing file is an error",
			expect:    Expect{OS: FromImage, OSVersion: FromImage},
			container: fakeContainer{},
			wantErr:   "os from the image: command terminated with exit code 1",
		},
		{
			name:      "a missing key is an error, not an empty expectation",
			expect:    Expect{Kind: "Java", KindVersion: "21.0.5", KindImplementer: FromImage},
			container: fakeContainer{javaReleaseCmd: "JAVA_VERSION=\"21.0.5\"\n"},
			wantErr:   "kindImplementer from the image: not found",
		},
		{
			name:      "a kind the suite cannot ask",
			expect:    Expect{Kind: "Golang", KindVersion: FromImage},
			container: fakeContainer{},
			wantErr:   `kindVersion from the image: cannot read kindVersion from a "Golang" image`,
		},
		{
			name:      "a version.txt without a version",
			expect:    Expect{Kind: "Java", Runtimes: []Runtime{{Name: "WildFly Full", Version: FromImage}}},
			container: fakeContainer{versionTxtCmd: "WildFly Full 30.0.1.Final (WildFly Core 22.0.2.Final)\n"},
			wantErr:   `the version of WildFly Full from the image: no " - Version " in version.txt`,
		},
		{
			name:      "a framework the suite cannot ask",
			expect:    Expect{Kind: "Java", Runtimes: []Runtime{{Name: "Spring Boot", Version: FromImage}}},
			container: fakeContainer{},
			wantErr:   "cannot read the version of Spring Boot from an image",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.expect.Resolve(tc.container.exec)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want it to mention %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

// Tomcat's version comes from bootstrap.jar's manifest: a real jar made by
// the JDK's jar tool, whose manifest wraps long values at 72 bytes.
func TestResolveReadsTomcatsVersionFromBootstrapJar(t *testing.T) {
	home, err := samples.FindJDK()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	long := "10.1.8.redhat-00017-" + strings.Repeat("x", 60) // wraps onto a continuation line
	manifest := filepath.Join(dir, "manifest.txt")
	if err := os.WriteFile(manifest, []byte("Main-Class: org.apache.catalina.startup.Bootstrap\nImplementation-Version: "+long+"\n\nName: x\nImplementation-Version: other\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "Bootstrap.class"), []byte{0xca, 0xfe}, 0o644); err != nil {
		t.Fatal(err)
	}
	jarPath := filepath.Join(dir, "bootstrap.jar")
	cmd := exec.Command(filepath.Join(home, "bin", "jar"), "--create", "--file", jarPath, "--manifest", manifest, "-C", dir, "Bootstrap.class")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("jar: %v: %s", err, out)
	}
	jar, err := os.ReadFile(jarPath)
	if err != nil {
		t.Fatal(err)
	}
	x := Expect{Kind: "Java", Runtimes: []Runtime{{Name: "Apache Tomcat", Version: FromImage}}}
	got, err := x.Resolve(fakeContainer{bootstrapCmd: string(jar)}.exec)
	if err != nil {
		t.Fatal(err)
	}
	if got.Runtimes[0].Version != long {
		t.Errorf("version %q, want %q", got.Runtimes[0].Version, long)
	}
	if _, err := ManifestValue([]byte("not a zip"), "Implementation-Version"); err == nil || !strings.Contains(err.Error(), "read the jar") {
		t.Errorf("a file that is not a jar: error = %v", err)
	}
	if _, err := ManifestValue(jar, "Spring-Boot-Version"); err == nil || err.Error() != "no Spring-Boot-Version in the manifest's main section" {
		t.Errorf("a missing key: error = %v", err)
	}
}
