package openshift

import (
	"archive/tar"
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/openshift/insights-runtime-extractor/test/localnode"
)

// writeProductImages writes the extractor and exporter images into one docker
// archive, laid out as the final stage of Containerfile.extractor and
// Containerfile.exporter says (its COPY lines: files, places and modes; its
// ENV, USER, ENTRYPOINT and CMD), on an empty base, from the binaries in
// files (name → host path: bin's programs, config.toml, crictl). Building
// them with buildah, as the release test does, would cost minutes the VM
// test does not need to spend twice.
func writeProductImages(repo string, files map[string]string, archive string) (extractor, exporter string, err error) {
	refs := map[name.Reference]v1.Image{}
	names := map[string]string{"Containerfile.extractor": "extractor", "Containerfile.exporter": "exporter"}
	out := map[string]string{}
	for cf, short := range names {
		img, err := imageFromContainerfile(filepath.Join(repo, cf), files)
		if err != nil {
			return "", "", fmt.Errorf("%s: %w", cf, err)
		}
		ref := localnode.ImagePrefix + short + ":e2e"
		tag, err := name.NewTag(ref)
		if err != nil {
			return "", "", err
		}
		refs[tag], out[short] = img, ref
	}
	return out["extractor"], out["exporter"], tarball.MultiRefWriteToFile(archive, refs)
}

// imageFromContainerfile reads the final stage of a Containerfile: COPY
// [--from=…] [--chmod=…] <sources…> <destination> lines (a source's base
// name looked up in files, with * globs), ENV, USER, ENTRYPOINT and CMD in
// their JSON form. Anything else in that stage is an error: the image would
// differ from what the Containerfile builds.
func imageFromContainerfile(path string, files map[string]string) (v1.Image, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var stage []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "FROM "):
			stage = nil
		default:
			stage = append(stage, line)
		}
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	// The volume mount points: a read-only root file system cannot get them later.
	for _, d := range []string{"data/", "tmp/"} {
		if err := tw.WriteHeader(&tar.Header{Name: d, Typeflag: tar.TypeDir, Mode: 0o1777}); err != nil {
			return nil, err
		}
	}
	cfg := v1.Config{}
	for _, line := range stage {
		verb, rest, _ := strings.Cut(line, " ")
		switch verb {
		case "COPY":
			if err := copyInto(tw, strings.Fields(rest), files); err != nil {
				return nil, fmt.Errorf("%q: %w", line, err)
			}
		case "ENV":
			cfg.Env = append(cfg.Env, strings.Fields(rest)...)
		case "USER":
			cfg.User = strings.TrimSpace(rest)
		case "ENTRYPOINT":
			if err := json.Unmarshal([]byte(rest), &cfg.Entrypoint); err != nil {
				return nil, fmt.Errorf("%q: %w", line, err)
			}
		case "CMD":
			if err := json.Unmarshal([]byte(rest), &cfg.Cmd); err != nil {
				return nil, fmt.Errorf("%q: %w", line, err)
			}
		default:
			return nil, fmt.Errorf("%q: not understood here", line)
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

// copyInto adds the sources of one COPY line at its destination.
func copyInto(tw *tar.Writer, args []string, files map[string]string) error {
	mode := int64(0o644)
	var rest []string
	for _, a := range args {
		switch {
		case strings.HasPrefix(a, "--chmod="):
			m, err := strconv.ParseInt(strings.TrimPrefix(a, "--chmod="), 8, 32)
			if err != nil {
				return err
			}
			mode = m
		case strings.HasPrefix(a, "--"):
		default:
			rest = append(rest, a)
		}
	}
	if len(rest) < 2 {
		return fmt.Errorf("no source or destination")
	}
	dest := rest[len(rest)-1]
	var hosts []string
	for _, src := range rest[:len(rest)-1] {
		var matched []string
		for name, host := range files {
			if ok, _ := filepath.Match(filepath.Base(src), name); ok {
				matched = append(matched, host)
			}
		}
		if len(matched) == 0 {
			return fmt.Errorf("no file for %s", src)
		}
		sort.Strings(matched)
		hosts = append(hosts, matched...)
	}
	for _, host := range hosts {
		target := dest
		if strings.HasSuffix(dest, "/") {
			target = dest + filepath.Base(host)
		}
		b, err := os.ReadFile(host)
		if err != nil {
			return err
		}
		if err := tw.WriteHeader(&tar.Header{Name: strings.TrimPrefix(target, "/"), Typeflag: tar.TypeReg, Mode: mode, Size: int64(len(b))}); err != nil {
			return err
		}
		if _, err := tw.Write(b); err != nil {
			return err
		}
	}
	return nil
}
