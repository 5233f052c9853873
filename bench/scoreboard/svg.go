package scoreboard

import (
	"fmt"
	"math"
	"strings"
)

// chart draws the ratio of every row on a log scale (1/16 to 16, clamped),
// and below it the detection-time distributions of the kill scenario.
func chart(meta map[string]string, rows []row) string {
	const (
		left, barW, rowH = 560, 360, 18
		lim              = 16.0
	)
	var kill []row
	var b strings.Builder
	h := 60 + rowH*len(rows)
	for _, r := range rows {
		if len(r.OursS) > 0 && strings.Contains(r.Figure, "first detection") {
			kill = append(kill, r)
		}
	}
	total := h + 60 + 70*len(kill)
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="11">`+"\n", left+barW+80, total)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="10" y="18" font-size="14">Fault scoreboard: ours vs hashicorp/memberlist v0.7.0, %s, seed %s, quick=%s</text>`+"\n",
		svgEscape(meta["date"]), svgEscape(meta["seed"]), svgEscape(meta["quick"]))
	fmt.Fprintf(&b, `<text x="10" y="34">Bar: ratio on a log scale; right of the line (green) ours does better, left (red) theirs does.</text>`+"\n")
	mid := left + barW/2
	fmt.Fprintf(&b, `<line x1="%d" y1="44" x2="%d" y2="%d" stroke="black"/>`+"\n", mid, mid, h)
	for _, tick := range []float64{1.0 / 16, 1.0 / 4, 4, 16} {
		x := mid + int(math.Log2(tick)/math.Log2(lim)*barW/2)
		fmt.Fprintf(&b, `<line x1="%d" y1="44" x2="%d" y2="%d" stroke="#ddd"/><text x="%d" y="%d" text-anchor="middle">%s</text>`+"\n",
			x, x, h, x, h+12, tickLabel(tick))
	}
	for i, r := range rows {
		y := 50 + i*rowH
		label := r.Scenario + " · " + r.Figure
		if len(label) > 92 {
			label = label[:91] + "…"
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end">%s</text>`+"\n", left-6, y+12, svgEscape(label))
		s, x, ok := r.ratio()
		if !ok {
			fmt.Fprintf(&b, `<text x="%d" y="%d" fill="#888">n/a</text>`+"\n", mid+4, y+12)
			continue
		}
		w := math.Log2(math.Max(1/lim, math.Min(lim, x))) / math.Log2(lim) * barW / 2
		color, x0 := "#2a9d3a", mid
		if w < 0 {
			color, x0, w = "#c0392b", mid+int(w), -w
		}
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="%s"/>`+"\n", x0, y+3, max(1, int(w)), rowH-6, color)
		fmt.Fprintf(&b, `<text x="%d" y="%d">%s</text>`+"\n", left+barW+6, y+12, svgEscape(s))
	}
	y := h + 40
	for _, r := range kill {
		drawStrip(&b, r, y, left, barW)
		y += 70
	}
	b.WriteString("</svg>\n")
	return b.String()
}

func tickLabel(x float64) string {
	if x < 1 {
		return fmt.Sprintf("1/%.0f", 1/x)
	}
	return fmt.Sprintf("%.0f", x)
}

// drawStrip draws the detection delays of both libraries as dots on one
// time axis.
func drawStrip(b *strings.Builder, r row, y, left, width int) {
	hi := 1.0
	for _, s := range append(append([]float64(nil), r.OursS...), r.TheirsS...) {
		hi = math.Max(hi, s)
	}
	fmt.Fprintf(b, `<text x="10" y="%d">%s: detection delay per observer (s), 0 to %.1f</text>`+"\n", y, svgEscape(r.Scenario+" · "+strings.TrimSuffix(r.Figure, ": first detection")), hi)
	for i, series := range [][]float64{r.OursS, r.TheirsS} {
		name, color := []string{"ours", "theirs"}[i], []string{"#2a6fdb", "#e67e22"}[i]
		yy := y + 18 + i*20
		fmt.Fprintf(b, `<text x="%d" y="%d" text-anchor="end">%s</text><line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#ccc"/>`+"\n",
			left-6, yy+4, name, left, yy, left+width, yy)
		for _, s := range series {
			fmt.Fprintf(b, `<circle cx="%d" cy="%d" r="2" fill="%s" fill-opacity="0.5"/>`+"\n", left+int(s/hi*float64(width)), yy, color)
		}
	}
}
