package release

import (
	"archive/tar"
	"bytes"
	"context"
	"debug/buildinfo"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"golang.org/x/sys/unix"
)

// The FIPS module snapshot that ships inside every Go >= 1.24 distribution
// (GOROOT/lib/fips140), so a FIPS build needs no network.
const fipsModule = "v1.0.0"

// maxBinary bounds what the test reads of one file of an image.
const maxBinary = 256 << 20

// TestBuildImagePushesMultiArchManifestLists runs `make build-image` offline:
// buildah builds both Containerfiles for linux/amd64 and linux/arm64 from a Go
// builder image made of this machine's toolchain and a scratch base, and
// pushes the manifest lists to a local registry. It then pulls them back with
// skopeo and checks every image's platform, configuration, exact file list,
// modes and, for each binary, its ELF machine, static linking and build
// settings (CGO off, FIPS module selected by the GOFIPS140 build argument).
func TestBuildImagePushesMultiArchManifestLists(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("image build test skipped: needs root for buildah's private storage")
	}
	if testing.Short() {
		t.Skip("image build test skipped in -short mode: builds two images for two architectures")
	}
	repo := repoRoot(t)
	fprs := fingerprintExecutables(t, repo)
	if len(fprs) == 0 {
		t.Fatal("no fingerprints/fpr_* in this checkout")
	}
	ensureAptTools(t, map[string]string{"buildah": "buildah", "docker-registry": "docker-registry", "skopeo": "skopeo"})

	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	w := newWorkspace(t)
	builder := w.makeGoBuilder(ctx, t)
	registry := startRegistry(ctx, t, w.dir)

	const tag = "offline-test"
	imageRegistry := registry + "/insights-runtime-extractor-test"
	gocache := goEnv(t, "GOCACHE")
	gomodcache := goEnv(t, "GOMODCACHE")
	// The builder is offline: the modules of tools/crictl come from this machine's cache.
	download := exec.CommandContext(ctx, "go", "mod", "download")
	download.Dir = filepath.Join(repo, "tools", "crictl")
	if out, err := download.CombinedOutput(); err != nil {
		t.Fatalf("go mod download in tools/crictl: %v\n%s", err, out)
	}
	make := exec.CommandContext(ctx, "make", "-C", repo, "build-image")
	make.Env = append(w.env(),
		"IMAGE_REGISTRY="+imageRegistry,
		"TAG="+tag,
		"BUILD_TOOL=buildah",
		"BUILDER_IMAGE="+builder,
		"BASE_IMAGE=scratch",
		"GOFIPS140="+fipsModule,
		"TLS_VERIFY=false",
		// Offline: the module and build caches of this machine, and no pull.
		"BUILD_FLAGS=--pull=never --volume "+gomodcache+":/gomodcache --volume "+gocache+":/gocache",
	)
	start := time.Now()
	out, err := make.CombinedOutput()
	if err != nil {
		t.Fatalf("make build-image: %v\n%s", err, tail(out, 6000))
	}
	t.Logf("make build-image: both images, both architectures, built and pushed in %s", time.Since(start).Round(time.Second))

	config, err := os.ReadFile(filepath.Join(repo, "config.toml"))
	if err != nil {
		t.Fatal(err)
	}
	extractorFiles := map[string]wantFile{
		"extractor_server": {mode: 0o755, binary: true},
		"coordinator":      {mode: 0o755, binary: true},
		"sandbox_helper":   {mode: 0o755, binary: true},
		"config.toml":      {mode: 0o444, content: config},
		// For the Insights Operator's liveness probe `crictl --timeout 10s info`.
		"usr":            {mode: 0o755, dir: true},
		"usr/bin":        {mode: 0o755, dir: true},
		"usr/bin/crictl": {mode: 0o755, binary: true},
	}
	for _, f := range fprs {
		// Execute-only keeps a fingerprint non-dumpable inside the target container.
		extractorFiles[f] = wantFile{mode: 0o111, binary: true}
	}
	tests := []struct {
		name       string
		image      string
		entrypoint []string
		user       string
		files      map[string]wantFile
	}{
		{
			name:       "extractor image holds the servers, the fingerprints and config.toml",
			image:      "insights-runtime-extractor",
			entrypoint: []string{"/extractor_server"},
			user:       "0",
			files:      extractorFiles,
		},
		{
			name:       "exporter image holds only the exporter and runs as a numeric non-root user",
			image:      "insights-runtime-exporter",
			entrypoint: []string{"/exporter"},
			user:       "65532:65532",
			files:      map[string]wantFile{"exporter": {mode: 0o755, binary: true}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ref := imageRegistry + "/" + tc.image + ":" + tag
			dir := filepath.Join(w.dir, "pulled", tc.image)
			if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
				t.Fatal(err)
			}
			pull := exec.CommandContext(ctx, "skopeo", "copy", "-q", "--all", "--src-tls-verify=false",
				"docker://"+ref, "oci:"+dir+":"+tag)
			if out, err := pull.CombinedOutput(); err != nil {
				t.Fatalf("skopeo copy %s: %v: %s", ref, err, out)
			}
			images := imagesByPlatform(t, dir)
			if got, want := sortedKeys(images), []string{"linux/amd64", "linux/arm64"}; !slices.Equal(got, want) {
				t.Fatalf("manifest list %s platforms = %v, want %v", ref, got, want)
			}
			for platform, img := range images {
				arch := strings.TrimPrefix(platform, "linux/")
				cf, err := img.ConfigFile()
				if err != nil {
					t.Fatalf("%s %s: config: %v", ref, platform, err)
				}
				if cf.OS != "linux" || cf.Architecture != arch {
					t.Errorf("%s %s: config says %s/%s", ref, platform, cf.OS, cf.Architecture)
				}
				if !slices.Equal(cf.Config.Entrypoint, tc.entrypoint) {
					t.Errorf("%s %s: entrypoint = %q, want %q", ref, platform, cf.Config.Entrypoint, tc.entrypoint)
				}
				if cf.Config.User != tc.user {
					t.Errorf("%s %s: user = %q, want %q", ref, platform, cf.Config.User, tc.user)
				}
				checkFiles(t, ref+" "+platform, arch, img, tc.files)
			}
		})
	}
	t.Run("the images run as the DaemonSet's pod on containerd", func(t *testing.T) {
		runDaemonSetPod(ctx, t, repo, w.dir, imageRegistry, tag)
	})
}

