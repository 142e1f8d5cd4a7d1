package jar

import (
	"archive/zip"
	"bytes"
	"testing"
)

// BenchmarkManifest measures what a Java fingerprint does with each jar it
// reads: find the central directory of a jar of 2000 entries and inflate its
// manifest.
func BenchmarkManifest(b *testing.B) {
	data := zipOf(b, nil, 2000, []byte("Manifest-Version: 1.0\r\nMain-Class: io.quarkus.bootstrap.runner.QuarkusEntryPoint\r\nImplementation-Version: 3.15.1\r\n\r\n"), zip.Deflate)
	b.ReportAllocs()
	for b.Loop() {
		j, err := Open(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			b.Fatal(err)
		}
		m, err := j.Manifest()
		if err != nil || m.Get("Implementation-Version") != "3.15.1" {
			b.Fatal(m, err)
		}
	}
}
