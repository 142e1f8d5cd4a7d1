package rules

import (
	"path/filepath"
	"testing"

	"github.com/openshift/insights-runtime-extractor/internal/fingerprint"
)

// BenchmarkPlan measures choosing the fingerprints of one process with the
// shipped config.toml, once per container scanned, for the common shapes.
func BenchmarkPlan(b *testing.B) {
	c, err := Load(filepath.Join("..", "..", "..", "config.toml"))
	if err != nil {
		b.Fatal(err)
	}
	env := []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOSTNAME=app", "HOME=/root", "LANG=C.UTF-8"}
	for _, tc := range []struct {
		name string
		p    fingerprint.Process
	}{
		{"java", fingerprint.Process{PID: 1, Name: "java", Cmdline: []string{"java", "-Xmx64m", "-jar", "/app/quarkus-run.jar"}, Env: env, Cwd: "/app", Exe: "/usr/lib/jvm/java-17-openjdk-amd64/bin/java"}},
		{"python", fingerprint.Process{PID: 1, Name: "python3", Cmdline: []string{"python3", "-m", "http.server"}, Env: env, Cwd: "/", Exe: "/usr/bin/python3.11"}},
		{"native", fingerprint.Process{PID: 1, Name: "server", Cmdline: []string{"/server"}, Env: env, Cwd: "/", Exe: "/server"}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if len(c.Plan(tc.p)) == 0 {
					b.Fatal("empty plan")
				}
			}
		})
	}
}

// BenchmarkRecognizes measures the test the /proc walk makes of each process
// name of a container to find its workload.
func BenchmarkRecognizes(b *testing.B) {
	c, err := Load(filepath.Join("..", "..", "..", "config.toml"))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		c.Recognizes("sleep")
		c.Recognizes("java")
	}
}