// wantFile is what one file of an image must be.
type wantFile struct {
	mode    int64
	dir     bool   // a directory
	binary  bool   // a static Go executable for the image's architecture
	content []byte // exact content, when not nil
}

var elfMachine = map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}

func checkFiles(t *testing.T, what, arch string, img v1.Image, want map[string]wantFile) {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	seen := map[string]bool{}
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: read file system: %v", what, err)
		}
		name := strings.TrimPrefix(path.Clean("/"+hdr.Name), "/")
		if hdr.Typeflag == tar.TypeDir && name == "" {
			continue // the root directory itself
		}
		w, ok := want[name]
		if !ok {
			t.Errorf("%s: unexpected /%s (type %c, mode %o)", what, name, hdr.Typeflag, hdr.Mode)
			continue
		}
		seen[name] = true
		if w.dir {
			if hdr.Typeflag != tar.TypeDir || hdr.Mode&0o7777 != w.mode {
				t.Errorf("%s: /%s is of type %c mode %04o, want a directory of mode %04o", what, name, hdr.Typeflag, hdr.Mode&0o7777, w.mode)
			}
			continue
		}
		if hdr.Typeflag != tar.TypeReg {
			t.Errorf("%s: /%s is of type %c, want a regular file", what, name, hdr.Typeflag)
			continue
		}
		if got := hdr.Mode & 0o7777; got != w.mode {
			t.Errorf("%s: /%s mode = %04o, want %04o", what, name, got, w.mode)
		}
		if hdr.Uid != 0 || hdr.Gid != 0 {
			t.Errorf("%s: /%s owned by %d:%d, want 0:0 (not writable by the exporter's user)", what, name, hdr.Uid, hdr.Gid)
		}
		b, err := io.ReadAll(io.LimitReader(tr, maxBinary))
		if err != nil {
			t.Fatalf("%s: read /%s: %v", what, name, err)
		}
		if w.content != nil && !bytes.Equal(b, w.content) {
			t.Errorf("%s: /%s differs from the repository's file", what, name)
		}
		if w.binary {
			checkBinary(t, what+": /"+name, arch, b)
		}
	}
	for name := range want {
		if !seen[name] {
			t.Errorf("%s: /%s missing", what, name)
		}
	}
}

