package main

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// header says what runs: the mix and the coordinators compared.
func (b *bench) header() {
	fmt.Fprintf(b.out, "make bench: %s node, samples in rotation (one JVM in ten): %s, then %s\n",
		b.env.Node.Kind(), strings.Join(jvms, "/"), strings.Join(other, ", "))
	fmt.Fprintf(b.out, "coordinator default -concurrency %d; direct runs use -cache=false and, where it exists, -scan-timeout 15m (every container measured)", b.ours.concurrency)
	if b.base != nil {
		fmt.Fprintf(b.out, "; baseline: %s (default -concurrency %d, -stats: %v)", b.base.name, b.base.concurrency, b.base.stats)
	}
	fmt.Fprintln(b.out)
}

// printRow prints everything measured at one N but the side-by-side.
func (b *bench) printRow(r row) {
	w := b.out
	fmt.Fprintf(w, "\n== %d containers (%s); %s (CPU < 5 %% of a core); load average %s ==\n", r.n, b.mixOf(r.n), r.quiet, loadavg())
	fmt.Fprintf(w, "wall: cold GET %s ms, repeat GET %s ms (through extractor_server and exporter; both answers exact for all %d containers)\n",
		ms(r.cold), ms(r.repeat), r.n)
	fmt.Fprintf(w, "      direct coordinator run (-concurrency %d): %s ms\n", r.concurrency, ms(r.direct.wall))
	per := func(d time.Duration) string { return ms(d / time.Duration(r.n)) }
	t := &table{head: []string{"CPU per container, direct run", "ms"}}
	if c := r.direct.cost; c != nil {
		t.add("  coordinator (its own)", per(c.Self))
		t.add("  sandbox helpers (enter, setns, deprivilege, fork)", per(c.Helpers))
		for _, name := range c.names() {
			j := c.Fingerprints[name]
			t.add(fmt.Sprintf("  %s, %d runs (with the version commands it ran)", name, j.Runs), per(j.CPU))
		}
		t.add("  = sum", per(c.Self+c.Helpers+c.fingerprintCPU()))
	}
	t.add("  total by wait4 (the coordinator and all it reaped)", per(r.direct.total))
	t.add(fmt.Sprintf("  containerd: the daemon's whole CPU during the scan (%s ms in all, 10 ms ticks)", ms(r.direct.daemon)), per(r.direct.daemon))
	t.print(w)
	fmt.Fprintf(w, "peak RSS (VmHWM): coordinator %s (its own log says %s), extractor_server %s, exporter %s\n",
		mib(r.direct.hwm), selfRSS(r.direct), mib(r.extRSS), mib(r.expRSS))
	if c := r.phases.cost; c != nil {
		total := c.Self + c.Helpers + c.fingerprintCPU()
		head := "CPU per phase, -concurrency 1"
		if r.concurrency == 1 {
			head += " (the run above)"
		}
		t := &table{head: []string{head, "ms/container", "share"}}
		line := func(name string, d time.Duration) {
			t.add("  "+name, per(d), fmt.Sprintf("%.0f %%", 100*float64(d)/float64(max(total, 1))))
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
		t.print(w)
	}
}

// table prints rows with the first column left-aligned and the others
// right-aligned, as numbers read best.
type table struct {
	head []string
	rows [][]string
}

func (t *table) add(cells ...string) { t.rows = append(t.rows, cells) }

func (t *table) print(w io.Writer) {
	width := make([]int, len(t.head))
	for _, r := range append([][]string{t.head}, t.rows...) {
		for i, c := range r {
			width[i] = max(width[i], utf8.RuneCountInString(c))
		}
	}
	for _, r := range append([][]string{t.head}, t.rows...) {
		var b strings.Builder
		for i, c := range r {
			pad := strings.Repeat(" ", width[i]-utf8.RuneCountInString(c))
			if i == 0 {
				b.WriteString(c + pad)
			} else {
				b.WriteString("  " + pad + c)
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
}

// printSideBySide prints the medians of the alternated baseline and ours runs.
func (b *bench) printSideBySide(r row) {
	w := b.out
	fmt.Fprintf(w, "side by side, %d pairs alternated, medians (direct runs, -cache=false, -scan-timeout 15m where it exists, each coordinator at its default concurrency):\n", len(r.ours))
	t := &table{head: []string{"", "wall ms", "CPU/container (wait4)", "coordinator own", "helpers", "fingerprints", "coordinator peak RSS", "containers written"}}
	line := func(name string, runs []run) (wall, cpu time.Duration, rss int64) {
		wall, cpu, rss = median(runs, func(x run) time.Duration { return x.wall }), median(runs, func(x run) time.Duration { return x.total }), int64(median(runs, func(x run) time.Duration { return time.Duration(x.hwm) }))
		split := []string{"—", "—", "—"}
		if runs[0].cost != nil {
			n := time.Duration(r.n)
			split = []string{
				ms(median(runs, func(x run) time.Duration { return x.cost.Self }) / n),
				ms(median(runs, func(x run) time.Duration { return x.cost.Helpers }) / n),
				ms(median(runs, func(x run) time.Duration { return x.cost.fingerprintCPU() }) / n),
			}
		}
		written := fmt.Sprint(runs[0].written)
		for _, x := range runs[1:] {
			if x.written != runs[0].written {
				written += fmt.Sprintf(", %d", x.written)
			}
		}
		t.add(append(append([]string{name, ms(wall), ms(cpu / time.Duration(r.n))}, split...), mib(rss), written)...)
		return
	}
	bw, bc, br := line("baseline "+b.base.name, r.base)
	ow, oc, or := line("ours", r.ours)
	t.add("ours/baseline", ratio(float64(ow), float64(bw)), ratio(float64(oc), float64(bc)), "", "", "", ratio(float64(or), float64(br)))
	t.print(w)
}

// summary repeats one line per N, for comparing sizes at a glance.
func (b *bench) summary() {
	fmt.Fprintf(b.out, "\n== summary (ms; CPU per container of the direct run at -concurrency %d) ==\n", b.ours.concurrency)
	t := &table{head: []string{"containers", "cold GET", "repeat GET", "direct wall", "CPU/container", "coordinator", "helpers",
		"fingerprints", "containerd*", "RSS coordinator", "RSS extractor_server", "RSS exporter"}}
	if b.base != nil {
		t.head = append(t.head, "baseline CPU/container", "baseline wall")
	}
	for _, r := range b.rows {
		n := time.Duration(r.n)
		coord, helpers, fprs := "—", "—", "—"
		if c := r.direct.cost; c != nil {
			coord, helpers, fprs = ms(c.Self/n), ms(c.Helpers/n), ms(c.fingerprintCPU()/n)
		}
		cells := []string{strconv.Itoa(r.n), ms(r.cold), ms(r.repeat), ms(r.direct.wall), ms(r.direct.total / n), coord, helpers, fprs,
			ms(r.direct.daemon / n), mib(r.direct.hwm), mib(r.extRSS), mib(r.expRSS)}
		if b.base != nil {
			cells = append(cells, ms(median(r.base, func(x run) time.Duration { return x.total })/n), ms(median(r.base, func(x run) time.Duration { return x.wall })))
		}
		t.add(cells...)
	}
	t.print(b.out)
	fmt.Fprintln(b.out, "* containerd: the daemon's whole CPU time during the direct run, per container (not only our calls).")
	fmt.Fprintln(b.out, "RSS: peak (VmHWM) of each binary itself, read from /proc while it runs.")
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
