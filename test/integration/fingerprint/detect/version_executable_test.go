package detect_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openshift/insights-runtime-extractor/internal/contract"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint/detect/versionexec"
	"github.com/openshift/insights-runtime-extractor/test/debpkg/debpkgtest"
)

// versionOf asks the tool itself, at test time, what it is.
func versionOf(t *testing.T, exe string) string {
	t.Helper()
	cmd := exec.Command(exe, "--version")
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s --version: %v", exe, err)
	}
	if v := strings.TrimSpace(stdout.String()); v != "" {
		return strings.SplitN(v, "\n", 2)[0]
	}
	return strings.TrimSpace(stderr.String())
}

func TestVersionExecutablesOnLiveRuntimes(t *testing.T) {
	debpkgtest.Need(t, "nodejs", "python3")
	for _, tc := range []struct {
		name, exe, comm, kind string
		args                  []string
	}{
		{"node", "/usr/bin/node", "node", "Node.js", []string{"-e", "setInterval(() => {}, 1000)"}},
		{"python3 of Debian", "/usr/bin/python3", "python3", "Python", []string{"-c", "import time; time.sleep(600)"}},
		// Python 2 prints its version on standard error.
		{"python 2 (pyenv)", python2(), "python", "Python", []string{"-c", "import time; time.sleep(600)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := os.Stat(tc.exe); err != nil {
				t.Skipf("%s not installed: %v", tc.exe, err)
			}
			want := versionOf(t, tc.exe)
			cmd := exec.Command(tc.exe, tc.args...)
			// argv[0] lies: the fingerprint must run /proc/<pid>/exe.
			cmd.Args[0] = "/nonexistent/" + tc.comm
			p := startLive(t, cmd, tc.comm)
			got := fingerprintAll(t, "/", p)
			wantFindings(t, withoutOS(got), contract.Finding{Kind: tc.kind, KindVersion: want})
			if strings.HasPrefix(tc.name, "python 2") && !strings.HasPrefix(want, "Python 2.") {
				t.Errorf("%q is not Python 2", want)
			}
		})
	}
}

// A process named like a runtime whose --version fails is not reported as that runtime: here
// a shell script named node, whose executable (/bin/sh) rejects --version with an error on
// stderr and exit status 2.
func TestVersionExecutableReportsNothingWhenVersionFails(t *testing.T) {
	for _, tc := range []struct{ name, comm string }{
		{"node that is a shell", "node"},
		{"python3 that is a shell", "python3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeTree(t, dir, map[string]string{tc.comm: "#!/bin/sh\nwhile :; do sleep 1; done\n"})
			if err := os.Chmod(filepath.Join(dir, tc.comm), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := exec.Command("/bin/sh", "--version").Run(); err == nil {
				t.Fatal("/bin/sh --version succeeds here: the test proves nothing")
			}
			p := startLive(t, exec.Command(filepath.Join(dir, tc.comm)), tc.comm)
			wantFindings(t, withoutOS(fingerprintAll(t, "/", p)), contract.Finding{})
		})
	}
}

// A process named like a runtime whose --version succeeds but answers no version of that kind
// (its version-pattern in config.toml) is not that runtime: here coreutils' sleep copied as
// node and python3, which prints "sleep (GNU coreutils) …" and exits 0.
func TestVersionExecutableReportsNothingForAnotherProgramsVersion(t *testing.T) {
	for _, comm := range []string{"node", "python3"} {
		t.Run(comm, func(t *testing.T) {
			b, err := os.ReadFile("/usr/bin/sleep")
			if err != nil {
				t.Fatal(err)
			}
			exe := filepath.Join(t.TempDir(), comm)
			if err := os.WriteFile(exe, b, 0o755); err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command(exe, "--version").Output(); err != nil || !strings.HasPrefix(string(out), "sleep (GNU coreutils)") {
				t.Fatalf("%s --version: %q, %v: the test proves nothing", exe, out, err)
			}
			p := startLive(t, exec.Command(exe, "600"), comm)
			wantFindings(t, withoutOS(fingerprintAll(t, "/", p)), contract.Finding{})
		})
	}
}

