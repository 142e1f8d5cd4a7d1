// Command bench is `make bench`: it starts N sample containers (10, 50, 100
// by default) on the local node and prints, for each N, the scan's wall time
// through the exporter (first scan and a repeat answered from the cache),
// the coordinator's wall and CPU time per container (coordinator plus its
// fingerprints, user+sys) and the peak RSS of coordinator (the largest of it
// and its fingerprints), extractor_server and exporter. Progress goes to standard error, the table to standard output.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/openshift/insights-runtime-extractor/test/e2e/node/workloads"
	"github.com/openshift/insights-runtime-extractor/test/localnode"
)

// mix is the rotation of samples: light workloads of every kind, and one
// JVM in ten, as on a typical node.
var mix = []string{"debian-sleep", "go-server", "python", "nodejs", "debian-sleep", "go-server", "python", "nodejs", "sh-wrapper", "java-plain"}

func main() {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	sizes := fs.String("n", "10,50,100", "comma-separated numbers of containers")
	if err := fs.Parse(os.Args[1:]); err != nil {
		os.Exit(2)
	}
	var ns []int
	for _, s := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			fmt.Fprintf(os.Stderr, "bench: bad -n %q\n", *sizes)
			os.Exit(2)
		}
		ns = append(ns, n)
	}
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "bench: needs root (it starts a private containerd); run: sudo make bench")
		os.Exit(1)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rows, err := run(ctx, log, ns)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "containers\tscan wall (GET)\trepeat (cached)\tcoordinator wall\tCPU/container\tcoordinator peak RSS*\textractor_server peak RSS\texporter peak RSS\t")
	for _, r := range rows {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", r.n, ms(r.scan), ms(r.repeat), ms(r.coordWall), ms(r.cpuPer), mib(r.coordRSS), mib(r.extRSS), mib(r.expRSS))
	}
	tw.Flush()
	fmt.Println("* the largest of the coordinator and the fingerprints it ran (wait4's ru_maxrss); CPU/container includes both.")
}

type row struct {
	n                               int
	scan, repeat, coordWall, cpuPer time.Duration
	coordRSS, extRSS, expRSS        int64
}

func run(ctx context.Context, log *slog.Logger, sizes []int) (rows []row, err error) {
	repo, err := localnode.RepoRoot()
	if err != nil {
		return nil, err
	}
	binDir, err := os.MkdirTemp("", "ire-bench-bin-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(binDir)
	if err := localnode.BuildBinaries(ctx, repo, binDir); err != nil {
		return nil, err
	}
	env, err := workloads.Setup(ctx, log, "debian-sleep", "go-server", "python", "nodejs", "sh-wrapper", "java-plain")
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, env.Close()) }()
	config := filepath.Join(repo, "config.toml")

	started := 0
	for _, n := range sizes {
		for ; started < n; started++ {
			s := env.Images.Sample(mix[started%len(mix)])
			if _, err := env.Node.RunPod(ctx, localnode.PodSpec{Name: fmt.Sprintf("bench-%03d", started), Namespace: "bench",
				Containers: []localnode.ContainerSpec{s.Container("app")}}); err != nil {
				return rows, err
			}
		}
		log.Info("containers running", "n", n)
		r, err := measure(ctx, log, env, binDir, config, n)
		if err != nil {
			return rows, err
		}
		rows = append(rows, r)
	}
	return rows, nil
}

// measure scans n containers: once through a fresh extractor_server and
// exporter (cold cache, then a repeat), once with the coordinator run
// directly without its cache, for its own CPU time and peak RSS.
func measure(ctx context.Context, log *slog.Logger, env *workloads.Env, binDir, config string, n int) (row, error) {
	r := row{n: n}
	dir, err := os.MkdirTemp(env.WorkDir, fmt.Sprintf("bench-%d-", n))
	if err != nil {
		return r, err
	}
	ds, err := localnode.StartDaemonSet(ctx, localnode.DaemonSetOptions{BinDir: binDir, Config: config,
		DataDir: filepath.Join(dir, "data"), Endpoint: env.Node.Endpoint(), LogDir: dir, Log: log})
	if err != nil {
		return r, err
	}
	defer ds.Stop()
	clear := false
	for i, d := range []*time.Duration{&r.scan, &r.repeat} {
		start := time.Now()
		status, body, err := ds.Gather(ctx, &clear)
		*d = time.Since(start)
		if err != nil {
			return r, err
		}
		if status != 200 {
			return r, fmt.Errorf("scan %d of %d containers: status %d: %s", i+1, n, status, body)
		}
		if got := countContainers(body); got != n {
			return r, fmt.Errorf("scan %d reported %d containers, %d run", i+1, got, n)
		}
	}
	if r.extRSS, err = ds.PeakRSS("extractor_server"); err != nil {
		return r, err
	}
	if r.expRSS, err = ds.PeakRSS("exporter"); err != nil {
		return r, err
	}

	// The coordinator as extractor_server runs it, but uncached and as our
	// own child, so that wait4 gives its CPU time (its fingerprints, reaped
	// by it, included) and peak RSS.
	cmd := exec.CommandContext(ctx, filepath.Join(binDir, "coordinator"), "-runtime-endpoint", env.Node.Endpoint(),
		"-config", config, "-fingerprints-dir", binDir, "-data-dir", filepath.Join(dir, "direct"), "-cache=false")
	if err := os.MkdirAll(filepath.Join(dir, "direct"), 0o755); err != nil {
		return r, err
	}
	start := time.Now()
	out, err := cmd.Output()
	r.coordWall = time.Since(start)
	if err != nil {
		return r, fmt.Errorf("coordinator: %w", err)
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		return r, errors.New("no rusage for the coordinator")
	}
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	r.cpuPer = cpu / time.Duration(n)
	r.coordRSS = ru.Maxrss * 1024
	os.RemoveAll(strings.TrimSpace(string(out)))
	return r, nil
}

func countContainers(body []byte) int {
	var doc map[string]map[string]map[string]json.RawMessage
	if json.Unmarshal(body, &doc) != nil {
		return -1
	}
	n := 0
	for _, pods := range doc {
		for _, ctrs := range pods {
			n += len(ctrs)
		}
	}
	return n
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }
