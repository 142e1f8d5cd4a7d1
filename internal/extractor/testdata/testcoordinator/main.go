// Command testcoordinator stands in for the real coordinator in the tests of
// extractor_server and of the whole chain: it takes the coordinator's flags
// and ids, writes a real result directory with internal/result and prints
// its path, or misbehaves on purpose as TESTCOORDINATOR_MODE says:
//
//	ok (default)  one container per requested id (three when none), after TESTCOORDINATOR_SLEEP,
//	              and a scan summary (see summary) unless TESTCOORDINATOR_SUMMARY=none
//	fail          log lines, then TESTCOORDINATOR_MESSAGE (or a default) on stderr, exit status 1
//	garbage       10 MiB of binary garbage on stdout and stderr, exit status 0
//	outside       prints /etc, a directory outside the data dir
//	symlink       prints an out-* symlink in the data dir pointing elsewhere
//	hang          creates a result dir, starts a child (pid written to TESTCOORDINATOR_CHILDPID), never ends
//
// Every run appends its arguments as one JSON line to TESTCOORDINATOR_RECORD
// when set, and refuses to run while another run holds the data dir's lock,
// which proves that the server never runs two at once.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/openshift/insights-runtime-extractor/internal/contract"
	"github.com/openshift/insights-runtime-extractor/internal/logging"
	"github.com/openshift/insights-runtime-extractor/internal/result"
)

// AllIDs are the containers "running" when no id is requested.
var AllIDs = []string{
	"containerd://" + strings.Repeat("a1", 32),
	"containerd://" + strings.Repeat("b2", 32),
	"cri-o://" + strings.Repeat("c3", 32),
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "testcoordinator:", err)
		os.Exit(1)
	}
}

func run() error {
	fs := flag.NewFlagSet("testcoordinator", flag.ContinueOnError)
	var logOpts logging.Options
	logOpts.Register(fs)
	configPath := fs.String("config", "", "config.toml")
	dataDir := fs.String("data-dir", "", "data dir")
	fs.String("runtime-endpoint", "", "CRI endpoint")
	fs.String("fingerprints-dir", "", "fingerprints dir")
	fs.Int("concurrency", 0, "parallel scans")
	fs.Duration("scan-timeout", 0, "scan budget")
	fs.Duration("container-timeout", 0, "container budget")
	if err := fs.Parse(os.Args[1:]); err != nil {
		return err
	}
	log, err := logOpts.New(os.Stderr)
	if err != nil {
		return err
	}
	if fs.NArg() > 1 {
		return fmt.Errorf("want at most one positional argument, got %q", fs.Args())
	}
	if record := os.Getenv("TESTCOORDINATOR_RECORD"); record != "" {
		if err := appendRecord(record, os.Args[1:]); err != nil {
			return err
		}
	}
	log.Info("testcoordinator started", "config", *configPath, "data-dir", *dataDir, "args", strings.Join(fs.Args(), " "))

	unlock, err := lock(*dataDir)
	if err != nil {
		return err
	}
	defer unlock()

	switch mode := os.Getenv("TESTCOORDINATOR_MODE"); mode {
	case "", "ok":
		if d, err := time.ParseDuration(os.Getenv("TESTCOORDINATOR_SLEEP")); err == nil {
			time.Sleep(d)
		}
		var ids []string
		if fs.NArg() == 1 {
			ids = strings.Split(fs.Arg(0), ",")
		}
		return writeResult(*dataDir, ids, log)
	case "fail":
		if msg := os.Getenv("TESTCOORDINATOR_MESSAGE"); msg != "" {
			return errors.New(msg)
		}
		return errors.New("cannot reach the container runtime")
	case "garbage":
		junk := make([]byte, 1<<20)
		for i := range junk {
			junk[i] = byte(i*7 + i/251)
		}
		for range 10 {
			os.Stdout.Write(junk)
			os.Stderr.Write(junk[:64<<10])
		}
		return nil
	case "outside":
		fmt.Println("/etc")
		return nil
	case "symlink":
		link := filepath.Join(*dataDir, "out-symlink")
		if err := os.Symlink(os.TempDir(), link); err != nil {
			return err
		}
		fmt.Println(link)
		return nil
	case "hang":
		if _, err := result.Create(*dataDir); err != nil {
			return err
		}
		child := exec.Command("sleep", "3600")
		if err := child.Start(); err != nil {
			return err
		}
		// Written then renamed: a reader never sees a partial pid.
		pidFile := os.Getenv("TESTCOORDINATOR_CHILDPID")
		if err := os.WriteFile(pidFile+".tmp", []byte(strconv.Itoa(child.Process.Pid)), 0o644); err != nil {
			return err
		}
		if err := os.Rename(pidFile+".tmp", pidFile); err != nil {
			return err
		}
		// Wait for the child rather than select{}: with no goroutine left
		// to wake it, the Go runtime would end an empty select as a deadlock.
		return child.Wait()
	default:
		return fmt.Errorf("unknown TESTCOORDINATOR_MODE %q", mode)
	}
}

func appendRecord(path string, args []string) error {
	line, err := json.Marshal(args)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = f.Write(append(line, '\n'))
	return err
}

// lock fails when another testcoordinator runs on the same data dir.
func lock(dataDir string) (func(), error) {
	path := filepath.Join(dataDir, ".testcoordinator.lock")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return nil, errors.New("another coordinator is running on this data dir")
	}
	if err != nil {
		return nil, err
	}
	f.Close()
	return func() { os.Remove(path) }, nil
}

func writeResult(dataDir string, ids []string, log *slog.Logger) error {
	if len(ids) == 0 {
		ids = AllIDs
	}
	w, err := result.Create(dataDir)
	if err != nil {
		return err
	}
	for i, id := range ids {
		key := id
		if !strings.Contains(id, "://") {
			key = "containerd://" + id
		}
		bare := key[strings.Index(key, "://")+3:]
		c := result.Container{
			PID:          100 + i,
			PodName:      "pod-" + bare[:min(8, len(bare))],
			PodNamespace: "ns-" + strconv.Itoa(i%2),
			ContainerID:  key,
			Finding: contract.Finding{
				OS:              "rhel",
				OSVersion:       "8.10",
				Kind:            "Java",
				KindVersion:     "17.0.13",
				KindImplementer: "Red Hat, Inc.",
				Runtimes:        []contract.Runtime{{Name: "Quarkus", Version: "3.15.3.redhat-00002"}},
			},
			ReportedBy: map[string]string{"Quarkus": "java"},
		}
		if err := w.Add(c); err != nil {
			return err
		}
	}
	if os.Getenv("TESTCOORDINATOR_SUMMARY") != "none" {
		if err := w.WriteSummary(summary(len(ids))); err != nil {
			return err
		}
	}
	log.Info("testcoordinator wrote result", "dir", w.Dir(), "containers", len(ids))
	fmt.Println(w.Dir())
	return nil
}

// summary is what the test coordinator reports of a scan of n containers, so
// that the exporter's metrics have every kind of figure to show: besides
// the n scanned containers, one more was selected and went away, one entry
// came from the cache, and the java fingerprint timed out once.
func summary(n int) result.Summary {
	return result.Summary{
		Listed: len(AllIDs) + 1, Selected: n + 1, Scanned: n, CacheHits: 1,
		Failed: map[string]int{"container_gone": 1},
		Fingerprints: map[string]result.FingerprintCounts{
			"os":   {Runs: n},
			"java": {Runs: n, Failures: 1, Timeouts: 1},
		},
	}
}
