package vm

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/openshift/insights-runtime-extractor/test/debpkg"
	"github.com/openshift/insights-runtime-extractor/test/flock"
)

// guest holds every file the image puts into the guest; all of it is part of
// the recipe hash.
//
//go:embed guest
var guest embed.FS

// recipeVersion is bumped when the Go code below changes the image in a way
// the hashed inputs do not show.
const recipeVersion = "1"

const (
	suite  = "bookworm"
	mirror = "http://deb.debian.org/debian"
)

// hostPackages are what building and running the image needs on the host.
var hostPackages = []string{"qemu-system-x86", "qemu-utils", "busybox-static", "debootstrap", "e2fsprogs", "dpkg", "tar"}

// guestPackages go into the root disk beside minbase. CRI-O needs conmon,
// runc, libseccomp2 (it is linked against it), the CNI loopback plugin, and
// dbus to talk to systemd; skopeo copies test images into its storage;
// procps and iproute2 are for payloads that look around.
var guestPackages = []string{
	"systemd-sysv", "udev", "dbus", "kmod", "iproute2", "procps", "ca-certificates",
	"conmon", "runc", "libseccomp2", "containernetworking-plugins", "skopeo",
}

// skipModules are kernel module trees a VM with only virtio disks and no
// network card never loads; leaving them out saves a third of the disk.
var skipModules = []string{
	"kernel/drivers/gpu", "kernel/drivers/media", "kernel/drivers/net/wireless",
	"kernel/drivers/net/ethernet", "kernel/drivers/infiniband", "kernel/drivers/staging",
	"kernel/drivers/iio", "kernel/drivers/bluetooth", "kernel/net/bluetooth",
	"kernel/net/wireless", "kernel/net/mac80211", "kernel/sound",
	"kernel/drivers/usb", "kernel/drivers/hid", "kernel/drivers/input",
	"kernel/drivers/isdn", "kernel/drivers/mtd", "kernel/drivers/thunderbolt",
}

// maskedUnits never run in the test VM: nobody logs in, and timers would
// only compete with the payload for the emulated CPUs.
var maskedUnits = []string{
	"getty@tty1.service", "serial-getty@ttyS0.service", "getty.target",
	"apt-daily.timer", "apt-daily-upgrade.timer", "e2scrub_all.timer", "e2scrub_reap.service",
	"fstrim.timer", "systemd-timesyncd.service", "dpkg-db-backup.timer",
	"systemd-networkd-wait-online.service",
}

// Image is a cached, read-only VM image. Run boots copy-on-write views of it.
type Image struct {
	Dir           string // the cache directory of this recipe
	Kernel        string // vmlinuz
	Initrd        string // gzip newc cpio
	RootDisk      string // raw ext4 image; never written after the build
	KernelVersion string // uname -r in the guest
}

// DefaultCacheDir is where images are cached unless IRE_CACHE_DIR says
// otherwise; the CRI-O build script uses the same directory.
func DefaultCacheDir() string {
	if d := os.Getenv("IRE_CACHE_DIR"); d != "" {
		return d
	}
	return "/var/cache/insights-runtime-extractor"
}

