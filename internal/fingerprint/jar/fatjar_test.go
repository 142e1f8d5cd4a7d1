package jar

import (
	"archive/zip"
	"bytes"
	"slices"
	"strings"
	"testing"
)

// zipFiles writes a zip of the named files, in order, with a launch script
// before it as Spring Boot's fully executable jars have.
func zipFiles(t testing.TB, files [][2]string) []byte {
	t.Helper()
	var b bytes.Buffer
	b.WriteString("#!/bin/sh\nexec java -jar \"$0\"\n")
	z := zip.NewWriter(&b)
	z.SetOffset(int64(b.Len()))
	for _, f := range files {
		w, err := z.CreateHeader(&zip.FileHeader{Name: f[0], Method: zip.Deflate})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(f[1])); err != nil {
			t.Fatal(err)
		}
	}
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestNestedJarsAndPomProperties(t *testing.T) {
	data := zipFiles(t, [][2]string{
		{"META-INF/MANIFEST.MF", "Main-Class: io.vertx.core.Launcher\r\n"},
		{"BOOT-INF/lib/undertow-core-2.3.18.Final.jar", "PK"},
		{"WEB-INF/lib-provided/jetty-server-12.0.16.jar", "PK"},
		{"BOOT-INF/lib/sub/not-a-lib-1.0.jar", "PK"},
		{"lib/elsewhere-1.0.jar", "PK"},
		{"META-INF/maven/io.vertx/vertx-core/pom.properties", "artifactId=vertx-core\ngroupId=io.vertx\nversion=4.5.11\n"},
		{"META-INF/maven/z.other/vertx-core/pom.properties", "version=0.0.0\n"},
		{"META-INF/maven/io.vertx/too/deep/pom.properties", "version=1\n"},
	})
	j, err := Open(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := j.NestedJars(), []string{"BOOT-INF/lib/undertow-core-2.3.18.Final.jar", "WEB-INF/lib-provided/jetty-server-12.0.16.jar"}; !slices.Equal(got, want) {
		t.Errorf("NestedJars() = %q, want %q", got, want)
	}
	got, ok, err := j.PomProperties("vertx-core")
	if err != nil || !ok || !strings.Contains(string(got), "version=4.5.11") {
		t.Errorf("PomProperties(vertx-core) = %q %v %v, want the io.vertx one", got, ok, err)
	}
	if _, ok, err := j.PomProperties("deep"); ok || err != nil {
		t.Errorf("PomProperties(deep) = %v %v, want none", ok, err)
	}
}

func TestPomPropertiesBomb(t *testing.T) {
	data := zipFiles(t, [][2]string{{"META-INF/maven/g/a/pom.properties", "version=1\n" + strings.Repeat("#", 64<<20)}})
	j, err := Open(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	if got, ok, err := j.PomProperties("a"); !ok || err == nil || got != nil {
		t.Errorf("PomProperties of a 64 MiB bomb = %d bytes, %v %v, want an error", len(got), ok, err)
	}
}
