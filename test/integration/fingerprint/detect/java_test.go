package detect_test

import (
	"archive/zip"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/openshift/insights-runtime-extractor/internal/contract"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint"
	"github.com/openshift/insights-runtime-extractor/test/debpkg/debpkgtest"
	"github.com/openshift/insights-runtime-extractor/test/samples"
)

// jdk is a Java home of this machine with what its release file says.
type jdk struct {
	home, version, implementor string
}

// machineJDKs returns every distinct JDK under /usr/lib/jvm, with
// JAVA_VERSION and IMPLEMENTOR read from its release file by the shell.
func machineJDKs(t *testing.T) []jdk {
	t.Helper()
	debpkgtest.Need(t, samples.JDKPackages()...)
	javas, _ := filepath.Glob("/usr/lib/jvm/*/bin/java")
	seen := map[string]bool{}
	var out []jdk
	for _, j := range javas {
		home, err := filepath.EvalSymlinks(filepath.Dir(filepath.Dir(j)))
		if err != nil || seen[home] {
			continue
		}
		seen[home] = true
		release := filepath.Join(home, "release")
		if _, err := os.Stat(release); err != nil {
			continue
		}
		v := shellValues(t, release, "JAVA_VERSION", "IMPLEMENTOR")
		out = append(out, jdk{home: home, version: v[0], implementor: v[1]})
	}
	sort.Slice(out, func(i, k int) bool { return out[i].home < out[k].home })
	if len(out) == 0 {
		t.Skip("no JDK under /usr/lib/jvm (package openjdk-17-jdk-headless)")
	}
	return out
}

// mainClassDir compiles Main (it sleeps) into a fresh directory.
func mainClassDir(t *testing.T) string {
	t.Helper()
	debpkgtest.Need(t, samples.JDKPackages()...)
	classes, err := samples.SleeperClasses("Main")
	if errors.Is(err, samples.ErrNoJDK) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Main.class"), classes["Main.class"], 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// envWithout is the test's environment without some variables.
func envWithout(keys ...string) []string {
	var out []string
	for _, kv := range os.Environ() {
		drop := false
		for _, k := range keys {
			if strings.HasPrefix(kv, k+"=") {
				drop = true
			}
		}
		if !drop {
			out = append(out, kv)
		}
	}
	return out
}

func TestJavaVersionOfEachJDKOfThisMachineLive(t *testing.T) {
	classes := mainClassDir(t)
	for _, j := range machineJDKs(t) {
		t.Run(filepath.Base(j.home), func(t *testing.T) {
			cmd := exec.Command(filepath.Join(j.home, "bin", "java"), "-Xmx32m", "-cp", classes, "Main")
			cmd.Env = envWithout("JAVA_HOME")
			p := startLive(t, cmd, "java")
			wantFindings(t, withoutOS(fingerprintAll(t, "/", p)), contract.Finding{Kind: "Java", KindVersion: j.version, KindImplementer: j.implementor})
		})
	}
}

func TestJavaVersionThroughUsrBinJavaAlternativesLive(t *testing.T) {
	classes := mainClassDir(t)
	real, err := filepath.EvalSymlinks("/usr/bin/java")
	if err != nil {
		t.Skipf("/usr/bin/java: %v", err)
	}
	home := filepath.Dir(filepath.Dir(real))
	v := shellValues(t, filepath.Join(home, "release"), "JAVA_VERSION", "IMPLEMENTOR")
	cmd := exec.Command("/usr/bin/java", "-Xmx32m", "-cp", classes, "Main")
	cmd.Args[0] = "java" // as a shell started it from PATH
	cmd.Env = envWithout("JAVA_HOME")
	p := startLive(t, cmd, "java")
	wantFindings(t, withoutOS(fingerprintAll(t, "/", p)), contract.Finding{Kind: "Java", KindVersion: v[0], KindImplementer: v[1]})
}

func TestJavaHomeFromTheEnvironmentWinsLive(t *testing.T) {
	jdks := machineJDKs(t)
	if len(jdks) < 2 {
		t.Skip("needs two JDKs")
	}
	classes := mainClassDir(t)
	cmd := exec.Command(filepath.Join(jdks[0].home, "bin", "java"), "-Xmx32m", "-cp", classes, "Main")
	cmd.Env = append(envWithout("JAVA_HOME"), "JAVA_HOME="+jdks[1].home)
	p := startLive(t, cmd, "java")
	wantFindings(t, withoutOS(fingerprintAll(t, "/", p)), contract.Finding{Kind: "Java", KindVersion: jdks[1].version, KindImplementer: jdks[1].implementor})
}

// treeWithJDK copies the release file of a real JDK into root at home.
func treeWithJDK(t *testing.T, root, home string, j jdk) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(j.home, "release"))
	if err != nil {
		t.Fatal(err)
	}
	writeTree(t, root, map[string]string{home + "/release": string(data), home + "/bin/java": "\x7fELF stand-in"})
}