// EnsureImage returns the image of the current recipe, building it first if
// the cache has none. Concurrent callers, in this or other processes, wait
// for one build (flock); a build happens in a temporary directory renamed
// into place, so an interrupted one leaves no half image. It needs root
// (apt-get, debootstrap, chroot). cacheDir "" means DefaultCacheDir. log may
// be nil.
func EnsureImage(ctx context.Context, log *slog.Logger, cacheDir string) (*Image, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cacheDir == "" {
		cacheDir = DefaultCacheDir()
	}
	if err := debpkg.Ensure(ctx, log, hostPackages...); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return nil, err
	}
	crioDir, err := buildCRIO(ctx, log, cacheDir)
	if err != nil {
		return nil, err
	}
	kpkg, kver, err := kernelPackage(ctx)
	if err != nil {
		return nil, err
	}
	recipe, err := recipeText(ctx, crioDir, kpkg, kver)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte(recipe))
	key := hex.EncodeToString(sum[:])[:16]
	dir := filepath.Join(cacheDir, "vm-"+key)
	img := &Image{
		Dir:           dir,
		Kernel:        filepath.Join(dir, "vmlinuz"),
		Initrd:        filepath.Join(dir, "initrd.img"),
		RootDisk:      filepath.Join(dir, "root.img"),
		KernelVersion: strings.TrimPrefix(kpkg, "linux-image-"),
	}
	if complete(img) {
		return img, nil
	}
	unlock, err := flock.Lock(ctx, filepath.Join(cacheDir, ".vm-"+key+".lock"))
	if err != nil {
		return nil, err
	}
	defer unlock()
	if complete(img) { // built by another process while this one waited
		return img, nil
	}
	log.Info("building the VM image (once per recipe; several minutes)", "dir", dir)
	start := time.Now()
	tmp, err := os.MkdirTemp(cacheDir, ".vm-build-")
	if err != nil {
		return nil, err
	}
	defer removeBuildDir(log, tmp)
	b := &builder{log: log, tmp: tmp, crioDir: crioDir, kpkg: kpkg, kver: img.KernelVersion, cacheDir: cacheDir}
	if err := b.build(ctx); err != nil {
		return nil, fmt.Errorf("build VM image: %w", err)
	}
	if err := os.WriteFile(filepath.Join(tmp, "out", "recipe.txt"), []byte(recipe), 0o644); err != nil {
		return nil, err
	}
	if err := os.RemoveAll(dir); err != nil {
		return nil, err
	}
	if err := os.Rename(filepath.Join(tmp, "out"), dir); err != nil {
		return nil, err
	}
	log.Info("VM image built", "dir", dir, "took", time.Since(start).Round(time.Second))
	return img, nil
}

func complete(img *Image) bool {
	for _, p := range []string{img.Kernel, img.Initrd, img.RootDisk, filepath.Join(img.Dir, "recipe.txt")} {
		if _, err := os.Stat(p); err != nil {
			return false
		}
	}
	return true
}

// repoRoot is the checkout this file is in: the CRI-O build script lives
// there.
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// buildCRIO runs the repository's CRI-O build script, which caches crio,
// pinns and crictl in cacheDir and prints that directory; a cold build
// takes a quarter of an hour, so its progress goes to the log.
func buildCRIO(ctx context.Context, log *slog.Logger, cacheDir string) (string, error) {
	cmd := exec.CommandContext(ctx, "bash", filepath.Join(repoRoot(), "test", "crio", "build.sh"))
	cmd.Env = append(os.Environ(), "IRE_CACHE_DIR="+cacheDir)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &logWriter{log: log, msg: "crio build"}
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("test/crio/build.sh: %w", err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	dir := lines[len(lines)-1]
	for _, b := range []string{"crio", "pinns", "crictl"} {
		if _, err := os.Stat(filepath.Join(dir, "bin", b)); err != nil {
			return "", fmt.Errorf("test/crio/build.sh printed %q, which has no bin/%s", dir, b)
		}
	}
	return dir, nil
}

// kernelPackage names the package linux-image-amd64 points at, and its
// version, as the host's apt lists say.
func kernelPackage(ctx context.Context) (name, version string, err error) {
	out, err := exec.CommandContext(ctx, "apt-cache", "depends", "linux-image-amd64").Output()
	if err != nil {
		return "", "", fmt.Errorf("apt-cache depends linux-image-amd64: %w", err)
	}
	for _, l := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "Depends: "); ok && strings.HasPrefix(v, "linux-image-") {
			name = v
			break
		}
	}
	if name == "" {
		return "", "", fmt.Errorf("linux-image-amd64 depends on no linux-image package:\n%s", out)
	}
	out, err = exec.CommandContext(ctx, "apt-cache", "show", "--no-all-versions", name).Output()
	if err != nil {
		return "", "", fmt.Errorf("apt-cache show %s: %w", name, err)
	}
	for _, l := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(l, "Version: "); ok {
			return name, v, nil
		}
	}
	return "", "", fmt.Errorf("apt-cache show %s: no version", name)
}

