package coordinator

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/google/renameio/v2"

	"github.com/openshift/insights-runtime-extractor/internal/cri"
	"github.com/openshift/insights-runtime-extractor/internal/process"
	"github.com/openshift/insights-runtime-extractor/internal/result"
)

// maxCacheSize bounds the cache file read at start; a bigger file is ignored.
const maxCacheSize = 16 << 20

// Cache remembers what the fingerprints reported for a workload process, so a
// repeat request whose containers did not change runs no fingerprint at all.
// An entry is keyed by container id, workload pid and the pid's start time: a
// restarted container or a new process under the same pid misses.
// It also remembers each container's init pid and that pid's start time, so
// that the runtime need not be asked for it again (see Scan.confirmInits).
// Only the coordinator (root) reads and writes it, outside any result directory.
type Cache struct {
	path     string
	mu       sync.Mutex
	old      map[string]result.Container
	now      map[string]result.Container
	oldInits map[string]Init
	nowInits map[string]Init
	backoffs map[string]Backoff // by cacheKey
}

// Backoff periods: a workload whose fingerprints timed out is skipped for
// backoffFirst, and for twice as long after each further timeout, up to
// backoffMax. The Insights Operator gathers every few hours: a container that
// keeps stopping its fingerprints soon costs nothing at all.
const (
	backoffFirst = 15 * time.Minute
	backoffMax   = 24 * time.Hour
)

// Backoff is a workload whose fingerprints timed out: the scans run none of
// them until Until. Period is the length of the last backoff, which the next
// timeout doubles. Entry, when set, is what the fingerprints that did finish
// found: the scans answer it meanwhile, as the scan that timed out did.
type Backoff struct {
	Container string            `json:"container"` // its container key, to forget it with its container
	Until     time.Time         `json:"until"`
	Period    time.Duration     `json:"period"`
	Entry     *result.Container `json:"entry,omitempty"`
}

// Init is a container's init process: a pid and its start time (clock ticks
// after boot, as process.Process.StartTime) name one process for the life of
// the boot, where a pid alone may be reused.
type Init struct {
	PID       int    `json:"pid"`
	StartTime uint64 `json:"start_time"`
}

// cacheFile is the cache's JSON form. A file in an older form decodes to
// empty maps: the next scan is simply cold. The entries are named after
// their form: "entries" held the entries before the finding became one
// contract.Finding, and must not be read as the new form, where its fields
// would be silently empty for as long as the container runs.
type cacheFile struct {
	Entries  map[string]result.Container `json:"containers"`
	Inits    map[string]Init             `json:"inits"`    // by container key
	Backoffs map[string]Backoff          `json:"backoffs"` // by cacheKey
}

