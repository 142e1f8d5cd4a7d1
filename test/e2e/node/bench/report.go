package main

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// header says what runs: the mix and the coordinators compared.
func (b *bench) header() {
	fmt.Fprintf(b.out, "make bench: %s node, samples in rotation (one JVM in ten): %s, then %s\n",
		b.env.Node.Kind(), strings.Join(jvms, "/"), strings.Join(other, ", "))
	fmt.Fprintf(b.out, "coordinator default -concurrency %d; direct runs use -cache=false", b.ours.concurrency)
	if b.base != nil {
		fmt.Fprintf(b.out, "; baseline: %s (-stats: %v)", b.base.name, b.base.stats)
	}
	fmt.Fprintln(b.out)
}

// printRow prints everything measured at one N but the side-by-side.
func (b *bench) printRow(r row) {
	w := b.out
	fmt.Fprintf(w, "\n== %d containers (%s), load average %s ==\n", r.n, b.mixOf(r.n), loadavg())
	fmt.Fprintf(w, "wall: cold GET %s ms, repeat GET %s ms (through extractor_server and exporter; both answers exact for all %d containers)\n",
		ms(r.cold), ms(r.repeat), r.n)
	fmt.Fprintf(w, "      direct coordinator run (-concurrency %d): %s ms\n", r.concurrency, ms(r.direct.wall))
	per := func(d time.Duration) string { return ms(d / time.Duration(r.n)) }
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "CPU per container, direct run\tms\t\n")
	if c := r.direct.cost; c != nil {
		fmt.Fprintf(tw, "  coordinator (its own)\t%s\t\n", per(c.Self))
		fmt.Fprintf(tw, "  sandbox helpers (enter, setns, deprivilege, fork)\t%s\t\n", per(c.Helpers))
		for _, name := range c.names() {
			j := c.Fingerprints[name]
			fmt.Fprintf(tw, "  %s, %d runs (with the version commands it ran)\t%s\t\n", name, j.Runs, per(j.CPU))
		}
		fmt.Fprintf(tw, "  = sum\t%s\t\n", per(c.Self+c.Helpers+c.fingerprintCPU()))
	}
	fmt.Fprintf(tw, "  total by wait4 (the coordinator and all it reaped)\t%s\t\n", per(r.direct.total))
	fmt.Fprintf(tw, "  containerd: the daemon's whole CPU during the scan\t%s\t\n", per(r.direct.daemon))
	tw.Flush()
	fmt.Fprintf(w, "peak RSS: coordinator %s (its own; %s the largest of it and all it reaped), extractor_server %s, exporter %s\n",
		selfRSS(r.direct), mib(r.direct.maxRSS), mib(r.extRSS), mib(r.expRSS))
	if c := r.phases.cost; c != nil {
		total := c.Self + c.Helpers + c.fingerprintCPU()
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintf(tw, "CPU per phase, -concurrency 1\tms/container\tshare\t\n")
		line := func(name string, d time.Duration) {
			fmt.Fprintf(tw, "  %s\t%s\t%.0f %%\t\n", name, per(d), 100*float64(d)/float64(max(total, 1)))
		}
		line("CRI calls (cri)", c.CRI)
		line("/proc walk (proc)", c.Proc)
		line("planning and cache (plan)", c.Plan)
		line("sandbox start, coordinator side (sandbox)", c.Sandbox)
		line("sandbox helpers: enter, setns, deprivilege, fork (helpers)", c.Helpers)
		for _, name := range c.names() {
			line(fmt.Sprintf("%s: detectors and version commands, %d runs", name, c.Fingerprints[name].Runs), c.Fingerprints[name].CPU)
		}
		line("result writing (write)", c.Write)
		line("other: the coordinator's own outside those steps", c.other())
		line("= total", total)
		tw.Flush()
	}
}