// recipeText is everything the image is made of, in one text; its hash
// names the cache directory.
func recipeText(ctx context.Context, crioDir, kpkg, kver string) (string, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "recipe %s\nsuite %s %s\nkernel %s %s\ncrio %s\n", recipeVersion, suite, mirror, kpkg, kver, filepath.Base(crioDir))
	bbver, _ := exec.CommandContext(ctx, "dpkg-query", "-W", "-f=${Version}", "busybox-static").Output()
	fmt.Fprintf(&b, "busybox-static %s\n", bbver)
	fmt.Fprintf(&b, "packages %s\ninitrd modules %s\nskip modules %s\nmasked %s\n",
		strings.Join(guestPackages, ","), strings.Join(initrdModules, ","),
		strings.Join(skipModules, ","), strings.Join(maskedUnits, ","))
	err := fs.WalkDir(guest, "guest", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := guest.ReadFile(p)
		if err != nil {
			return err
		}
		s := sha256.Sum256(data)
		fmt.Fprintf(&b, "file %s %x\n", p, s)
		return nil
	})
	return b.String(), err
}

// builder makes the image's files in tmp/out.
type builder struct {
	log      *slog.Logger
	tmp      string
	cacheDir string
	crioDir  string
	kpkg     string
	kver     string
}

func (b *builder) build(ctx context.Context) error {
	out := filepath.Join(b.tmp, "out")
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	kdir, err := b.kernel(ctx)
	if err != nil {
		return err
	}
	if err := copyFile(filepath.Join(kdir, "boot", "vmlinuz-"+b.kver), filepath.Join(out, "vmlinuz"), 0o644); err != nil {
		return err
	}
	modDir, err := kernelModules(kdir, b.kver)
	if err != nil {
		return err
	}
	initScript, err := guest.ReadFile("guest/initrd-init")
	if err != nil {
		return err
	}
	if err := writeInitrd(filepath.Join(out, "initrd.img"), "/bin/busybox", string(initScript), modDir); err != nil {
		return fmt.Errorf("initramfs: %w", err)
	}
	rootfs := filepath.Join(b.tmp, "rootfs")
	if err := b.debootstrap(ctx, rootfs); err != nil {
		return err
	}
	if err := b.configure(ctx, rootfs, modDir); err != nil {
		return err
	}
	return b.mkfs(ctx, rootfs, filepath.Join(out, "root.img"))
}

// kernel fetches the kernel package and unpacks it (it is never installed
// on the host).
func (b *builder) kernel(ctx context.Context) (string, error) {
	dl := filepath.Join(b.tmp, "kdeb")
	kdir := filepath.Join(b.tmp, "kernel")
	if err := os.MkdirAll(dl, 0o755); err != nil {
		return "", err
	}
	b.log.Info("downloading the kernel", "package", b.kpkg)
	if err := run(ctx, dl, "apt-get", "download", "-q", b.kpkg); err != nil {
		return "", err
	}
	debs, _ := filepath.Glob(filepath.Join(dl, b.kpkg+"_*.deb"))
	if len(debs) != 1 {
		return "", fmt.Errorf("apt-get download %s gave %d files", b.kpkg, len(debs))
	}
	if err := run(ctx, "", "dpkg-deb", "-x", debs[0], kdir); err != nil {
		return "", err
	}
	return kdir, nil
}

// kernelModules finds the modules tree in the unpacked package (bookworm
// ships it under /lib, later releases under /usr/lib).
func kernelModules(kdir, kver string) (string, error) {
	for _, p := range []string{"lib/modules", "usr/lib/modules"} {
		d := filepath.Join(kdir, p, kver)
		if st, err := os.Stat(d); err == nil && st.IsDir() {
			return d, nil
		}
	}
	return "", fmt.Errorf("no modules for %s in the kernel package", kver)
}