// LoadCache reads the cache in dir, creating dir (mode 0700) when missing.
// A missing, oversized, unreadable or foreign file gives an empty cache and an
// error to log: a cache never fails a scan. dir lives on the volume shared with
// the exporter, so only a file of our own that nobody else may write is trusted.
func LoadCache(dir string) (*Cache, error) {
	c := &Cache{
		path: filepath.Join(dir, "cache.json"),
		old:  map[string]result.Container{}, now: map[string]result.Container{},
		oldInits: map[string]Init{}, nowInits: map[string]Init{},
		backoffs: map[string]Backoff{},
	}
	if err := os.Mkdir(dir, 0o700); err != nil && !os.IsExist(err) {
		return c, fmt.Errorf("create scan cache dir: %w", err)
	}
	for _, p := range []string{dir, c.path} {
		if err := ownedPrivately(p); err != nil {
			if os.IsNotExist(err) {
				return c, nil
			}
			return c, fmt.Errorf("scan cache not trusted: %w", err)
		}
	}
	f, err := os.OpenFile(c.path, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return c, fmt.Errorf("open scan cache: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxCacheSize+1))
	if err != nil {
		return c, fmt.Errorf("read scan cache %s: %w", c.path, err)
	}
	if len(data) > maxCacheSize {
		return c, fmt.Errorf("scan cache %s larger than %d bytes: ignored", c.path, maxCacheSize)
	}
	var file cacheFile
	if err := json.Unmarshal(data, &file); err != nil {
		return c, fmt.Errorf("scan cache %s unreadable, ignored: %w", c.path, err)
	}
	if file.Entries != nil {
		c.old = file.Entries
	}
	if file.Inits != nil {
		c.oldInits = file.Inits
	}
	if file.Backoffs != nil {
		c.backoffs = file.Backoffs
	}
	return c, nil
}

// ownedPrivately checks that p is no symlink, belongs to this process's user
// and is writable by nobody else.
func ownedPrivately(p string) error {
	fi, err := os.Lstat(p)
	if err != nil {
		return err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	switch {
	case fi.Mode()&os.ModeSymlink != 0:
		return fmt.Errorf("%s is a symlink", p)
	case !ok || int(st.Uid) != os.Geteuid():
		return fmt.Errorf("%s is not owned by uid %d", p, os.Geteuid())
	case fi.Mode().Perm()&0o022 != 0:
		return fmt.Errorf("%s is writable by others (mode %s)", p, fi.Mode().Perm())
	}
	return nil
}

func cacheKey(c cri.Container, p process.Process) string {
	return fmt.Sprintf("%s/%d/%d", c.Key(), p.PID, p.StartTime)
}

// Get returns the entry remembered for key.
func (c *Cache) Get(key string) (result.Container, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.now[key]
	if !ok {
		e, ok = c.old[key]
	}
	return e, ok
}

// Put remembers entry under key.
func (c *Cache) Put(key string, entry result.Container) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now[key] = entry
}

// Init returns the init process remembered for the container key.
func (c *Cache) Init(key string) (Init, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	i, ok := c.oldInits[key]
	return i, ok
}

// PutInit remembers the init process of the container key, as this scan confirmed it.
func (c *Cache) PutInit(key string, i Init) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.nowInits[key] = i
}

// BackedOff returns the backoff of the workload key of the container ctr
// when it holds at now.
func (c *Cache) BackedOff(key, ctr string, now time.Time) (Backoff, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, ok := c.backoffs[key]
	if !ok || b.Container != ctr || !now.Before(b.Until) {
		return Backoff{}, false
	}
	// A clock set back must not hold a container for longer than the longest period.
	if b.Until.Sub(now) > backoffMax {
		return Backoff{}, false
	}
	return b, true
}

// PutBackoff remembers that the fingerprints of workload key, of container
// ctr, timed out at now: it is skipped for backoffFirst, or for twice its
// last period when it timed out before. entry, when not nil, is what the
// others found, answered meanwhile.
func (c *Cache) PutBackoff(key, ctr string, now time.Time, entry *result.Container) {
	c.mu.Lock()
	defer c.mu.Unlock()
	period := backoffFirst
	if b, ok := c.backoffs[key]; ok && b.Container == ctr && b.Period > 0 {
		period = min(2*b.Period, backoffMax)
	}
	c.backoffs[key] = Backoff{Container: ctr, Until: now.Add(period), Period: period, Entry: entry}
}

// ClearBackoff forgets the backoff of workload key: its fingerprints finished.
func (c *Cache) ClearBackoff(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.backoffs, key)
}

// Save writes the entries and backoffs of the containers still running (keyed
// as cacheKey does), so the file never outgrows the node's container count,
// and the init processes this scan confirmed: a remembered one it did not
// confirm may be stale.
func (c *Cache) Save(running []cri.Container) error {
	alive := make(map[string]bool, len(running))
	for _, r := range running {
		alive[r.Key()] = true
	}
	c.mu.Lock()
	keep := make(map[string]result.Container, len(c.now))
	for _, m := range []map[string]result.Container{c.old, c.now} {
		for k, e := range m {
			if alive[e.ContainerID] {
				keep[k] = e
			}
		}
	}
	inits := make(map[string]Init, len(c.nowInits))
	for k, i := range c.nowInits {
		if alive[k] {
			inits[k] = i
		}
	}
	backoffs := make(map[string]Backoff, len(c.backoffs))
	for k, b := range c.backoffs {
		if alive[b.Container] {
			backoffs[k] = b
		}
	}
	c.mu.Unlock()
	data, err := json.Marshal(cacheFile{Entries: keep, Inits: inits, Backoffs: backoffs})
	if err != nil {
		return fmt.Errorf("encode scan cache: %w", err)
	}
	// Readers see the old file or the new one, never a part of it, even after
	// a crash (the file is synced before the rename). 0600 whatever the old
	// file's mode or the umask: LoadCache trusts no file others may write.
	pending, err := renameio.NewPendingFile(c.path,
		renameio.WithTempDir(filepath.Dir(c.path)), renameio.WithStaticPermissions(0o600))
	if err != nil {
		return fmt.Errorf("write scan cache: %w", err)
	}
	defer pending.Cleanup()
	if _, err := pending.Write(data); err != nil {
		return fmt.Errorf("write scan cache: %w", err)
	}
	if err := pending.CloseAtomicallyReplace(); err != nil {
		return fmt.Errorf("write scan cache: %w", err)
	}
	return nil
}
