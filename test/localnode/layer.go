package localnode

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// skipContents lists the rootfs directories whose contents never go into a
// layer: the runtime mounts its own /dev, /proc, /sys and /run, and /tmp is
// scratch. The directories themselves are kept.
var skipContents = map[string]bool{"dev": true, "proc": true, "sys": true, "run": true, "tmp": true}

// tarTree writes the tree under hostDir into tw, rooted at prefix (a clean
// relative path, "" for the image root). It keeps modes, owners, symlinks and
// hard links, skips device, FIFO and socket nodes, and sorts names so that a
// tree always gives the same layer.
func tarTree(tw *tar.Writer, hostDir, prefix string, skip map[string]bool, asRoot bool) error {
	links := map[[2]uint64]string{}
	return filepath.WalkDir(hostDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(hostDir, p)
		if err != nil {
			return err
		}
		if rel == "." {
			return nil
		}
		rel = filepath.ToSlash(rel)
		name := path.Join(prefix, rel)
		info, err := d.Info()
		if err != nil {
			return fmt.Errorf("stat %s: %w", p, err)
		}
		mode := info.Mode()
		if mode&(fs.ModeDevice|fs.ModeCharDevice|fs.ModeNamedPipe|fs.ModeSocket) != 0 {
			return nil
		}
		var target string
		if mode&fs.ModeSymlink != 0 {
			if target, err = os.Readlink(p); err != nil {
				return fmt.Errorf("readlink %s: %w", p, err)
			}
		}
		hdr, err := tar.FileInfoHeader(info, target)
		if err != nil {
			return fmt.Errorf("tar header %s: %w", p, err)
		}
		hdr.Name = name
		hdr.Uname, hdr.Gname = "", ""
		hdr.Format = tar.FormatPAX
		st, _ := info.Sys().(*syscall.Stat_t)
		if st != nil && !asRoot {
			hdr.Uid, hdr.Gid = int(st.Uid), int(st.Gid)
		} else {
			hdr.Uid, hdr.Gid = 0, 0
		}
		if mode.IsDir() {
			hdr.Name += "/"
		}
		if mode.IsRegular() && st != nil && st.Nlink > 1 {
			key := [2]uint64{st.Dev, st.Ino}
			if first, ok := links[key]; ok {
				hdr.Typeflag, hdr.Linkname, hdr.Size = tar.TypeLink, first, 0
				return tw.WriteHeader(hdr)
			}
			links[key] = name
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("tar %s: %w", name, err)
		}
		if mode.IsRegular() {
			if err := copyFile(tw, p); err != nil {
				return err
			}
		}
		if mode.IsDir() && prefix == "" && skip[rel] {
			return filepath.SkipDir
		}
		return nil
	})
}

func copyFile(w io.Writer, p string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := io.Copy(w, f); err != nil {
		return fmt.Errorf("copy %s: %w", p, err)
	}
	return nil
}

// writeTarGz packs the tree under dir into a gzip-compressed layer file.
// Fast compression: the layer is written once per recipe and read locally.
func writeTarGz(dir, out string) error {
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	zw, err := gzip.NewWriterLevel(f, gzip.BestSpeed)
	if err != nil {
		f.Close()
		return err
	}
	tw := tar.NewWriter(zw)
	err = tarTree(tw, dir, "", skipContents, false)
	for _, c := range []io.Closer{tw, zw, f} {
		if cerr := c.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return fmt.Errorf("pack %s into %s: %w", dir, out, err)
	}
	return nil
}

// layerEntry is one thing a sample adds on top of its base.
type layerEntry struct {
	// Path in the image, absolute.
	Path string
	// Mode is the permission bits of a file (0644 when zero).
	Mode fs.FileMode
	// HostPath is a file or a directory on the host copied to Path (a
	// directory recursively, keeping its modes but owned by root).
	HostPath string
	// Data is the content of a file when HostPath is empty.
	Data []byte
}

// smallLayer builds an in-memory layer from entries, creating every parent
// directory. Sample layers are small (programs, jars, a few scripts).
func smallLayer(entries []layerEntry) (v1.Layer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dirs := map[string]bool{}
	mkdirs := func(p string) error {
		var parents []string
		for d := path.Dir(p); d != "/" && d != "." && !dirs[d]; d = path.Dir(d) {
			parents = append(parents, d)
		}
		sort.Strings(parents)
		for _, d := range parents {
			dirs[d] = true
			hdr := &tar.Header{Typeflag: tar.TypeDir, Name: strings.TrimPrefix(d, "/") + "/", Mode: 0o755, Format: tar.FormatPAX}
			if err := tw.WriteHeader(hdr); err != nil {
				return err
			}
		}
		return nil
	}
	for _, e := range entries {
		if !path.IsAbs(e.Path) {
			return nil, fmt.Errorf("image path %q is not absolute", e.Path)
		}
		if err := mkdirs(e.Path); err != nil {
			return nil, err
		}
		rel := strings.TrimPrefix(path.Clean(e.Path), "/")
		if e.HostPath != "" {
			info, err := os.Stat(e.HostPath)
			if err != nil {
				return nil, err
			}
			if info.IsDir() && rel == "" {
				// A tree for the image root: its own directory is the root's.
				if err := tarTree(tw, e.HostPath, "", nil, true); err != nil {
					return nil, err
				}
				continue
			}
			if info.IsDir() {
				dirs[path.Clean(e.Path)] = true
				if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: rel + "/", Mode: 0o755, Format: tar.FormatPAX}); err != nil {
					return nil, err
				}
				// Generated content belongs to root in the image, whoever wrote it.
				if err := tarTree(tw, e.HostPath, rel, nil, true); err != nil {
					return nil, err
				}
				continue
			}
			data, err := os.ReadFile(e.HostPath)
			if err != nil {
				return nil, err
			}
			e.Data = data
			if e.Mode == 0 {
				e.Mode = info.Mode().Perm()
			}
		}
		if e.Mode == 0 {
			e.Mode = 0o644
		}
		hdr := &tar.Header{Typeflag: tar.TypeReg, Name: rel, Mode: int64(e.Mode.Perm()), Size: int64(len(e.Data)), Format: tar.FormatPAX}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if _, err := tw.Write(e.Data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	data := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	})
}
