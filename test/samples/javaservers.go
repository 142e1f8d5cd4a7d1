package samples

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Application servers and frameworks recognised without a launcher of their
// own. None of these products can be downloaded here (Debian ships none of
// them but Jetty), so their samples are stand-ins with the real products'
// layouts: the jar and file names, manifests and product files of their
// releases, with a main class that sleeps.

// LibertyHome is where the official Open Liberty images keep the install;
// WebSphere Liberty's images use /opt/ibm/wlp.
const (
	OpenLibertyHome      = "/opt/ol/wlp"
	WebSphereLibertyHome = "/opt/ibm/wlp"
)

// Liberty writes a Liberty install as its archive unpacks and its server
// script starts it: bin/tools/ws-server.jar (Main-Class
// com.ibm.ws.kernel.boot.cmdline.EnvCheck) started with -jar and the server
// name, and the product file lib/versions/openliberty.properties. With
// websphere, the install is WebSphere Liberty's: the same kernel plus
// lib/versions/WebSphereApplicationServer.properties.
func Liberty(root, version string, websphere bool) (Sample, error) {
	const envCheck = "com.ibm.ws.kernel.boot.cmdline.EnvCheck"
	classes, err := SleeperClasses(envCheck)
	if err != nil {
		return Sample{}, err
	}
	home, name := OpenLibertyHome, "Open Liberty"
	if websphere {
		home, name = WebSphereLibertyHome, "WebSphere Liberty"
	}
	s := Sample{Root: root}
	if err := WriteJar(s.HostPath(home+"/bin/tools/ws-server.jar"), Manifest(Attr{"Main-Class", envCheck}), classEntries(classes)...); err != nil {
		return Sample{}, err
	}
	files := map[string]string{
		"/lib/versions/openliberty.properties": "com.ibm.websphere.productId=io.openliberty\n" +
			"com.ibm.websphere.productOwner=IBM\n" +
			"com.ibm.websphere.productVersion=" + version + "\n" +
			"com.ibm.websphere.productName=Open Liberty\n" +
			"com.ibm.websphere.productInstallType=Archive\n" +
			"com.ibm.websphere.productEdition=Open\n" +
			"com.ibm.websphere.productLicenseType=EPL\n",
		"/usr/servers/defaultServer/server.xml": "<server description=\"new server\">\n  <featureManager>\n    <feature>restfulWS-3.1</feature>\n  </featureManager>\n</server>\n",
	}
	if websphere {
		files["/lib/versions/WebSphereApplicationServer.properties"] = "com.ibm.websphere.productId=com.ibm.websphere.appserver\n" +
			"com.ibm.websphere.productOwner=IBM\n" +
			"com.ibm.websphere.productVersion=" + version + "\n" +
			"com.ibm.websphere.productName=WebSphere Application Server\n" +
			"com.ibm.websphere.productInstallType=Archive\n" +
			"com.ibm.websphere.productEdition=BASE_ILAN\n" +
			"com.ibm.websphere.productLicenseType=ILAN\n"
	}
	for p, data := range files {
		if err := writeFile(root, home+p, []byte(data)); err != nil {
			return Sample{}, err
		}
	}
	return Sample{
		Root:    root,
		Cmdline: []string{"java", "-Djava.awt.headless=true", "-Xmx64m", "-jar", home + "/bin/tools/ws-server.jar", "defaultServer"},
		Cwd:     home,
		Kind:    "Java", RuntimeName: name, RuntimeVersion: version,
	}, nil
}

// GlassFish homes of the official images: Eclipse GlassFish 7 and Payara Server 6.
const (
	GlassFishInstallRoot = "/opt/glassfish7/glassfish"
	PayaraInstallRoot    = "/opt/payara/appserver/glassfish"
)

