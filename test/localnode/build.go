package localnode

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/openshift/insights-runtime-extractor/test/debpkg"
	"github.com/openshift/insights-runtime-extractor/test/samples"
)

// Builder builds sample images from recipes, offline.
type Builder struct {
	// RepoDir is the repository root (runtime-samples/ and the Go module).
	RepoDir string
	// WorkDir receives the built programs and the image archive.
	WorkDir string
	// CacheDir holds the Debian rootfs; when empty, $IRE_CACHE_DIR or else
	// DefaultCacheDir.
	CacheDir string
	// Generators by name, for recipes with "generate"; nil means
	// DefaultGenerators.
	Generators map[string]Generator
	// OCILayout also writes the images as one OCI image layout
	// (Images.Layout): CRI-O's import (skopeo) reads it without
	// decompressing the shared Debian layer once per image, as it must for a
	// docker archive.
	OCILayout bool
	Log       *slog.Logger
}

// Images is the result of a build: one archive holding every image.
type Images struct {
	// Archive is a docker-format tar with every image; the shared Debian
	// layer is stored once.
	Archive string
	// Layout is the same images as an OCI image layout directory, each
	// named by its reference (org.opencontainers.image.ref.name), when the
	// Builder was asked for it.
	Layout string
	// Rootfs is the Debian base, when a Debian sample was built.
	Rootfs  *Rootfs
	Samples map[string]*Sample
}

// Sample is one built image.
type Sample struct {
	*Recipe
	// Ref is the image name, ImagePrefix + name + ":e2e".
	Ref string
	// GoBinary is the host path of the built Go program, if any: its build
	// info gives the expected Go version.
	GoBinary string
	// GeneratedDir is the host directory the generator wrote, if any.
	GeneratedDir string
	// Generated is what the generator reported, if any: the framework and
	// version the extractor must find.
	Generated *Generated
}

// Container is a ContainerSpec running this sample with its defaults.
func (s *Sample) Container(name string) ContainerSpec {
	return ContainerSpec{Name: name, Image: s.Ref, WaitFor: s.WaitFor}
}

// Sample returns a built sample or panics on a name the test did not build:
// that is a mistake in the test itself.
func (im *Images) Sample(name string) *Sample {
	s, ok := im.Samples[name]
	if !ok {
		panic(fmt.Sprintf("sample %q was not built", name))
	}
	return s
}

// Build builds the named samples (all recipes when names is empty) and the
// pause image into one archive.
func (b *Builder) Build(ctx context.Context, names ...string) (*Images, error) {
	log := b.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	start := time.Now()
	recipes, err := LoadRecipes(b.RepoDir)
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		names = sortedNames(recipes)
	}
	if !contains(names, "pause") {
		names = append([]string{"pause"}, names...)
	}
	selected := make([]*Recipe, 0, len(names))
	for _, n := range names {
		r, ok := recipes[n]
		if !ok {
			return nil, fmt.Errorf("no recipe runtime-samples/%s", n)
		}
		selected = append(selected, r)
	}
	if err := os.MkdirAll(b.WorkDir, 0o755); err != nil {
		return nil, err
	}
	im := &Images{Archive: filepath.Join(b.WorkDir, "images.tar"), Samples: map[string]*Sample{}}
	for _, r := range selected {
		im.Samples[r.Name] = &Sample{Recipe: r, Ref: ImagePrefix + r.Name + ":e2e"}
	}
	if err := b.buildGo(ctx, im); err != nil {
		return nil, err
	}
	var base v1.Layer
	for _, r := range selected {
		if r.Base != BaseDebian12 {
			continue
		}
		if im.Rootfs, err = EnsureRootfs(ctx, log, cacheDir(b.CacheDir), Debian12()); err != nil {
			return nil, err
		}
		if base, err = tarball.LayerFromFile(im.Rootfs.Layer); err != nil {
			return nil, fmt.Errorf("rootfs layer: %w", err)
		}
		break
	}
	refs := map[name.Reference]v1.Image{}
	for _, r := range selected {
		s := im.Samples[r.Name]
		img, err := b.image(ctx, s, base)
		if err != nil {
			return nil, fmt.Errorf("sample %s: %w", r.Name, err)
		}
		tag, err := name.NewTag(s.Ref)
		if err != nil {
			return nil, err
		}
		refs[tag] = img
	}
	if err := tarball.MultiRefWriteToFile(im.Archive, refs); err != nil {
		return nil, fmt.Errorf("write %s: %w", im.Archive, err)
	}
	if b.OCILayout {
		im.Layout = filepath.Join(b.WorkDir, "images-oci")
		if err := writeLayout(im.Layout, refs); err != nil {
			return nil, err
		}
	}
	log.Info("sample images built", "count", len(selected), "archive", im.Archive, "took", time.Since(start).Round(time.Millisecond))
	return im, nil
}

