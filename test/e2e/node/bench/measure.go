package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/openshift/insights-runtime-extractor/test/localnode"
)

// row is what one N measured.
type row struct {
	n int
	// cold and repeat are the wall times of the two GETs through the chain.
	cold, repeat   time.Duration
	extRSS, expRSS int64
	// direct is the uncached coordinator at its default concurrency,
	// phases the one at concurrency 1 (the same run when that is the default).
	direct, phases run
	concurrency    int
	// quiet says whether the pods had settled before the scans.
	quiet string
	// ours and base alternate with -baseline.
	ours, base []run
}

// measure scans the n running containers: twice through a fresh
// extractor_server and exporter (cold, then repeat), whose answers must be
// exact; then with the coordinator run directly, for its CPU time and RSS.
// It prints the rows of this N before returning.
func (b *bench) measure(ctx context.Context, n int, quiet string) (row, error) {
	r := row{n: n, concurrency: b.ours.concurrency, quiet: quiet}
	if err := b.chain(ctx, &r); err != nil {
		return r, err
	}
	endpoint := b.env.Node.Endpoint()
	daemon := daemonPIDs(b.env.Node)
	if len(daemon) == 0 {
		b.log.Warn("the node's daemon process was not found: its CPU column will read 0")
	}
	var err error
	b.log.Info("direct coordinator run", "n", n, "concurrency", r.concurrency)
	if r.direct, err = b.ours.coordinator(ctx, endpoint, daemon, r.concurrency); err != nil {
		return r, err
	}
	r.phases = r.direct
	if r.concurrency != 1 {
		b.log.Info("direct coordinator run", "n", n, "concurrency", 1)
		if r.phases, err = b.ours.coordinator(ctx, endpoint, daemon, 1); err != nil {
			return r, err
		}
	}
	for _, x := range []run{r.direct, r.phases} {
		if x.written != n {
			return r, fmt.Errorf("the direct coordinator run wrote %d of %d containers", x.written, n)
		}
	}
	b.printRow(r)
	if b.base != nil {
		for i := range b.pairs {
			b.log.Info("side by side", "n", n, "pair", i+1, "of", b.pairs)
			base, err := b.base.coordinator(ctx, endpoint, daemon, 0)
			if err != nil {
				return r, err
			}
			ours, err := b.ours.coordinator(ctx, endpoint, daemon, 0)
			if err != nil {
				return r, err
			}
			r.base, r.ours = append(r.base, base), append(r.ours, ours)
		}
		b.printSideBySide(r)
	}
	return r, nil
}

// chain measures the two GETs through extractor_server and exporter started
// for this N (an empty cache), and checks both answers.
func (b *bench) chain(ctx context.Context, r *row) error {
	dir, err := os.MkdirTemp(b.env.WorkDir, fmt.Sprintf("bench-%d-", r.n))
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	ds, err := localnode.StartDaemonSet(ctx, localnode.DaemonSetOptions{BinDir: b.ours.dir, Config: b.ours.config,
		DataDir: filepath.Join(dir, "data"), Endpoint: b.env.Node.Endpoint(), LogDir: dir, Log: b.log})
	if err != nil {
		return err
	}
	defer func() {
		if err := ds.Stop(); err != nil {
			b.log.Warn("extractor_server and exporter", "stop", err)
		}
	}()
	hash := false
	for i, d := range []*time.Duration{&r.cold, &r.repeat} {
		b.log.Info("GET /gather_runtime_info", "n", r.n, "scan", []string{"cold", "repeat"}[i])
		start := time.Now()
		status, body, err := ds.Gather(ctx, &hash)
		*d = time.Since(start)
		if err != nil {
			return err
		}
		if status != 200 {
			return fmt.Errorf("%s GET of %d containers: status %d: %s\nextractor_server: %s", []string{"cold", "repeat"}[i], r.n, status, body, ds.Log("extractor_server"))
		}
		if err := b.exact.check(ctx, body, b.pods[:r.n]); err != nil {
			return fmt.Errorf("%s GET of %d containers: %w", []string{"cold", "repeat"}[i], r.n, err)
		}
	}
	if r.extRSS, err = ds.PeakRSS("extractor_server"); err != nil {
		return err
	}
	r.expRSS, err = ds.PeakRSS("exporter")
	return err
}
