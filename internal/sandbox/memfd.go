package sandbox

import (
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/openshift/insights-runtime-extractor/internal/sandbox/helper"
)

// Why memfds: a process the sandbox places in a container (the fingerprint, and the copy of
// the helper that forks it, until its execve) shows its executable through /proc/<pid>/exe
// and maps. Executed from a host file, those name its host path and open the host file itself
// for any process of the container that passes the ptrace access check (root with
// CAP_SYS_PTRACE). Executed from a sealed memfd, they name "/memfd:<name> (deleted)" and
// open a copy that exists nowhere on the host and that nobody can change.

// memfdSeals forbid any change of the copy once it is made, and any further seal change.
const memfdSeals = unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE

// sealedCopy copies src into a new memfd called name, execute-only (0111, so that the kernel
// keeps what it runs non-dumpable, as for the host file) and sealed.
func sealedCopy(name string, src io.Reader) (*os.File, error) {
	fd, err := unix.MemfdCreate(name, unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING|unix.MFD_EXEC)
	if errors.Is(err, unix.EINVAL) {
		// Before Linux 6.3 there is no MFD_EXEC: every memfd is executable.
		fd, err = unix.MemfdCreate(name, unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	}
	if err != nil {
		return nil, fmt.Errorf("memfd_create: %w", err)
	}
	f := os.NewFile(uintptr(fd), "memfd:"+name)
	if _, err := io.Copy(f, src); err != nil {
		f.Close()
		return nil, fmt.Errorf("copy into memfd %s: %w", name, err)
	}
	if err := unix.Fchmod(fd, 0o111); err != nil {
		f.Close()
		return nil, fmt.Errorf("chmod memfd %s: %w", name, err)
	}
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, memfdSeals); err != nil {
		f.Close()
		return nil, fmt.Errorf("seal memfd %s: %w", name, err)
	}
	return f, nil
}

// staticCopy is sealedCopy of an executable that checkStatic accepts: the copy, not the
// file, is what runs, so the copy is what is checked.
func staticCopy(name string, src io.Reader) (*os.File, error) {
	mem, err := sealedCopy(name, src)
	if err != nil {
		return nil, err
	}
	if err := checkStatic(mem); err != nil {
		mem.Close()
		return nil, err
	}
	return mem, nil
}

// checkStatic refuses an ELF executable with a program interpreter: a dynamic fingerprint
// would run the container's ld.so (and libraries) with the fingerprint's view of the host.
func checkStatic(r io.ReaderAt) error {
	f, err := elf.NewFile(r)
	if err != nil {
		return fmt.Errorf("not an ELF executable: %w", err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return errors.New("dynamically linked (PT_INTERP): it would load the container's ld.so")
		}
	}
	return nil
}

// exeCopies holds the sealed copies of the executables a Sandbox runs, so that each is copied
// once per file, not once per run.
type exeCopies struct {
	mu     sync.Mutex
	byPath map[string]exeCopy
	old    []*os.File // copies of files that changed since, closed with the Sandbox
}

type exeCopy struct {
	id  fileVersion
	mem *os.File
}

// fileVersion tells whether a file changed since it was copied.
type fileVersion struct {
	dev, ino    uint64
	size        int64
	mtim, ctime unix.Timespec
}

func versionOf(st *unix.Stat_t) fileVersion {
	return fileVersion{dev: st.Dev, ino: st.Ino, size: st.Size, mtim: st.Mtim, ctime: st.Ctim}
}

// executable returns the sealed copy of the fingerprint executable at path, checked as Run
// requires (CheckMode, and static: checkStatic).
func (c *exeCopies) executable(path string) (*os.File, error) {
	pathFD, err := openExecutable(path)
	if err != nil {
		return nil, err
	}
	defer pathFD.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(pathFD.Fd()), &st); err != nil {
		return nil, fmt.Errorf("%w: stat %s: %w", ErrBadExecutable, path, err)
	}
	v := versionOf(&st)
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.byPath[path]; ok && e.id == v {
		return e.mem, nil
	}
	// The very file checked, opened for reading (which, execute-only, takes CAP_DAC_OVERRIDE).
	fd, err := unix.Open("/proc/self/fd/"+strconv.Itoa(int(pathFD.Fd())), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("%w: read %s: %w", ErrBadExecutable, path, err)
	}
	src := os.NewFile(uintptr(fd), path)
	defer src.Close()
	mem, err := staticCopy(exeName(path), src)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrBadExecutable, path, err)
	}
	if e, ok := c.byPath[path]; ok {
		c.old = append(c.old, e.mem) // a run may still be passing it to its helper
	}
	if c.byPath == nil {
		c.byPath = map[string]exeCopy{}
	}
	c.byPath[path] = exeCopy{id: v, mem: mem}
	return mem, nil
}

// helperCopy returns a checked, sealed copy of the helper executable at path: a regular file
// that only its owner may change, without set-id bits, static (checkStatic).
func helperCopy(path string) (*os.File, error) {
	if path == "" {
		return nil, errors.New("no sandbox helper executable given")
	}
	src, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("sandbox helper: %w", err)
	}
	defer src.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(src.Fd()), &st); err != nil {
		return nil, fmt.Errorf("sandbox helper: stat %s: %w", path, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG || st.Mode&(0o022|unix.S_ISUID|unix.S_ISGID) != 0 {
		return nil, fmt.Errorf("sandbox helper %s: mode %06o, want a regular file that only its owner may write, without set-id bits", path, st.Mode)
	}
	mem, err := staticCopy(helper.Name, src)
	if err != nil {
		return nil, fmt.Errorf("sandbox helper %s: %w", path, err)
	}
	return mem, nil
}

// close closes every copy; runs must have returned.
func (c *exeCopies) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.byPath {
		e.mem.Close()
	}
	for _, f := range c.old {
		f.Close()
	}
	c.byPath, c.old = nil, nil
}

// openExecutable opens the fingerprint executable as an O_PATH descriptor and checks it is a
// regular, executable file that nobody may read (see the package doc: dumpability).
func openExecutable(path string) (*os.File, error) {
	fd, err := unix.Open(path, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadExecutable, err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("%w: stat %s: %w", ErrBadExecutable, path, err)
	}
	if err := CheckMode(st.Mode); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("%w: %s: %w", ErrBadExecutable, path, err)
	}
	return os.NewFile(uintptr(fd), path), nil
}