func checkBinary(t *testing.T, what, arch string, b []byte) {
	t.Helper()
	f, err := elf.NewFile(bytes.NewReader(b))
	if err != nil {
		t.Errorf("%s: not an ELF file: %v", what, err)
		return
	}
	defer f.Close()
	if f.Machine != elfMachine[arch] {
		t.Errorf("%s: ELF machine %v, want %v", what, f.Machine, elfMachine[arch])
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("%s: has an ELF interpreter: not static", what)
		}
	}
	bi, err := buildinfo.Read(bytes.NewReader(b))
	if err != nil {
		t.Errorf("%s: no Go build information: %v", what, err)
		return
	}
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	for key, want := range map[string]string{"CGO_ENABLED": "0", "GOARCH": arch, "GOOS": "linux", "-trimpath": "true"} {
		if settings[key] != want {
			t.Errorf("%s: build setting %s = %q, want %q", what, key, settings[key], want)
		}
	}
	if !strings.HasPrefix(settings["GOFIPS140"], fipsModule) {
		t.Errorf("%s: build setting GOFIPS140 = %q, want the %s module (the GOFIPS140 build argument)", what, settings["GOFIPS140"], fipsModule)
	}
	if !strings.Contains(","+settings["DefaultGODEBUG"]+",", ",fips140=on,") {
		t.Errorf("%s: DefaultGODEBUG %q lacks fips140=on", what, settings["DefaultGODEBUG"])
	}
}

// imagesByPlatform reads the one manifest list of an OCI layout.
func imagesByPlatform(t *testing.T, dir string) map[string]v1.Image {
	t.Helper()
	top, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatalf("read OCI layout %s: %v", dir, err)
	}
	tm, err := top.IndexManifest()
	if err != nil || len(tm.Manifests) != 1 {
		t.Fatalf("OCI layout %s: want one manifest list, got %v (err %v)", dir, tm, err)
	}
	list, err := top.ImageIndex(tm.Manifests[0].Digest)
	if err != nil {
		t.Fatalf("OCI layout %s: the pushed reference is not a manifest list: %v", dir, err)
	}
	lm, err := list.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	images := map[string]v1.Image{}
	for _, d := range lm.Manifests {
		if d.Platform == nil {
			t.Fatalf("manifest list entry %s has no platform", d.Digest)
		}
		key := d.Platform.OS + "/" + d.Platform.Architecture
		if _, dup := images[key]; dup {
			t.Fatalf("manifest list has two %s images", key)
		}
		img, err := list.Image(d.Digest)
		if err != nil {
			t.Fatalf("manifest list entry %s: %v", key, err)
		}
		images[key] = img
	}
	return images
}

// workspace is a private buildah storage under a temporary directory, so the
// test neither sees nor touches the machine's images.
type workspace struct{ dir string }

