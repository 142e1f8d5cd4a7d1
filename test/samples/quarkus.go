package samples

import "fmt"

// QuarkusHome is where Red Hat's UBI OpenJDK images keep a Quarkus fast-jar.
const QuarkusHome = "/deployments/quarkus-app"

// QuarkusFastJar writes a Quarkus fast-jar application as `quarkus build`
// lays it out: quarkus-run.jar whose Class-Path names the lib/boot jars (the
// one with QuarkusEntryPoint among them), lib/main/io.quarkus.quarkus-core-<v>.jar
// carrying the Quarkus version, app/ and quarkus/ beside. quarkus-run.jar's own
// Implementation-Version is the application's, a trap for a detector that
// reads the wrong manifest.
func QuarkusFastJar(root, version string) (Sample, error) {
	classes, err := SleeperClasses("io.quarkus.bootstrap.runner.QuarkusEntryPoint")
	if err != nil {
		return Sample{}, err
	}
	runner := fmt.Sprintf("lib/boot/io.quarkus.quarkus-bootstrap-runner-%s.jar", version)
	logging := "lib/boot/org.jboss.logging.jboss-logging-3.6.0.Final.jar"
	jars := []struct {
		path     string
		manifest []byte
		entries  []Entry
	}{
		{"quarkus-run.jar", Manifest(
			Attr{"Created-By", "Quarkus"},
			Attr{"Implementation-Title", "code-with-quarkus"},
			Attr{"Implementation-Version", "1.0.0-SNAPSHOT"},
			Attr{"Main-Class", "io.quarkus.bootstrap.runner.QuarkusEntryPoint"},
			Attr{"Class-Path", logging + " " + runner},
		), nil},
		{runner, Manifest(
			Attr{"Implementation-Title", "Quarkus - Bootstrap - Runner"},
			Attr{"Implementation-Version", version},
			Attr{"Implementation-Vendor", "JBoss by Red Hat"},
		), classEntries(classes)},
		{logging, Manifest(
			Attr{"Implementation-Title", "JBoss Logging 3"},
			Attr{"Implementation-Version", "3.6.0.Final"},
		), []Entry{{Name: "org/jboss/logging/README", Data: []byte("stand-in\n")}}},
		{fmt.Sprintf("lib/main/io.quarkus.quarkus-core-%s.jar", version), Manifest(
			Attr{"Implementation-Title", "Quarkus - Core - Runtime"},
			Attr{"Implementation-Version", version},
			Attr{"Implementation-Vendor", "JBoss by Red Hat"},
			Attr{"Specification-Version", version},
		), []Entry{{Name: "io/quarkus/runtime/README", Data: []byte("stand-in\n")}}},
		{"app/code-with-quarkus-1.0.0-SNAPSHOT.jar", Manifest(), []Entry{{Name: "application.properties", Data: []byte("quarkus.http.port=8080\n")}}},
		{"quarkus/generated-bytecode.jar", Manifest(), nil},
	}
	for _, j := range jars {
		if err := WriteJar(Sample{Root: root}.HostPath(QuarkusHome+"/"+j.path), j.manifest, j.entries...); err != nil {
			return Sample{}, err
		}
	}
	if err := writeFile(root, QuarkusHome+"/quarkus-app-dependencies.txt", []byte("io.quarkus:quarkus-core::jar:"+version+"\n")); err != nil {
		return Sample{}, err
	}
	return Sample{
		Root:    root,
		Cmdline: []string{"java", "-Dquarkus.http.host=0.0.0.0", "-jar", QuarkusHome + "/quarkus-run.jar"},
		Cwd:     "/deployments",
		Kind:    "Java", RuntimeName: "Quarkus", RuntimeVersion: version,
	}, nil
}
