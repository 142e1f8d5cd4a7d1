package java

import (
	"strings"
	"testing"
)

func TestVersionInJarName(t *testing.T) {
	for _, tc := range []struct{ name, file, want string }{
		{"micronaut-core", "micronaut-core-4.7.6.jar", "4.7.6"},
		{"undertow-core", "undertow-core-2.3.18.Final.jar", "2.3.18.Final"},
		{"jetty-server", "jetty-server-9.4.57.v20241219.jar", "9.4.57.v20241219"},
		{"jetty9-server", "jetty9-server.jar", ""},
		{"vertx-core", "vertx-core-logging-4.5.11.jar", ""},
		{"vertx-core", "vertx-core-4.5.11", ""},
		{"vertx-core", "vertx-core-.jar", ""},
		{"vertx-core", "xvertx-core-4.5.11.jar", ""},
	} {
		if got := versionInJarName(tc.name, tc.file); got != tc.want {
			t.Errorf("versionInJarName(%q, %q) = %q, want %q", tc.name, tc.file, got, tc.want)
		}
	}
}

// A jar name is the container's: whatever it is, the version is a digit-led
// part of it and the name matches as a rule's jar.
func FuzzVersionInJarName(f *testing.F) {
	f.Add("micronaut-core", "micronaut-core-4.7.6.jar")
	f.Add("a", "a-1.jar")
	f.Add("a", "a-.jar")
	f.Fuzz(func(t *testing.T, name, file string) {
		v := versionInJarName(name, file)
		if v == "" {
			return
		}
		if v[0] < '0' || v[0] > '9' || file != name+"-"+v+".jar" || !mainJarMatches(name, file) {
			t.Fatalf("versionInJarName(%q, %q) = %q", name, file, v)
		}
		if strings.HasSuffix(v, ".jar") && !strings.HasSuffix(file, ".jar.jar") {
			t.Fatalf("versionInJarName(%q, %q) = %q keeps .jar", name, file, v)
		}
	})
}
