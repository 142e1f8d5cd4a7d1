package main

import (
	"fmt"
	"math"
	"os"
	"strings"
	"time"
)

// series is one line of a panel: a value per row.
type series struct {
	name, color string
	dashed      bool
	values      []float64
}

// writePlot writes an SVG of two panels against the number of containers:
// the CPU time per container (total, and the coordinator's, the helpers' and
// the fingerprints' shares) and the wall times (cold and repeat GET, direct
// run), with the baseline's medians when there are some.
func writePlot(path string, rows []row) error {
	xs := make([]float64, len(rows))
	for i, r := range rows {
		xs[i] = float64(r.n)
	}
	per := func(f func(r row) time.Duration) []float64 {
		v := make([]float64, len(rows))
		for i, r := range rows {
			v[i] = float64(f(r)) / float64(time.Millisecond) / float64(r.n)
		}
		return v
	}
	abs := func(f func(r row) time.Duration) []float64 {
		v := make([]float64, len(rows))
		for i, r := range rows {
			v[i] = f(r).Seconds()
		}
		return v
	}
	cost := func(f func(c *scanCost) time.Duration) func(r row) time.Duration {
		return func(r row) time.Duration {
			if r.direct.cost == nil {
				return 0
			}
			return f(r.direct.cost)
		}
	}
	cpu := []series{
		{"total (wait4)", "#000000", false, per(func(r row) time.Duration { return r.direct.total })},
		{"coordinator", "#1f77b4", false, per(cost(func(c *scanCost) time.Duration { return c.Self }))},
		{"sandbox helpers", "#2ca02c", false, per(cost(func(c *scanCost) time.Duration { return c.Helpers }))},
		{"fingerprints", "#d62728", false, per(cost((*scanCost).fingerprintCPU))},
		{"containerd daemon", "#9467bd", false, per(func(r row) time.Duration { return r.direct.daemon })},
	}
	wall := []series{
		{"cold GET", "#1f77b4", false, abs(func(r row) time.Duration { return r.cold })},
		{"repeat GET", "#2ca02c", false, abs(func(r row) time.Duration { return r.repeat })},
		{"direct run", "#000000", false, abs(func(r row) time.Duration { return r.direct.wall })},
	}
	if len(rows[0].base) > 0 {
		cpu = append(cpu, series{"baseline total", "#000000", true, per(func(r row) time.Duration { return median(r.base, func(x run) time.Duration { return x.total }) })})
		wall = append(wall, series{"baseline direct run", "#000000", true, abs(func(r row) time.Duration { return median(r.base, func(x run) time.Duration { return x.wall }) })})
	}
	var svg strings.Builder
	const width, height = 1000, 420
	fmt.Fprintf(&svg, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">`+"\n", width, height)
	fmt.Fprintf(&svg, `<rect width="%d" height="%d" fill="white"/>`+"\n", width, height)
	panel(&svg, 0, "CPU per container (ms)", xs, cpu)
	panel(&svg, width/2, "wall time (s)", xs, wall)
	svg.WriteString("</svg>\n")
	return os.WriteFile(path, []byte(svg.String()), 0o644)
}

// panel draws one chart of 500×420 at x offset left: axes with ticks, a
// line with dots per series, a legend.
func panel(w *strings.Builder, left int, title string, xs []float64, ss []series) {
	const x0, y0, pw, ph = 60, 40, 410, 270 // plot area inside the panel
	xmax := niceCeil(maxOf(xs))
	ymax := 0.0
	for _, s := range ss {
		ymax = max(ymax, maxOf(s.values))
	}
	ymax = niceCeil(ymax)
	px := func(x float64) float64 { return float64(left+x0) + x/xmax*pw }
	py := func(y float64) float64 { return y0 + ph - y/ymax*ph }
	fmt.Fprintf(w, `<text x="%d" y="22" font-size="14" font-weight="bold">%s</text>`+"\n", left+x0, title)
	fmt.Fprintf(w, `<path d="M%d %d V%d H%d" fill="none" stroke="#444"/>`+"\n", left+x0, y0, y0+ph, left+x0+pw)
	for i := 0; i <= 5; i++ {
		y := ymax * float64(i) / 5
		fmt.Fprintf(w, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#ddd"/><text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n",
			left+x0, left+x0+pw, py(y), py(y), left+x0-6, py(y)+4, tick(y))
		x := xmax * float64(i) / 5
		fmt.Fprintf(w, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n", px(x), y0+ph+16, tick(x))
	}
	fmt.Fprintf(w, `<text x="%d" y="%d" text-anchor="middle">containers</text>`+"\n", left+x0+pw/2, y0+ph+34)
	for i, s := range ss {
		var pts []string
		for j, v := range s.values {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", px(xs[j]), py(v)))
		}
		dash := ""
		if s.dashed {
			dash = ` stroke-dasharray="6 4"`
		}
		fmt.Fprintf(w, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2"%s/>`+"\n", strings.Join(pts, " "), s.color, dash)
		for _, p := range pts {
			x, y, _ := strings.Cut(p, ",")
			fmt.Fprintf(w, `<circle cx="%s" cy="%s" r="3" fill="%s"/>`+"\n", x, y, s.color)
		}
		lx, ly := left+x0+(i%2)*200, y0+ph+52+(i/2)*16
		fmt.Fprintf(w, `<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="%s" stroke-width="2"%s/><text x="%d" y="%d">%s</text>`+"\n",
			lx, lx+24, ly-4, ly-4, s.color, dash, lx+30, ly, s.name)
	}
}

func maxOf(v []float64) float64 {
	m := 0.0
	for _, x := range v {
		m = max(m, x)
	}
	return m
}

// niceCeil rounds up to 1, 2 or 5 times a power of ten (1 for nothing).
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

func tick(v float64) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.3f", v), "0"), ".")
}
