package process

import (
	"os"
	"testing"
)

// BenchmarkSnapshot measures one walk of this machine's /proc: the cost a
// scan pays once, whatever the number of containers.
func BenchmarkSnapshot(b *testing.B) {
	var n int
	for b.Loop() {
		tree, err := Snapshot("/proc")
		if err != nil {
			b.Fatal(err)
		}
		n = tree.Len()
	}
	b.ReportMetric(float64(n), "processes")
}

// BenchmarkWorkload measures the per-container cost after the snapshot:
// the leaf walk and the reads of the chosen process's files.
func BenchmarkWorkload(b *testing.B) {
	tree, err := Snapshot("/proc")
	if err != nil {
		b.Fatal(err)
	}
	pid := os.Getpid()
	for b.Loop() {
		if _, err := tree.Workload(pid, recognizes); err != nil {
			b.Fatal(err)
		}
	}
}
