package result

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"

	"github.com/openshift/insights-runtime-extractor/internal/contract"
)

const infoA = "container-id=containerd://aaaa\npod-name=pod-a\npod-namespace=ns\n"

// writeFiles writes name -> content under dir, creating parents.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

// podA is container 10 with only its container-info.txt read.
var podA = Container{PID: 10, ContainerID: "containerd://aaaa", PodName: "pod-a", PodNamespace: "ns"}

func TestReadIsTolerantOfHostileDirectories(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(t *testing.T, dir, outside string)
		want    []Container
		wantLog string // a line the reader must log about what it skipped
	}{
		{
			name: "clean directory reads every file",
			setup: func(t *testing.T, dir, _ string) {
				writeFiles(t, dir, map[string]string{
					"10/container-info.txt":    infoA,
					"10/os.txt":                "os-release-id=rhel\nos-release-version-id=8.10\n",
					"10/runtime-kind.txt":      "runtime-kind=Java\nruntime-kind-implementer=Red Hat, Inc.\nruntime-kind-version=17.0.13\n",
					"10/java-fingerprints.txt": "Quarkus=3.15.1\n",
				})
			},
			want: []Container{{PID: 10, ContainerID: "containerd://aaaa", PodName: "pod-a", PodNamespace: "ns",
				Finding: contract.Finding{OS: "rhel", OSVersion: "8.10", Kind: "Java", KindVersion: "17.0.13", KindImplementer: "Red Hat, Inc.",
					Runtimes: []contract.Runtime{{Name: "Quarkus", Version: "3.15.1"}}},
				ReportedBy: map[string]string{"Quarkus": "java"}}},
		},
		{
			name:  "empty directory is an empty answer",
			setup: func(t *testing.T, dir, _ string) {},
			want:  nil,
		},
		{
			name: "container without container-info.txt is skipped, others kept",
			setup: func(t *testing.T, dir, _ string) {
				writeFiles(t, dir, map[string]string{"10/container-info.txt": infoA, "11/os.txt": "os-release-id=rhel\n"})
			},
			want:    []Container{podA},
			wantLog: "skipping container",
		},
		{
			name: "container-info.txt without pod-name is skipped",
			setup: func(t *testing.T, dir, _ string) {
				writeFiles(t, dir, map[string]string{"10/container-info.txt": infoA, "12/container-info.txt": "container-id=containerd://bb\npod-namespace=ns\n"})
			},
			want:    []Container{podA},
			wantLog: "lacks container-id, pod-name or pod-namespace",
		},
		{
			name: "symlinked container-info.txt is not followed",
			setup: func(t *testing.T, dir, outside string) {
				writeFiles(t, dir, map[string]string{"10/container-info.txt": infoA, "13/os.txt": "os-release-id=rhel\n"})
				writeFiles(t, outside, map[string]string{"info.txt": "container-id=containerd://evil\npod-name=evil\npod-namespace=evil\n"})
				symlink(t, filepath.Join(outside, "info.txt"), filepath.Join(dir, "13", "container-info.txt"))
			},
			want:    []Container{podA},
			wantLog: "too many levels of symbolic links",
		},
		{
			name: "symlinked os.txt is not followed, the container stays",
			setup: func(t *testing.T, dir, outside string) {
				writeFiles(t, dir, map[string]string{"10/container-info.txt": infoA})
				writeFiles(t, outside, map[string]string{"os.txt": "os-release-id=leaked\n"})
				symlink(t, filepath.Join(outside, "os.txt"), filepath.Join(dir, "10", "os.txt"))
			},
			want:    []Container{podA},
			wantLog: "ignoring file",
		},
		{
			name: "symlinked fingerprints file is not followed",
			setup: func(t *testing.T, dir, outside string) {
				writeFiles(t, dir, map[string]string{"10/container-info.txt": infoA})
				writeFiles(t, outside, map[string]string{"secret": "root=x\n"})
				symlink(t, filepath.Join(outside, "secret"), filepath.Join(dir, "10", "java-fingerprints.txt"))
			},
			want: []Container{podA},
		},
		{
			name: "symlinked container directory is not followed",
			setup: func(t *testing.T, dir, outside string) {
				writeFiles(t, dir, map[string]string{"10/container-info.txt": infoA})
				writeFiles(t, outside, map[string]string{"c/container-info.txt": "container-id=containerd://evil\npod-name=evil\npod-namespace=evil\n"})
				symlink(t, filepath.Join(outside, "c"), filepath.Join(dir, "14"))
			},
			want:    []Container{podA},
			wantLog: "not a directory",
		},
		{
			name: "entries that are not pids are skipped",
			setup: func(t *testing.T, dir, _ string) {
				writeFiles(t, dir, map[string]string{
					"10/container-info.txt": infoA, "abc/container-info.txt": infoA, "0/container-info.txt": infoA,
					"010/container-info.txt": infoA, "-1/container-info.txt": infoA, "15": infoA,
				})
			},
			want:    []Container{podA},
			wantLog: "not a pid",
		},
		{
			name: "huge os.txt counts as absent",
			setup: func(t *testing.T, dir, _ string) {
				writeFiles(t, dir, map[string]string{
					"10/container-info.txt": infoA,
					"10/os.txt":             "os-release-id=rhel\n" + strings.Repeat("x", MaxFileSize),
					"10/runtime-kind.txt":   "runtime-kind=Go\n",
				})
			},
			want:    []Container{{PID: 10, ContainerID: "containerd://aaaa", PodName: "pod-a", PodNamespace: "ns", Finding: contract.Finding{Kind: "Go"}}},
			wantLog: "larger than 65536",
		},
		{
			name: "file of exactly 64 KiB is read",
			setup: func(t *testing.T, dir, _ string) {
				line := "os-release-id=rhel\n"
				pad := strings.Repeat(strings.Repeat("#", 99)+"\n", (MaxFileSize-len(line))/100)
				pad += strings.Repeat("\n", MaxFileSize-len(line)-len(pad))
				writeFiles(t, dir, map[string]string{"10/container-info.txt": infoA, "10/os.txt": pad + line})
			},
			want:    []Container{{PID: 10, ContainerID: "containerd://aaaa", PodName: "pod-a", PodNamespace: "ns", Finding: contract.Finding{OS: "rhel"}}},
			wantLog: "dropped malformed lines",
		},
		{
			name: "binary garbage lines are dropped, good lines kept",
			setup: func(t *testing.T, dir, _ string) {
				writeFiles(t, dir, map[string]string{
					"10/container-info.txt": infoA,
					"10/runtime-kind.txt":   "\x7fELF\x02\x01\x01\x00\x00=\xff\xfe\nruntime-kind=Go\nruntime-kind-version=go1\x00.22\n\xc3\x28=bad\n",
				})
			},
			want:    []Container{{PID: 10, ContainerID: "containerd://aaaa", PodName: "pod-a", PodNamespace: "ns", Finding: contract.Finding{Kind: "Go"}}},
			wantLog: "count=3",
		},
		{
			name: "lines without '=' are dropped",
			setup: func(t *testing.T, dir, _ string) {
				writeFiles(t, dir, map[string]string{
					"10/container-info.txt":    infoA,
					"10/java-fingerprints.txt": "Quarkus\nSpring Boot=3.5.3\n=nameless\n",
				})
			},
			want: []Container{{PID: 10, ContainerID: "containerd://aaaa", PodName: "pod-a", PodNamespace: "ns",
				Finding:    contract.Finding{Runtimes: []contract.Runtime{{Name: "Spring Boot", Version: "3.5.3"}}},
				ReportedBy: map[string]string{"Spring Boot": "java"}}},
			wantLog: "count=2",
		},
		{
			name: "line longer than 4 KiB is dropped",
			setup: func(t *testing.T, dir, _ string) {
				writeFiles(t, dir, map[string]string{
					"10/container-info.txt": infoA,
					"10/os.txt":             "os-release-id=" + strings.Repeat("a", MaxLineSize) + "\nos-release-version-id=12\n",
				})
			},
			want: []Container{{PID: 10, ContainerID: "containerd://aaaa", PodName: "pod-a", PodNamespace: "ns", Finding: contract.Finding{OSVersion: "12"}}},
		},
		{
			name: "FIFO and directory in place of files are ignored without blocking",
			setup: func(t *testing.T, dir, _ string) {
				writeFiles(t, dir, map[string]string{"10/container-info.txt": infoA})
				if err := syscall.Mkfifo(filepath.Join(dir, "10", "os.txt"), 0o644); err != nil {
					t.Fatal(err)
				}
				if err := os.Mkdir(filepath.Join(dir, "10", "x-fingerprints.txt"), 0o755); err != nil {
					t.Fatal(err)
				}
			},
			want:    []Container{podA},
			wantLog: "not a regular file",
		},
		{
			name: "values are trimmed of spaces, quotes and CR",
			setup: func(t *testing.T, dir, _ string) {
				writeFiles(t, dir, map[string]string{
					"10/container-info.txt":      infoA,
					"10/os.txt":                  "os-release-id = \"rhel\"\r\n  os-release-version-id='8.10' \r\n",
					"10/tomcat-fingerprints.txt": "Apache Tomcat = \"11.0.1\"\n",
				})
			},
			want: []Container{{PID: 10, ContainerID: "containerd://aaaa", PodName: "pod-a", PodNamespace: "ns",
				Finding:    contract.Finding{OS: "rhel", OSVersion: "8.10", Runtimes: []contract.Runtime{{Name: "Apache Tomcat", Version: "11.0.1"}}},
				ReportedBy: map[string]string{"Apache Tomcat": "tomcat"}}},
		},
		{
			name: "fingerprint items come out sorted and unique",
			setup: func(t *testing.T, dir, _ string) {
				writeFiles(t, dir, map[string]string{
					"10/container-info.txt":    infoA,
					"10/java-fingerprints.txt": "WildFly=30\nQuarkus=3\nWildFly=30\nQuarkus=\n",
					"10/-fingerprints.txt":     "Stemless=1\n",
				})
			},
			want: []Container{{PID: 10, ContainerID: "containerd://aaaa", PodName: "pod-a", PodNamespace: "ns",
				Finding:    contract.Finding{Runtimes: []contract.Runtime{{Name: "Quarkus", Version: ""}, {Name: "Quarkus", Version: "3"}, {Name: "WildFly", Version: "30"}}},
				ReportedBy: map[string]string{"Quarkus": "java", "WildFly": "java"}}},
		},
		{
			name: "containers come out sorted by pid",
			setup: func(t *testing.T, dir, _ string) {
				writeFiles(t, dir, map[string]string{
					"300/container-info.txt": "container-id=containerd://c\npod-name=c\npod-namespace=ns\n",
					"20/container-info.txt":  "container-id=containerd://b\npod-name=b\npod-namespace=ns\n",
					"10/container-info.txt":  infoA,
				})
			},
			want: []Container{podA,
				{PID: 20, ContainerID: "containerd://b", PodName: "b", PodNamespace: "ns"},
				{PID: 300, ContainerID: "containerd://c", PodName: "c", PodNamespace: "ns"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, outside := t.TempDir(), t.TempDir()
			tt.setup(t, dir, outside)
			var logBuf bytes.Buffer
			got, err := Read(dir, slog.New(slog.NewTextHandler(&logBuf, nil)))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Read =\n%+v\nwant\n%+v", got, tt.want)
			}
			if !strings.Contains(logBuf.String(), tt.wantLog) {
				t.Errorf("log does not mention %q:\n%s", tt.wantLog, logBuf.String())
			}
			if strings.Contains(fmt.Sprint(got), "evil") || strings.Contains(fmt.Sprint(got), "leaked") {
				t.Errorf("content behind a symlink was read: %+v", got)
			}
		})
	}
}

func TestReadStopsAtMaxContainers(t *testing.T) {
	dir := t.TempDir()
	for pid := 1; pid <= MaxContainers+5; pid++ {
		d := filepath.Join(dir, fmt.Sprint(pid))
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, ContainerInfoFile), []byte(infoA), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := Read(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != MaxContainers {
		t.Fatalf("read %d containers, want the bound %d", len(got), MaxContainers)
	}
}

func TestReadFailsOnlyWhenTheDirectoryItselfIsUnusable(t *testing.T) {
	real := t.TempDir()
	link := filepath.Join(t.TempDir(), "out-link")
	symlink(t, real, link)
	file := filepath.Join(t.TempDir(), "out-file")
	writeFiles(t, filepath.Dir(file), map[string]string{"out-file": infoA})
	for name, dir := range map[string]string{
		"missing":    filepath.Join(real, "nope"),
		"symlink":    link,
		"plain file": file,
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := Read(dir, nil); err == nil {
				t.Fatalf("Read(%s) succeeded", dir)
			}
		})
	}
}