func TestJavaHomeFromSymlinksInsideTheRoot(t *testing.T) {
	j := machineJDKs(t)[0]
	t.Run("argv[0] in PATH, /usr/bin/java -> /etc/alternatives/java -> the JDK", func(t *testing.T) {
		root := t.TempDir()
		treeWithJDK(t, root, "usr/lib/jvm/jdk", j)
		writeTree(t, root, map[string]string{
			"usr/bin/java":          "symlink:/etc/alternatives/java",
			"etc/alternatives/java": "symlink:/usr/lib/jvm/jdk/bin/java",
		})
		p := fingerprint.Process{PID: 4242, Name: "java", Cmdline: []string{"java", "-cp", ".", "Main"}, Env: []string{"PATH=/usr/local/bin:/usr/bin"}, Cwd: "/"}
		wantFindings(t, withoutOS(fingerprintAll(t, root, p)), contract.Finding{Kind: "Java", KindVersion: j.version, KindImplementer: j.implementor})
	})
	t.Run("/proc/<pid>/exe of the tree, a JDK 8 running from jre/bin", func(t *testing.T) {
		root := t.TempDir()
		writeTree(t, root, map[string]string{
			"usr/lib/jvm/jdk8/release":      "JAVA_VERSION=\"1.8.0_432\"\nIMPLEMENTOR=\"Red Hat, Inc.\"\n",
			"usr/lib/jvm/jdk8/jre/bin/java": "\x7fELF stand-in",
			"proc/42/exe":                   "symlink:/usr/lib/jvm/jdk8/jre/bin/java",
		})
		p := fingerprint.Process{PID: 42, Name: "java", Cmdline: []string{"/lies/java", "Main"}}
		wantFindings(t, withoutOS(fingerprintAll(t, root, p)), contract.Finding{Kind: "Java", KindVersion: "1.8.0_432", KindImplementer: "Red Hat, Inc."})
	})
	t.Run("a release file larger than 1 MiB is not read", func(t *testing.T) {
		root := t.TempDir()
		writeTree(t, root, map[string]string{"opt/jdk/release": "JAVA_VERSION=\"99\"\n" + strings.Repeat("#", 1<<20)})
		p := fingerprint.Process{PID: 1, Name: "java", Cmdline: []string{"java", "Main"}, Env: []string{"JAVA_HOME=/opt/jdk"}}
		wantFindings(t, withoutOS(fingerprintAll(t, root, p)), contract.Finding{Kind: "Java"})
	})
}

// sampleProcess is the process a sample runs as, with a real JDK's release
// file in the tree under $JAVA_HOME.
func sampleProcess(t *testing.T, s samples.Sample, j jdk) fingerprint.Process {
	t.Helper()
	treeWithJDK(t, s.Root, "opt/java/openjdk", j)
	return fingerprint.Process{PID: 7, Name: "java", Cmdline: s.Cmdline, Env: append([]string{"JAVA_HOME=/opt/java/openjdk", "PATH=/usr/bin"}, s.Env...), Cwd: s.Cwd}
}