// GlassFish writes a GlassFish install as asadmin start-domain starts its
// domain: modules/glassfish.jar (holding ASMain) on the class path,
// -Dcom.sun.aas.installRoot and the branding file
// config/branding/glassfish-version.properties naming the product. With
// payara, the install is Payara Server's, whose branding file says so and
// carries its version as major.minor.update (6.2024.12).
func GlassFish(root, version string, payara bool) (Sample, error) {
	const asMain = "com.sun.enterprise.glassfish.bootstrap.ASMain"
	classes, err := SleeperClasses(asMain)
	if err != nil {
		return Sample{}, err
	}
	parts := strings.SplitN(version, ".", 3)
	for len(parts) < 3 {
		parts = append(parts, "")
	}
	install, product, abbrev := GlassFishInstallRoot, "Eclipse GlassFish", "GlassFish"
	if payara {
		install, product, abbrev = PayaraInstallRoot, "Payara Server", "Payara"
	}
	s := Sample{Root: root}
	if err := WriteJar(s.HostPath(install+"/modules/glassfish.jar"), Manifest(Attr{"Main-Class", asMain}), classEntries(classes)...); err != nil {
		return Sample{}, err
	}
	branding := "product_name=" + product + "\n" +
		"abbrev_product_name=" + abbrev + "\n" +
		"major_version=" + parts[0] + "\n" +
		"minor_version=" + parts[1] + "\n" +
		"update_version=" + parts[2] + "\n" +
		"build_id=b01\n" +
		"version_prefix=\n" +
		"version_suffix=\n"
	if payara {
		branding += "payara_version=\npayara_update_version=\n"
	}
	if err := writeFile(root, install+"/"+"config/branding/glassfish-version.properties", []byte(branding)); err != nil {
		return Sample{}, err
	}
	domain := install + "/domains/domain1"
	if err := writeFile(root, domain+"/config/domain.xml", []byte("<domain application-root=\"${com.sun.aas.instanceRoot}/applications\"/>\n")); err != nil {
		return Sample{}, err
	}
	return Sample{
		Root: root,
		Cmdline: []string{"java", "-cp", install + "/modules/glassfish.jar", "-Xmx64m",
			"-Dcom.sun.aas.installRoot=" + install, "-Dcom.sun.aas.instanceRoot=" + domain,
			asMain, "-upgrade", "false", "-domaindir", domain, "-domainname", "domain1", "-instancename", "server", "-type", "DAS", "-verbose", "true"},
		Cwd:  domain + "/config",
		Kind: "Java", RuntimeName: product, RuntimeVersion: version,
	}, nil
}

// Lib is one jar of an application's library directory: its file name (the
// real artifact's, with the version) and its manifest.
type Lib struct {
	Name  string
	Attrs []Attr
}

// App describes an application that starts its own main class with the jars
// of its framework beside it.
type App struct {
	Home      string // in the container
	MainClass string // the application's, e.g. com.example.Application
	// Jar, when set, is the application jar started with -jar: its manifest's
	// Class-Path names LibDir's jars (Micronaut's and Helidon's layouts).
	// Otherwise the command line is -cp "<Home>/<LibDir>/*" with the classes
	// in a jar of LibDir (an assembly's lib directory).
	Jar    string
	LibDir string
	Libs   []Lib
	Args   []string // after the main class or the jar
	// RuntimeName and RuntimeVersion are what the sample must report.
	RuntimeName, RuntimeVersion string
}

