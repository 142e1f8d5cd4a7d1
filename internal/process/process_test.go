package process

import (
	"errors"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// recognizes stands for rules.Config.Recognizes with SPEC §5's
// config: the version-executable names, or a name ending with "java".
func recognizes(name string) bool {
	switch name {
	case "node", "MainThread", "python", "python3":
		return true
	}
	return strings.HasSuffix(name, "java")
}

func fixture(t *testing.T) *Tree {
	t.Helper()
	tree, err := Snapshot(filepath.Join("testdata", "proc"))
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	return tree
}

func TestSnapshotSkipsProcessesWithoutStat(t *testing.T) {
	tree := fixture(t)
	// 28 process directories in testdata/proc, one of them (501) without stat.
	if tree.Len() != 27 {
		t.Errorf("Len() = %d, want 27", tree.Len())
	}
}

func TestWorkload(t *testing.T) {
	tree := fixture(t)
	for _, tc := range []struct {
		name  string
		pid   int
		rules func(string) bool
		want  Process
	}{
		{
			name: "sh -c wrapper is passed over", pid: 100, rules: recognizes,
			want: Process{PID: 101, NSPID: 7, Name: "java", Cmdline: []string{"java", "-Xmx512m", "-jar", "app.jar"},
				Env: []string{"JAVA_HOME=/usr/lib/jvm/jre-17", "PATH=/usr/bin"}, Cwd: "/deployments", UID: 185, GID: 0, StartTime: 1001},
		},
		{
			name: "sh -c wrapper without any rule", pid: 100, rules: nil,
			want: Process{PID: 101, NSPID: 7, Name: "java", Cmdline: []string{"java", "-Xmx512m", "-jar", "app.jar"},
				Env: []string{"JAVA_HOME=/usr/lib/jvm/jre-17", "PATH=/usr/bin"}, Cwd: "/deployments", UID: 185, GID: 0, StartTime: 1001},
		},
		{
			name: "tini is passed over; effective uid and gid", pid: 200, rules: recognizes,
			want: Process{PID: 201, NSPID: 2, Name: "node", Cmdline: []string{"node", "server.js"},
				Env: []string{"NODE_ENV=production"}, Cwd: "/app", UID: 1001, GID: 2001, StartTime: 2001},
		},
		{
			name: "a leaf matching a rule wins over the first leaf", pid: 300, rules: recognizes,
			want: Process{PID: 303, NSPID: 4, Name: "python3", Cmdline: []string{"python3", "-m", "http.server"},
				Env: []string{"PYTHONUNBUFFERED=1"}, Cwd: "/srv", StartTime: 3003},
		},
		{
			name: "otherwise the first leaf", pid: 300, rules: func(string) bool { return false },
			want: Process{PID: 301, NSPID: 2, Name: "sleep", Cmdline: []string{"sleep", "infinity"}, Env: []string{}, Cwd: "/", StartTime: 3001},
		},
		{
			name: "a process without children is its own leaf; no NSpid means the host pid", pid: 400, rules: recognizes,
			want: Process{PID: 400, NSPID: 400, Name: "java", Cmdline: []string{"/opt/jdk/bin/java", "-cp", "lib/*", "com.example.Main"},
				Env: []string{"A=1", "B="}, Cwd: "/opt/app", StartTime: 4000},
		},
		{
			name: "a child that vanished during the snapshot is ignored", pid: 500, rules: recognizes,
			want: Process{PID: 502, NSPID: 3, Name: "python3", Cmdline: []string{"python3", "app.py"}, Env: []string{}, Cwd: "/app", StartTime: 5002},
		},
		{
			name: "a leaf that exited before its details were read gives way to the next", pid: 600, rules: recognizes,
			want: Process{PID: 602, NSPID: 3, Name: "node", Cmdline: []string{"node", "index.js"}, Env: []string{}, Cwd: "/", StartTime: 6002},
		},
		{
			name: "a zombie child does not count", pid: 700, rules: recognizes,
			want: Process{PID: 700, NSPID: 1, Name: "sh", Cmdline: []string{"sh", "-c", "sleep 1; exec tail -f /dev/null"}, Env: []string{}, Cwd: "/work", StartTime: 7000},
		},
		{
			name: "siblings in start time order, not pid order", pid: 800, rules: recognizes,
			want: Process{PID: 802, NSPID: 3, Name: "worker-a", Cmdline: []string{"worker-a"}, Env: []string{}, Cwd: "/", StartTime: 8010},
		},
		{
			name: "BEAM's port helper (and what it starts) is not the workload: BEAM is", pid: 1200, rules: recognizes,
			want: Process{PID: 1200, NSPID: 1200, Name: "beam.smp", Cmdline: []string{"/usr/lib/erlang/erts-13.1.5/bin/beam.smp", "--", "-root", "/usr/lib/erlang"},
				Env: []string{}, Cwd: "/", StartTime: 12000},
		},
		{
			name: "a name with parentheses and spaces", pid: 900, rules: recognizes,
			want: Process{PID: 900, NSPID: 1, Name: "we) (ird", Cmdline: []string{"./we) (ird"}, Env: []string{}, Cwd: "/", StartTime: 9000},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tree.Workload(tc.pid, tc.rules)
			if err != nil {
				t.Fatalf("Workload(%d): %v", tc.pid, err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Workload(%d):\n got %+v\nwant %+v", tc.pid, got, tc.want)
			}
		})
	}
}

func TestWorkloadGone(t *testing.T) {
	tree := fixture(t)
	for name, pid := range map[string]int{
		"pid not in the snapshot": 424242,
		"pid without stat":        501,
		"init is a zombie":        1000,
		"zombie":                  701,
	} {
		if p, err := tree.Workload(pid, recognizes); !errors.Is(err, ErrGone) {
			t.Errorf("%s: Workload(%d) = %+v, %v; want ErrGone", name, pid, p, err)
		}
	}
}

func TestWorkloadUnreadableLiveProcessIsAnError(t *testing.T) {
	_, err := fixture(t).Workload(1100, recognizes)
	if err == nil || errors.Is(err, ErrGone) || !strings.Contains(err.Error(), "1100/environ") {
		t.Errorf("Workload(1100) error = %v, want a read error naming 1100/environ, not ErrGone", err)
	}
}

func TestWorkloadPidReusedSinceSnapshot(t *testing.T) {
	tree := fixture(t)
	// As if 101 had exited and its pid been given to a new process: the
	// start time on disk no longer matches the snapshot's.
	e := tree.procs[101]
	e.start = 1
	tree.procs[101] = e
	got, err := tree.Workload(100, recognizes)
	if err != nil {
		t.Fatalf("Workload: %v", err)
	}
	if got.PID != 100 {
		t.Errorf("Workload chose pid %d, want the init 100 once its only leaf is no longer the same process", got.PID)
	}
}

// memTree builds a Tree from a parent list without any files, to test the walk alone.
func memTree(parents map[int]int) *Tree {
	t := &Tree{procs: map[int]entry{}, children: map[int][]int{}}
	for pid, ppid := range parents {
		t.procs[pid] = entry{ppid: ppid, start: uint64(pid)}
		t.children[ppid] = append(t.children[ppid], pid)
	}
	for _, kids := range t.children {
		slices.Sort(kids)
	}
	return t
}

func TestLeavesBounded(t *testing.T) {
	t.Run("wide", func(t *testing.T) {
		parents := map[int]int{1: 0}
		for pid := 2; pid < 2+3*MaxDescendants; pid++ {
			parents[pid] = 1
		}
		leaves := memTree(parents).leaves(1)
		if len(leaves) != MaxDescendants || leaves[0] != 2 {
			t.Errorf("%d leaves starting at %d, want %d starting at 2", len(leaves), leaves[0], MaxDescendants)
		}
	})
	t.Run("deep", func(t *testing.T) {
		parents := map[int]int{1: 0}
		for pid := 2; pid < 2+3*MaxDescendants; pid++ {
			parents[pid] = pid - 1
		}
		if leaves := memTree(parents).leaves(1); len(leaves) != 0 {
			t.Errorf("leaves = %v, want none: the chain is longer than the walk may go", leaves)
		}
	})
	t.Run("cycle", func(t *testing.T) {
		// Impossible in a real /proc; a corrupt or racing one must not loop.
		tree := memTree(map[int]int{1: 3, 2: 1, 3: 2, 4: 2})
		if leaves := tree.leaves(1); !reflect.DeepEqual(leaves, []int{3, 4}) {
			t.Errorf("leaves = %v, want [3 4]: 3 leads back to 1 only", leaves)
		}
	})
}

// StartTime answers from the snapshot: what the stat file said when it was
// taken, and absent for a process that had exited (missing, unreadable, zombie).
func TestTreeStartTime(t *testing.T) {
	tree := fixture(t)
	for _, tc := range []struct {
		name   string
		pid    int
		want   uint64
		wantOK bool
	}{
		{name: "a live process", pid: 100, want: 1000, wantOK: true},
		{name: "another live process", pid: 700, want: 7000, wantOK: true},
		{name: "a zombie", pid: 701, wantOK: false},
		{name: "a process without stat", pid: 501, wantOK: false},
		{name: "no such pid", pid: 4242, wantOK: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := tree.StartTime(tc.pid)
			if got != tc.want || ok != tc.wantOK {
				t.Errorf("StartTime(%d) = %d, %v; want %d, %v", tc.pid, got, ok, tc.want, tc.wantOK)
			}
		})
	}
}
