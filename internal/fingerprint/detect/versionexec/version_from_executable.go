package versionexec

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"path"
	"regexp"
	"strings"

	"github.com/openshift/insights-runtime-extractor/internal/fingerprint/detect"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint/elfscan"
)

// A kind whose executable holds its version as a constant string is read,
// not run: no code of the container runs, and reading costs a fraction of
// starting a runtime. The string is the one --version would print, so that
// the report does not depend on the way it was found. --version stays the
// fallback for a build that holds it elsewhere.

// kindFormat is how one kind's version is read from its files.
type kindFormat struct {
	// read returns the version as --version answers it, "" when the files
	// do not hold it where this build of the kind keeps it.
	read func(env detect.Env, exe *os.File, exePath string) (string, error)
	// answer turns the first line --version printed into the same string;
	// nil keeps the line as it is.
	answer func(line string) string
}

// formats are keyed by runtime-kind-name: a config.toml entry of one of
// these kinds gets its reader.
var formats = map[string]kindFormat{
	"Node.js": {read: nodeVersion},
	"Python":  {read: pythonVersion},
	"Deno":    {read: denoVersion, answer: denoAnswer},
	"Bun":     {read: bunVersion},
}

// maxVersionValue bounds the bytes read after a needle.
const maxVersionValue = 64

// Node.js keeps "node.js/v<version>" among its constants, in the executable
// or, as Debian builds it, in the libnode.so.N it needs; --version prints
// "v<version>".
var nodeNeedle = []byte("node.js/v")

func nodeVersion(env detect.Env, exe *os.File, exePath string) (string, error) {
	v, err := scanExecutableOrLibrary(env, exe, exePath, "libnode.so.", func(f *elf.File) (string, error) {
		return scanRodata(f, nodeNeedle, func(after []byte) (string, bool) {
			s, ok := elfscan.CString(after)
			if !ok {
				return "", false
			}
			v, rest, ok := elfscan.Release(s, true)
			return v, ok && len(rest) == 0
		})
	})
	if v == "" {
		return "", err
	}
	return "v" + v, err
}

// pythonExecutable and libPython name CPython's executable and library
// with their major and minor version.
var (
	pythonExecutable = regexp.MustCompile(`^python([0-9])\.([0-9]{1,2})$`)
	libPython        = regexp.MustCompile(`^libpython([0-9])\.([0-9]{1,2})`)
)

// CPython keeps PY_VERSION ("3.11.2", "3.13.0rc1") as a string of its own
// among its constants, in the executable or in the libpython it needs. It
// has no prefix to find it by: the major and minor version, from the name of
// the executable or of the library, are the needle, and the NUL bytes on
// both sides make it a string of its own. --version prints
// "Python <PY_VERSION>".
func pythonVersion(env detect.Env, exe *os.File, exePath string) (string, error) {
	f, err := elf.NewFile(exe)
	if err != nil {
		return "", fmt.Errorf("%w: %v", elfscan.ErrNotELF, err)
	}
	needed, runPath, err := elfscan.Dynamic(f)
	if err != nil {
		return "", err
	}
	scanned := f
	m := pythonExecutable.FindStringSubmatch(path.Base(exePath))
	for _, lib := range needed {
		if lm := libPython.FindStringSubmatch(lib); lm != nil {
			lf, closer, err := openLibrary(env, f, exePath, lib, runPath)
			if err != nil {
				return "", err
			}
			defer closer.Close()
			scanned, m = lf, lm
			break
		}
	}
	if m == nil {
		return "", errors.New("neither the executable nor a library it needs is named with its Python version")
	}
	needle := []byte("\x00" + m[1] + "." + m[2] + ".")
	v, err := scanRodata(scanned, needle, func(after []byte) (string, bool) {
		s, ok := elfscan.CString(after)
		if !ok || !pyVersionTail.Match(s) {
			return "", false
		}
		return string(s), true
	})
	if v == "" {
		return "", err
	}
	return "Python " + string(needle[1:]) + v, err
}

// pyVersionTail is what follows "<major>.<minor>." in PY_VERSION: the micro
// version, a pre-release and the "+" of a build after a release.
var pyVersionTail = regexp.MustCompile(`^[0-9]{1,3}((a|b|rc)[0-9]{1,3})?\+?$`)

// Deno, written in Rust, keeps its user agent "Deno/<version>" among
// constants laid end to end, without separators: other crates' agents
// ("OTel-OTLP-Exporter-Deno/0.80.0") among them. Its own is followed by the
// same with the build hash ("Deno/2.9.6Deno/2.9.6+e518fbd"), and only a
// version so confirmed is taken. --version prints
// "deno <version> (<channel>, <profile>, <target>)"; the kind's version is
// the version alone.
var denoNeedle = []byte("Deno/")

