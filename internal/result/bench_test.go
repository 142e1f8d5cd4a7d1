package result

import "testing"

// BenchmarkWriterAdd measures writing one container's entry of a result
// directory (its directory and up to five files), once per container scanned.
func BenchmarkWriterAdd(b *testing.B) {
	w, err := Create(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	c := quarkus
	b.ReportAllocs()
	for b.Loop() {
		c.PID++
		if err := w.Add(c); err != nil {
			b.Fatal(err)
		}
	}
}
