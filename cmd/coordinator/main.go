// Command coordinator runs one scan of the node's running containers and
// prints the path of the result directory it wrote (SPEC §4).
//
//	coordinator [flags] [id,id,...]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/procfs"

	"github.com/openshift/insights-runtime-extractor/internal/cmdline"
	"github.com/openshift/insights-runtime-extractor/internal/coordinator"
	"github.com/openshift/insights-runtime-extractor/internal/cri"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint"
	"github.com/openshift/insights-runtime-extractor/internal/fingerprint/rules"
	"github.com/openshift/insights-runtime-extractor/internal/logging"
	"github.com/openshift/insights-runtime-extractor/internal/privileges"
	"github.com/openshift/insights-runtime-extractor/internal/process"
	"github.com/openshift/insights-runtime-extractor/internal/result"
	"github.com/openshift/insights-runtime-extractor/internal/sandbox"
	"github.com/openshift/insights-runtime-extractor/internal/sandbox/helper"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "coordinator:", err)
		if errors.As(err, new(usageError)) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// usageError is a bad command line: exit status 2, like the other binaries.
type usageError struct{ error }

func run(args []string) error {
	fs := flag.NewFlagSet("coordinator", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: coordinator [flags] [container-id,container-id,...]")
		fs.PrintDefaults()
	}
	var (
		endpoint    = fs.String("runtime-endpoint", "", "CRI socket (unix://...); default $"+cri.EndpointEnv+", else the first default socket that answers")
		configPath  = fs.String("config", "/config.toml", "fingerprint rules (config.toml)")
		fprDir      = fs.String("fingerprints-dir", fingerprint.DefaultDir, "directory holding the fpr_* executables")
		dataDir     = fs.String("data-dir", "/data", "directory in which the result directory is created")
		concurrency = fs.Int("concurrency", coordinator.DefaultConcurrency(), "containers scanned at once; the default is half the CPUs, at least 2 and at most 4")
		useCache    = fs.Bool("cache", true, "answer from the previous scans for workloads that did not change (kept in <data-dir>/.scan-cache)")
		helperPath  = fs.String("sandbox-helper", "", "the sandbox helper executable; default: "+helper.Name+" beside this executable")
		cgroupRoot  = fs.String("cgroup-parent", "", "cgroup (as in /proc/self/cgroup) under which fingerprints run; default: this process's own (on cgroup v2 its processes move into a leaf below it)")
		fprTimeout  = fs.Duration("fingerprint-timeout", sandbox.DefaultTimeout, "wall-clock limit of one fingerprint run")
		scanTimeout = fs.Duration("scan-timeout", coordinator.DefaultScanTimeout, "budget of the whole scan: when it runs out, the containers finished are the result and the others are left out")
		ctrTimeout  = fs.Duration("container-timeout", coordinator.DefaultContainerTimeout, "budget of all fingerprint runs of one container: one that uses it up is left out and skipped by the next scans for a while")
		stats       = fs.Bool("stats", false, "log the scan's CPU time by step, and that of the fingerprints (steps overlap unless -concurrency is 1)")
		logOpts     logging.Options
	)
	logOpts.Register(fs)
	if err := cmdline.Parse(fs, args, 1); err != nil {
		if cmdline.Done(err) {
			return nil
		}
		return usageError{err}
	}
	if *concurrency < 1 {
		return usageError{fmt.Errorf("-concurrency must be at least 1, got %d", *concurrency)}
	}
	if *fprTimeout <= 0 {
		return usageError{fmt.Errorf("-fingerprint-timeout must be positive, got %s", *fprTimeout)}
	}
	if *scanTimeout <= 0 {
		return usageError{fmt.Errorf("-scan-timeout must be positive, got %s", *scanTimeout)}
	}
	if *ctrTimeout <= 0 {
		return usageError{fmt.Errorf("-container-timeout must be positive, got %s", *ctrTimeout)}
	}
	var ids []string
	for id := range strings.SplitSeq(fs.Arg(0), ",") {
		if id = strings.TrimSpace(id); id != "" {
			ids = append(ids, id)
		}
	}
	log, err := logOpts.New(os.Stderr)
	if err != nil {
		return usageError{err}
	}
	cmdline.LogStart(log, slog.LevelInfo, fs)
	if err := privileges.Require(privileges.CapSysAdmin, privileges.CapSetuid); err != nil {
		return err
	}
	cfg, err := rules.Load(*configPath)
	if err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()

	client, err := cri.Dial(ctx, *endpoint, cri.WithLogger(log))
	if err != nil {
		return err
	}
	defer client.Close()
	if *helperPath == "" {
		self, err := os.Executable()
		if err != nil {
			return err
		}
		*helperPath = sandbox.HelperBeside(self)
	}
	sb, err := sandbox.New(sandbox.Options{Helper: *helperPath, CgroupParent: *cgroupRoot, Logger: log})
	if err != nil {
		return err
	}
	defer sb.Close()
	w, err := result.Create(*dataDir)
	if err != nil {
		return err
	}

	scan := coordinator.Scan{
		Config:     cfg,
		Containers: client,
		Processes: func() (coordinator.Workloads, error) {
			return process.Snapshot("/proc")
		},
		Sandbox:          sb,
		Store:            w,
		FingerprintsDir:  *fprDir,
		Limits:           sandbox.Limits{Timeout: *fprTimeout},
		Concurrency:      *concurrency,
		Log:              log,
		ScanTimeout:      *scanTimeout,
		ContainerTimeout: *ctrTimeout,
	}
	if *stats {
		scan.Stats = &coordinator.Stats{}
	}
	if *useCache {
		cache, err := coordinator.LoadCache(filepath.Join(*dataDir, ".scan-cache"))
		if err != nil {
			log.Warn("scan cache ignored", "error", err)
		}
		scan.Cache = cache
	}
	start := time.Now()
	sum, err := scan.Run(ctx, ids)
	if err != nil {
		if rmErr := os.RemoveAll(w.Dir()); rmErr != nil {
			log.Warn("remove unfinished result directory", "dir", w.Dir(), "error", rmErr)
		}
		return err
	}
	// The counts ride with the result to the exporter's metrics; without them
	// the answer still stands.
	if err := w.WriteSummary(sum.Counts()); err != nil {
		log.Warn("scan summary not written", "error", err)
	}
	log.Info("scan done", "dir", w.Dir(), "runtime", client.Runtime(), "listed", sum.Listed,
		"selected", sum.Selected, "scanned", sum.Scanned, "failed", sum.Failed, "unknown", len(sum.Unknown),
		"cache_hits", sum.CacheHits, "fingerprints_not_started", sum.NotStarted, "budget_exhausted", sum.BudgetExhausted,
		"duration", time.Since(start).Round(time.Millisecond))
	if scan.Stats != nil {
		logCost(log, scan.Stats, sb.Usage())
	}
	fmt.Println(w.Dir())
	return nil
}

// logCost logs where the scan's CPU time went: this process's steps, the sandbox helpers and
// each fingerprint (with what it ran), and this process's peak RSS (VmHWM).
func logCost(log *slog.Logger, st *coordinator.Stats, u sandbox.Usage) {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	// Not ru_maxrss: a process started through vfork keeps across exec the peak of the parent
	// that started it (extractor_server, or a bench).
	var peakKiB uint64
	if p, err := procfs.Self(); err == nil {
		if st, err := p.NewStatus(); err == nil {
			peakKiB = st.VmHWM >> 10
		}
	}
	attrs := []any{
		"self", time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), "self_max_rss_kib", peakKiB,
		"cri", st.CRI, "proc", st.Proc, "plan", st.Plan, "sandbox", st.Sandbox, "write", st.Write,
		"helpers", u.Helpers,
	}
	for _, name := range slices.Sorted(maps.Keys(u.Jobs)) {
		attrs = append(attrs, slog.Group(name, "runs", u.Jobs[name].Runs, "cpu", u.Jobs[name].CPU))
	}
	log.Info("scan cost", attrs...)
}
