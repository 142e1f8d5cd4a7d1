package main

import (
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/openshift/insights-runtime-extractor/test/e2e/expect"
	"github.com/openshift/insights-runtime-extractor/test/localnode"
)

func TestParseCost(t *testing.T) {
	log := `{"time":"x","level":"INFO","msg":"scan done","scanned":14}
{"time":"x","level":"INFO","msg":"scan cost","self":131000000,"self_max_rss_kib":49800,"cri":5000000,"proc":18000000,"plan":1000000,"sandbox":81000000,"write":8000000,"helpers":63000000,"fpr_java":{"runs":2,"cpu":11000000},"fpr_os":{"runs":14,"cpu":59000000}}
`
	got, err := parseCost([]byte(log))
	if err != nil {
		t.Fatal(err)
	}
	want := &scanCost{Self: 131 * time.Millisecond, SelfMaxRSSKiB: 49800, CRI: 5 * time.Millisecond, Proc: 18 * time.Millisecond,
		Plan: time.Millisecond, Sandbox: 81 * time.Millisecond, Write: 8 * time.Millisecond, Helpers: 63 * time.Millisecond,
		Fingerprints: map[string]job{"fpr_java": {2, 11 * time.Millisecond}, "fpr_os": {14, 59 * time.Millisecond}}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("parseCost = %+v, want %+v", got, want)
	}
	if o := got.other(); o != 18*time.Millisecond {
		t.Errorf("other = %s, want 18ms", o)
	}
	if f := got.fingerprintCPU(); f != 70*time.Millisecond {
		t.Errorf("fingerprintCPU = %s, want 70ms", f)
	}
	for _, bad := range []string{"", `{"msg":"scan done"}`, `{"msg":"scan cost","self":"1s"}`} {
		if _, err := parseCost([]byte(bad)); err == nil {
			t.Errorf("parseCost(%q) succeeded", bad)
		}
	}
}

func TestIntDefaultAndHasFlag(t *testing.T) {
	help := []byte(`usage: coordinator [flags] [container-id,container-id,...]
  -cache
    	answer from the previous scans (default true)
  -concurrency int
    	containers scanned at once (1 keeps a busy node undisturbed) (default 4)
  -stats
    	log the scan's CPU time
  -workers int
    	a flag with a zero default
`)
	if got := intDefault(help, "concurrency"); got != 4 {
		t.Errorf("concurrency default = %d, want 4", got)
	}
	if got := intDefault(help, "workers"); got != 0 {
		t.Errorf("workers default = %d, want 0", got)
	}
	if !hasFlag(help, "stats") || !hasFlag(help, "cache") || hasFlag(help, "stat") || hasFlag(help, "log-format") {
		t.Error("hasFlag is wrong")
	}
}

func TestParseSizes(t *testing.T) {
	got, err := parseSizes("400, 14,100,14")
	if err != nil || !reflect.DeepEqual(got, []int{14, 100, 400}) {
		t.Errorf("parseSizes = %v, %v", got, err)
	}
	for _, bad := range []string{"", "0", "10,x"} {
		if _, err := parseSizes(bad); err == nil {
			t.Errorf("parseSizes(%q) succeeded", bad)
		}
	}
}

// The mix holds one JVM in ten, every JVM sample among the first 30.
func TestMix(t *testing.T) {
	count := map[string]int{}
	for i := range 400 {
		count[sampleAt(i)]++
	}
	jvm := 0
	for _, s := range jvms {
		jvm += count[s]
		if count[s] == 0 {
			t.Errorf("no %s", s)
		}
	}
	if jvm != 40 {
		t.Errorf("%d JVMs of 400", jvm)
	}
	for _, s := range samples() {
		if count[s] == 0 {
			t.Errorf("sample %s never runs", s)
		}
	}
}

func TestWritePlot(t *testing.T) {
	cost := &scanCost{Self: 100 * time.Millisecond, Helpers: 50 * time.Millisecond, Fingerprints: map[string]job{"fpr_os": {14, 60 * time.Millisecond}}}
	rows := []row{
		{n: 14, cold: time.Second, repeat: 10 * time.Millisecond, direct: run{wall: time.Second, total: 300 * time.Millisecond, cost: cost}, base: []run{{wall: 2 * time.Second, total: time.Second}}},
		{n: 100, cold: 5 * time.Second, repeat: 50 * time.Millisecond, direct: run{wall: 4 * time.Second, total: 2 * time.Second, cost: cost}, base: []run{{wall: 9 * time.Second, total: 8 * time.Second}}},
	}
	path := filepath.Join(t.TempDir(), "bench.svg")
	if err := writePlot(path, rows); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	d := xml.NewDecoder(strings.NewReader(string(b)))
	for {
		if _, err := d.Token(); err != nil {
			if !errors.Is(err, io.EOF) {
				t.Fatalf("not well-formed XML: %v", err)
			}
			break
		}
	}
	for _, want := range []string{"CPU per container (ms)", "wall time (s)", "baseline total", "repeat GET", "<polyline"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("the plot has no %q", want)
		}
	}
}

func TestCompare(t *testing.T) {
	pod := func(name, id string) benchPod {
		return benchPod{pod: &localnode.Pod{Name: name, Namespace: "bench", Containers: []localnode.Container{{Name: "app", ID: id}}}, sample: "python"}
	}
	pods := []benchPod{pod("bench-000", "a1"), pod("bench-001", "b2")}
	want := func(benchPod) (string, error) {
		return expect.Canonical(expect.Entry{OS: "debian", OSVersion: "12", Kind: "Python", KindVersion: "Python 3.11.2"}.Fields()), nil
	}
	entry := `{"os":"debian","osVersion":"12","kind":"Python","kindVersion":"Python 3.11.2"}`
	for _, tc := range []struct {
		name, body string
		ok         bool
	}{
		{"exact", `{"bench":{"bench-000":{"containerd://a1":` + entry + `},"bench-001":{"containerd://b2":` + entry + `}}}`, true},
		{"a value differs", `{"bench":{"bench-000":{"containerd://a1":` + entry + `},"bench-001":{"containerd://b2":{"os":"debian","osVersion":"12","kind":"Python"}}}}`, false},
		{"a container is missing", `{"bench":{"bench-000":{"containerd://a1":` + entry + `}}}`, false},
		{"one more container", `{"bench":{"bench-000":{"containerd://a1":` + entry + `},"bench-001":{"containerd://b2":` + entry + `}},"x":{"y":{"containerd://c3":{}}}}`, false},
		{"not JSON", `500 Internal Server Error`, false},
	} {
		err := compare([]byte(tc.body), pods, "containerd://", want)
		if (err == nil) != tc.ok {
			t.Errorf("%s: compare = %v", tc.name, err)
		}
	}
}