// buildGo builds every Go program of the selected recipes: one go build per
// Go module that holds some of them (the repository's, or the test module's
// for the test programs under test/).
func (b *Builder) buildGo(ctx context.Context, im *Images) error {
	var pkgs []string
	outDir := filepath.Join(b.WorkDir, "bin")
	for _, s := range im.Samples {
		if s.Go != nil {
			pkg := "./runtime-samples/" + s.Name
			if s.Go.Package != "" {
				pkg = s.Go.Package
			}
			if !contains(pkgs, pkg) {
				pkgs = append(pkgs, pkg)
			}
			// go build -o <dir>/ names each program after its package's folder.
			s.GoBinary = filepath.Join(outDir, filepath.Base(pkg))
		}
	}
	if len(pkgs) == 0 {
		return nil
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return err
	}
	var modules []string
	byModule := map[string][]string{}
	for _, pkg := range pkgs {
		mod, rel, err := moduleOf(b.RepoDir, pkg)
		if err != nil {
			return err
		}
		if _, ok := byModule[mod]; !ok {
			modules = append(modules, mod)
		}
		byModule[mod] = append(byModule[mod], rel)
	}
	for _, mod := range modules {
		args := append([]string{"build", "-trimpath", "-o", outDir + "/"}, byModule[mod]...)
		cmd := exec.CommandContext(ctx, GoTool(), args...)
		cmd.Dir = mod
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
		if err := runLogged(b.Log, "go build "+strings.Join(byModule[mod], " "), false, cmd); err != nil {
			return err
		}
	}
	return nil
}

// moduleOf returns the directory of the Go module that holds pkg (a path
// relative to repo, "./..."), the nearest go.mod at or above it, and pkg
// relative to that directory.
func moduleOf(repo, pkg string) (dir, rel string, err error) {
	abs := filepath.Join(repo, pkg)
	for dir = abs; ; dir = filepath.Dir(dir) {
		if fileExists(filepath.Join(dir, "go.mod")) {
			break
		}
		if dir == repo || dir == filepath.Dir(dir) {
			return "", "", fmt.Errorf("go package %s: no go.mod at or above it in %s", pkg, repo)
		}
	}
	rel, err = filepath.Rel(dir, abs)
	if err != nil {
		return "", "", err
	}
	return dir, "./" + filepath.ToSlash(rel), nil
}

// GoTool is the go command of the running toolchain when there is one, so
// that the samples are built with the same Go as the tests.
func GoTool() string {
	if p := filepath.Join(runtime.GOROOT(), "bin", "go"); fileExists(p) {
		return p
	}
	return "go"
}

// image assembles one sample: base layer (Debian) plus the sample's layer.
func (b *Builder) image(ctx context.Context, s *Sample, base v1.Layer) (v1.Image, error) {
	var entries []layerEntry
	if s.Go != nil {
		entries = append(entries, layerEntry{Path: s.Go.Output, HostPath: s.GoBinary, Mode: 0o755})
	}
	if s.Java != nil {
		jar, err := b.buildJava(ctx, s)
		if err != nil {
			return nil, err
		}
		entries = append(entries, layerEntry{Path: s.Java.Jar, HostPath: jar, Mode: 0o644})
	}
	if s.CSharp != nil {
		exe, err := b.buildCSharp(ctx, s)
		if err != nil {
			return nil, err
		}
		entries = append(entries, layerEntry{Path: s.CSharp.Output, HostPath: exe, Mode: 0o644})
	}
	if s.Generate != nil {
		gens := b.Generators
		if gens == nil {
			gens = DefaultGenerators()
		}
		gen, ok := gens[s.Generate.Generator]
		if !ok {
			return nil, fmt.Errorf("no generator %q", s.Generate.Generator)
		}
		s.GeneratedDir = filepath.Join(b.WorkDir, "generated", s.Name)
		if err := os.RemoveAll(s.GeneratedDir); err != nil {
			return nil, err
		}
		if err := os.MkdirAll(s.GeneratedDir, 0o755); err != nil {
			return nil, err
		}
		g, err := gen(ctx, s.GeneratedDir, s.Generate.Params)
		if err != nil {
			return nil, fmt.Errorf("generator %s: %w", s.Generate.Generator, err)
		}
		s.Generated = &g
		entries = append(entries, layerEntry{Path: "/", HostPath: s.GeneratedDir})
	}
	for _, f := range s.Files {
		mode, _ := f.mode()
		entries = append(entries, layerEntry{Path: f.Dst, HostPath: filepath.Join(s.Dir, f.Src), Mode: mode})
	}
	var layers []v1.Layer
	if s.Base == BaseDebian12 {
		layers = append(layers, base)
	}
	if len(entries) > 0 {
		l, err := smallLayer(entries)
		if err != nil {
			return nil, err
		}
		layers = append(layers, l)
	}
	img, err := mutate.AppendLayers(empty.Image, layers...)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", runtime.GOARCH
	env := s.Env
	if s.Base == BaseDebian12 && !hasEnv(env, "PATH") {
		env = append([]string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}, env...)
	}
	cmd, wd := s.Cmd, s.WorkingDir
	if s.Generated != nil {
		// The generator knows how its product is started.
		if len(cmd) == 0 && len(s.Entrypoint) == 0 {
			cmd = s.Generated.Cmdline
		}
		if wd == "" {
			wd = s.Generated.Cwd
		}
		env = append(env, s.Generated.Env...)
	}
	cf.Config = v1.Config{Entrypoint: s.Entrypoint, Cmd: cmd, Env: env, User: s.User, WorkingDir: wd}
	return mutate.ConfigFile(img, cf)
}

