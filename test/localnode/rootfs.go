package localnode

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/openshift/insights-runtime-extractor/test/debpkg"
	"github.com/openshift/insights-runtime-extractor/test/flock"
)

// DefaultCacheDir holds what is slow to build (the Debian root file system),
// outside any checkout, so that repeated runs and several checkouts share it.
const DefaultCacheDir = "/var/cache/insights-runtime-extractor"

// CacheDirEnv names the environment variable that moves the cache (e.g. to
// measure a cold run, or onto a CI cache volume).
const CacheDirEnv = "IRE_CACHE_DIR"

// DebianRecipe says how the shared Debian base root file system is made. Its
// hash names the cache entry: change anything here and a new rootfs is built.
type DebianRecipe struct {
	Suite    string   `json:"suite"`
	Mirror   string   `json:"mirror"`
	Variant  string   `json:"variant"`
	Packages []string `json:"packages"`
	// Trim lists paths (relative to the rootfs, globs allowed) removed after
	// debootstrap to keep the layer small.
	Trim []string `json:"trim"`
	// Format changes when the way the cache entry is packed changes.
	Format int `json:"format"`
}

// Debian12 is the one base every Debian sample shares: one rootfs layer,
// built once per recipe, keeps a cold run within CI's time.
func Debian12() DebianRecipe {
	mirror := os.Getenv("IRE_DEBIAN_MIRROR")
	if mirror == "" {
		mirror = "http://deb.debian.org/debian"
	}
	return DebianRecipe{
		Suite:    "bookworm",
		Mirror:   mirror,
		Variant:  "minbase",
		Packages: []string{"python3", "nodejs", "openjdk-17-jre-headless", "tomcat10", "jetty9", "ruby", "php8.2-cli", "php8.2-fpm", "erlang-base", "elixir", "mono-runtime", "libmono-corlib4.5-cil"},
		Trim: []string{
			"var/cache/apt/archives/*.deb", "var/lib/apt/lists/*",
			"usr/share/doc/*", "usr/share/man/*", "usr/share/locale/*", "usr/share/info/*",
			"var/log/*.log", "var/cache/debconf/*-old",
		},
		Format: 1,
	}
}

// Key is the sha256 of the recipe: the name of its cache entry.
func (r DebianRecipe) Key() string {
	b, _ := json.Marshal(r)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Rootfs is a cached Debian root file system.
type Rootfs struct {
	// Dir is the unpacked tree: read expected values (os-release, the JDK's
	// release file) from it.
	Dir string
	// Layer is the gzip-compressed layer tar of Dir, shared by every Debian image.
	Layer string
}

// EnsureRootfs returns the cached rootfs for r under cacheDir, building it
// with debootstrap first when it is missing. Concurrent callers (two test
// runs, two checkouts) are serialised by a lock file; a half-built entry is
// never used because it is only renamed into place when complete.
func EnsureRootfs(ctx context.Context, log *slog.Logger, cacheDir string, r DebianRecipe) (*Rootfs, error) {
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return nil, fmt.Errorf("create cache dir: %w", err)
	}
	key := r.Key()
	final := filepath.Join(cacheDir, "debian-"+key)
	res := &Rootfs{Dir: filepath.Join(final, "rootfs"), Layer: filepath.Join(final, "layer.tar.gz")}
	unlock, err := flock.Lock(ctx, final+".lock")
	if err != nil {
		return nil, err
	}
	defer unlock()
	if _, err := os.Stat(filepath.Join(final, "complete")); err == nil {
		log.Info("using cached Debian rootfs", "dir", final)
		return res, nil
	}
	if err := debpkg.Ensure(ctx, log, "debootstrap"); err != nil {
		return nil, err
	}
	tmp := final + ".tmp"
	if err := os.RemoveAll(tmp); err != nil {
		return nil, err
	}
	os.RemoveAll(final)
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return nil, err
	}
	start := time.Now()
	log.Info("building Debian rootfs with debootstrap (about a minute, cached afterwards)", "suite", r.Suite, "packages", r.Packages, "mirror", r.Mirror)
	args := []string{"--variant=" + r.Variant, "--include=" + strings.Join(r.Packages, ","), r.Suite, filepath.Join(tmp, "rootfs"), r.Mirror}
	cmd := exec.CommandContext(ctx, "debootstrap", args...)
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	if err := runLogged(log, "debootstrap "+r.Suite, true, cmd); err != nil {
		return nil, err
	}
	for _, pattern := range r.Trim {
		matches, err := filepath.Glob(filepath.Join(tmp, "rootfs", pattern))
		if err != nil {
			return nil, err
		}
		for _, m := range matches {
			if err := os.RemoveAll(m); err != nil {
				return nil, fmt.Errorf("trim rootfs: %w", err)
			}
		}
	}
	if err := writeTarGz(filepath.Join(tmp, "rootfs"), filepath.Join(tmp, "layer.tar.gz")); err != nil {
		return nil, err
	}
	recipe, _ := json.MarshalIndent(r, "", "  ")
	if err := os.WriteFile(filepath.Join(tmp, "recipe.json"), recipe, 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(tmp, "complete"), nil, 0o644); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, final); err != nil {
		return nil, fmt.Errorf("publish rootfs: %w", err)
	}
	log.Info("Debian rootfs built", "dir", final, "took", time.Since(start).Round(time.Second))
	return res, nil
}
