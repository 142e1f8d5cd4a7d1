package release

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openshift/insights-runtime-extractor/internal/contract"
	"github.com/openshift/insights-runtime-extractor/internal/result"
)

// node is one node of the test: a real exporter process in front of an
// extractor stand-in that writes a real result directory (internal/result)
// holding the node's containers, as the coordinator would.
type node struct {
	exporterURL string
}

// startNode runs the exporter binary with the DaemonSet's flags (on a free
// port) against an extractor stand-in answering with containers; when
// containers is nil the stand-in closes the connection without an answer,
// as a failing extraction does.
func startNode(t *testing.T, exporter string, containers []result.Container) node {
	t.Helper()
	dataDir := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			func() {
				defer conn.Close()
				_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
				if _, err := io.Copy(io.Discard, io.LimitReader(conn, 1<<20)); err != nil || containers == nil {
					return
				}
				w, err := result.Create(dataDir)
				if err != nil {
					t.Errorf("extractor stand-in: %v", err)
					return
				}
				for _, c := range containers {
					if err := w.Add(c); err != nil {
						t.Errorf("extractor stand-in: %v", err)
						return
					}
				}
				_, _ = io.WriteString(conn, w.Dir()+"\n")
			}()
		}
	}()
	port := freePort(t)
	cmd := exec.Command(exporter, "-bind", "127.0.0.1", "-port", strconv.Itoa(port),
		"-extractor-address", l.Addr().String(), "-data-dir", dataDir)
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("exporter on port %d:\n%s", port, logs.String())
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("exporter does not listen on %d: %s", port, logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return node{exporterURL: "http://127.0.0.1:" + strconv.Itoa(port)}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func buildExporter(t *testing.T, repo string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "exporter")
	build := exec.Command("go", "build", "-o", bin, "./cmd/exporter")
	build.Dir = repo
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/exporter: %v: %s", err, out)
	}
	return bin
}

var (
	quarkusContainer = result.Container{
		PID: 4242, PodName: "quarkus-app", PodNamespace: "shop", ContainerID: "cri-o://" + strings.Repeat("1a", 32),
		Finding: contract.Finding{OS: "rhel", OSVersion: "8.10", Kind: "Java", KindVersion: "17.0.13", KindImplementer: "Red Hat, Inc.",
			Runtimes: []contract.Runtime{{Name: "Quarkus", Version: "3.15.3.redhat-00002"}}},
		ReportedBy: map[string]string{"Quarkus": "java"},
	}
	nodeContainer = result.Container{
		PID: 77, PodName: "front", PodNamespace: "shop", ContainerID: "cri-o://" + strings.Repeat("2b", 32),
		Finding: contract.Finding{OS: "debian", OSVersion: "12", Kind: "Node.js", KindVersion: "v22.6.0"},
	}
	goContainer = result.Container{
		PID: 9, PodName: "router", PodNamespace: "infra", ContainerID: "cri-o://" + strings.Repeat("3c", 32),
		Finding: contract.Finding{OS: "alpine", OSVersion: "3.20.2", Kind: "Golang", KindVersion: "go1.22.6"},
	}
)

// The merged document of the nodes holding quarkusContainer + goContainer and
// nodeContainer: both nodes have pods of namespace "shop".
const mergedDocument = `{
  "infra": {"router": {"cri-o://3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c": {
    "os": "alpine", "osVersion": "3.20.2", "kind": "Golang", "kindVersion": "go1.22.6"}}},
  "shop": {
    "quarkus-app": {"cri-o://1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a": {
      "os": "rhel", "osVersion": "8.10", "kind": "Java", "kindVersion": "17.0.13", "kindImplementer": "Red Hat, Inc.",
      "runtimes": [{"name": "Quarkus", "version": "3.15.3.redhat-00002"}]}},
    "front": {"cri-o://2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b": {
      "os": "debian", "osVersion": "12", "kind": "Node.js", "kindVersion": "v22.6.0"}}
  }
}`

