package native

import (
	"context"
	"debug/elf"
	"io"
	"os"
	"path"
	"strings"

	"github.com/openshift/insights-runtime-extractor/internal/contract"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint/banner"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint/detect"
)

// namedLike reports whether the process or the executable it runs has a name
// starting with one of prefixes: a script started through its #! line is
// named after the script, but runs the interpreter.
func namedLike(p fingerprint.Process, prefixes ...string) bool {
	for _, prefix := range prefixes {
		if strings.HasPrefix(p.Name, prefix) || p.Exe != "" && strings.HasPrefix(path.Base(p.Exe), prefix) {
			return true
		}
	}
	return false
}

// interpreter is a detector of a runtime whose executable holds its version
// (read by banner), for processes named like it: others never pay the scan.
// When the executable is linked to the runtime's shared library (lib, e.g.
// "libperl.so"), that library is read when the executable says nothing.
func interpreter(name, kind string, prefixes []string, lib string, read func(io.ReaderAt) (banner.Found, error)) detect.Detector {
	return detect.Detector{
		Name:         name,
		Fingerprint:  Fingerprint,
		NeedsProcess: true,
		Applies:      func(r fingerprint.Request) bool { return namedLike(r.Process, prefixes...) },
		Detect: func(_ context.Context, env detect.Env) (contract.Finding, error) {
			file, exe, err := runningExecutable(env)
			if err != nil {
				return contract.Finding{}, err
			}
			defer file.Close()
			found, err := read(file)
			if err != nil {
				return contract.Finding{}, err
			}
			if !found.Is && lib != "" {
				if l, ok := neededLibrary(env, file, exe, lib); ok {
					defer l.Close()
					if found, err = read(l); err != nil {
						return contract.Finding{}, err
					}
				}
			}
			if !found.Is {
				return contract.Finding{}, nil
			}
			return contract.Finding{Kind: kind, KindVersion: found.Version}, nil
		},
	}
}

// neededLibrary opens the shared library named prefix… that the executable
// needs (DT_NEEDED), where the dynamic loader looks for it: the
// executable's RUNPATH (or RPATH), then the default directories.
func neededLibrary(env detect.Env, exe *os.File, exePath, prefix string) (*os.File, bool) {
	f, err := elf.NewFile(exe)
	if err != nil {
		return nil, false
	}
	needed, err := f.ImportedLibraries()
	if err != nil {
		return nil, false
	}
	var name string
	for _, n := range needed {
		if strings.HasPrefix(n, prefix) && !strings.Contains(n, "/") {
			name = n
			break
		}
	}
	if name == "" {
		return nil, false
	}
	var dirs []string
	for _, tag := range []elf.DynTag{elf.DT_RUNPATH, elf.DT_RPATH} {
		paths, _ := f.DynString(tag)
		for _, p := range paths {
			for _, d := range strings.Split(p, ":") {
				d = strings.ReplaceAll(strings.ReplaceAll(d, "${ORIGIN}", "$ORIGIN"), "$ORIGIN", path.Dir(exePath))
				if strings.HasPrefix(d, "/") {
					dirs = append(dirs, d)
				}
			}
		}
	}
	dirs = append(dirs, libraryDirs(f.Machine)...)
	for _, d := range dirs {
		if lib, err := env.Root.Open(path.Join(d, name)); err == nil {
			return lib, true
		}
	}
	return nil, false
}

// libraryDirs are the directories the dynamic loader searches by default,
// multiarch ones included, for an executable of that machine.
func libraryDirs(m elf.Machine) []string {
	dirs := []string{"/lib64", "/usr/lib64", "/lib", "/usr/lib"}
	if triplet, ok := map[elf.Machine]string{elf.EM_X86_64: "x86_64-linux-gnu", elf.EM_AARCH64: "aarch64-linux-gnu",
		elf.EM_PPC64: "powerpc64le-linux-gnu", elf.EM_S390: "s390x-linux-gnu"}[m]; ok {
		dirs = append(dirs, "/lib/"+triplet, "/usr/lib/"+triplet)
	}
	return dirs
}

// runningExecutable opens the executable the process runs, and says its path
// inside the root: the one the kernel recorded, else argv[0] as the shell
// found it.
func runningExecutable(env detect.Env) (*os.File, string, error) {
	f, exe, err := detect.RecordedExecutable(env)
	if err == nil {
		return f, exe, nil
	}
	if exe, err = detect.Argv0Executable(env); err != nil {
		return nil, "", err
	}
	f, err = env.Root.Open(exe)
	return f, exe, err
}
