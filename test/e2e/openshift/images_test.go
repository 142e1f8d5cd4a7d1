package openshift

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/openshift/insights-runtime-extractor/internal/localnode"
)

// writeProductImages writes the extractor and exporter images as
// Containerfile.extractor and Containerfile.exporter lay them out (the same
// files, modes, entrypoints, default arguments and users) on an empty base,
// from the binaries in bin, into one docker archive, and returns their names.
func writeProductImages(bin, config, archive string) (extractor, exporter string, err error) {
	extractor, exporter = localnode.ImagePrefix+"extractor:e2e", localnode.ImagePrefix+"exporter:e2e"
	files := map[string]int64{"extractor_server": 0o755, "coordinator": 0o755}
	fprs, _ := filepath.Glob(filepath.Join(bin, "fpr_*"))
	for _, f := range fprs {
		files[filepath.Base(f)] = 0o111
	}
	ext, err := image(bin, files, map[string]string{config: "config.toml"}, v1.Config{
		Entrypoint: []string{"/extractor_server"},
		Cmd:        []string{"-listen", "127.0.0.1:3000", "-coordinator", "/coordinator", "-config", "/config.toml", "-fingerprints-dir", "/", "-data-dir", "/data"},
		User:       "0",
	})
	if err != nil {
		return "", "", err
	}
	exp, err := image(bin, map[string]int64{"exporter": 0o755}, nil, v1.Config{
		Entrypoint: []string{"/exporter"},
		Cmd:        []string{"-bind", "0.0.0.0", "-data-dir", "/data"},
		User:       "65532:65532",
	})
	if err != nil {
		return "", "", err
	}
	refs := map[name.Reference]v1.Image{}
	for ref, img := range map[string]v1.Image{extractor: ext, exporter: exp} {
		tag, err := name.NewTag(ref)
		if err != nil {
			return "", "", err
		}
		refs[tag] = img
	}
	return extractor, exporter, tarball.MultiRefWriteToFile(archive, refs)
}

// image is one layer: the binaries of bin with their modes, extra host
// files (read-only) and the mount points /data and /tmp.
func image(bin string, binaries map[string]int64, extra map[string]string, cfg v1.Config) (v1.Image, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, d := range []string{"data", "tmp"} {
		if err := tw.WriteHeader(&tar.Header{Name: d + "/", Typeflag: tar.TypeDir, Mode: 0o1777}); err != nil {
			return nil, err
		}
	}
	add := func(host, inImage string, mode int64) error {
		b, err := os.ReadFile(host)
		if err != nil {
			return err
		}
		if err := tw.WriteHeader(&tar.Header{Name: inImage, Typeflag: tar.TypeReg, Mode: mode, Size: int64(len(b))}); err != nil {
			return err
		}
		_, err = tw.Write(b)
		return err
	}
	names := make([]string, 0, len(binaries))
	for n := range binaries {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := add(filepath.Join(bin, n), n, binaries[n]); err != nil {
			return nil, err
		}
	}
	for host, inImage := range extra {
		if err := add(host, strings.TrimPrefix(inImage, "/"), 0o444); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	data := buf.Bytes()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
	if err != nil {
		return nil, err
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.Config = cfg
	cf.OS, cf.Architecture = "linux", "amd64"
	return mutate.ConfigFile(img, cf)
}
