package release

import (
	"archive/tar"
	"bytes"
	"context"
	"debug/elf"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/openshift/insights-runtime-extractor/test/localnode"
)

// TestMakeRuntimeSamplesBuildsAndPushesOffline runs `make runtime-samples`
// for real, offline: buildah builds debian-sleep (FROM and CMD only) and
// graalvm-quarkus (a generated sample: samplerootfs writes its rootfs/ into
// the build context) on a docker.io/library/debian:12 made of the node e2e's
// cached Debian rootfs, and pushes both to a local registry. The images pulled
// back hold the Containerfile's command and the sample's content.
func TestMakeRuntimeSamplesBuildsAndPushesOffline(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("sample build test skipped: needs root for buildah's private storage")
	}
	if testing.Short() {
		t.Skip("sample build test skipped in -short mode: builds two images")
	}
	repo := repoRoot(t)
	ensureAptTools(t, map[string]string{"buildah": "buildah", "docker-registry": "docker-registry", "skopeo": "skopeo"})
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	w := newWorkspace(t)
	registry := startRegistry(ctx, t, w.dir)

	cacheDir := os.Getenv(localnode.CacheDirEnv)
	if cacheDir == "" {
		cacheDir = localnode.DefaultCacheDir
	}
	rootfs, err := localnode.EnsureRootfs(ctx, slog.New(slog.DiscardHandler), cacheDir, localnode.Debian12())
	if err != nil {
		t.Fatal(err)
	}
	// The Containerfiles' base, under its real name, so that nothing is pulled.
	c := w.buildah(ctx, t, "from", "scratch")
	w.buildah(ctx, t, "add", c, rootfs.Layer, "/")
	w.buildah(ctx, t, "commit", "--rm", "-q", c, "docker.io/library/debian:12")

	const tag = "offline-test"
	samplesRegistry := registry + "/samples"
	cmd := exec.CommandContext(ctx, "make", "-C", repo, "runtime-samples")
	cmd.Env = append(withoutEnv(w.env(), "IMAGE_REGISTRY", "INSIGHTS_RUNTIME_SAMPLES_REGISTRY", "TAG", "RUNTIME_SAMPLES",
		"BUILD_TOOL", "BUILD_FLAGS", "PUSH", "TLS_VERIFY", "WORK_DIR", "DRY_RUN", "MAKEFLAGS"),
		"INSIGHTS_RUNTIME_SAMPLES_REGISTRY="+samplesRegistry,
		"TAG="+tag,
		"RUNTIME_SAMPLES=debian-sleep graalvm-quarkus",
		"BUILD_TOOL=buildah",
		"BUILD_FLAGS=--pull=never",
		"TLS_VERIFY=false",
		"WORK_DIR="+filepath.Join(w.dir, "contexts"),
	)
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make runtime-samples: %v\n%s", err, tail(out, 6000))
	}
	t.Logf("make runtime-samples: 2 samples built and pushed in %s", time.Since(start).Round(time.Second))

	pull := func(t *testing.T, name string) (*v1.ConfigFile, map[string][]byte) {
		t.Helper()
		ref := samplesRegistry + "/insights-runtime-sample-" + name + ":" + tag
		dir := filepath.Join(w.dir, "pulled", name)
		if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.CommandContext(ctx, "skopeo", "copy", "-q", "--src-tls-verify=false",
			"docker://"+ref, "oci:"+dir+":"+tag).CombinedOutput(); err != nil {
			t.Fatalf("skopeo copy %s: %v: %s", ref, err, out)
		}
		idx, err := layout.ImageIndexFromPath(dir)
		if err != nil {
			t.Fatal(err)
		}
		im, err := idx.IndexManifest()
		if err != nil || len(im.Manifests) != 1 {
			t.Fatalf("%s: %d manifests (%v)", ref, len(im.Manifests), err)
		}
		img, err := idx.Image(im.Manifests[0].Digest)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		return cfg, filesOf(t, img, "usr/lib/os-release", "work/application")
	}
	t.Run("debian-sleep runs sleep on Debian 12", func(t *testing.T) {
		cfg, files := pull(t, "debian-sleep")
		if want := []string{"sleep", "infinity"}; !reflect.DeepEqual(cfg.Config.Cmd, want) {
			t.Errorf("Cmd %q, want %q", cfg.Config.Cmd, want)
		}
		if !bytes.Contains(files["usr/lib/os-release"], []byte("\nID=debian\n")) || !bytes.Contains(files["usr/lib/os-release"], []byte(`VERSION_ID="12"`)) {
			t.Errorf("os-release:\n%s", files["usr/lib/os-release"])
		}
	})
	t.Run("graalvm-quarkus holds the generated GraalVM-like executable", func(t *testing.T) {
		cfg, files := pull(t, "graalvm-quarkus")
		if want := []string{"/work/application", "-Dquarkus.http.host=0.0.0.0"}; !reflect.DeepEqual(cfg.Config.Cmd, want) || cfg.Config.WorkingDir != "/work" {
			t.Errorf("Cmd %q in %q, want %q in /work", cfg.Config.Cmd, cfg.Config.WorkingDir, want)
		}
		app := files["work/application"]
		f, err := elf.NewFile(bytes.NewReader(app))
		if err != nil {
			t.Fatalf("work/application (%d bytes): %v", len(app), err)
		}
		if f.Section(".svm_heap") == nil {
			t.Error("work/application has no .svm_heap section")
		}
		if !bytes.Contains(app, []byte("__quarkus_analytics__quarkus.version=3.15.1")) {
			t.Error("work/application does not name Quarkus 3.15.1 (the recipe's quarkusVersion)")
		}
	})
}

// filesOf returns the content of the named regular files of an image's
// flattened file system (paths without the leading /; symbolic links are
// not followed: Debian's /etc/os-release is one).
func filesOf(t *testing.T, img v1.Image, names ...string) map[string][]byte {
	t.Helper()
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	rc := mutate.Extract(img)
	defer rc.Close()
	out := map[string][]byte{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimPrefix(h.Name, "./")
		if !want[name] || h.Typeflag != tar.TypeReg {
			continue
		}
		b, err := io.ReadAll(io.LimitReader(tr, maxBinary))
		if err != nil {
			t.Fatal(err)
		}
		out[name] = b
	}
}
