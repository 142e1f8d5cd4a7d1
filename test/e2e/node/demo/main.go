// Command demo is `make demo`: on a Debian machine, as root, it sets up the
// local node (private containerd, sample images built offline), starts a few
// sample workloads, runs extractor_server and exporter as the DaemonSet
// does, prints the clear-text answer of GET /gather_runtime_info?hash=false
// on standard output (progress goes to standard error) and tears everything
// down again.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/openshift/insights-runtime-extractor/test/e2e/node/workloads"
	"github.com/openshift/insights-runtime-extractor/test/localnode"
)

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "demo: needs root (it starts a private containerd); run: sudo make demo")
		os.Exit(1)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, 20*time.Minute)
	defer cancel()
	out, err := run(ctx, log)
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
	os.Stdout.Write(out)
}

// run does the whole demo and returns the pretty-printed JSON; everything it
// started is stopped before it returns, whatever happened.
func run(ctx context.Context, log *slog.Logger) (out []byte, err error) {
	start := time.Now()
	repo, err := localnode.RepoRoot()
	if err != nil {
		return nil, err
	}
	// The product first: a checkout that cannot build fails in seconds.
	binDir, err := os.MkdirTemp("", "ire-demo-bin-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(binDir)
	log.Info("building coordinator, extractor_server, exporter and fingerprints")
	if err := localnode.BuildBinaries(ctx, repo, binDir); err != nil {
		return nil, err
	}
	env, err := workloads.Setup(ctx, log, workloads.DemoSamples...)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, env.Close()) }()
	pods, err := env.RunPods(ctx, workloads.Demo(env.Images))
	if err != nil {
		return nil, err
	}
	for key, p := range pods {
		for _, c := range p.Containers {
			log.Info("running", "pod", key, "container", c.Name, "id", env.Node.KeyPrefix()+c.ID)
		}
	}
	ds, err := localnode.StartDaemonSet(ctx, localnode.DaemonSetOptions{
		BinDir:   binDir,
		Config:   filepath.Join(env.RepoDir, "config.toml"),
		DataDir:  filepath.Join(env.WorkDir, "data"),
		Endpoint: env.Node.Endpoint(),
		LogDir:   env.WorkDir,
		Log:      log,
	})
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, ds.Stop()) }()

	hash := false
	log.Info("GET /gather_runtime_info?hash=false", "exporter", ds.ExporterURL)
	status, body, err := ds.Gather(ctx, &hash)
	if err != nil {
		return nil, err
	}
	if status != 200 {
		return nil, fmt.Errorf("exporter answered %d: %s; extractor_server log: %s", status, body, ds.Log("extractor_server"))
	}
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, body, "", "  "); err != nil {
		return nil, fmt.Errorf("exporter answered invalid JSON: %w: %s", err, body)
	}
	pretty.WriteByte('\n')
	log.Info("demo done; tearing down", "took", time.Since(start).Round(time.Second))
	return pretty.Bytes(), nil
}
