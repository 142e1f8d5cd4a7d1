package sandbox

import "testing"

// BenchmarkPtraceWatchersIndex is the /proc walk Run shares between the fingerprints of a
// scan (at most one per watcherTTL).
func BenchmarkPtraceWatchersIndex(b *testing.B) {
	requireRoot(b)
	for b.Loop() {
		if _, err := indexPtraceCapable(); err != nil {
			b.Fatal(err)
		}
	}
}
