package versionexec

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"syscall"
	"time"

	"github.com/openshift/insights-runtime-extractor/internal/bounded"
	"github.com/openshift/insights-runtime-extractor/internal/contract"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint/detect"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint/versionout"
)

// Bounds of `<executable> --version` (SPEC §8).
const (
	versionTimeout   = 5 * time.Second
	versionOutputCap = 4 << 10
)

// versionExecutable reads the version of a kind whose executable holds it
// (version_from_executable.go). Else it runs the process's own executable
// with --version (node, python …) and, only when that exits 0 within its
// limits and prints a line of the kind's version-pattern, reports the
// configured kind with that line.
func init() { detect.Register(versionExecutable) }

var versionExecutable = detect.Detector{
	Name:         "version-executable",
	Fingerprint:  Fingerprint,
	NeedsProcess: true,
	Detect: func(ctx context.Context, env detect.Env) (contract.Finding, error) {
		kind := env.Request.RuntimeKindName
		if kind == "" {
			return contract.Finding{}, errors.New("the request names no runtime-kind-name")
		}
		f := contract.Finding{Kind: kind}
		var re *regexp.Regexp
		if pattern := env.Request.VersionPattern; pattern != "" {
			var err error
			if re, err = regexp.Compile(pattern); err != nil {
				return contract.Finding{}, fmt.Errorf("version-pattern: %w", err)
			}
		}
		format, known := formats[kind]
		if known {
			v, err := readVersion(env, format)
			if v != "" && (re == nil || re.MatchString(v)) {
				f.KindVersion = v
				return f, nil
			}
			env.Log.Debug("version not read from the executable, asking --version", "kind", kind, "read", v, "error", err)
		}
		exe, err := executablePath(env)
		if err != nil {
			return f, err
		}
		stdout, stderr, err := RunVersion(ctx, exe, processEnv(env.Request.Process), env.Root.Dir())
		if err != nil {
			// A run that failed, was killed or overflowed proves nothing: what it printed may
			// be an error of its own (a fork bomb's "failed to create new OS thread"), and a
			// process named like a runtime is not one until it answers like one.
			env.Log.Warn("--version failed: nothing reported for this fingerprint", "executable", exe, "error", err)
			return contract.Finding{}, nil
		}
		f.KindVersion = versionout.Parse(stdout, stderr)
		if known && format.answer != nil {
			f.KindVersion = format.answer(f.KindVersion)
		}
		if re != nil && !re.MatchString(f.KindVersion) {
			env.Log.Warn("--version answered no version of this kind: nothing reported for this fingerprint",
				"executable", exe, "kind", kind, "answer", f.KindVersion, "version_pattern", re.String())
			return contract.Finding{}, nil
		}
		return f, nil
	},
}

// executablePath is the path, as this process sees it, of the executable
// the process runs (argv[0] is never trusted). Inside the container, when the
// kernel lets the fingerprint follow /proc/<pid>/exe, that link itself is
// executed: it reaches the very file the process runs.
func executablePath(env detect.Env) (string, error) {
	if pid := env.Request.Process.PID; env.Root.IsHostRoot() && pid > 0 {
		if f, _, err := env.Root.Executable(pid); err == nil {
			f.Close()
			return "/proc/" + strconv.Itoa(pid) + "/exe", nil
		}
	}
	f, exe, err := detect.RecordedExecutable(env)
	if err != nil {
		return "", err
	}
	f.Close()
	resolved, err := env.Root.Resolve(exe)
	if err != nil {
		return "", err
	}
	return env.Root.HostPath(resolved), nil
}

// processEnv keeps of the process environment what an interpreter may need
// to start (its libraries, its PATH): not its options (NODE_OPTIONS,
// PYTHONSTARTUP …), which could make --version do something else.
func processEnv(p fingerprint.Process) []string {
	env := []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	for _, k := range []string{"PATH", "LD_LIBRARY_PATH"} {
		if v, ok := p.Getenv(k); ok {
			if k == "PATH" {
				env[0] = "PATH=" + v
				continue
			}
			env = append(env, k+"="+v)
		}
	}
	return env
}

// RunVersion runs `<exe> --version` in its own process group, with a 5 s
// limit and the output capped at 4 KiB per stream: on timeout or too much
// output the whole group is killed. It returns what was printed.
func RunVersion(ctx context.Context, exe string, env []string, dir string) (stdout, stderr []byte, err error) {
	ctx, cancel := context.WithTimeout(ctx, versionTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe, "--version")
	cmd.Env = env
	cmd.Dir = dir
	cmd.Stdin = nil // /dev/null
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error {
		// The negative pid is the process group: children it started die too.
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	// If a grandchild escaped the group and holds the pipes, stop waiting.
	cmd.WaitDelay = time.Second
	out := &bounded.Buffer{Max: versionOutputCap, OnOverflow: cancel}
	errOut := &bounded.Buffer{Max: versionOutputCap, OnOverflow: cancel}
	cmd.Stdout, cmd.Stderr = out, errOut
	err = cmd.Run()
	// A process killed with its group leaves no one behind; make sure of it
	// when it exited by itself but left children running.
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	if ctx.Err() != nil && err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			err = fmt.Errorf("%s --version: killed after %v: %w", exe, versionTimeout, err)
		} else {
			err = fmt.Errorf("%s --version: killed (output over %d bytes or cancelled): %w", exe, versionOutputCap, err)
		}
	} else if err != nil {
		err = fmt.Errorf("%s --version: %w", exe, err)
	}
	return out.Bytes(), errOut.Bytes(), err
}
