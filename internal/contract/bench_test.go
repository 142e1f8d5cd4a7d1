package contract

import (
	"bytes"
	"io"
	"testing"
)

// benchFinding is what a Quarkus container yields: every field and runtimes.
var benchFinding = Finding{
	OS: "rhel", OSVersion: "9.4", Kind: "Java", KindVersion: "21.0.5", KindImplementer: "Red Hat, Inc.",
	Runtimes: []Runtime{{"Quarkus", "3.15.3.redhat-00002"}, {"Vert.x", "4.5.10"}},
}

// BenchmarkFindingEncode measures what each fingerprint run ends with:
// printing its finding.
func BenchmarkFindingEncode(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if err := benchFinding.Encode(io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeFinding measures the coordinator's side of each run:
// reading a fingerprint's output back.
func BenchmarkDecodeFinding(b *testing.B) {
	var out bytes.Buffer
	if err := benchFinding.Encode(&out); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeFinding(bytes.NewReader(out.Bytes())); err != nil {
			b.Fatal(err)
		}
	}
}
