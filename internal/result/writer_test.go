package result

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openshift/insights-runtime-extractor/internal/contract"
)

// quarkus is a fully detected container, as the coordinator writes it.
var quarkus = Container{
	PID:          4242,
	PodName:      "quarkus-app-5d8f",
	PodNamespace: "shop",
	ContainerID:  "cri-o://0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
	Finding: contract.Finding{
		OS:              "rhel",
		OSVersion:       "8.10",
		Kind:            "Java",
		KindVersion:     "17.0.13",
		KindImplementer: "Red Hat, Inc.",
		Runtimes: []contract.Runtime{
			{Name: "Quarkus", Version: "3.15.3.redhat-00002"}, {Name: "Vert.x", Version: "4.5.1"}, {Name: "Netty", Version: ""},
		},
	},
	ReportedBy: map[string]string{"Quarkus": "java", "Vert.x": "app-server", "Netty": "app-server"},
}

// TestWriterFilesAreExact pins the bytes of every file: the result directory
// is a contract with any exporter (SPEC §4).
func TestWriterFilesAreExact(t *testing.T) {
	w, err := Create(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Add(quarkus); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"container-info.txt":          "container-id=cri-o://0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\npod-name=quarkus-app-5d8f\npod-namespace=shop\n",
		"os.txt":                      "os-release-id=rhel\nos-release-version-id=8.10\n",
		"runtime-kind.txt":            "runtime-kind=Java\nruntime-kind-implementer=Red Hat, Inc.\nruntime-kind-version=17.0.13\n",
		"java-fingerprints.txt":       "Quarkus=3.15.3.redhat-00002\n",
		"app-server-fingerprints.txt": "Netty=\nVert.x=4.5.1\n",
	}
	got := readTree(t, filepath.Join(w.Dir(), "4242"))
	if !reflect.DeepEqual(got, want) {
		t.Errorf("files:\n%q\nwant\n%q", got, want)
	}
}

func TestWriterOmitsWhatWasNotDetected(t *testing.T) {
	w, err := Create(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	c := Container{PID: 7, PodName: "p", PodNamespace: "ns", ContainerID: "containerd://ab", Finding: contract.Finding{OS: "alpine", Kind: "  "}}
	if err := w.Add(c); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"container-info.txt": "container-id=containerd://ab\npod-name=p\npod-namespace=ns\n",
		"os.txt":             "os-release-id=alpine\n",
	}
	if got := readTree(t, filepath.Join(w.Dir(), "7")); !reflect.DeepEqual(got, want) {
		t.Errorf("files = %q, want %q", got, want)
	}
}

func TestWriterRefusesValuesThatBreakTheFormat(t *testing.T) {
	tests := []struct {
		name    string
		change  func(c *Container)
		wantErr string
	}{
		{"zero pid", func(c *Container) { c.PID = 0 }, "invalid pid 0"},
		{"empty pod name", func(c *Container) { c.PodName = " " }, "pod-name is empty"},
		{"empty namespace", func(c *Container) { c.PodNamespace = "" }, "pod-namespace is empty"},
		{"empty container id", func(c *Container) { c.ContainerID = `""` }, "container-id is empty"},
		{"newline in a value", func(c *Container) { c.Finding.OSVersion = "8.10\nruntime-kind=Evil" }, "not one line of printable text"},
		{"carriage return in a value", func(c *Container) { c.Finding.Kind = "Java\rX" }, "not one line of printable text"},
		{"NUL in a value", func(c *Container) { c.Finding.KindImplementer = "a\x00b" }, "not one line of printable text"},
		{"invalid UTF-8", func(c *Container) { c.Finding.OS = "rh\xffel" }, "not one line of printable text"},
		{"line longer than 4 KiB", func(c *Container) { c.Finding.KindVersion = strings.Repeat("9", MaxLineSize) }, "longer than 4096"},
		{"'=' in a runtime name", func(c *Container) { c.Finding.Runtimes = []contract.Runtime{{Name: "a=b", Version: "1"}} }, `invalid runtime name "a=b"`},
		{"empty runtime name", func(c *Container) { c.Finding.Runtimes = []contract.Runtime{{Name: "", Version: "1"}} }, "invalid runtime name"},
		{"newline in a runtime version", func(c *Container) { c.Finding.Runtimes = []contract.Runtime{{Name: "Q", Version: "1\n2"}} }, "not one line"},
		{"path in a fingerprint name", func(c *Container) {
			c.Finding.Runtimes, c.ReportedBy = []contract.Runtime{{Name: "Q"}}, map[string]string{"Q": "../x"}
		}, `invalid fingerprint name "../x"`},
		{"empty fingerprint name", func(c *Container) {
			c.Finding.Runtimes, c.ReportedBy = []contract.Runtime{{Name: "Q"}}, map[string]string{"Q": ""}
		}, `invalid fingerprint name ""`},
		{"a value longer than the contract allows", func(c *Container) { c.Finding.OS = strings.Repeat("x", contract.MaxValueLen+1) }, "at most 256 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := Create(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			c := quarkus
			tt.change(&c)
			err = w.Add(c)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Add = %v, want error containing %q", err, tt.wantErr)
			}
			entries, _ := os.ReadDir(w.Dir())
			if len(entries) != 0 {
				t.Errorf("a refused container left %d entries", len(entries))
			}
		})
	}
}

