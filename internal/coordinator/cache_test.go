package coordinator

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/openshift/insights-runtime-extractor/internal/cri"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint"
	"github.com/openshift/insights-runtime-extractor/internal/process"
	"github.com/openshift/insights-runtime-extractor/internal/result"
)

// A repeat scan of unchanged workloads runs no fingerprint and stores the same
// entries; a restarted process, or one whose fingerprint failed, is scanned again.
func TestScanCache(t *testing.T) {
	cfg, err := fingerprint.ParseConfig(strings.NewReader(config))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), ".scan-cache")
	containers := lister{cs: []cri.Container{ctr("a", 100), ctr("b", 200)}}
	procs := workloads{
		100: {PID: 110, NSPID: 7, Name: "node", StartTime: 5},
		200: {PID: 220, NSPID: 1, Name: "server", StartTime: 9},
	}
	out := map[string]string{
		"fpr_os@110":                 "os-release-id=debian\n",
		"fpr_version_executable@110": "runtime-kind=Node.js\nruntime-kind-version=v18.20.4\n",
		"fpr_os@220":                 "os-release-id=alpine\n",
	} // fpr_native_executable@220 fails: b's entry is incomplete
	scan := func() (*runner, *store) {
		t.Helper()
		cache, err := LoadCache(dir)
		if err != nil {
			t.Fatal(err)
		}
		r, st := &runner{out: out}, &store{}
		s := Scan{Config: cfg, Containers: containers, Processes: snapshot(procs), Sandbox: r, Store: st,
			FingerprintsDir: "/fpr", Log: slog.New(slog.DiscardHandler), Cache: cache}
		if _, err := s.Run(context.Background(), nil); err != nil {
			t.Fatal(err)
		}
		return r, st
	}

	first, firstStore := scan()
	if len(first.ran) != 4 {
		t.Fatalf("first scan ran %v, want 4 fingerprints", first.ran)
	}
	second, secondStore := scan()
	want := []string{"fpr_os@220 uid=0", "fpr_native_executable@220 uid=0"}
	if diff := cmp.Diff(want, second.ran); diff != "" {
		t.Errorf("second scan runs (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(firstStore.cs, secondStore.cs, cmpByPID); diff != "" {
		t.Errorf("second scan entries differ (-first +second):\n%s", diff)
	}

	procs[100] = process.Process{PID: 110, NSPID: 7, Name: "node", StartTime: 6} // same pid, new process
	third, _ := scan()
	if !containsAll(third.ran, "fpr_os@110 uid=0", "fpr_version_executable@110 uid=0") {
		t.Errorf("a restarted process was not scanned again: %v", third.ran)
	}
}

// Only the containers still running stay in the cache file.
func TestCacheSaveForgetsContainersGone(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "c")
	c, err := LoadCache(dir)
	if err != nil {
		t.Fatal(err)
	}
	a, b := ctr("a", 1), ctr("b", 2)
	c.Put(cacheKey(a, process.Process{PID: 1}), entryOf(a))
	c.Put(cacheKey(b, process.Process{PID: 2}), entryOf(b))
	if err := c.Save([]cri.Container{b}); err != nil {
		t.Fatal(err)
	}
	again, err := LoadCache(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := again.Get(cacheKey(a, process.Process{PID: 1})); ok {
		t.Error("container a is gone but still cached")
	}
	if got, ok := again.Get(cacheKey(b, process.Process{PID: 2})); !ok || got.ContainerID != b.Key() {
		t.Errorf("container b not cached: %+v %v", got, ok)
	}
}

// The cache lives on the volume shared with the exporter: a file anyone else
// could have written is not trusted, and broken content is ignored.
func TestLoadCacheRefusesUntrustedFiles(t *testing.T) {
	tests := []struct {
		name    string
		prepare func(dir string) error
	}{
		{"group-writable file", func(dir string) error {
			p := filepath.Join(dir, "cache.json")
			if err := os.WriteFile(p, []byte(`{}`), 0o600); err != nil {
				return err
			}
			return os.Chmod(p, 0o664) // WriteFile's mode passes through the umask
		}},
		{"group-writable directory", func(dir string) error {
			return os.Chmod(dir, 0o775)
		}},
		{"symlink", func(dir string) error {
			return os.Symlink("/etc/hostname", filepath.Join(dir, "cache.json"))
		}},
		{"not JSON", func(dir string) error {
			return os.WriteFile(filepath.Join(dir, "cache.json"), []byte("\x00garbage"), 0o600)
		}},
		{"too big", func(dir string) error {
			return os.WriteFile(filepath.Join(dir, "cache.json"), make([]byte, maxCacheSize+1), 0o600)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "c")
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := tc.prepare(dir); err != nil {
				t.Fatal(err)
			}
			c, err := LoadCache(dir)
			if err == nil {
				t.Fatal("LoadCache trusted it")
			}
			if c == nil || len(c.old) != 0 {
				t.Fatalf("want an empty usable cache, got %+v", c)
			}
		})
	}
}

var cmpByPID = cmp.Transformer("byPID", func(in []resultContainer) map[int]resultContainer {
	m := map[int]resultContainer{}
	for _, c := range in {
		m[c.PID] = c
	}
	return m
})

func containsAll(have []string, want ...string) bool {
	for _, w := range want {
		found := false
		for _, h := range have {
			found = found || h == w
		}
		if !found {
			return false
		}
	}
	return true
}

type resultContainer = result.Container

func entryOf(c cri.Container) result.Container {
	return result.Container{PID: c.PID, PodName: c.PodName, PodNamespace: c.PodNamespace, ContainerID: c.Key()}
}
