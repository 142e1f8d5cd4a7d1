package coordinator

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/openshift/insights-runtime-extractor/internal/cri"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint/rules"
	"github.com/openshift/insights-runtime-extractor/internal/process"
	"github.com/openshift/insights-runtime-extractor/internal/result"
)

// A repeat scan of unchanged workloads runs no fingerprint and stores the same
// entries; a restarted process, or one whose fingerprint failed, is scanned again.
func TestScanCache(t *testing.T) {
	cfg, err := rules.Parse(strings.NewReader(config))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), ".scan-cache")
	containers := &lister{cs: []cri.Container{ctr("a", 100), ctr("b", 200)}}
	procs := workloads{
		100: {PID: 110, NSPID: 7, Name: "node", StartTime: 5},
		200: {PID: 220, NSPID: 1, Name: "server", StartTime: 9},
	}
	out := map[string]string{
		"fpr_os@110":                 "os-release-id=debian\n",
		"fpr_version_executable@110": "runtime-kind=Node.js\nruntime-kind-version=v18.20.4\n",
		"fpr_os@220":                 "os-release-id=alpine\n",
	} // fpr_native_executable@220 fails: b's entry is incomplete
	scan := func() (*runner, *store, Summary) {
		t.Helper()
		cache, err := LoadCache(dir)
		if err != nil {
			t.Fatal(err)
		}
		r, st := &runner{out: out}, &store{}
		s := Scan{Config: cfg, Containers: containers, Processes: snapshot(procs), Sandbox: r, Store: st,
			FingerprintsDir: "/fpr", Log: slog.New(slog.DiscardHandler), Cache: cache}
		sum, err := s.Run(context.Background(), nil)
		if err != nil {
			t.Fatal(err)
		}
		return r, st, sum
	}

	first, firstStore, firstSum := scan()
	if len(first.ran) != 4 {
		t.Fatalf("first scan ran %v, want 4 fingerprints", first.ran)
	}
	if firstSum.CacheHits != 0 {
		t.Errorf("first scan: %d cache hits, want 0", firstSum.CacheHits)
	}
	second, secondStore, secondSum := scan()
	wantSum := Summary{Listed: 2, Selected: 2, Scanned: 2, CacheHits: 1, Fingerprints: map[string]result.FingerprintCounts{
		"os": {Runs: 1}, "native-executable": {Runs: 1, Failures: 1},
	}}
	if diff := cmp.Diff(wantSum, secondSum); diff != "" {
		t.Errorf("second scan summary (-want +got):\n%s", diff)
	}
	want := []string{"fpr_os@220 uid=0", "fpr_native_executable@220 uid=0"}
	if diff := cmp.Diff(want, second.ran); diff != "" {
		t.Errorf("second scan runs (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(firstStore.cs, secondStore.cs, cmpByPID); diff != "" {
		t.Errorf("second scan entries differ (-first +second):\n%s", diff)
	}

	procs[100] = process.Process{PID: 110, NSPID: 7, Name: "node", StartTime: 6} // same pid, new process
	third, _, _ := scan()
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

// A cache file written before init pids were remembered is an empty cache,
// not an error: the next scan is simply cold.
func TestLoadCacheOfAnOlderFormatIsEmpty(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "c")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, old := range []string{
		`{"containerd://aa/110/5":{"pid":110,"containerId":"containerd://aa"}}`,
		// Before the finding was one contract.Finding: its fields would read as empty.
		`{"entries":{"containerd://aa/110/5":{"PID":110,"ContainerID":"containerd://aa","OSID":"rhel"}}}`,
	} {
		if err := os.WriteFile(filepath.Join(dir, "cache.json"), []byte(old), 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := LoadCache(dir)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := c.Get("containerd://aa/110/5"); ok || len(c.old) != 0 || len(c.oldInits) != 0 {
			t.Errorf("older format not ignored: %+v", c)
		}
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

// A container whose init the cache remembers, and whose init this scan's
// snapshot still holds with the remembered start time, costs no status call;
// any doubt costs one status call for that container alone.
func TestScanCacheSparesStatusOfUnchangedContainers(t *testing.T) {
	cfg, err := rules.Parse(strings.NewReader(config))
	if err != nil {
		t.Fatal(err)
	}
	a, b := ctr("a", 100), ctr("b", 200)
	out := map[string]string{
		"fpr_os@110":                 "os-release-id=debian\n",
		"fpr_version_executable@110": "runtime-kind=Node.js\nruntime-kind-version=v18.20.4\n",
		"fpr_os@220":                 "os-release-id=alpine\n",
		"fpr_native_executable@220":  "runtime-kind=Golang\nruntime-kind-version=go1.26.8\n",
		"fpr_os@330":                 "os-release-id=fedora\n",
		"fpr_version_executable@330": "runtime-kind=Node.js\nruntime-kind-version=v20.0.0\n",
	}
	nodeApp := process.Process{PID: 110, NSPID: 7, Name: "node", StartTime: 1010}
	goApp := process.Process{PID: 220, NSPID: 1, Name: "server", StartTime: 2020}
	// Before the second scan, as the first scan saw the node.
	before := func() (*lister, table) {
		return &lister{cs: []cri.Container{a, b}},
			table{workloads: workloads{100: nodeApp, 200: goApp}, starts: map[int]uint64{100: 1000, 200: 2000}}
	}
	type stored struct {
		ContainerID string
		PID         int
	}
	tests := []struct {
		name      string
		noCache   bool
		change    func(l *lister, t table) table // what happened between the two scans
		wantAsked []string                       // status calls of the second scan
		wantRan   []string                       // fingerprints of the second scan
		want      []stored
		wantInits map[string]Init // remembered after the second scan
	}{
		{
			name:      "unchanged containers: no status call, no fingerprint, same entries",
			change:    func(_ *lister, t table) table { return t },
			want:      []stored{{a.Key(), 110}, {b.Key(), 220}},
			wantInits: map[string]Init{a.Key(): {100, 1000}, b.Key(): {200, 2000}},
		},
		{
			name: "init pid reused by another process (other start time): the runtime is asked, the container rescanned",
			change: func(l *lister, t table) table {
				l.cs[0].PID = 300 // what the runtime says now
				t.starts[100] = 1500
				t.starts[300] = 3000
				t.workloads[300] = process.Process{PID: 330, NSPID: 1, Name: "node", StartTime: 3030}
				return t
			},
			wantAsked: []string{a.ID},
			wantRan:   []string{"fpr_os@330 uid=0", "fpr_version_executable@330 uid=0"},
			want:      []stored{{b.Key(), 220}, {a.Key(), 330}},
			wantInits: map[string]Init{a.Key(): {300, 3000}, b.Key(): {200, 2000}},
		},
		{
			name: "init pid vanished and the container stopped: asked, then left out",
			change: func(l *lister, t table) table {
				l.gone = map[string]bool{a.ID: true}
				delete(t.starts, 100)
				delete(t.workloads, 100)
				return t
			},
			wantAsked: []string{a.ID},
			want:      []stored{{b.Key(), 220}},
			wantInits: map[string]Init{b.Key(): {200, 2000}},
		},
		{
			name: "container gone from the runtime: no call, dropped, forgotten",
			change: func(l *lister, t table) table {
				l.cs = l.cs[1:]
				delete(t.starts, 100)
				delete(t.workloads, 100)
				return t
			},
			want:      []stored{{b.Key(), 220}},
			wantInits: map[string]Init{b.Key(): {200, 2000}},
		},
		{
			name:      "-cache=false: every container is asked, every fingerprint runs",
			noCache:   true,
			change:    func(_ *lister, t table) table { return t },
			wantAsked: []string{a.ID, b.ID},
			wantRan: []string{"fpr_native_executable@220 uid=0", "fpr_os@110 uid=0", "fpr_os@220 uid=0",
				"fpr_version_executable@110 uid=0"},
			want: []stored{{a.Key(), 110}, {b.Key(), 220}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), ".scan-cache")
			scan := func(l *lister, procs table) (*runner, []stored) {
				t.Helper()
				var cache *Cache
				if !tc.noCache {
					if cache, err = LoadCache(dir); err != nil {
						t.Fatal(err)
					}
				}
				r, st := &runner{out: out}, &store{}
				s := Scan{Config: cfg, Containers: l, Processes: func() (Workloads, error) { return procs, nil },
					Sandbox: r, Store: st, FingerprintsDir: "/fpr", Log: slog.New(slog.DiscardHandler), Cache: cache}
				if _, err := s.Run(context.Background(), nil); err != nil {
					t.Fatal(err)
				}
				var got []stored
				for _, c := range st.cs {
					got = append(got, stored{c.ContainerID, c.PID})
				}
				slices.SortFunc(got, func(x, y stored) int { return x.PID - y.PID })
				return r, got
			}
			l, procs := before()
			if first, _ := scan(l, procs); len(first.ran) != 4 {
				t.Fatalf("first scan ran %v, want 4 fingerprints", first.ran)
			}
			l.asked = nil
			procs = tc.change(l, procs)
			r, got := scan(l, procs)

			slices.Sort(l.asked)
			if diff := cmp.Diff(tc.wantAsked, l.asked); diff != "" {
				t.Errorf("status calls (-want +got):\n%s", diff)
			}
			slices.Sort(r.ran)
			if diff := cmp.Diff(tc.wantRan, r.ran); diff != "" {
				t.Errorf("fingerprints run (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("stored entries (-want +got):\n%s", diff)
			}
			if tc.noCache {
				return
			}
			again, err := LoadCache(dir)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.wantInits, again.oldInits, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("remembered inits (-want +got):\n%s", diff)
			}
		})
	}
}

// Save replaces the file in one step, mode 0600 whatever the old file's mode
// or the umask (LoadCache trusts nothing else), and leaves nothing beside it.
func TestCacheSaveIsAtomicAndPrivate(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	dir := filepath.Join(t.TempDir(), "c")
	c, err := LoadCache(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "cache.json"), []byte("{}"), 0o666); err != nil {
		t.Fatal(err)
	}
	a := ctr("a", 1)
	c.Put(cacheKey(a, process.Process{PID: 1}), entryOf(a))
	if err := c.Save([]cri.Container{a}); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) != 1 || entries[0].Name() != "cache.json" {
		t.Fatalf("cache dir holds %v (%v), want cache.json alone", entries, err)
	}
	if st, err := os.Stat(filepath.Join(dir, "cache.json")); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("cache.json: %v, %v; want mode 0600", st.Mode(), err)
	}
	again, err := LoadCache(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := again.Get(cacheKey(a, process.Process{PID: 1})); !ok {
		t.Error("the saved entry is not read back")
	}
}