// ClassPathApp writes the application a describes.
func ClassPathApp(root string, a App) (Sample, error) {
	classes, err := SleeperClasses(a.MainClass)
	if err != nil {
		return Sample{}, err
	}
	s := Sample{Root: root}
	var classPath []string
	for _, l := range a.Libs {
		rel := a.LibDir + "/" + l.Name
		if err := WriteJar(s.HostPath(a.Home+"/"+rel), Manifest(l.Attrs...), Entry{Name: "META-INF/stand-in", Data: []byte(l.Name + "\n")}); err != nil {
			return Sample{}, err
		}
		classPath = append(classPath, rel)
	}
	var cmdline []string
	if a.Jar != "" {
		if err := WriteJar(s.HostPath(a.Home+"/"+a.Jar), Manifest(
			Attr{"Created-By", "Maven JAR Plugin 3.4.2"},
			Attr{"Build-Jdk-Spec", "21"},
			Attr{"Main-Class", a.MainClass},
			Attr{"Class-Path", strings.Join(classPath, " ")},
		), classEntries(classes)...); err != nil {
			return Sample{}, err
		}
		cmdline = append([]string{"java", "-Xmx64m", "-jar", a.Home + "/" + a.Jar}, a.Args...)
	} else {
		appJar := a.Home + "/" + a.LibDir + "/application.jar"
		if err := WriteJar(s.HostPath(appJar), Manifest(Attr{"Created-By", "Maven JAR Plugin 3.4.2"}), classEntries(classes)...); err != nil {
			return Sample{}, err
		}
		cmdline = append([]string{"java", "-Xmx64m", "-cp", a.Home + "/" + a.LibDir + "/*", a.MainClass}, a.Args...)
	}
	return Sample{
		Root:    root,
		Cmdline: cmdline,
		Cwd:     a.Home,
		Kind:    "Java", RuntimeName: a.RuntimeName, RuntimeVersion: a.RuntimeVersion,
	}, nil
}

// implementation is the manifest of a Maven-built library jar.
func implementation(title, version string) []Attr {
	return []Attr{{"Created-By", "Maven JAR Plugin 3.4.2"}, {"Implementation-Title", title}, {"Implementation-Version", version}}
}

// Micronaut writes a Micronaut application as the Micronaut Gradle plugin's
// Docker layout has it: /home/app/application.jar, whose Class-Path names
// the jars of /home/app/libs (micronaut-core-<v>.jar among them).
func Micronaut(root, version string) (Sample, error) {
	return ClassPathApp(root, App{
		Home: "/home/app", MainClass: "com.example.Application", Jar: "application.jar", LibDir: "libs",
		Libs: []Lib{
			{"micronaut-core-" + version + ".jar", []Attr{{"Automatic-Module-Name", "io.micronaut.core"}, {"Implementation-Version", version}}},
			{"micronaut-inject-" + version + ".jar", []Attr{{"Automatic-Module-Name", "io.micronaut.inject"}, {"Implementation-Version", version}}},
			{"micronaut-http-server-netty-" + version + ".jar", []Attr{{"Automatic-Module-Name", "io.micronaut.http.server.netty"}, {"Implementation-Version", version}}},
			{"netty-codec-http-4.1.115.Final.jar", implementation("Netty/Codec/HTTP", "4.1.115.Final")},
		},
		RuntimeName: "Micronaut", RuntimeVersion: version,
	})
}

// Helidon writes a Helidon SE application as Helidon's Maven build and
// Dockerfile lay it out: /helidon/<app>.jar started with -jar, its Class-Path
// naming libs/ (helidon-webserver-<v>.jar among them).
func Helidon(root, version string) (Sample, error) {
	return ClassPathApp(root, App{
		Home: "/helidon", MainClass: "io.helidon.examples.quickstart.se.Main", Jar: "helidon-quickstart-se.jar", LibDir: "libs",
		Libs: []Lib{
			{"helidon-webserver-" + version + ".jar", implementation("Helidon WebServer", version)},
			{"helidon-common-" + version + ".jar", implementation("Helidon Common", version)},
			{"helidon-config-" + version + ".jar", implementation("Helidon Config", version)},
		},
		RuntimeName: "Helidon", RuntimeVersion: version,
	})
}

// Shaded is a library shaded into an application's fat jar: the Maven
// coordinates its pom.properties keeps (maven-shade-plugin keeps them).
type Shaded struct{ Group, Artifact, Version string }

