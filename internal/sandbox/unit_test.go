package sandbox

import (
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/containerd/cgroups/v3/cgroup1"
	"github.com/prometheus/procfs"
	"golang.org/x/sys/unix"
)

func TestLimitsZeroFieldsTakeDefaults(t *testing.T) {
	got := Limits{}.withDefaults()
	want := Limits{Timeout: 10 * time.Second, MemoryBytes: 256 << 20, MaxPids: 64, CPUPercent: 100, MaxOutput: 64 << 10}
	if got != want {
		t.Errorf("defaults %+v, want %+v", got, want)
	}
	set := Limits{Timeout: time.Second, MemoryBytes: 8 << 20, MaxPids: 3, CPUPercent: 20, MaxOutput: 10}
	if got := set.withDefaults(); got != set {
		t.Errorf("explicit limits changed: %+v, want %+v", got, set)
	}
}

func TestLimitsValidateRefusesNonsense(t *testing.T) {
	for _, tc := range []struct {
		name string
		l    Limits
		want string
	}{
		{"negative timeout", Limits{Timeout: -time.Second}, "negative timeout"},
		{"memory below 1 MiB", Limits{MemoryBytes: 4096}, "memory limit 4096 below 1 MiB"},
		{"negative pids", Limits{MaxPids: -1}, "pids limit -1 below 1"},
		{"negative cpu", Limits{CPUPercent: -5}, "cpu percent -5 out of range"},
		{"negative output", Limits{MaxOutput: -1}, "output limit -1 below 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.l.withDefaults().validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("validate = %v, want %q", err, tc.want)
			}
		})
	}
	if err := (Limits{}).withDefaults().validate(); err != nil {
		t.Errorf("defaults invalid: %v", err)
	}
}

func TestOpenExecutableAcceptsOnlyExecuteOnlyRegularFiles(t *testing.T) {
	dir := t.TempDir()
	file := func(name string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("\x7fELF"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct {
		name string
		path string
		want string // "" = accepted
	}{
		{"execute-only", file("x", 0o111), ""},
		{"readable by all", file("r", 0o755), "mode 0755 is readable"},
		{"readable by owner only", file("o", 0o511), "mode 0511 is readable"},
		{"not executable by others", file("u", 0o110), "mode 0110 is not executable by everyone"},
		{"set-user-id", file("s", 0o111|os.ModeSetuid), "mode 4111 has set-id bits"},
		{"directory", dir, "not a regular file"},
		{"missing", filepath.Join(dir, "nope"), "no such file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := openExecutable(tc.path)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				f.Close()
				return
			}
			if !errors.Is(err, ErrBadExecutable) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("openExecutable = %v, want ErrBadExecutable with %q", err, tc.want)
			}
		})
	}
}

func TestReadKeyedCgroupCounters(t *testing.T) {
	for _, tc := range []struct {
		file, key string
		want      uint64
	}{
		{"memory.oom_control", "oom_kill", 2},
		{"memory.oom_control", "under_oom", 0},
		{"pids.events", "max", 5},
		{"memory.events", "oom_kill", 1},
		{"memory.events", "max", 7},
		{"memory.events", "absent", 0},
		{"missing", "max", 0},
	} {
		if got := readKeyed(filepath.Join("testdata", "cgroup", tc.file), tc.key); got != tc.want {
			t.Errorf("%s %s = %d, want %d", tc.file, tc.key, got, tc.want)
		}
	}
}

func TestReadPids(t *testing.T) {
	got, err := readPids(filepath.Join("testdata", "cgroup", "cgroup.procs"))
	if err != nil || !slices.Equal(got, []int{12, 345}) {
		t.Errorf("readPids = %v, %v; want [12 345]", got, err)
	}
	if _, err := readPids(filepath.Join("testdata", "cgroup", "cgroup.procs.bad")); err == nil || !strings.Contains(err.Error(), `bad pid "x"`) {
		t.Errorf("malformed file: %v, want an error naming the bad pid", err)
	}
}

