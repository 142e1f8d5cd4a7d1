package samples

import "testing"

// Every Java server and framework sample really runs: its main class, found
// through the product's layout (-jar and Class-Path, -cp lib/*, a shaded
// fat jar), starts.
func TestJavaServerSamplesRun(t *testing.T) {
	jdk := needJDK(t)
	for _, tc := range []struct {
		name, main string
		gen        func(root string) (Sample, error)
	}{
		{"open liberty", "com.ibm.ws.kernel.boot.cmdline.EnvCheck", func(r string) (Sample, error) { return Liberty(r, "24.0.0.12", false) }},
		{"payara", "com.sun.enterprise.glassfish.bootstrap.ASMain", func(r string) (Sample, error) { return GlassFish(r, "6.2024.12", true) }},
		{"micronaut", "com.example.Application", func(r string) (Sample, error) { return Micronaut(r, "4.7.6") }},
		{"helidon", "io.helidon.examples.quickstart.se.Main", func(r string) (Sample, error) { return Helidon(r, "4.1.4") }},
		{"vert.x", "io.vertx.core.Launcher", func(r string) (Sample, error) { return VertX(r, "4.5.11") }},
		{"dropwizard", "com.example.helloworld.HelloWorldApplication", func(r string) (Sample, error) { return Dropwizard(r, "4.0.8", "11.0.24") }},
		{"undertow", "com.example.UndertowServer", func(r string) (Sample, error) { return Undertow(r, "2.3.18.Final") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := tc.gen(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			runUntilStarted(t, jdk, s, tc.main+" started")
		})
	}
}

func TestEmbeddedJettyCompiles(t *testing.T) {
	needJDK(t)
	classes, err := EmbeddedJettyClasses()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := classes["com/example/EmbeddedJetty.class"]; !ok {
		t.Fatalf("classes %v", classes)
	}
}