// ShadedApp writes an application fat jar as maven-shade-plugin builds it:
// the application's and its libraries' classes in one jar, each library's
// META-INF/maven/<group>/<artifact>/pom.properties kept, the application's
// manifest. mainClass is compiled into it (it sleeps).
func ShadedApp(root, jarPath string, manifest []Attr, mainClass string, libs []Shaded) error {
	classes, err := SleeperClasses(mainClass)
	if err != nil {
		return err
	}
	entries := classEntries(classes)
	for _, l := range append([]Shaded{{"com.example", "starter", "1.0.0-SNAPSHOT"}}, libs...) {
		entries = append(entries, Entry{
			Name: "META-INF/maven/" + l.Group + "/" + l.Artifact + "/pom.properties",
			Data: []byte("artifactId=" + l.Artifact + "\ngroupId=" + l.Group + "\nversion=" + l.Version + "\n"),
		})
	}
	return WriteJar(Sample{Root: root}.HostPath(jarPath), Manifest(manifest...), entries...)
}

// VertXFatJarPath is where the Vert.x sample's fat jar lives.
const VertXFatJarPath = "/deployments/starter-1.0.0-SNAPSHOT-fat.jar"

// VertX writes a Vert.x 4 application as the Vert.x starter's Maven build
// makes it: one shaded fat jar whose Main-Class is Vert.x's
// io.vertx.core.Launcher and Main-Verticle the application's, started with
// java -jar.
func VertX(root, version string) (Sample, error) {
	if err := ShadedApp(root, VertXFatJarPath, []Attr{
		{"Created-By", "Maven JAR Plugin 3.4.2"},
		{"Main-Class", "io.vertx.core.Launcher"},
		{"Main-Verticle", "com.example.starter.MainVerticle"},
	}, "io.vertx.core.Launcher", []Shaded{
		{"io.vertx", "vertx-core", version},
		{"io.vertx", "vertx-web", version},
		{"io.netty", "netty-handler", "4.1.115.Final"},
	}); err != nil {
		return Sample{}, err
	}
	return Sample{
		Root:    root,
		Cmdline: []string{"java", "-Xmx64m", "-jar", VertXFatJarPath},
		Cwd:     "/deployments",
		Kind:    "Java", RuntimeName: "Vert.x", RuntimeVersion: version,
	}, nil
}

// DropwizardFatJarPath is where the Dropwizard sample's fat jar lives.
const DropwizardFatJarPath = "/app/hello-world-1.0.0-SNAPSHOT.jar"

// Dropwizard writes a Dropwizard application as Dropwizard's getting
// started builds it: one shaded fat jar (dropwizard-core and the Jetty it
// embeds inside), started with java -jar, "server" and its configuration.
// It reports Dropwizard and the Eclipse Jetty it runs on.
func Dropwizard(root, version, jettyVersion string) (Sample, error) {
	const main = "com.example.helloworld.HelloWorldApplication"
	if err := ShadedApp(root, DropwizardFatJarPath, []Attr{
		{"Created-By", "Maven JAR Plugin 3.4.2"},
		{"Main-Class", main},
	}, main, []Shaded{
		{"io.dropwizard", "dropwizard-core", version},
		{"io.dropwizard", "dropwizard-jetty", version},
		{"org.eclipse.jetty", "jetty-server", jettyVersion},
	}); err != nil {
		return Sample{}, err
	}
	if err := writeFile(root, "/app/config.yml", []byte("server:\n  type: simple\n  connector:\n    type: http\n    port: 8080\n")); err != nil {
		return Sample{}, err
	}
	return Sample{
		Root:    root,
		Cmdline: []string{"java", "-Xmx64m", "-jar", DropwizardFatJarPath, "server", "/app/config.yml"},
		Cwd:     "/app",
		Kind:    "Java", RuntimeName: "Dropwizard", RuntimeVersion: version,
	}, nil
}

