package versionout

import "testing"

// BenchmarkParse measures reading a version command's output, once per
// interpreter container.
func BenchmarkParse(b *testing.B) {
	stdout, stderr := []byte("\n  Python 3.11.2\n"), []byte("")
	b.ReportAllocs()
	for b.Loop() {
		if Parse(stdout, stderr) != "Python 3.11.2" {
			b.Fatal("wrong version")
		}
	}
}
