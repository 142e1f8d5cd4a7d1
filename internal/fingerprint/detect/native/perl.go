package native

import (
	"context"
	"debug/elf"
	"os"
	"path"
	"strings"

	"github.com/openshift/insights-runtime-extractor/internal/contract"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint/banner"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint/detect"
)

// perl reports Perl 5 and the version of its interpreter ("5.36.0"), read
// from the perl executable (Debian links the interpreter into it) or, when
// perl is linked to libperl.so (Fedora, RHEL), from that library.
func init() { detect.Register(perl) }

var perl = detect.Detector{
	Name:         "perl",
	Fingerprint:  Fingerprint,
	NeedsProcess: true,
	Applies:      func(r fingerprint.Request) bool { return namedLike(r.Process, "perl") },
	Detect: func(_ context.Context, env detect.Env) (contract.Finding, error) {
		file, exe, err := runningExecutable(env)
		if err != nil {
			return contract.Finding{}, err
		}
		defer file.Close()
		found, err := banner.Perl(file)
		if err != nil {
			return contract.Finding{}, err
		}
		if !found.Is {
			lib, ok := libperl(env, file, exe)
			if !ok {
				return contract.Finding{}, nil
			}
			defer lib.Close()
			if found, err = banner.Perl(lib); err != nil {
				return contract.Finding{}, err
			}
		}
		if !found.Is {
			return contract.Finding{}, nil
		}
		return contract.Finding{Kind: "Perl", KindVersion: found.Version}, nil
	},
}

// libperl opens the libperl.so the executable needs, where the dynamic
// loader looks for it: its RUNPATH (or RPATH), then the default directories.
func libperl(env detect.Env, exe *os.File, exePath string) (*os.File, bool) {
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
		if strings.HasPrefix(n, "libperl.so") && !strings.Contains(n, "/") {
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