func TestRunVersionKillsTheProcessGroupAfter5Seconds(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "slow")
	pidFile := filepath.Join(dir, "child.pid")
	writeTree(t, dir, map[string]string{"slow": "#!/bin/sh\nsleep 1000 &\necho $! > " + pidFile + "\necho v1.0-early\nsleep 1000\n"})
	start := time.Now()
	stdout, _, err := versionexec.RunVersion(context.Background(), script, nil, "/")
	elapsed := time.Since(start)
	if err == nil || !strings.Contains(err.Error(), "killed after 5s") {
		t.Errorf("err %v", err)
	}
	if elapsed < 5*time.Second || elapsed > 8*time.Second {
		t.Errorf("took %v, want about 5s", elapsed)
	}
	if strings.TrimSpace(string(stdout)) != "v1.0-early" {
		t.Errorf("stdout %q", stdout)
	}
	data, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	child, _ := strconv.Atoi(strings.TrimSpace(string(data)))
	waitGone(t, child)
}

func TestRunVersionCapsOutputAndStopsEarly(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"chatty": "#!/bin/sh\nwhile :; do echo 'Python 3.99.0 and a lot more text'; done\n"})
	start := time.Now()
	stdout, _, err := versionexec.RunVersion(context.Background(), filepath.Join(dir, "chatty"), nil, "/")
	if err == nil {
		t.Error("no error for endless output")
	}
	if len(stdout) != 4096 {
		t.Errorf("kept %d bytes, want 4096", len(stdout))
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("took %v: not stopped when the cap was reached", d)
	}
}

func TestVersionExecutableReportsNothingForGarbage(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"evil": "#!/bin/sh\nprintf '\\033[31mred\\033[0m\\n'\n"})
	stdout, stderr, err := versionexec.RunVersion(context.Background(), filepath.Join(dir, "evil"), nil, "/")
	if err != nil {
		t.Fatal(err)
	}
	f := contract.Finding{Kind: "Node.js", KindVersion: strings.TrimSpace(string(stdout) + string(stderr))}
	clean, dropped := f.Sanitize()
	if clean.KindVersion != "" || len(dropped) != 1 {
		t.Errorf("escape sequences kept: %+v", clean)
	}
}

// waitGone waits until pid is dead (gone, or a zombie nobody reaps here).
func waitGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			return
		}
		if i := strings.LastIndexByte(string(stat), ')'); i > 0 && len(stat) > i+2 && stat[i+2] == 'Z' {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Errorf("child %d of the --version process still runs", pid)
}

// python2 is a Python 2 named python (as CentOS 7's /usr/bin/python), if
// this machine has one: Debian 12 has no python2 package, pyenv builds may.
func python2() string {
	m, _ := filepath.Glob("/root/.pyenv/versions/2.*/bin/python")
	if len(m) == 0 {
		return "/usr/bin/python2-not-installed"
	}
	return m[0]
}

// The versions of the real runtimes are read from their files, equal to
// what --version prints: the executables here are copies that cannot run
// (mode 0644), so a --version could only fail. A node that needs libnode.so
// (Debian's) is read there, found where the loader would find it.
func TestVersionReadFromRealExecutablesRunsNothing(t *testing.T) {
	debpkgtest.Need(t, "nodejs", "python3")
	for _, tc := range []struct{ name, exe, comm, kind string }{
		{"node", "/usr/bin/node", "node", "Node.js"},
		{"python3 of Debian", "/usr/bin/python3", "python3", "Python"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			real, err := filepath.EvalSymlinks(tc.exe)
			if err != nil {
				t.Skipf("%s not installed: %v", tc.exe, err)
			}
			want := versionOf(t, tc.exe)
			copyAs := filepath.Join(t.TempDir(), filepath.Base(real))
			b, err := os.ReadFile(real)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(copyAs, b, 0o644); err != nil {
				t.Fatal(err)
			}
			got := fingerprintAll(t, "/", fingerprint.Process{Name: tc.comm, Exe: copyAs, Cmdline: []string{tc.comm}})
			wantFindings(t, withoutOS(got), contract.Finding{Kind: tc.kind, KindVersion: want})
		})
	}
}
