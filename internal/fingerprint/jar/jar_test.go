package jar

import (
	"archive/zip"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openshift/insights-runtime-extractor/internal/fingerprint/manifest"
)

func openBytes(t testing.TB, b []byte) (*Jar, error) {
	t.Helper()
	return Open(bytes.NewReader(b), int64(len(b)))
}

// TestAgreesWithArchiveZipOnTheJarsOfThisMachine reads every jar the
// machine's JDKs and Debian's /usr/share/java hold with both this package and
// archive/zip + java.util.jar rules, and wants the same manifest.
func TestAgreesWithArchiveZipOnTheJarsOfThisMachine(t *testing.T) {
	var jars []string
	for _, pattern := range []string{"/usr/share/java/*.jar", "/usr/lib/jvm/*/lib/*.jar", "/usr/share/tomcat10/bin/*.jar"} {
		m, _ := filepath.Glob(pattern)
		jars = append(jars, m...)
	}
	if len(jars) == 0 {
		t.Skip("no jar on this machine")
	}
	checked := 0
	for _, path := range jars {
		data, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		z, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			continue
		}
		j, err := openBytes(t, data)
		if err != nil {
			t.Errorf("%s: %v", path, err)
			continue
		}
		if j.Entries() != len(z.File) {
			t.Errorf("%s: %d entries, archive/zip %d", path, j.Entries(), len(z.File))
		}
		var want []byte
		for _, f := range z.File {
			if strings.EqualFold(f.Name, ManifestPath) {
				rc, err := f.Open()
				if err != nil {
					t.Fatal(err)
				}
				want, _ = io.ReadAll(rc)
				rc.Close()
				break
			}
			if strings.HasSuffix(f.Name, ".class") && !j.HasClass(strings.ReplaceAll(strings.TrimSuffix(f.Name, ".class"), "/", ".")) {
				t.Errorf("%s: class %s not found", path, f.Name)
			}
		}
		got, err := j.Manifest()
		if want == nil {
			if !errors.Is(err, ErrNoManifest) {
				t.Errorf("%s: %v, want ErrNoManifest", path, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", path, err)
			continue
		}
		exp := manifest.Parse(want)
		for _, k := range []string{"Main-Class", "Implementation-Version", "Class-Path", "Created-By"} {
			if got.Get(k) != exp.Get(k) {
				t.Errorf("%s: %s = %q, want %q", path, k, got.Get(k), exp.Get(k))
			}
		}
		checked++
	}
	t.Logf("%d real jars read identically", checked)
}

func TestTomcatBootstrapJarOfDebian(t *testing.T) {
	const path = "/usr/share/tomcat10/bin/bootstrap.jar"
	f, err := os.Open(path)
	if err != nil {
		t.Skipf("%v (package tomcat10; the fingerprint tests install it)", err)
	}
	defer f.Close()
	st, _ := f.Stat()
	j, err := Open(f, st.Size())
	if err != nil {
		t.Fatal(err)
	}
	m, err := j.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if m.Get("Main-Class") != "org.apache.catalina.startup.Bootstrap" || m.Get("Implementation-Version") == "" {
		t.Errorf("Main-Class %q, Implementation-Version %q", m.Get("Main-Class"), m.Get("Implementation-Version"))
	}
	if !j.HasClass("org.apache.catalina.startup.Bootstrap") {
		t.Error("Bootstrap class not found")
	}
}

func zipOf(t testing.TB, prefix []byte, entries int, manifestData []byte, method uint16) []byte {
	t.Helper()
	var b bytes.Buffer
	b.Write(prefix)
	z := zip.NewWriter(&b)
	z.SetOffset(int64(len(prefix)))
	if manifestData != nil {
		w, err := z.CreateHeader(&zip.FileHeader{Name: ManifestPath, Method: method})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(manifestData); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < entries; i++ {
		if _, err := z.CreateHeader(&zip.FileHeader{Name: "e" + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + ".class", Method: zip.Store}); err != nil {
			t.Fatal(err)
		}
	}
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestBounds(t *testing.T) {
	mf := []byte("Manifest-Version: 1.0\r\nMain-Class: a.B\r\n\r\n")
	t.Run("10 000 entries are read", func(t *testing.T) {
		j, err := openBytes(t, zipOf(t, nil, MaxEntries-1, mf, zip.Deflate))
		if err != nil || j.Entries() != MaxEntries {
			t.Fatalf("%v", err)
		}
	})
	t.Run("10 001 entries are refused", func(t *testing.T) {
		if _, err := openBytes(t, zipOf(t, nil, MaxEntries, mf, zip.Deflate)); !errors.Is(err, ErrTooManyEntries) {
			t.Fatalf("%v", err)
		}
	})
	t.Run("zip64 directory of 70 000 entries is refused from its count", func(t *testing.T) {
		if _, err := openBytes(t, zipOf(t, nil, 70000, mf, zip.Store)); !errors.Is(err, ErrTooManyEntries) || !strings.Contains(err.Error(), "70001 entries") {
			t.Fatalf("%v", err)
		}
	})
	t.Run("an end record that lies about the count stops at 10 000 headers", func(t *testing.T) {
		data := zipOf(t, nil, 20000, mf, zip.Store)
		eocd := bytes.LastIndex(data, []byte("PK\x05\x06"))
		data[eocd+8], data[eocd+9], data[eocd+10], data[eocd+11] = 5, 0, 5, 0
		if _, err := openBytes(t, data); !errors.Is(err, ErrTooManyEntries) {
			t.Fatalf("%v", err)
		}
	})
	t.Run("a zip bomb manifest stops at 1 MiB", func(t *testing.T) {
		bomb := append([]byte("Manifest-Version: 1.0\r\n"), make([]byte, 200<<20)...)
		data := zipOf(t, nil, 0, bomb, zip.Deflate)
		if len(data) > 1<<20 {
			t.Fatalf("bomb of %d bytes compressed", len(data))
		}
		j, err := openBytes(t, data)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if _, err := j.Manifest(); !errors.Is(err, ErrManifestSize) {
			t.Fatalf("%v", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("took %v", d)
		}
	})
	t.Run("a launch script before the zip (Spring Boot fully executable jar)", func(t *testing.T) {
		data := zipOf(t, []byte("#!/bin/bash\nexec java -jar \"$0\" \"$@\"\n"), 3, mf, zip.Deflate)
		j, err := openBytes(t, data)
		if err != nil {
			t.Fatal(err)
		}
		m, err := j.Manifest()
		if err != nil || m.Get("Main-Class") != "a.B" {
			t.Fatalf("%q %v", m.Get("Main-Class"), err)
		}
	})
	t.Run("stored manifest", func(t *testing.T) {
		j, err := openBytes(t, zipOf(t, nil, 1, mf, zip.Store))
		if err != nil {
			t.Fatal(err)
		}
		if m, err := j.Manifest(); err != nil || m.Get("Main-Class") != "a.B" {
			t.Fatalf("%v", err)
		}
	})
	t.Run("not a zip", func(t *testing.T) {
		for _, b := range [][]byte{nil, []byte("PK"), bytes.Repeat([]byte{0}, 100000)} {
			if _, err := openBytes(t, b); !errors.Is(err, ErrNotZip) {
				t.Errorf("%d bytes: %v", len(b), err)
			}
		}
	})
	t.Run("entry names longer than the name buffer", func(t *testing.T) {
		// Found by FuzzJar: a name over 256 bytes panicked (testdata/fuzz).
		var b bytes.Buffer
		z := zip.NewWriter(&b)
		long := strings.Repeat("a/", 2000) + "Long.class"
		for _, n := range []string{long, ManifestPath} {
			w, err := z.Create(n)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.Write(mf); err != nil {
				t.Fatal(err)
			}
		}
		if err := z.Close(); err != nil {
			t.Fatal(err)
		}
		j, err := openBytes(t, b.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		if !j.HasClass(strings.ReplaceAll(strings.TrimSuffix(long, ".class"), "/", ".")) {
			t.Error("long class name not found")
		}
		if m, err := j.Manifest(); err != nil || m.Get("Main-Class") != "a.B" {
			t.Errorf("manifest after a long name: %v", err)
		}
	})
	t.Run("no manifest", func(t *testing.T) {
		j, err := openBytes(t, zipOf(t, nil, 2, nil, zip.Store))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := j.Manifest(); !errors.Is(err, ErrNoManifest) {
			t.Fatalf("%v", err)
		}
	})
}

func FuzzJar(f *testing.F) {
	// testdata/fuzz/FuzzJar/small-jar seeds a small jar as the JDK writes it (made with
	// test/samples.WriteJar: a manifest with Main-Class and Class-Path, and a/B.class).
	f.Add(zipOf(f, []byte("#!/bin/sh\n"), 2, []byte("A: b\n"), zip.Store))
	if real, err := os.ReadFile("/usr/share/tomcat10/bin/bootstrap.jar"); err == nil {
		f.Add(real)
	}
	f.Add(zipFiles(f, [][2]string{{"BOOT-INF/lib/a-1.jar", "PK"}, {"META-INF/maven/g/a/pom.properties", "version=1\n"}}))
	f.Add([]byte("PK\x05\x06\x00\x00\x00\x00\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x00\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		j, err := Open(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		_, _ = j.Manifest()
		_ = j.HasClass("a.B")
		for _, n := range j.NestedJars() {
			if !strings.HasSuffix(n, ".jar") {
				t.Fatalf("nested %q", n)
			}
		}
		if data, _, _ := j.PomProperties("a"); len(data) > MaxPomPropertiesSize {
			t.Fatalf("pom.properties of %d bytes", len(data))
		}
	})
}