// TestExtractScriptMergesTheAnswersOfEveryPod runs scripts/extract.sh with a
// kubectl stand-in on PATH that forwards the script's exec/port-forward requests to
// real exporters, and checks its stdout, stderr, exit status and the exact
// kubectl command lines it ran.
func TestExtractScriptMergesTheAnswersOfEveryPod(t *testing.T) {
	repo := repoRoot(t)
	for _, tool := range []string{"bash", "curl", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("extract.sh test skipped: %s is not installed", tool)
		}
	}
	exporter := buildExporter(t, repo)
	nodeA := startNode(t, exporter, []result.Container{quarkusContainer, goContainer})
	nodeB := startNode(t, exporter, []result.Container{nodeContainer})
	broken := startNode(t, exporter, nil)

	// The pods of a standalone DaemonSet moved to a namespace of its own (the
	// Insights Operator's, in openshift-insights, are read the same way).
	const ns = "runtime-info"
	const podA, podB, podBroken = "insights-runtime-extractor-standalone-a1b2c", "insights-runtime-extractor-standalone-d3e4f", "insights-runtime-extractor-standalone-x9y8z"
	execLine := func(pod string) string {
		return "exec -n " + ns + " " + pod + " -c exporter -- curl -s -S --fail-with-body http://127.0.0.1:8000/gather_runtime_info?hash=false"
	}
	portForwardLine := func(pod string) string {
		return "port-forward -n " + ns + " pod/" + pod + " :8000"
	}
	listLine := func(namespace string) string {
		return "get pods -n " + namespace + " --selector=app.kubernetes.io/name=insights-runtime-extractor --no-headers -o custom-columns=:metadata.name"
	}
	tests := []struct {
		name       string
		env        []string
		pods       []string // "name=url" of STANDIN_PODS
		wantStatus int
		wantStdout string   // JSON, compared as a value; "" for nothing
		wantStderr []string // lines, exactly
		wantCalls  []string
	}{
		{
			name:       "every pod answers: one merged document, progress on stderr",
			env:        []string{"NAMESPACE=" + ns},
			pods:       []string{podA + "=" + nodeA.exporterURL, podB + "=" + nodeB.exporterURL},
			wantStdout: mergedDocument,
			wantStderr: []string{"Extracting runtime info from " + podA + "...", "Extracting runtime info from " + podB + "..."},
			wantCalls:  []string{listLine(ns), execLine(podA), execLine(podB)},
		},
		{
			name:       "through kubectl port-forward to the pod's loopback",
			env:        []string{"NAMESPACE=" + ns, "EXTRACT_VIA=port-forward"},
			pods:       []string{podA + "=" + nodeA.exporterURL, podB + "=" + nodeB.exporterURL},
			wantStdout: mergedDocument,
			wantStderr: []string{"Extracting runtime info from " + podA + "...", "Extracting runtime info from " + podB + "..."},
			wantCalls:  []string{listLine(ns), portForwardLine(podA), portForwardLine(podB)},
		},
		{
			name:       "a failing pod through port-forward is named, the others are still reported",
			env:        []string{"NAMESPACE=" + ns, "EXTRACT_VIA=port-forward"},
			pods:       []string{podBroken + "=" + broken.exporterURL, podB + "=" + nodeB.exporterURL},
			wantStatus: 1,
			wantStdout: `{"shop": {"front": {"cri-o://2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b": {
			  "os": "debian", "osVersion": "12", "kind": "Node.js", "kindVersion": "v22.6.0"}}}}`,
			wantStderr: []string{
				"Extracting runtime info from " + podBroken + "...",
				"extract.sh: " + podBroken + " failed (exit status 22): ",
				"Extracting runtime info from " + podB + "...",
				"extract.sh: 1 of 2 pods failed: " + podBroken,
			},
			wantCalls: []string{listLine(ns), portForwardLine(podBroken), portForwardLine(podB)},
		},
		{
			name:       "the pod proxy of old cannot reach a loopback exporter: one clear line",
			env:        []string{"NAMESPACE=" + ns, "EXTRACT_VIA=proxy"},
			pods:       []string{podA + "=" + nodeA.exporterURL},
			wantStatus: 1,
			wantStderr: []string{"extract.sh: EXTRACT_VIA=proxy is gone: the exporter listens on the pod's 127.0.0.1 only, which the API server's pod proxy cannot reach; use EXTRACT_VIA=port-forward"},
		},
		{
			name:       "no pod in the namespace: one clear line, no document",
			env:        nil, // NAMESPACE defaults to insights-runtime-extractor, where nothing runs here
			pods:       []string{podA + "=" + nodeA.exporterURL},
			wantStatus: 1,
			wantStderr: []string{"extract.sh: no pod labelled app.kubernetes.io/name=insights-runtime-extractor in namespace insights-runtime-extractor (is the DaemonSet deployed there? set NAMESPACE)"},
			wantCalls:  []string{listLine("insights-runtime-extractor")},
		},
		{
			name:       "a failing pod is named, the others are still reported",
			env:        []string{"NAMESPACE=" + ns},
			pods:       []string{podBroken + "=" + broken.exporterURL, podB + "=" + nodeB.exporterURL},
			wantStatus: 1,
			wantStdout: `{"shop": {"front": {"cri-o://2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b": {
			  "os": "debian", "osVersion": "12", "kind": "Node.js", "kindVersion": "v22.6.0"}}}}`,
			wantStderr: []string{
				"Extracting runtime info from " + podBroken + "...",
				"extract.sh: " + podBroken + " failed (exit status 22): ",
				"Extracting runtime info from " + podB + "...",
				"extract.sh: 1 of 2 pods failed: " + podBroken,
			},
			wantCalls: []string{listLine(ns), execLine(podBroken), execLine(podB)},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			log := filepath.Join(t.TempDir(), "kubectl.log")
			cmd := exec.Command("bash", filepath.Join(repo, "scripts", "extract.sh"))
			cmd.Env = append(withoutEnv(os.Environ(), "NAMESPACE", "KUBECTL", "EXTRACT_VIA"),
				"PATH="+filepath.Join(repo, "test", "release", "testdata", "bin")+":"+os.Getenv("PATH"),
				"STANDIN_PODS="+strings.Join(tc.pods, " "),
				"STANDIN_NAMESPACE="+ns,
				"STANDIN_LOG="+log,
			)
			cmd.Env = append(cmd.Env, tc.env...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			status := 0
			var exitErr *exec.ExitError
			if errors.As(err, &exitErr) {
				status = exitErr.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if status != tc.wantStatus {
				t.Errorf("exit status %d, want %d; stderr:\n%s", status, tc.wantStatus, stderr.String())
			}
			if tc.wantStdout == "" {
				if stdout.Len() != 0 {
					t.Errorf("stdout = %q, want nothing", stdout.String())
				}
			} else {
				var got, want any
				if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
					t.Fatalf("stdout is not JSON: %v\n%s", err, stdout.String())
				}
				if err := json.Unmarshal([]byte(tc.wantStdout), &want); err != nil {
					t.Fatal(err)
				}
				g, _ := json.Marshal(got)
				w, _ := json.Marshal(want)
				if !bytes.Equal(g, w) {
					t.Errorf("stdout document\n got %s\nwant %s", g, w)
				}
			}
			lines := strings.Split(strings.TrimRight(stderr.String(), "\n"), "\n")
			if len(lines) != len(tc.wantStderr) {
				t.Fatalf("stderr has %d lines, want %d:\n%s", len(lines), len(tc.wantStderr), stderr.String())
			}
			for i, want := range tc.wantStderr {
				// A failure line starts with the wanted text and carries the exporter's message.
				if lines[i] != want && !(strings.HasSuffix(want, ": ") && strings.HasPrefix(lines[i], want) && len(lines[i]) > len(want)) {
					t.Errorf("stderr line %d = %q, want %q", i, lines[i], want)
				}
			}
			calls, err := os.ReadFile(log)
			if err != nil && !(errors.Is(err, os.ErrNotExist) && len(tc.wantCalls) == 0) {
				t.Fatal(err)
			}
			if got := strings.Split(strings.TrimRight(string(calls), "\n"), "\n"); strings.Join(got, "\n") != strings.Join(tc.wantCalls, "\n") {
				t.Errorf("kubectl calls:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.wantCalls, "\n"))
			}
		})
	}
}

func withoutEnv(env []string, keys ...string) []string {
	var out []string
next:
	for _, e := range env {
		for _, k := range keys {
			if strings.HasPrefix(e, k+"=") {
				continue next
			}
		}
		out = append(out, e)
	}
	return out
}