func TestJavaRuntimesOfRealProductLayouts(t *testing.T) {
	j := machineJDKs(t)[0]
	const eap = "Red Hat JBoss Enterprise Application Platform"
	for _, tc := range []struct {
		name          string
		gen           func(root string) (samples.Sample, error)
		want, version string
	}{
		{"Quarkus fast-jar", func(r string) (samples.Sample, error) { return samples.QuarkusFastJar(r, "3.15.1") }, "Quarkus", "3.15.1"},
		{"Spring Boot 3 jar, launch.JarLauncher", func(r string) (samples.Sample, error) {
			return samples.SpringBootJar(r, "3.5.3", samples.SpringBootLaunchJarLauncher)
		}, "Spring Boot", "3.5.3"},
		{"Spring Boot 2 jar, JarLauncher", func(r string) (samples.Sample, error) {
			return samples.SpringBootJar(r, "2.7.18", samples.SpringBootJarLauncher)
		}, "Spring Boot", "2.7.18"},
		{"Spring Boot 3 war, launch.WarLauncher", func(r string) (samples.Sample, error) {
			return samples.SpringBootWar(r, "3.5.3", samples.SpringBootLaunchWarLauncher)
		}, "Spring Boot", "3.5.3"},
		{"Spring Boot 2 war, WarLauncher", func(r string) (samples.Sample, error) {
			return samples.SpringBootWar(r, "2.7.18", samples.SpringBootWarLauncher)
		}, "Spring Boot", "2.7.18"},
		{"WildFly, version.txt", func(r string) (samples.Sample, error) { return samples.WildFly(r, "WildFly Full", "30.0.1.Final") }, "WildFly Full", "30.0.1.Final"},
		{"WildFly 34, product-conf jar only", func(r string) (samples.Sample, error) {
			return samples.WildFlyProductConf(r, "WildFly", "34.0.0.Final")
		}, "WildFly", "34.0.0.Final"},
		{"JBoss EAP 7, version.txt, JBOSS_HOME", func(r string) (samples.Sample, error) { return samples.EAP7(r, "7.4.19.GA") }, eap, "7.4.19.GA"},
		{"JBoss EAP 8, product module manifest", func(r string) (samples.Sample, error) { return samples.EAP8(r, "8.0 Update 6.1") }, eap, "8.0 Update 6.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := tc.gen(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			got := fingerprintAll(t, s.Root, sampleProcess(t, s, j))
			wantFindings(t, withoutOS(got), contract.Finding{Kind: "Java", KindVersion: j.version, KindImplementer: j.implementor,
				Runtimes: []contract.Runtime{{Name: tc.want, Version: tc.version}}})
		})
	}
}

func TestQuarkusVersionLookupOrder(t *testing.T) {
	j := machineJDKs(t)[0]
	s, err := samples.QuarkusFastJar(t.TempDir(), "3.15.1")
	if err != nil {
		t.Fatal(err)
	}
	p := sampleProcess(t, s, j)
	// Without lib/main/io.quarkus.quarkus-core-*.jar: the Class-Path jar
	// holding QuarkusEntryPoint (lib/boot/io.quarkus.quarkus-bootstrap-runner).
	if err := os.Remove(s.HostPath(samples.QuarkusHome + "/lib/main/io.quarkus.quarkus-core-3.15.1.jar")); err != nil {
		t.Fatal(err)
	}
	got := fingerprintAll(t, s.Root, p)
	if len(got.Runtimes) != 1 || got.Runtimes[0] != (contract.Runtime{Name: "Quarkus", Version: "3.15.1"}) {
		t.Errorf("runner jar: %+v", got.Runtimes)
	}
	// Without it either: Quarkus, version unknown (never the application's
	// own Implementation-Version 1.0.0-SNAPSHOT of quarkus-run.jar).
	if err := os.Remove(s.HostPath(samples.QuarkusHome + "/lib/boot/io.quarkus.quarkus-bootstrap-runner-3.15.1.jar")); err != nil {
		t.Fatal(err)
	}
	got = fingerprintAll(t, s.Root, p)
	if len(got.Runtimes) != 1 || got.Runtimes[0] != (contract.Runtime{Name: "Quarkus"}) {
		t.Errorf("no version jar: %+v", got.Runtimes)
	}
}

func TestSpringBootJarRunningLive(t *testing.T) {
	j := machineJDKs(t)[0]
	s, err := samples.SpringBootJar(t.TempDir(), "3.5.3", samples.SpringBootLaunchJarLauncher)
	if err != nil {
		t.Fatal(err)
	}
	// java -jar app.jar, relative to the working directory read from /proc.
	cmd := exec.Command(filepath.Join(j.home, "bin", "java"), "-Xmx64m", "-jar", "app.jar")
	cmd.Dir = s.HostPath(samples.SpringBootHome)
	cmd.Env = envWithout("JAVA_HOME")
	p := startLive(t, cmd, "java")
	if p.Cwd != cmd.Dir {
		t.Fatalf("cwd %q from /proc, want %q", p.Cwd, cmd.Dir)
	}
	wantFindings(t, withoutOS(fingerprintAll(t, "/", p)), contract.Finding{Kind: "Java", KindVersion: j.version, KindImplementer: j.implementor,
		Runtimes: []contract.Runtime{{Name: "Spring Boot", Version: "3.5.3"}}})
}

