package exporter_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/openshift/insights-runtime-extractor/internal/contract"
	"github.com/openshift/insights-runtime-extractor/internal/exporter"
	"github.com/openshift/insights-runtime-extractor/internal/result"
)

// deleteChildEnv, set to "<data dir>\n<result dir>", turns the test binary
// into an exporter that answers one request for that result directory, as
// the user the test started it as: the exporter's real read-and-delete path.
const deleteChildEnv = "EXPORTER_TEST_ANSWER_AS_CHILD"

func init() {
	if v, ok := os.LookupEnv(deleteChildEnv); ok {
		dataDir, dir, _ := strings.Cut(v, "\n")
		h := exporter.NewHandler(exporter.Options{Extractor: fixedAnswer(dir), DataDir: dataDir, Log: slog.New(slog.DiscardHandler)})
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, exporter.Path+"?hash=false", nil))
		fmt.Printf("%d %s", rec.Code, rec.Body)
		os.Exit(0)
	}
}

// fixedAnswer is an extractor that always answers with one result directory.
type fixedAnswer string

func (a fixedAnswer) Extract(context.Context, []string) (string, error) { return string(a), nil }

// The root extractor writes the result, the exporter runs as its image's
// user (65532) and must delete all of it after answering, or /data grows
// forever: in the Insights Operator's pod (an emptyDir of root, mode 0777,
// no fsGroup) as in a pod with an fsGroup.
func TestExporterDeletesTheRootExtractorsResult(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: the result is written as root and read as another user")
	}
	tests := []struct {
		name          string
		uid, gid      int
		mode          os.FileMode
		exporterGroup uint32
	}{
		{name: "the Insights Operator's pod: root's emptyDir, 0777, no fsGroup", uid: 0, gid: 0, mode: 0o777, exporterGroup: 65532},
		{name: "a pod with fsGroup 2000: root's emptyDir of group 2000, 2775", uid: 0, gid: 2000, mode: 0o2775, exporterGroup: 2000},
	}
	// The test binary must be executable by the exporter's user.
	bin := filepath.Join(t.TempDir(), "exporter.test")
	copyExecutable(t, os.Args[0], bin)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			old := syscall.Umask(0o022)
			defer syscall.Umask(old)
			dataDir := filepath.Join(t.TempDir(), "data")
			if err := os.Mkdir(dataDir, 0o700); err != nil {
				t.Fatal(err)
			}
			for _, d := range []string{filepath.Dir(dataDir), filepath.Dir(filepath.Dir(dataDir))} {
				if err := os.Chmod(d, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.Chown(dataDir, tc.uid, tc.gid); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(dataDir, tc.mode); err != nil {
				t.Fatal(err)
			}
			w, err := result.Create(dataDir)
			if err != nil {
				t.Fatal(err)
			}
			err = w.Add(result.Container{PID: 42, PodName: "app", PodNamespace: "shop",
				ContainerID: "cri-o://" + strings.Repeat("a", 64), Finding: contract.Finding{OS: "rhel", OSVersion: "9.4", Kind: "Java",
					Runtimes: []contract.Runtime{{Name: "Quarkus", Version: "3.15.1"}}},
				ReportedBy: map[string]string{"Quarkus": "java"}})
			if err != nil {
				t.Fatal(err)
			}
			child := exec.Command(bin, "-test.run=^$")
			child.Env = append(os.Environ(), deleteChildEnv+"="+dataDir+"\n"+w.Dir())
			child.Dir = "/"
			child.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65532, Gid: tc.exporterGroup}}
			out, err := child.CombinedOutput()
			if err != nil || !strings.HasPrefix(string(out), "200 ") || !strings.Contains(string(out), `"Quarkus"`) {
				t.Fatalf("the exporter as 65532 answered %q, %v; want 200 and the result", out, err)
			}
			if entries, err := os.ReadDir(dataDir); err != nil || len(entries) != 0 {
				t.Errorf("the exporter as 65532 left %v in the data dir (%v)", entries, err)
			}
		})
	}
}

func copyExecutable(t *testing.T, from, to string) {
	t.Helper()
	src, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{filepath.Dir(to), filepath.Dir(filepath.Dir(to))} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
}
