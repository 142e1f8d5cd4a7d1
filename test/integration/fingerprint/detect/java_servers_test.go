package detect_test

import (
	"os"
	"strings"
	"testing"

	"github.com/openshift/insights-runtime-extractor/internal/contract"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint"
	"github.com/openshift/insights-runtime-extractor/test/samples"
)

// The Java servers and frameworks of issue 15, each in its release's layout
// (stand-ins written by test/samples: the products cannot be downloaded
// here), recognised by the shipped config.toml and detectors.
func TestJavaServersAndFrameworksOfRealLayouts(t *testing.T) {
	j := machineJDKs(t)[0]
	for _, tc := range []struct {
		name string
		gen  func(root string) (samples.Sample, error)
		want []contract.Runtime
	}{
		{"Open Liberty: -jar ws-server.jar, openliberty.properties", func(r string) (samples.Sample, error) { return samples.Liberty(r, "24.0.0.12", false) },
			[]contract.Runtime{{Name: "Open Liberty", Version: "24.0.0.12"}}},
		{"WebSphere Liberty: its product file wins over openliberty.properties", func(r string) (samples.Sample, error) { return samples.Liberty(r, "25.0.0.3", true) },
			[]contract.Runtime{{Name: "WebSphere Liberty", Version: "25.0.0.3"}}},
		{"Eclipse GlassFish: ASMain, branding file", func(r string) (samples.Sample, error) { return samples.GlassFish(r, "7.0.20", false) },
			[]contract.Runtime{{Name: "Eclipse GlassFish", Version: "7.0.20"}}},
		{"Payara Server: ASMain, its branding file", func(r string) (samples.Sample, error) { return samples.GlassFish(r, "6.2024.12", true) },
			[]contract.Runtime{{Name: "Payara Server", Version: "6.2024.12"}}},
		{"Micronaut: -jar, Class-Path libs/micronaut-core", func(r string) (samples.Sample, error) { return samples.Micronaut(r, "4.7.6") },
			[]contract.Runtime{{Name: "Micronaut", Version: "4.7.6"}}},
		{"Helidon: -jar, Class-Path libs/helidon-webserver", func(r string) (samples.Sample, error) { return samples.Helidon(r, "4.1.4") },
			[]contract.Runtime{{Name: "Helidon", Version: "4.1.4"}}},
		{"Vert.x: shaded fat jar, io.vertx.core.Launcher", func(r string) (samples.Sample, error) { return samples.VertX(r, "4.5.11") },
			[]contract.Runtime{{Name: "Vert.x", Version: "4.5.11"}}},
		{"Vert.x: -cp lib/*", func(r string) (samples.Sample, error) {
			return samples.ClassPathApp(r, samples.App{Home: "/deployments", MainClass: "com.example.starter.Main", LibDir: "lib",
				Libs: []samples.Lib{{Name: "vertx-core-4.5.11.jar"}, {Name: "netty-handler-4.1.115.Final.jar"}}})
		}, []contract.Runtime{{Name: "Vert.x", Version: "4.5.11"}}},
		{"Dropwizard and the Jetty it embeds: shaded fat jar", func(r string) (samples.Sample, error) { return samples.Dropwizard(r, "4.0.8", "11.0.24") },
			[]contract.Runtime{{Name: "Dropwizard", Version: "4.0.8"}, {Name: "Eclipse Jetty", Version: "11.0.24"}}},
		{"Dropwizard and the Jetty it embeds: -cp lib/*", func(r string) (samples.Sample, error) {
			return samples.ClassPathApp(r, samples.App{Home: "/app", MainClass: "com.example.helloworld.HelloWorldApplication", LibDir: "lib",
				Libs: []samples.Lib{{Name: "dropwizard-core-4.0.8.jar"}, {Name: "jetty-server-11.0.24.jar"}}, Args: []string{"server", "/app/config.yml"}})
		}, []contract.Runtime{{Name: "Dropwizard", Version: "4.0.8"}, {Name: "Eclipse Jetty", Version: "11.0.24"}}},
		{"Micronaut: shadowJar-like fat jar, -cp", func(r string) (samples.Sample, error) {
			err := samples.ShadedApp(r, "/app/app-all.jar", []samples.Attr{{Name: "Main-Class", Value: "com.example.Application"}}, "com.example.Application",
				[]samples.Shaded{{Group: "io.micronaut", Artifact: "micronaut-core", Version: "4.7.6"}})
			return samples.Sample{Root: r, Cmdline: []string{"java", "-cp", "/app/app-all.jar", "com.example.Application"}, Cwd: "/app"}, err
		}, []contract.Runtime{{Name: "Micronaut", Version: "4.7.6"}}},
		{"Undertow: explicit relative class path", func(r string) (samples.Sample, error) { return samples.Undertow(r, "2.3.18.Final") },
			[]contract.Runtime{{Name: "Undertow", Version: "2.3.18.Final"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := tc.gen(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			got := fingerprintAll(t, s.Root, sampleProcess(t, s, j))
			wantFindings(t, withoutOS(got), contract.Finding{Kind: "Java", KindVersion: j.version, KindImplementer: j.implementor, Runtimes: tc.want})
		})
	}
}

// A class path jar named without its version (Debian's jetty9-server.jar)
// is versioned by its manifest; a name with a version wins over the
// manifest; a jar that is not on the class path, or a longer artifact of
// the same prefix, says nothing.
func TestClassPathJarVersionSources(t *testing.T) {
	write := func(t *testing.T, root, p, version string) {
		t.Helper()
		if err := samples.WriteJar(root+p, samples.Manifest(samples.Attr{Name: "Implementation-Version", Value: version})); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name    string
		jars    map[string]string // path: Implementation-Version
		cmdline []string
		want    []contract.Runtime
	}{
		{"Debian's name: the manifest", map[string]string{"/usr/share/java/jetty9-server.jar": "9.4.57.v20241219"},
			[]string{"java", "-cp", "/usr/share/java/jetty9-server.jar:/app", "Main"}, []contract.Runtime{{Name: "Eclipse Jetty", Version: "9.4.57.v20241219"}}},
		{"the name wins over the manifest", map[string]string{"/lib/jetty-server-12.0.16.jar": "0.0.1"},
			[]string{"java", "-cp", "/lib/*", "Main"}, []contract.Runtime{{Name: "Eclipse Jetty", Version: "12.0.16"}}},
		{"no version anywhere: the name alone", map[string]string{"/lib/micronaut-core.jar": ""},
			[]string{"java", "-classpath", "/lib/micronaut-core.jar", "Main"}, []contract.Runtime{{Name: "Micronaut"}}},
		{"a longer artifact is not the framework", map[string]string{"/lib/vertx-core-logging-4.5.11.jar": "4.5.11", "/lib/micronaut-core-reactive-4.7.6.jar": "4.7.6"},
			[]string{"java", "-cp", "/lib/*", "Main"}, nil},
		{"beside the class path is not on it", map[string]string{"/lib/vertx-core-4.5.11.jar": "4.5.11"},
			[]string{"java", "-cp", "/app.jar", "Main"}, nil},
		{"a module launch has no class path", map[string]string{"/lib/vertx-core-4.5.11.jar": "4.5.11"},
			[]string{"java", "-cp", "/lib/*", "-m", "app/Main"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			for p, v := range tc.jars {
				write(t, root, p, v)
			}
			got := fingerprintAll(t, root, fingerprint.Process{PID: 9, Name: "java", Cmdline: tc.cmdline, Cwd: "/"})
			wantFindings(t, withoutOS(got), contract.Finding{Kind: "Java", Runtimes: tc.want})
		})
	}
	t.Run("-jar whose Class-Path names the framework's jar, relative to the jar", func(t *testing.T) {
		root := t.TempDir()
		write(t, root, "/srv/libs/helidon-webserver-4.1.4.jar", "")
		if err := samples.WriteJar(root+"/srv/app.jar", samples.Manifest(samples.Attr{Name: "Main-Class", Value: "a.Main"}, samples.Attr{Name: "Class-Path", Value: "libs/helidon-webserver-4.1.4.jar"})); err != nil {
			t.Fatal(err)
		}
		got := fingerprintAll(t, root, fingerprint.Process{PID: 9, Name: "java", Cmdline: []string{"java", "-jar", "app.jar"}, Cwd: "/srv"})
		wantFindings(t, withoutOS(got), contract.Finding{Kind: "Java", Runtimes: []contract.Runtime{{Name: "Helidon", Version: "4.1.4"}}})
	})
}

// Only the first four jars of -cp are looked into for shaded libraries.
func TestShadedLookupStopsAtFourClassPathJars(t *testing.T) {
	root := t.TempDir()
	var cp string
	for i, n := range []string{"a", "b", "c", "d", "e"} {
		var entries []samples.Entry
		if i == 4 {
			entries = append(entries, samples.Entry{Name: "META-INF/maven/io.vertx/vertx-core/pom.properties", Data: []byte("artifactId=vertx-core\nversion=4.5.11\n")})
		}
		if err := samples.WriteJar(root+"/lib/"+n+".jar", samples.Manifest(), entries...); err != nil {
			t.Fatal(err)
		}
		cp += "/lib/" + n + ".jar:"
	}
	for _, tc := range []struct {
		cp   string
		want []contract.Runtime
	}{
		{cp, nil},
		{"/lib/e.jar:" + cp, []contract.Runtime{{Name: "Vert.x", Version: "4.5.11"}}},
	} {
		got := fingerprintAll(t, root, fingerprint.Process{PID: 9, Name: "java", Cmdline: []string{"java", "-cp", tc.cp, "Main"}, Cwd: "/"})
		wantFindings(t, withoutOS(got), contract.Finding{Kind: "Java", Runtimes: tc.want})
	}
}

// A Spring Boot fat jar that embeds Undertow instead of Tomcat reports
// both: Spring Boot by its launcher, Undertow by its nested jar's name.
func TestSpringBootFatJarWithNestedUndertow(t *testing.T) {
	root := t.TempDir()
	lib, err := samples.JarBytes(samples.Manifest())
	if err != nil {
		t.Fatal(err)
	}
	if err := samples.WriteJar(root+"/app/app.jar", samples.Manifest(
		samples.Attr{Name: "Main-Class", Value: samples.SpringBootLaunchJarLauncher},
		samples.Attr{Name: "Spring-Boot-Version", Value: "3.5.3"},
		samples.Attr{Name: "Spring-Boot-Lib", Value: "BOOT-INF/lib/"},
	), samples.Entry{Name: "BOOT-INF/lib/undertow-core-2.3.18.Final.jar", Data: lib, Stored: true},
		samples.Entry{Name: "BOOT-INF/lib/spring-boot-3.5.3.jar", Data: lib, Stored: true}); err != nil {
		t.Fatal(err)
	}
	got := fingerprintAll(t, root, fingerprint.Process{PID: 9, Name: "java", Cmdline: []string{"java", "-jar", "app.jar"}, Cwd: "/app"})
	wantFindings(t, withoutOS(got), contract.Finding{Kind: "Java", Runtimes: []contract.Runtime{{Name: "Undertow", Version: "2.3.18.Final"}, {Name: "Spring Boot", Version: "3.5.3"}}})
}

// A shaded pom.properties is read up to 64 KiB: a larger one, or one whose
// content names another artifact, gives the framework its path names
// without a version.
func TestShadedPomPropertiesHostile(t *testing.T) {
	for name, content := range map[string]string{
		"8 MiB bomb":        "artifactId=vertx-core\nversion=4.5.11\n" + strings.Repeat("#", 8<<20),
		"another artifact":  "artifactId=vertx-web\nversion=4.5.11\n",
		"no version at all": "artifactId=vertx-core\n",
	} {
		t.Run(name, func(t *testing.T) {
			root := t.TempDir()
			if err := samples.WriteJar(root+"/app.jar", samples.Manifest(samples.Attr{Name: "Main-Class", Value: "io.vertx.core.Launcher"}),
				samples.Entry{Name: "META-INF/maven/io.vertx/vertx-core/pom.properties", Data: []byte(content)}); err != nil {
				t.Fatal(err)
			}
			got := fingerprintAll(t, root, fingerprint.Process{PID: 9, Name: "java", Cmdline: []string{"java", "-jar", "/app.jar"}, Cwd: "/"})
			wantFindings(t, withoutOS(got), contract.Finding{Kind: "Java", Runtimes: []contract.Runtime{{Name: "Vert.x"}}})
		})
	}
}

// Hostile product files: a branding file or a Liberty product file larger
// than 1 MiB is not read, a missing one gives no runtime, and the
// product name of a branding file that is not one printable line is dropped.
func TestJavaServerProductFilesHostile(t *testing.T) {
	big := "com.ibm.websphere.productVersion=9\n" + string(make([]byte, 1<<20))
	for _, tc := range []struct {
		name    string
		files   map[string]string
		cmdline []string
	}{
		{"Liberty product file over 1 MiB", map[string]string{"wlp/bin/tools/ws-server.jar": "", "wlp/lib/versions/openliberty.properties": big},
			[]string{"java", "-jar", "/wlp/bin/tools/ws-server.jar", "defaultServer"}},
		{"Liberty without a product file", map[string]string{"wlp/bin/tools/ws-server.jar": ""},
			[]string{"java", "-jar", "/wlp/bin/tools/ws-server.jar", "defaultServer"}},
		{"ws-server.jar elsewhere than bin/tools", map[string]string{"x/ws-server.jar": "", "lib/versions/openliberty.properties": "com.ibm.websphere.productVersion=1\n"},
			[]string{"java", "-jar", "/x/ws-server.jar"}},
		{"GlassFish branding file escaping the root", map[string]string{"gf/modules/glassfish.jar": "", "gf/config/branding/glassfish-version.properties": "symlink:" + hostBranding(t)},
			[]string{"java", "-cp", "/gf/modules/glassfish.jar", "com.sun.enterprise.glassfish.bootstrap.ASMain"}},
		{"GlassFish branding without product name", map[string]string{"gf/config/branding/glassfish-version.properties": "major_version=7\nminor_version=0\n"},
			[]string{"java", "-Dcom.sun.aas.installRoot=/gf", "-cp", "x.jar", "com.sun.enterprise.glassfish.bootstrap.ASMain"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			writeTree(t, root, tc.files)
			got := fingerprintAll(t, root, fingerprint.Process{PID: 9, Name: "java", Cmdline: tc.cmdline, Cwd: "/"})
			wantFindings(t, withoutOS(got), contract.Finding{Kind: "Java"})
		})
	}
}

// hostBranding is a branding file outside any fixture root.
func hostBranding(t *testing.T) string {
	p := t.TempDir() + "/glassfish-version.properties"
	if err := os.WriteFile(p, []byte("product_name=Host Secret\nmajor_version=6\nminor_version=6\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