func denoVersion(_ detect.Env, exe *os.File, _ string) (string, error) {
	f, err := elf.NewFile(exe)
	if err != nil {
		return "", fmt.Errorf("%w: %v", elfscan.ErrNotELF, err)
	}
	return scanRodata(f, denoNeedle, func(after []byte) (string, bool) {
		v, rest, ok := elfscan.Release(after, false)
		if !ok || !bytes.HasPrefix(rest, []byte("Deno/"+v+"+")) {
			return "", false
		}
		return v, true
	})
}

func denoAnswer(line string) string {
	fields := strings.Fields(line)
	if len(fields) < 2 || fields[0] != "deno" {
		return ""
	}
	return fields[1]
}

// Bun keeps "Bun/<version>" as a string of its own; --version prints the
// version alone.
var bunNeedle = []byte("Bun/")

func bunVersion(_ detect.Env, exe *os.File, _ string) (string, error) {
	f, err := elf.NewFile(exe)
	if err != nil {
		return "", fmt.Errorf("%w: %v", elfscan.ErrNotELF, err)
	}
	return scanRodata(f, bunNeedle, func(after []byte) (string, bool) {
		s, ok := elfscan.CString(after)
		if !ok {
			return "", false
		}
		v, rest, ok := elfscan.Release(s, true)
		return v, ok && len(rest) == 0
	})
}

// scanRodata returns the value every accepted occurrence of needle in the
// .rodata section of f agrees on.
func scanRodata(f *elf.File, needle []byte, value func([]byte) (string, bool)) (string, error) {
	r, ok := elfscan.Rodata(f)
	if !ok {
		return "", errors.New("no .rodata section")
	}
	return elfscan.Agreed(r, elfscan.MaxScan, needle, maxVersionValue, value)
}

// scanExecutableOrLibrary runs scan on the executable, then, when it found
// nothing, on the library it needs whose name starts with libPrefix.
func scanExecutableOrLibrary(env detect.Env, exe *os.File, exePath, libPrefix string, scan func(*elf.File) (string, error)) (string, error) {
	f, err := elf.NewFile(exe)
	if err != nil {
		return "", fmt.Errorf("%w: %v", elfscan.ErrNotELF, err)
	}
	if v, err := scan(f); v != "" || err != nil {
		return v, err
	}
	needed, runPath, err := elfscan.Dynamic(f)
	if err != nil {
		return "", err
	}
	for _, lib := range needed {
		if !strings.HasPrefix(lib, libPrefix) {
			continue
		}
		lf, closer, err := openLibrary(env, f, exePath, lib, runPath)
		if err != nil {
			return "", err
		}
		defer closer.Close()
		return scan(lf)
	}
	return "", nil
}

// multiarch is the Debian library directory of each machine.
var multiarch = map[elf.Machine]string{
	elf.EM_X86_64:  "x86_64-linux-gnu",
	elf.EM_AARCH64: "aarch64-linux-gnu",
	elf.EM_PPC64:   "powerpc64le-linux-gnu",
	elf.EM_S390:    "s390x-linux-gnu",
}

// openLibrary finds a needed library inside the root where the loader would:
// the executable's run path ($ORIGIN is its directory), the process's
// LD_LIBRARY_PATH, then the usual directories (what /etc/ld.so.conf adds on
// the common images: the multiarch ones and /usr/local/lib).
func openLibrary(env detect.Env, exe *elf.File, exePath, lib string, runPath []string) (*elf.File, *os.File, error) {
	if strings.Contains(lib, "/") {
		return nil, nil, fmt.Errorf("needed library %q is a path", lib)
	}
	dirs := make([]string, 0, len(runPath)+10)
	for _, d := range runPath {
		dirs = append(dirs, strings.ReplaceAll(strings.ReplaceAll(d, "${ORIGIN}", "$ORIGIN"), "$ORIGIN", path.Dir(exePath)))
	}
	if v, ok := env.Request.Process.Getenv("LD_LIBRARY_PATH"); ok {
		dirs = append(dirs, strings.Split(v, ":")...)
	}
	if ma, ok := multiarch[exe.Machine]; ok {
		dirs = append(dirs, "/lib/"+ma, "/usr/lib/"+ma)
	}
	dirs = append(dirs, "/lib64", "/usr/lib64", "/lib", "/usr/lib", "/usr/local/lib")
	for _, d := range dirs {
		if !strings.HasPrefix(d, "/") {
			continue
		}
		file, err := env.Root.Open(path.Join(d, lib))
		if err != nil {
			continue
		}
		lf, err := elf.NewFile(file)
		if err != nil {
			file.Close()
			return nil, nil, fmt.Errorf("%s: %w: %v", lib, elfscan.ErrNotELF, err)
		}
		return lf, file, nil
	}
	return nil, nil, fmt.Errorf("needed library %s not found", lib)
}

// readVersion opens the executable the process runs and reads its version
// in the kind's format.
func readVersion(env detect.Env, format kindFormat) (string, error) {
	exe, exePath, err := detect.RecordedExecutable(env)
	if err != nil {
		return "", err
	}
	defer exe.Close()
	return format.read(env, exe, exePath)
}