// buildJava compiles the recipe's *.java with the host JDK for release 17
// (the samples' JRE) and packs them into an executable jar.
func (b *Builder) buildJava(ctx context.Context, s *Sample) (string, error) {
	if err := debpkg.Ensure(ctx, b.Log, samples.JDKPackages()...); err != nil && !fileExists("/usr/bin/javac") {
		return "", err
	}
	srcs, err := filepath.Glob(filepath.Join(s.Dir, "*.java"))
	if err != nil || len(srcs) == 0 {
		return "", fmt.Errorf("no *.java in %s", s.Dir)
	}
	work := filepath.Join(b.WorkDir, "java", s.Name)
	classes := filepath.Join(work, "classes")
	if err := os.RemoveAll(work); err != nil {
		return "", err
	}
	if err := os.MkdirAll(classes, 0o755); err != nil {
		return "", err
	}
	if err := runQuiet(ctx, "javac", append([]string{"--release", "17", "-d", classes}, srcs...)...); err != nil {
		return "", err
	}
	jar := filepath.Join(work, filepath.Base(s.Java.Jar))
	if err := runQuiet(ctx, "jar", "--create", "--file", jar, "--main-class", s.Java.MainClass, "-C", classes, "."); err != nil {
		return "", err
	}
	return jar, nil
}

// buildCSharp compiles the recipe's *.cs with the host's Mono C# compiler
// into an executable assembly, which the sample's Mono runs.
func (b *Builder) buildCSharp(ctx context.Context, s *Sample) (string, error) {
	if err := debpkg.Ensure(ctx, b.Log, samples.CSharpPackages()...); err != nil && !fileExists("/usr/bin/mcs") {
		return "", err
	}
	srcs, err := filepath.Glob(filepath.Join(s.Dir, "*.cs"))
	if err != nil || len(srcs) == 0 {
		return "", fmt.Errorf("no *.cs in %s", s.Dir)
	}
	work := filepath.Join(b.WorkDir, "csharp", s.Name)
	if err := os.RemoveAll(work); err != nil {
		return "", err
	}
	if err := os.MkdirAll(work, 0o755); err != nil {
		return "", err
	}
	exe := filepath.Join(work, filepath.Base(s.CSharp.Output))
	if err := runQuiet(ctx, "mcs", append([]string{"-nologo", "-optimize+", "-target:exe", "-out:" + exe}, srcs...)...); err != nil {
		return "", err
	}
	return exe, nil
}

// refNameAnnotation names an image in an OCI layout's index.json: skopeo's
// oci:<dir>:<name> finds it by this.
const refNameAnnotation = "org.opencontainers.image.ref.name"

// writeLayout writes the images into a new OCI image layout at dir; a blob
// shared by several images (the Debian layer) is stored once.
func writeLayout(dir string, refs map[name.Reference]v1.Image) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return fmt.Errorf("OCI layout %s: %w", dir, err)
	}
	for ref, img := range refs {
		oci, err := ociImage(img)
		if err != nil {
			return fmt.Errorf("OCI layout %s: %s: %w", dir, ref, err)
		}
		if err := p.AppendImage(oci, layout.WithAnnotations(map[string]string{refNameAnnotation: ref.String()})); err != nil {
			return fmt.Errorf("OCI layout %s: %s: %w", dir, ref, err)
		}
	}
	return nil
}

// ociImage is img with OCI media types (manifest, config, gzip layers), as an
// OCI layout reader such as skopeo's expects; config and layers, hence the
// image id, are unchanged.
func ociImage(img v1.Image) (v1.Image, error) {
	layers, err := img.Layers()
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	oci := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	var adds []mutate.Addendum
	for _, l := range layers {
		adds = append(adds, mutate.Addendum{Layer: l, MediaType: types.OCILayer})
	}
	if oci, err = mutate.Append(oci, adds...); err != nil {
		return nil, err
	}
	return mutate.ConfigFile(oci, cf)
}

func hasEnv(env []string, key string) bool {
	for _, e := range env {
		if strings.HasPrefix(e, key+"=") {
			return true
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// cacheDir is dir, else $IRE_CACHE_DIR, else DefaultCacheDir.
func cacheDir(dir string) string {
	if dir == "" {
		dir = os.Getenv(CacheDirEnv)
	}
	if dir == "" {
		dir = DefaultCacheDir
	}
	return dir
}