func (b *builder) debootstrap(ctx context.Context, rootfs string) error {
	// The .debs are kept across recipes: a changed config file then costs
	// an unpack, not a download.
	debs := filepath.Join(b.cacheDir, "debootstrap-debs")
	if err := os.MkdirAll(debs, 0o755); err != nil {
		return err
	}
	unlock, err := flock.Lock(ctx, filepath.Join(b.cacheDir, ".debootstrap-debs.lock"))
	if err != nil {
		return err
	}
	defer unlock()
	b.log.Info("debootstrap (the long step: a few minutes)", "suite", suite, "packages", guestPackages)
	start := time.Now()
	args := []string{"--variant=minbase", "--include=" + strings.Join(guestPackages, ","),
		"--cache-dir=" + debs, suite, rootfs, mirror}
	if err := run(ctx, "", "debootstrap", args...); err != nil {
		return err
	}
	b.log.Info("debootstrap done", "took", time.Since(start).Round(time.Second))
	return nil
}

// configure turns the debootstrapped tree into the node: kernel modules,
// CRI-O, its configuration, the payload unit, masked units.
func (b *builder) configure(ctx context.Context, rootfs, modDir string) error {
	// Merged /usr: lib is a symlink to usr/lib, and usr/lib/modules does not
	// exist yet; creating it keeps cp from making "modules" the version dir.
	mods := filepath.Join(rootfs, "usr", "lib", "modules")
	if err := os.MkdirAll(mods, 0o755); err != nil {
		return err
	}
	if err := run(ctx, "", "cp", "-a", modDir, mods+"/"); err != nil {
		return err
	}
	for _, s := range skipModules {
		if err := os.RemoveAll(filepath.Join(mods, b.kver, s)); err != nil {
			return err
		}
	}
	if err := run(ctx, "", "chroot", rootfs, "depmod", b.kver); err != nil {
		return err
	}
	for _, bin := range []string{"crio", "pinns", "crictl"} {
		if err := copyFile(filepath.Join(b.crioDir, "bin", bin), filepath.Join(rootfs, "usr/local/bin", bin), 0o755); err != nil {
			return err
		}
	}
	// crio is linked dynamically (cgo, libseccomp): fail here, not at boot,
	// when the guest lacks a library.
	ldd, err := exec.CommandContext(ctx, "chroot", rootfs, "ldd", "/usr/local/bin/crio").CombinedOutput()
	if err != nil || bytes.Contains(ldd, []byte("not found")) {
		return fmt.Errorf("crio's libraries in the guest: %v\n%s", err, ldd)
	}
	files := map[string]string{
		"guest/crio.conf":              "etc/crio/crio.conf",
		"guest/crio.service":           "etc/systemd/system/crio.service",
		"guest/registries.conf":        "etc/containers/registries.conf",
		"guest/policy.json":            "etc/containers/policy.json",
		"guest/storage.conf":           "etc/containers/storage.conf",
		"guest/99-loopback.conflist":   "etc/cni/net.d/99-loopback.conflist",
		"guest/crictl.yaml":            "etc/crictl.yaml",
		"guest/ire-vm-payload.service": "etc/systemd/system/ire-vm-payload.service",
		"guest/run-payload":            "usr/local/lib/ire-vm/run-payload",
	}
	for src, dst := range files {
		data, err := guest.ReadFile(src)
		if err != nil {
			return err
		}
		mode := os.FileMode(0o644)
		if bytes.HasPrefix(data, []byte("#!")) {
			mode = 0o755
		}
		if err := writeFile(filepath.Join(rootfs, dst), data, mode); err != nil {
			return err
		}
	}
	wants := filepath.Join(rootfs, "etc/systemd/system/multi-user.target.wants")
	for _, u := range []string{"crio.service", "ire-vm-payload.service"} {
		if err := symlink("/etc/systemd/system/"+u, filepath.Join(wants, u)); err != nil {
			return err
		}
	}
	for _, u := range maskedUnits {
		if err := symlink("/dev/null", filepath.Join(rootfs, "etc/systemd/system", u)); err != nil {
			return err
		}
	}
	small := map[string]string{
		"etc/hostname": "ire-vm\n",
		"etc/hosts":    "127.0.0.1 localhost ire-vm\n::1 localhost\n",
		// The initramfs mounted the root read-write already; no fsck.
		"etc/fstab": "/dev/vda / ext4 rw 0 0\n",
		// Load overlay at boot: CRI-O's storage driver needs it.
		"etc/modules-load.d/ire-vm.conf": "overlay\n",
	}
	for p, s := range small {
		if err := writeFile(filepath.Join(rootfs, p), []byte(s), 0o644); err != nil {
			return err
		}
	}
	// A machine id made now, so that the guest does not take its first boot
	// as one (first-boot units, presets).
	_ = os.Remove(filepath.Join(rootfs, "etc/machine-id"))
	if err := run(ctx, "", "chroot", rootfs, "systemd-machine-id-setup"); err != nil {
		return err
	}
	// Lean: nothing here is read in the guest.
	for _, p := range []string{"usr/share/doc", "usr/share/man", "usr/share/info", "usr/share/locale", "var/cache/apt", "var/lib/apt/lists"} {
		if err := os.RemoveAll(filepath.Join(rootfs, p)); err != nil {
			return err
		}
	}
	return os.MkdirAll(filepath.Join(rootfs, "var/cache/apt/archives/partial"), 0o755)
}

// mkfs packs the tree into an ext4 image without loop mounts. The image is
// sparse; its free space is room for the images and containers of a test.
func (b *builder) mkfs(ctx context.Context, rootfs, out string) error {
	var used int64
	err := filepath.WalkDir(rootfs, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if info, err := d.Info(); err == nil && info.Mode().IsRegular() {
			used += info.Size()
		}
		return nil
	})
	if err != nil {
		return err
	}
	size := used + 6<<30
	b.log.Info("making the root disk", "content_mb", used>>20, "size_mb", size>>20)
	return run(ctx, "", "mkfs.ext4", "-q", "-F", "-L", "ire-root", "-d", rootfs, out, fmt.Sprintf("%dk", size>>10))
}

// removeBuildDir removes a build directory, but first unmounts anything a
// failed debootstrap left mounted inside it (a bind-mounted /dev must not
// be emptied); it keeps the directory when that fails.
func removeBuildDir(log *slog.Logger, dir string) {
	mounts, _ := os.ReadFile("/proc/self/mounts")
	var under []string
	sc := bufio.NewScanner(bytes.NewReader(mounts))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) > 1 && strings.HasPrefix(f[1], dir+"/") {
			under = append(under, f[1])
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(under))) // children first
	for _, m := range under {
		if err := unix.Unmount(m, unix.MNT_DETACH); err != nil {
			log.Error("leaving the build directory: cannot unmount inside it", "mount", m, "error", err)
			return
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		log.Error("removing the build directory", "dir", dir, "error", err)
	}
}

// run runs a command; its error carries the end of the output.
func run(ctx context.Context, dir, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive", "LC_ALL=C")
	out, err := cmd.CombinedOutput()
	if err != nil {
		msg := strings.TrimSpace(string(out))
		if len(msg) > 3000 {
			msg = "…" + msg[len(msg)-3000:]
		}
		return fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, msg)
	}
	return nil
}

func copyFile(src, dst string, mode os.FileMode) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return writeFile(dst, data, mode)
}

func writeFile(p string, data []byte, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(p, data, mode); err != nil {
		return err
	}
	return os.Chmod(p, mode)
}

func symlink(target, p string) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	_ = os.Remove(p)
	return os.Symlink(target, p)
}

// logWriter turns a command's output lines into log records.
type logWriter struct {
	log  *slog.Logger
	msg  string
	part []byte
}

func (w *logWriter) Write(p []byte) (int, error) {
	w.part = append(w.part, p...)
	for {
		i := bytes.IndexByte(w.part, '\n')
		if i < 0 {
			break
		}
		if line := strings.TrimSpace(string(w.part[:i])); line != "" {
			w.log.Info(w.msg, "line", line)
		}
		w.part = w.part[i+1:]
	}
	return len(p), nil
}