func TestExeNameHidesTheHostPath(t *testing.T) {
	for in, want := range map[string]string{
		"/opt/fingerprints/fpr_java": "fpr_java",
		"fpr_os":                     "fpr_os",
		"/x/":                        "",
	} {
		if got := exeName(in); got != want {
			t.Errorf("exeName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestV1OwnPathsAreRelativeToTheMountedHierarchy(t *testing.T) {
	// read parses the fixture <dir>/1/{cgroup,mountinfo}: the /proc files of process 1.
	read := func(dir string) ([]procfs.Cgroup, []*procfs.MountInfo) {
		fs, err := procfs.NewFS(filepath.Join("testdata", "cgroup", dir))
		if err != nil {
			t.Fatal(err)
		}
		p, err := fs.Proc(1)
		if err != nil {
			t.Fatal(err)
		}
		cgroups, err := p.Cgroups()
		if err != nil {
			t.Fatal(err)
		}
		mounts, err := fs.GetProcMounts(1)
		if err != nil {
			t.Fatal(err)
		}
		return cgroups, mounts
	}
	for _, tc := range []struct {
		dir  string
		want map[cgroup1.Name]string
	}{
		// A pod on a cgroup v1 node: its own cgroup is what is mounted; misc, rdma and the
		// unified hierarchy are listed but not mounted.
		{"v1-container", map[cgroup1.Name]string{"memory": "/", "pids": "/", "cpu": "/"}},
		// This kind of CI machine: hybrid, memory nested under the agent's cgroup.
		{"v1-host", map[cgroup1.Name]string{"memory": "/process_api/c33027e9ba9172de76e741c7c19c5d47", "pids": "/", "cpu": "/"}},
	} {
		t.Run(tc.dir, func(t *testing.T) {
			got, err := v1OwnPaths(read(tc.dir))
			if err != nil || !maps.Equal(got, tc.want) {
				t.Errorf("v1OwnPaths = %v, %v; want %v", got, err, tc.want)
			}
		})
	}
	_, mounts := read("v1-container")
	elsewhere := []procfs.Cgroup{{HierarchyID: 9, Controllers: []string{"memory"}, Path: "/elsewhere"}}
	if _, err := v1OwnPaths(elsewhere, mounts); err == nil {
		t.Error("a cgroup outside the mounted hierarchy was accepted")
	}
}

// The readers of this process's own /proc files work on this machine.
func TestReadOwnProcFiles(t *testing.T) {
	n, err := readLastCap()
	if err != nil || n < unix.CAP_SETUID {
		t.Errorf("readLastCap = %d, %v", n, err)
	}
	_, self, err := procSelf()
	if err != nil || self.PID != os.Getpid() {
		t.Errorf("procSelf = %d, %v; want %d", self.PID, err, os.Getpid())
	}
}

func TestParseStartTime(t *testing.T) {
	// Field 22 counted from the last ')': the command name may hold spaces and parentheses.
	line := "4242 (evil) 1 2 3 4 (x) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 10 18446744073709551615\n"
	if got, err := parseStartTime([]byte(line)); err != nil || got != 987654 {
		t.Errorf("parseStartTime = %d, %v, want 987654", got, err)
	}
	for _, bad := range []string{"", "4242 (short) S 1 2", "4242 (x) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 nope"} {
		if got, err := parseStartTime([]byte(bad)); err == nil {
			t.Errorf("parseStartTime(%q) = %d, want an error", bad, got)
		}
	}
}

func TestOwnerAliveTellsAReusedPID(t *testing.T) {
	own, err := startTimeOf(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	pid := strconv.Itoa(os.Getpid())
	for name, want := range map[string]bool{
		pid + "-" + strconv.FormatUint(own, 10) + "-ab12":   true,
		pid + "-" + strconv.FormatUint(own+1, 10) + "-ab12": false, // the pid names another process now
		"999999999-1-ab12": false, // nobody
		"notapid-1-ab12":   true,  // not ours to judge
		pid + "-ab12":      true,  // no start time
	} {
		if got := ownerAlive(name); got != want {
			t.Errorf("ownerAlive(%q) = %v, want %v", name, got, want)
		}
	}
}