// Undertow writes an application embedding Undertow, started with an
// explicit class path of its jars (undertow-core-<v>.jar with XNIO).
func Undertow(root, version string) (Sample, error) {
	s, err := ClassPathApp(root, App{
		Home: "/app", MainClass: "com.example.UndertowServer", LibDir: "lib",
		Libs: []Lib{
			{"undertow-core-" + version + ".jar", implementation("Undertow Core", version)},
			{"xnio-api-3.8.16.Final.jar", implementation("XNIO API", "3.8.16.Final")},
			{"jboss-logging-3.6.1.Final.jar", implementation("JBoss Logging 3", "3.6.1.Final")},
		},
		RuntimeName: "Undertow", RuntimeVersion: version,
	})
	if err != nil {
		return s, err
	}
	// An explicit class path, jar by jar, instead of lib/*.
	var cp []string
	for _, j := range []string{"application.jar", "undertow-core-" + version + ".jar", "xnio-api-3.8.16.Final.jar", "jboss-logging-3.6.1.Final.jar"} {
		cp = append(cp, "lib/"+j)
	}
	s.Cmdline = []string{"java", "-Xmx64m", "-cp", strings.Join(cp, ":"), "com.example.UndertowServer"}
	return s, nil
}

// EmbeddedJettyClasses compiles an application that starts the real Jetty
// server found on its class path (org.eclipse.jetty.server.Server on an
// ephemeral port) and then waits; it uses reflection, so it compiles
// without Jetty. Returned by path in a jar.
func EmbeddedJettyClasses() (map[string][]byte, error) {
	const src = `package com.example;

public class EmbeddedJetty {
  public static void main(String[] args) throws Exception {
    Class<?> server = Class.forName("org.eclipse.jetty.server.Server");
    Object s = server.getConstructor(int.class).newInstance(0);
    server.getMethod("start").invoke(s);
    System.out.println("Jetty " + server.getMethod("getVersion").invoke(null) + " started");
    server.getMethod("join").invoke(s);
  }
}
`
	return compile("com.example.EmbeddedJetty", src)
}

// EmbeddedJetty writes /app/app.jar (EmbeddedJettyClasses) for Debian's
// Jetty 9.4 of the rootfs (package libjetty9-java), started with the jars
// of /usr/share/java on its class path as Debian names them.
func EmbeddedJetty(root string) (Sample, error) {
	classes, err := EmbeddedJettyClasses()
	if err != nil {
		return Sample{}, err
	}
	s := Sample{Root: root}
	if err := WriteJar(s.HostPath("/app/app.jar"), Manifest(), classEntries(classes)...); err != nil {
		return Sample{}, err
	}
	var cp []string
	for _, j := range []string{"servlet-api", "jetty9-server", "jetty9-http", "jetty9-io", "jetty9-util"} {
		cp = append(cp, "/usr/share/java/"+j+".jar")
	}
	cp = append(cp, "/app/app.jar")
	return Sample{
		Root:    root,
		Cmdline: []string{"java", "-Xmx64m", "-cp", strings.Join(cp, ":"), "com.example.EmbeddedJetty"},
		Cwd:     "/app",
		Kind:    "Java", RuntimeName: "Eclipse Jetty",
	}, nil
}

// compile compiles one class from its source and returns its class files by
// path in a jar (nested classes included).
func compile(fqcn, src string) (map[string][]byte, error) {
	jdk, err := FindJDK()
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "samples-javac-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	file := filepath.Join(tmp, fqcn[strings.LastIndexByte(fqcn, '.')+1:]+".java")
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		return nil, err
	}
	out := filepath.Join(tmp, "out")
	if b, err := exec.Command(filepath.Join(jdk, "bin", "javac"), "--release", "11", "-nowarn", "-d", out, file).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("javac: %w: %s", err, b)
	}
	classes := map[string][]byte{}
	err = filepath.Walk(out, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		rel, err := filepath.Rel(out, p)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(p)
		classes[filepath.ToSlash(rel)] = data
		return err
	})
	return classes, err
}
