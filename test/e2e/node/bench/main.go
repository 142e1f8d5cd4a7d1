// Command bench is `make bench`: the instrument of the scan's cost. It
// starts N sample containers on the local containerd node (14, 100 and 400
// by default: JVMs, interpreters, native and plain ones, one JVM in ten) and,
// for each N, prints as soon as it is measured:
//   - the wall time of a cold and of a repeat GET through extractor_server
//     and exporter, whose answers must be exact for every container;
//   - the CPU time per container of a direct, uncached coordinator run at its
//     default concurrency, split into the coordinator's own, the sandbox
//     helpers', each fingerprint's (with the version commands it ran) and the
//     containerd daemon's whole CPU time during that run; peak RSS per binary;
//   - the coordinator's CPU time per phase, from a run with -concurrency 1;
//   - with -baseline, a side-by-side of another revision's coordinator and
//     ours, run alternately.
//
// It then writes an SVG plot of CPU per container and wall time against N.
// Progress goes to standard error, the tables to standard output.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

func main() {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	sizes := fs.String("n", "14,100,400", "comma-separated numbers of containers")
	plot := fs.String("plot", "bench.svg", "where to write the SVG plot")
	baseline := fs.String("baseline", "", "a git revision whose coordinator is run side by side with ours")
	pairs := fs.Int("pairs", 3, "baseline and ours runs, alternated, at each N (with -baseline)")
	if err := fs.Parse(os.Args[1:]); err != nil {
		os.Exit(2)
	}
	ns, err := parseSizes(*sizes)
	if err != nil || *pairs < 1 {
		fmt.Fprintf(os.Stderr, "bench: bad -n %q or -pairs %d\n", *sizes, *pairs)
		os.Exit(2)
	}
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "bench: needs root (it starts a private containerd); run: sudo make bench")
		os.Exit(1)
	}
	plotPath, err := filepath.Abs(*plot)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	b := &bench{log: log, out: os.Stdout, pairs: *pairs}
	err = b.run(ctx, ns, *baseline)
	if len(b.rows) > 0 {
		if perr := writePlot(plotPath, b.rows); perr != nil {
			err = errors.Join(err, perr)
		} else {
			fmt.Fprintf(b.out, "\nplot: %s\n", plotPath)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// parseSizes reads -n: positive numbers, returned ascending without repeats
// (the containers of one N stay running for the next).
func parseSizes(s string) ([]int, error) {
	var ns []int
	for f := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("bad size %q", f)
		}
		ns = append(ns, n)
	}
	slices.Sort(ns)
	return slices.Compact(ns), nil
}