func TestWriterRefusesSamePIDTwice(t *testing.T) {
	w, err := Create(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Add(quarkus); err != nil {
		t.Fatal(err)
	}
	if err := w.Add(quarkus); err == nil {
		t.Fatal("second Add of the same pid succeeded")
	}
}

// TestWriterRoundTrip writes containers concurrently and reads back exactly
// what was written, values trimmed as the reader trims them.
func TestWriterRoundTrip(t *testing.T) {
	w, err := Create(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var want []Container
	for i := 1; i <= 60; i++ {
		c := quarkus
		c.PID = i
		c.PodName = fmt.Sprintf("pod-%d", i)
		c.ContainerID = fmt.Sprintf("containerd://%064x", i)
		want = append(want, c)
	}
	var wg sync.WaitGroup
	for _, c := range want {
		wg.Go(func() {
			if err := w.Add(c); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	got, err := Read(w.Dir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range want { // the reader sorts the runtimes by name, then version
		want[i].Finding.Runtimes = []contract.Runtime{
			{Name: "Netty", Version: ""}, {Name: "Quarkus", Version: "3.15.3.redhat-00002"}, {Name: "Vert.x", Version: "4.5.1"},
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("read back %d containers, differ from the %d written:\n%+v\nwant\n%+v", len(got), len(want), got[0], want[0])
	}

	trimmed := Container{PID: 99, PodName: " p ", PodNamespace: `"ns"`, ContainerID: "'containerd://ab'", Finding: contract.Finding{OSVersion: ` "8.10" `}}
	if err := w.Add(trimmed); err != nil {
		t.Fatal(err)
	}
	got, err = Read(w.Dir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	last := got[len(got)-1]
	if last.PodName != "p" || last.PodNamespace != "ns" || last.ContainerID != "containerd://ab" || last.Finding.OSVersion != "8.10" {
		t.Errorf("trimmed values read back as %+v", last)
	}
}

func TestCreateStampsAreUniqueAndDated(t *testing.T) {
	dataDir := t.TempDir()
	before := time.Now().Add(-time.Second)
	dirs := make(chan string, 200)
	var wg sync.WaitGroup
	for range 200 {
		wg.Go(func() {
			w, err := Create(dataDir)
			if err != nil {
				t.Error(err)
				return
			}
			dirs <- w.Dir()
		})
	}
	wg.Wait()
	close(dirs)
	seen := map[string]bool{}
	for d := range dirs {
		if seen[d] {
			t.Fatalf("directory %s created twice", d)
		}
		seen[d] = true
		if filepath.Dir(d) != dataDir {
			t.Fatalf("%s is not a direct child of %s", d, dataDir)
		}
		at, ok := StampTime(filepath.Base(d))
		if !ok || at.Before(before) || at.After(time.Now()) {
			t.Fatalf("StampTime(%s) = %v, %v", filepath.Base(d), at, ok)
		}
	}
	if len(seen) != 200 {
		t.Fatalf("%d directories, want 200", len(seen))
	}
	for _, name := range []string{"out-", "out-x-1", "in-20261125T032622.123456789Z-00", "out-20261125T032622.123456789Z"} {
		if _, ok := StampTime(name); ok {
			t.Errorf("StampTime(%q) accepted a name Create never makes", name)
		}
	}
}

// readTree returns file name -> content of the regular files of dir.
func readTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files[e.Name()] = string(data)
	}
	return files
}

// Merge keeps what is already there, as contract.Finding.Merge does, and
// names the fingerprint of each runtime it adds: that is the file it goes to.
func TestContainerMergeRecordsTheReporter(t *testing.T) {
	var c Container
	c.Merge("os", contract.Finding{OS: "rhel"})
	c.Merge("java", contract.Finding{Kind: "Java", Runtimes: []contract.Runtime{{Name: "Quarkus", Version: "3.15.1"}}})
	c.Merge("native-executable", contract.Finding{Kind: "GraalVM", Runtimes: []contract.Runtime{
		{Name: "Quarkus", Version: "9"}, {Name: "Netty"},
	}})
	want := Container{
		Finding:    contract.Finding{OS: "rhel", Kind: "Java", Runtimes: []contract.Runtime{{Name: "Quarkus", Version: "3.15.1"}, {Name: "Netty"}}},
		ReportedBy: map[string]string{"Quarkus": "java", "Netty": "native-executable"},
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("merged %+v, want %+v", c, want)
	}
	c.PID, c.PodName, c.PodNamespace, c.ContainerID = 5, "p", "ns", "cri-o://ab"
	w, err := Create(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Add(c); err != nil {
		t.Fatal(err)
	}
	got := readTree(t, filepath.Join(w.Dir(), "5"))
	if got["java-fingerprints.txt"] != "Quarkus=3.15.1\n" || got["native-executable-fingerprints.txt"] != "Netty=\n" {
		t.Errorf("fingerprints files %q", got)
	}

	// A runtime whose fingerprint is not named goes to a file of its own.
	c.PID, c.ReportedBy = 6, nil
	if err := w.Add(c); err != nil {
		t.Fatal(err)
	}
	got = readTree(t, filepath.Join(w.Dir(), "6"))
	if got[OtherRuntimes+FingerprintsSuffix] != "Netty=\nQuarkus=3.15.1\n" {
		t.Errorf("fingerprints files %q", got)
	}
}