func newWorkspace(t *testing.T) *workspace {
	t.Helper()
	w := &workspace{dir: t.TempDir()}
	conf := fmt.Sprintf("[storage]\ndriver = \"overlay\"\ngraphroot = %q\nrunroot = %q\n",
		filepath.Join(w.dir, "storage"), filepath.Join(w.dir, "run"))
	if err := os.WriteFile(filepath.Join(w.dir, "storage.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.release(t) })
	return w
}

// env is the environment of every buildah call: this storage, and chroot
// isolation for RUN steps (runc here cannot raise the rlimits it is asked for,
// research/containerd.md §6).
func (w *workspace) env() []string {
	return append(os.Environ(),
		"CONTAINERS_STORAGE_CONF="+filepath.Join(w.dir, "storage.conf"),
		"BUILDAH_ISOLATION=chroot",
	)
}

func (w *workspace) buildah(ctx context.Context, t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(ctx, "buildah", args...)
	cmd.Env = w.env()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("buildah %s: %v: %s", strings.Join(args, " "), err, tail(stderr.Bytes(), 2000))
	}
	return strings.TrimSpace(string(out))
}

// makeGoBuilder makes the BUILDER_IMAGE of an offline build: this machine's
// Go toolchain on an empty base, set up to use the module and build caches
// that the build mounts at /gomodcache and /gocache, never the network.
func (w *workspace) makeGoBuilder(ctx context.Context, t *testing.T) string {
	t.Helper()
	goroot := goEnv(t, "GOROOT")
	name := "localhost/insights-runtime-extractor-test/go-builder:" + runtime.Version()
	c := w.buildah(ctx, t, "from", "scratch")
	mnt := w.buildah(ctx, t, "mount", c)
	if err := os.MkdirAll(filepath.Join(mnt, "usr", "local"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(mnt, "tmp"), 0o1777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(mnt, "tmp"), 0o1777); err != nil { // umask
		t.Fatal(err)
	}
	if out, err := exec.CommandContext(ctx, "cp", "-a", goroot, filepath.Join(mnt, "usr", "local", "go")).CombinedOutput(); err != nil {
		t.Fatalf("copy %s into the builder image: %v: %s", goroot, err, out)
	}
	w.buildah(ctx, t, "umount", c)
	w.buildah(ctx, t, "config",
		"--env", "PATH=/usr/local/go/bin:/usr/bin:/bin",
		"--env", "HOME=/tmp",
		"--env", "GOTOOLCHAIN=local",
		"--env", "GOPROXY=off",
		"--env", "GOSUMDB=off",
		"--env", "GOMODCACHE=/gomodcache",
		"--env", "GOCACHE=/gocache",
		c)
	w.buildah(ctx, t, "commit", "--rm", "-q", c, name)
	return name
}

// release removes the containers and images of the private storage and any
// mount left under it, so that the temporary directory can be deleted.
func (w *workspace) release(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, args := range [][]string{{"rm", "--all"}, {"rmi", "--all", "--force"}} {
		cmd := exec.CommandContext(ctx, "buildah", args...)
		cmd.Env = w.env()
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Logf("cleanup: buildah %s: %v: %s", strings.Join(args, " "), err, tail(out, 500))
		}
	}
	// containers/storage leaves its overlay home bind-mounted; a mount may
	// also outlive its process for a moment: unmount and retry the removal.
	for attempt := 0; ; attempt++ {
		w.unmountAll(t)
		err := os.RemoveAll(w.dir)
		if err == nil {
			return
		}
		if attempt == 5 {
			t.Errorf("cleanup: %v", err)
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// unmountAll detaches every mount under the workspace, deepest first.
func (w *workspace) unmountAll(t *testing.T) {
	mounts, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return
	}
	var under []string
	for _, line := range strings.Split(string(mounts), "\n") {
		if f := strings.Fields(line); len(f) > 4 && strings.HasPrefix(f[4], w.dir+"/") {
			under = append(under, f[4])
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(under)))
	for _, m := range under {
		if err := unix.Unmount(m, unix.MNT_DETACH); err != nil {
			t.Logf("cleanup: unmount %s: %v", m, err)
		}
	}
}

// startRegistry runs Debian's docker-registry (distribution) on a free
// loopback port with its storage in dir, and returns its host:port.
func startRegistry(ctx context.Context, t *testing.T, dir string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	conf := fmt.Sprintf("version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: %s\n",
		filepath.Join(dir, "registry"), addr)
	confPath := filepath.Join(dir, "registry.yml")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(dir, "registry.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("docker-registry", "serve", confPath)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("start docker-registry: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		logf.Close()
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return addr
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			b, _ := os.ReadFile(filepath.Join(dir, "registry.log"))
			t.Fatalf("docker-registry on %s did not answer: %v\n%s", addr, err, tail(b, 2000))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// ensureAptTools installs, with apt, the packages of the commands missing
// from PATH (command -> package).
func ensureAptTools(t *testing.T, tools map[string]string) {
	t.Helper()
	var pkgs []string
	for cmd, pkg := range tools {
		if _, err := exec.LookPath(cmd); err != nil {
			pkgs = append(pkgs, pkg)
		}
	}
	if len(pkgs) == 0 {
		return
	}
	sort.Strings(pkgs)
	t.Logf("installing %s with apt", strings.Join(pkgs, " "))
	env := append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	update := exec.Command("apt-get", "update", "-qq")
	update.Env = env
	if out, err := update.CombinedOutput(); err != nil {
		t.Fatalf("apt-get update: %v: %s", err, tail(out, 2000))
	}
	install := exec.Command("apt-get", append([]string{"install", "-y", "-qq", "--no-install-recommends"}, pkgs...)...)
	install.Env = env
	if out, err := install.CombinedOutput(); err != nil {
		t.Fatalf("apt-get install %s: %v: %s", strings.Join(pkgs, " "), err, tail(out, 2000))
	}
}

// fingerprintExecutables lists the fpr_* programs of the checkout: the
// extractor image must hold exactly these.
func fingerprintExecutables(t *testing.T, repo string) []string {
	t.Helper()
	mains, err := filepath.Glob(filepath.Join(repo, "fingerprints", "fpr_*", "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range mains {
		names = append(names, filepath.Base(filepath.Dir(m)))
	}
	return names
}

func goEnv(t *testing.T, key string) string {
	t.Helper()
	out, err := exec.Command("go", "env", key).Output()
	if err != nil || strings.TrimSpace(string(out)) == "" {
		t.Fatalf("go env %s: %v", key, err)
	}
	return strings.TrimSpace(string(out))
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