// printSideBySide prints the medians of the alternated baseline and ours runs.
func (b *bench) printSideBySide(r row) {
	w := b.out
	fmt.Fprintf(w, "side by side, %d pairs alternated, medians (direct runs, -cache=false, each coordinator at its default concurrency):\n", len(r.ours))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "\twall\tCPU/container (wait4)\tcoordinator own\thelpers\tfingerprints\tpeak RSS (largest)\tcoordinator RSS\t\n")
	line := func(name string, runs []run) (wall, cpu time.Duration, rss int64) {
		wall, cpu, rss = median(runs, func(x run) time.Duration { return x.wall }), median(runs, func(x run) time.Duration { return x.total }), int64(median(runs, func(x run) time.Duration { return time.Duration(x.maxRSS) }))
		split, own := []string{"—", "—", "—"}, "—"
		if runs[0].cost != nil {
			n := time.Duration(r.n)
			split = []string{
				ms(median(runs, func(x run) time.Duration { return x.cost.Self }) / n),
				ms(median(runs, func(x run) time.Duration { return x.cost.Helpers }) / n),
				ms(median(runs, func(x run) time.Duration { return x.cost.fingerprintCPU() }) / n),
			}
			own = mib(int64(median(runs, func(x run) time.Duration { return time.Duration(x.cost.SelfMaxRSSKiB * 1024) })))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t\n", name, ms(wall), ms(cpu/time.Duration(r.n)), strings.Join(split, "\t"), mib(rss), own)
		return
	}
	bw, bc, br := line("baseline "+b.base.name, r.base)
	ow, oc, or := line("ours", r.ours)
	fmt.Fprintf(tw, "ours/baseline\t%s\t%s\t\t\t\t%s\t\t\n", ratio(float64(ow), float64(bw)), ratio(float64(oc), float64(bc)), ratio(float64(or), float64(br)))
	tw.Flush()
}

// summary repeats one line per N, for comparing sizes at a glance.
func (b *bench) summary() {
	fmt.Fprintf(b.out, "\n== summary (ms; CPU per container of the direct run at -concurrency %d) ==\n", b.ours.concurrency)
	tw := tabwriter.NewWriter(b.out, 0, 0, 2, ' ', tabwriter.AlignRight)
	head := "containers\tcold GET\trepeat GET\tdirect wall\tCPU/container\tcoordinator\thelpers\tfingerprints\tcontainerd*\tRSS coordinator\tRSS extractor_server\tRSS exporter\t"
	if b.base != nil {
		head += "baseline CPU/container\tbaseline wall\t"
	}
	fmt.Fprintln(tw, head)
	for _, r := range b.rows {
		n := time.Duration(r.n)
		coord, helpers, fprs := "—", "—", "—"
		if c := r.direct.cost; c != nil {
			coord, helpers, fprs = ms(c.Self/n), ms(c.Helpers/n), ms(c.fingerprintCPU()/n)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t", r.n, ms(r.cold), ms(r.repeat), ms(r.direct.wall),
			ms(r.direct.total/n), coord, helpers, fprs, ms(r.direct.daemon/n), selfRSS(r.direct), mib(r.extRSS), mib(r.expRSS))
		if b.base != nil {
			fmt.Fprintf(tw, "%s\t%s\t", ms(median(r.base, func(x run) time.Duration { return x.total })/n), ms(median(r.base, func(x run) time.Duration { return x.wall })))
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
	fmt.Fprintln(b.out, "* containerd: the daemon's whole CPU time during the direct run, per container (not only our calls).")
}

// mixOf counts the samples of the first n containers.
func (b *bench) mixOf(n int) string {
	count := map[string]int{}
	for i := range n {
		count[sampleAt(i)]++
	}
	var parts []string
	for _, s := range samples() {
		if count[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", count[s], s))
		}
	}
	return strings.Join(parts, ", ")
}

func selfRSS(r run) string {
	if r.cost == nil {
		return "—"
	}
	return mib(r.cost.SelfMaxRSSKiB * 1024)
}

func median(runs []run, f func(run) time.Duration) time.Duration {
	v := make([]time.Duration, len(runs))
	for i, r := range runs {
		v[i] = f(r)
	}
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

func ratio(a, b float64) string {
	if b == 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f×", a/b)
}

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d.Microseconds())/1000) }

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }
