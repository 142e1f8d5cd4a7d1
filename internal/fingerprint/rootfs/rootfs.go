// Package rootfs opens files of a container's file system the way a chroot
// would: every path, and every symlink met on the way (absolute or with ".."),
// resolves inside the root directory. Only regular files are read, and always
// with a size cap: a FIFO, /dev/zero, a directory or a symlink loop where a
// file is expected is an error, never a hang or an unbounded read.
package rootfs

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
	"golang.org/x/sys/unix"
)

// maxPathLen bounds a path to resolve, as Linux's PATH_MAX.
const maxPathLen = 4096

// Errors callers distinguish with errors.Is.
var (
	ErrNotRegular = errors.New("not a regular file")
	ErrTooLarge   = errors.New("file larger than the limit")
	ErrLoop       = errors.New("too many levels of symbolic links")
)

// Root is a directory standing for "/".
type Root struct {
	dir string // absolute, clean host path
}

// New returns the Root at dir ("/" inside a container).
func New(dir string) (*Root, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("root %s: %w", dir, err)
	}
	st, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("root: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("root %s: not a directory", dir)
	}
	return &Root{dir: abs}, nil
}

// Dir returns the host directory of the root.
func (r *Root) Dir() string { return r.dir }

// IsHostRoot reports whether the root is "/" itself (inside a container, the
// container's own root): /proc magic links then work as they are.
func (r *Root) IsHostRoot() bool { return r.dir == "/" }

// Clean makes name an absolute, clean path inside the root: relative names
// are taken from "/", ".." never climbs above "/".
func Clean(name string) string { return path.Clean("/" + name) }

func (r *Root) host(name string) string {
	return filepath.Join(r.dir, filepath.FromSlash(Clean(name)))
}

// Resolve returns name with every symlink resolved inside the root (the
// path a chrooted realpath would give). The file must exist.
func (r *Root) Resolve(name string) (string, error) {
	if len(name) > maxPathLen {
		return "", fmt.Errorf("resolve %.64s…: %w", name, unix.ENAMETOOLONG)
	}
	// securejoin walks the path in user space, as a chroot would, with its
	// own bound on symlinks; the existence check is ours.
	host, err := securejoin.SecureJoin(r.dir, name)
	if errors.Is(err, unix.ELOOP) {
		return "", fmt.Errorf("resolve %s: %w", name, ErrLoop)
	}
	if err != nil {
		return "", fmt.Errorf("resolve %s: %w", name, err)
	}
	if _, err := os.Lstat(host); err != nil {
		return "", fmt.Errorf("resolve %s: %w", name, err)
	}
	rel, err := filepath.Rel(r.dir, host)
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return "", fmt.Errorf("resolve %s: outside the root", name)
	}
	return Clean(filepath.ToSlash(rel)), nil
}

// Open opens a regular file for reading. Resolution stays inside the root
// even if the container swaps a path component for a symlink meanwhile
// (openat2 RESOLVE_IN_ROOT; a user-space walk on kernels before 5.6). Opening
// never blocks on a FIFO, and anything but a regular file is ErrNotRegular.
func (r *Root) Open(name string) (*os.File, error) {
	f, err := r.open(name, 0)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open %s: %w", name, err)
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("open %s (%s): %w", name, st.Mode().Type(), ErrNotRegular)
	}
	return f, nil
}

func (r *Root) open(name string, extra int) (*os.File, error) {
	flags := unix.O_RDONLY | unix.O_CLOEXEC | unix.O_NOCTTY | unix.O_NONBLOCK | extra
	rel := strings.TrimPrefix(Clean(name), "/")
	if rel == "" {
		rel = "."
	}
	dirfd, err := unix.Open(r.dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open root %s: %w", r.dir, err)
	}
	defer unix.Close(dirfd)
	fd, err := unix.Openat2(dirfd, rel, &unix.OpenHow{
		Flags:   uint64(flags),
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
	})
	if errors.Is(err, unix.ENOSYS) {
		// No openat2 (Linux < 5.6, or a seccomp profile predating it): resolve
		// in user space, then refuse any symlink left at the last step.
		resolved, rerr := r.Resolve(name)
		if rerr != nil {
			return nil, fmt.Errorf("open %s: %w", name, rerr)
		}
		fd, err = unix.Open(r.host(resolved), flags|unix.O_NOFOLLOW, 0)
	}
	if err != nil {
		if errors.Is(err, unix.ELOOP) {
			err = ErrLoop
		}
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	return newFile(fd, r.host(name))
}

// newFile wraps an fd opened with O_NONBLOCK (so that opening a FIFO cannot
// block) as a plain blocking *os.File: O_NONBLOCK is cleared first.
func newFile(fd int, name string) (*os.File, error) {
	if err := unix.SetNonblock(fd, false); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("open %s: %w", name, err)
	}
	return os.NewFile(uintptr(fd), name), nil
}

// ReadFile reads a whole regular file of at most max bytes; a larger file is
// ErrTooLarge (nothing of it is returned: a truncated file could lie).
func (r *Root) ReadFile(name string, max int64) ([]byte, error) {
	f, err := r.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("read %s: %w (%d bytes)", name, ErrTooLarge, max)
	}
	return data, nil
}

// ReadDirNames returns up to max names of the entries of a directory, and
// whether there were more.
func (r *Root) ReadDirNames(name string, max int) (names []string, more bool, err error) {
	f, err := r.open(name, unix.O_DIRECTORY)
	if err != nil {
		return nil, false, err
	}
	defer f.Close()
	names, err = f.Readdirnames(max + 1)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, false, fmt.Errorf("read directory %s: %w", name, err)
	}
	if len(names) > max {
		return names[:max], true, nil
	}
	return names, false, nil
}

// IsDir reports whether name resolves to a directory inside the root.
func (r *Root) IsDir(name string) bool {
	f, err := r.open(name, unix.O_DIRECTORY)
	if err != nil {
		return false
	}
	f.Close()
	return true
}

// Readlink returns the target of the symlink name (its last component is
// not followed; the directories before it resolve inside the root).
func (r *Root) Readlink(name string) (string, error) {
	dir, base := path.Split(Clean(name))
	resolvedDir, err := r.Resolve(dir)
	if err != nil {
		return "", err
	}
	target, err := os.Readlink(r.host(path.Join(resolvedDir, base)))
	if err != nil {
		return "", fmt.Errorf("readlink %s: %w", name, err)
	}
	return target, nil
}

// Executable opens the executable of process pid (as the root's /proc sees
// it) and returns its path inside the root. Inside a container (root "/") the
// kernel's /proc/<pid>/exe link is opened as is: it reaches the very file the
// process runs, even if it was replaced or deleted since. On any other root
// the link's text is resolved inside the root.
func (r *Root) Executable(pid int) (*os.File, string, error) {
	link := "/proc/" + strconv.Itoa(pid) + "/exe"
	target, err := r.Readlink(link)
	if err != nil {
		return nil, "", err
	}
	if r.IsHostRoot() {
		fd, err := unix.Open(link, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NONBLOCK|unix.O_NOCTTY, 0)
		if err != nil {
			return nil, "", &fs.PathError{Op: "open", Path: link, Err: err}
		}
		f, err := newFile(fd, link)
		if err != nil {
			return nil, "", err
		}
		st, err := f.Stat()
		if err != nil || !st.Mode().IsRegular() {
			f.Close()
			return nil, "", fmt.Errorf("open %s: %w", link, ErrNotRegular)
		}
		return f, strings.TrimSuffix(target, " (deleted)"), nil
	}
	f, err := r.Open(target)
	if err != nil {
		return nil, "", err
	}
	return f, target, nil
}

// HostPath returns where a path inside the root is on the host (no symlink
// resolved: use Resolve first).
func (r *Root) HostPath(name string) string { return r.host(name) }
