package detect

import (
	"errors"
	"fmt"
	"os"
	"strings"
)

// RecordedExecutable opens the executable the kernel recorded for the process
// and returns it with its path inside the root: through /proc/<pid>/exe when
// the fingerprint may follow it, else at the path the coordinator read from
// the host's /proc. A fingerprint holds no capability, and the kernel refuses
// it the exe link of any target that holds some (a root container), so the
// second way is the common one; argv[0], which the process chose, is never
// used here.
func RecordedExecutable(env Env) (*os.File, string, error) {
	p := env.Request.Process
	var errs []error
	if p.PID > 0 {
		f, exe, err := env.Root.Executable(p.PID)
		if err == nil {
			return f, exe, nil
		}
		errs = append(errs, err)
	}
	if p.Exe != "" {
		f, err := env.Root.Open(p.Exe)
		if err == nil {
			return f, p.Exe, nil
		}
		errs = append(errs, err)
	}
	if len(errs) == 0 {
		errs = append(errs, errors.New("the request names neither a pid nor an executable"))
	}
	return nil, "", errors.Join(errs...)
}

// Argv0Executable finds argv[0] as the shell did: relative to the cwd when
// it holds a '/', else in the process's PATH; symlinks resolved in the root.
func Argv0Executable(env Env) (string, error) {
	p := env.Request.Process
	if len(p.Cmdline) == 0 || p.Cmdline[0] == "" {
		return "", errors.New("no executable: empty command line")
	}
	argv0 := p.Cmdline[0]
	if strings.Contains(argv0, "/") {
		return env.Root.Resolve(p.InCwd(argv0))
	}
	found, ok := lookPath(env, argv0)
	if !ok {
		return "", fmt.Errorf("%s not in PATH", argv0)
	}
	return env.Root.Resolve(found)
}

// lookPath finds name in the PATH of a process, inside the root.
func lookPath(env Env, name string) (string, bool) {
	pathVar, ok := env.Request.Process.Getenv("PATH")
	if !ok {
		pathVar = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	}
	for _, dir := range strings.Split(pathVar, ":") {
		if dir == "" || !strings.HasPrefix(dir, "/") {
			continue
		}
		p := dir + "/" + name
		if resolved, err := env.Root.Resolve(p); err == nil && !env.Root.IsDir(resolved) {
			return p, true
		}
	}
	return "", false
}
