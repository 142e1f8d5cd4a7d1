package vm

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"debug/elf"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// initrdModules are the modules the initramfs needs to mount the root disk;
// Debian builds them as modules. Their dependencies are added from each
// module's .modinfo. crc32c_generic is nobody's declared dependency: ext4
// asks the crypto API for crc32c at mount time, and the initramfs has no
// modprobe to load it on demand.
var initrdModules = []string{"virtio_pci", "virtio_blk", "crc32c_generic", "ext4"}

// moduleIndex maps a module name (dashes as underscores, as the kernel
// names them) to its .ko file under a modules directory.
func moduleIndex(modDir string) (map[string]string, error) {
	idx := map[string]string{}
	err := filepath.WalkDir(modDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(p, ".ko") {
			idx[modName(strings.TrimSuffix(d.Name(), ".ko"))] = p
		}
		return nil
	})
	return idx, err
}

func modName(s string) string { return strings.ReplaceAll(s, "-", "_") }

// moduleDeps reads the "depends=" entry of a module's .modinfo section; the
// host need not have kmod's modinfo.
func moduleDeps(ko string) ([]string, error) {
	f, err := elf.Open(ko)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sec := f.Section(".modinfo")
	if sec == nil {
		return nil, fmt.Errorf("%s: no .modinfo section", ko)
	}
	data, err := sec.Data()
	if err != nil {
		return nil, err
	}
	for _, kv := range bytes.Split(data, []byte{0}) {
		if v, ok := bytes.CutPrefix(kv, []byte("depends=")); ok {
			var deps []string
			for _, d := range strings.Split(string(v), ",") {
				if d != "" {
					deps = append(deps, modName(d))
				}
			}
			return deps, nil
		}
	}
	return nil, nil
}

// loadOrder returns the roots and their dependencies, each after the
// modules it depends on. A root that is not a module file is taken to be
// built into the kernel and skipped.
func loadOrder(idx map[string]string, roots []string) ([]string, error) {
	var order []string
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(string) error
	visit = func(m string) error {
		switch state[m] {
		case 1:
			return fmt.Errorf("module dependency cycle at %s", m)
		case 2:
			return nil
		}
		ko, ok := idx[m]
		if !ok {
			state[m] = 2
			return nil
		}
		state[m] = 1
		deps, err := moduleDeps(ko)
		if err != nil {
			return err
		}
		sort.Strings(deps)
		for _, d := range deps {
			if err := visit(d); err != nil {
				return err
			}
		}
		state[m] = 2
		order = append(order, m)
		return nil
	}
	for _, r := range roots {
		if err := visit(modName(r)); err != nil {
			return nil, err
		}
	}
	return order, nil
}

// writeInitrd writes a gzip-compressed newc cpio archive: busybox, the
// /init script, the modules in load order and the device node the kernel
// needs to give /init a console. Writing the archive here spares the host a
// cpio package and root-owned staging files.
func writeInitrd(out, busybox, initScript, modDir string) error {
	idx, err := moduleIndex(modDir)
	if err != nil {
		return err
	}
	order, err := loadOrder(idx, initrdModules)
	if err != nil {
		return err
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	defer f.Close()
	bw := bufio.NewWriter(f)
	zw := gzip.NewWriter(bw)
	c := &cpioWriter{w: zw}
	for _, d := range []string{"bin", "dev", "proc", "sys", "newroot", "mods"} {
		c.entry(d, 0o40755, 0, nil)
	}
	c.entry("dev/console", 0o20600, 5<<8|1, nil)
	bb, err := os.ReadFile(busybox)
	if err != nil {
		return err
	}
	c.entry("bin/busybox", 0o100755, 0, bb)
	c.entry("bin/sh", 0o120777, 0, []byte("busybox"))
	c.entry("init", 0o100755, 0, []byte(initScript))
	c.entry("modules.order", 0o100644, 0, []byte(strings.Join(order, "\n")+"\n"))
	for _, m := range order {
		data, err := os.ReadFile(idx[m])
		if err != nil {
			return err
		}
		c.entry("mods/"+m+".ko", 0o100644, 0, data)
	}
	c.entry("TRAILER!!!", 0, 0, nil)
	if c.err != nil {
		return c.err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	return f.Close()
}

// cpioWriter writes the "newc" format the kernel unpacks: a 110-byte ASCII
// header, the NUL-terminated name and the data, each padded to 4 bytes.
type cpioWriter struct {
	w   io.Writer
	ino int
	err error
}

func (c *cpioWriter) entry(name string, mode uint32, rdev int, data []byte) {
	if c.err != nil {
		return
	}
	c.ino++
	nlink := 1
	if mode&0o170000 == 0o40000 {
		nlink = 2
	}
	hdr := fmt.Sprintf("070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		c.ino, mode, 0, 0, nlink, 0, len(data), 0, 0, rdev>>8, rdev&0xff, len(name)+1, 0)
	buf := append([]byte(hdr), name...)
	buf = append(buf, 0)
	buf = pad4(buf)
	buf = append(buf, data...)
	buf = pad4(buf)
	_, c.err = c.w.Write(buf)
}

func pad4(b []byte) []byte {
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}
