// Command extractor_server listens on 127.0.0.1:3000 and runs the coordinator
// once per request (SPEC §3): the privileged half of the pod.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/openshift/insights-runtime-extractor/internal/cmdline"
	"github.com/openshift/insights-runtime-extractor/internal/coordinator"
	"github.com/openshift/insights-runtime-extractor/internal/extractor"
	"github.com/openshift/insights-runtime-extractor/internal/logging"
)

func main() {
	fs := flag.NewFlagSet("extractor_server", flag.ContinueOnError)
	var cfg extractor.Config
	var logOpts logging.Options
	fs.StringVar(&cfg.Listen, "listen", "127.0.0.1:3000", "loopback `address` to listen on")
	fs.StringVar(&cfg.Coordinator, "coordinator", "/coordinator", "coordinator `executable`, run once per request")
	fs.StringVar(&cfg.ConfigPath, "config", "/config.toml", "fingerprints `file`, checked at start and passed to the coordinator")
	fs.StringVar(&cfg.DataDir, "data-dir", "/data", "`directory` shared with the exporter, where results are written")
	fs.StringVar(&cfg.RuntimeEndpoint, "runtime-endpoint", "", "CRI `endpoint` passed to the coordinator (default: its own discovery)")
	fs.StringVar(&cfg.FingerprintsDir, "fingerprints-dir", "", "`directory` of the fpr_* executables passed to the coordinator (default: its own)")
	fs.StringVar(&cfg.CgroupParent, "cgroup-parent", "", "`cgroup` under which fingerprints run, passed to the coordinator (default: its own; on cgroup v2 its processes move into a leaf below it)")
	fs.IntVar(&cfg.Concurrency, "concurrency", 0, "containers scanned in parallel, passed to the coordinator (0: its default)")
	fs.DurationVar(&cfg.ScanTimeout, "scan-timeout", coordinator.DefaultScanTimeout, "budget of one scan, passed to the coordinator: when it runs out, the containers finished are the answer; below -coordinator-timeout")
	fs.DurationVar(&cfg.ContainerTimeout, "container-timeout", coordinator.DefaultContainerTimeout, "budget of all fingerprint runs of one container, passed to the coordinator")
	fs.DurationVar(&cfg.CoordinatorTimeout, "coordinator-timeout", extractor.DefaultCoordinatorTimeout, "a coordinator running longer is killed with its process group")
	fs.IntVar(&cfg.MaxQueue, "max-queue", extractor.DefaultMaxQueue, "requests that may wait for the running coordinator; more are refused")
	fs.IntVar(&cfg.MaxPending, "max-pending", extractor.DefaultMaxPending, "connections that may be sending their request at once, apart from the queue; more are refused, and one silent for "+extractor.DefaultFirstByteTimeout.String()+" is dropped")
	logOpts.Register(fs)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: extractor_server [flags]\n\nRuns the coordinator once per TCP request, one at a time.\n\n")
		fs.PrintDefaults()
	}
	if err := cmdline.Parse(fs, os.Args[1:], 0); err != nil {
		if cmdline.Done(err) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "extractor_server:", err)
		os.Exit(2)
	}
	log, err := logOpts.New(os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "extractor_server:", err)
		os.Exit(2)
	}
	cfg.LogLevel, cfg.LogFormat, cfg.Log = logOpts.Level, logOpts.Format, log

	srv, err := extractor.New(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "extractor_server:", err)
		os.Exit(1)
	}
	// After the checks, so that a refused start is the one line above.
	cmdline.LogStart(log, slog.LevelInfo, fs)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := srv.ListenAndServe(ctx); err != nil {
		log.Error("extractor_server failed", "error", err)
		os.Exit(1)
	}
}