func TestHostileJavaLayouts(t *testing.T) {
	const bootstrap = "/usr/share/tomcat10/bin/bootstrap.jar"
	for _, tc := range []struct {
		name     string
		files    map[string]string
		cmdline  []string
		runtimes []contract.Runtime
	}{
		{"-jar a directory", map[string]string{"app.jar/x": ""}, []string{"java", "-jar", "/app.jar"}, nil},
		{"-jar a symlink loop", map[string]string{"app.jar": "symlink:app.jar"}, []string{"java", "-jar", "/app.jar"}, nil},
		{"-jar garbage", map[string]string{"app.jar": strings.Repeat("PK\x05\x06", 1000)}, []string{"java", "-jar", "/app.jar"}, nil},
		{"class path jar escaping the root", map[string]string{"escape.jar": "symlink:../../../../../../.." + bootstrap},
			// The main class says Tomcat; the host's bootstrap.jar, with
			// the version, must stay out of reach.
			[]string{"java", "-classpath", "/escape.jar", "org.apache.catalina.startup.Bootstrap", "start"},
			[]contract.Runtime{{Name: "Apache Tomcat"}}},
		{"jboss home escaping the root", map[string]string{"opt/jboss-modules.jar": "", "opt/version.txt": "symlink:" + hostVersionTxt(t)},
			[]string{"java", "-jar", "/opt/jboss-modules.jar"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			writeTree(t, root, tc.files)
			got := fingerprintAll(t, root, fingerprint.Process{PID: 9, Name: "java", Cmdline: tc.cmdline, Cwd: "/"})
			wantFindings(t, withoutOS(got), contract.Finding{Kind: "Java", Runtimes: tc.runtimes})
		})
	}
	t.Run("-jar a FIFO", func(t *testing.T) {
		root := t.TempDir()
		if err := mkfifo(filepath.Join(root, "app.jar")); err != nil {
			t.Fatal(err)
		}
		got := fingerprintAll(t, root, fingerprint.Process{PID: 9, Name: "java", Cmdline: []string{"java", "-jar", "app.jar"}, Cwd: "/"})
		wantFindings(t, withoutOS(got), contract.Finding{Kind: "Java"})
	})
	t.Run("-jar a zip bomb", func(t *testing.T) {
		root := t.TempDir()
		bomb := append([]byte("Main-Class: org.springframework.boot.loader.JarLauncher\r\nSpring-Boot-Version: 1\r\n"), make([]byte, 64<<20)...)
		if err := samples.WriteJar(filepath.Join(root, "app.jar"), bomb); err != nil {
			t.Fatal(err)
		}
		got := fingerprintAll(t, root, fingerprint.Process{PID: 9, Name: "java", Cmdline: []string{"java", "-jar", "app.jar"}, Cwd: "/"})
		wantFindings(t, withoutOS(got), contract.Finding{Kind: "Java"})
	})
}

// hostVersionTxt is a JBoss version.txt outside any fixture root: the absolute
// path a container's symlink would name to reach the host.
func hostVersionTxt(t *testing.T) string {
	p := filepath.Join(t.TempDir(), "version.txt")
	if err := os.WriteFile(p, []byte("Host Secret - Version 6.6.6\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestSpringBootLayeredImage runs the launcher from an extracted jar, as
// Spring Boot's layered images do: `java org.springframework.boot.loader.launch.JarLauncher`
// with the jar's content (META-INF/MANIFEST.MF included) in the working
// directory, which is the default class path.
func TestSpringBootLayeredImage(t *testing.T) {
	j := machineJDKs(t)[0]
	s, err := samples.SpringBootJar(t.TempDir(), "3.4.1", samples.SpringBootLaunchJarLauncher)
	if err != nil {
		t.Fatal(err)
	}
	z, err := zip.OpenReader(s.HostPath("/app/app.jar"))
	if err != nil {
		t.Fatal(err)
	}
	defer z.Close()
	for _, f := range z.File {
		dst := filepath.Join(s.Root, "application", filepath.FromSlash(f.Name))
		if f.FileInfo().IsDir() {
			mkdir(t, dst)
			continue
		}
		mkdir(t, filepath.Dir(dst))
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Remove(s.HostPath("/app/app.jar")); err != nil {
		t.Fatal(err)
	}
	p := sampleProcess(t, s, j)
	p.Cmdline, p.Cwd = []string{"java", samples.SpringBootLaunchJarLauncher}, "/application"
	wantFindings(t, withoutOS(fingerprintAll(t, s.Root, p)), contract.Finding{Kind: "Java", KindVersion: j.version, KindImplementer: j.implementor,
		Runtimes: []contract.Runtime{{Name: "Spring Boot", Version: "3.4.1"}}})
}
