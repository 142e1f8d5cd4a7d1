package detect

import (
	"errors"
	"os"
)

// recordedExecutable opens the executable the kernel recorded for the process
// and returns it with its path inside the root: through /proc/<pid>/exe when
// the fingerprint may follow it, else at the path the coordinator read from
// the host's /proc. A fingerprint holds no capability, and the kernel refuses
// it the exe link of any target that holds some (a root container), so the
// second way is the common one; argv[0], which the process chose, is never
// used here.
func recordedExecutable(env Env) (*os.File, string, error) {
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
