package scoreboard

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
)

// value is one measured figure: a number, "never" (the awaited state did
// not come within the cap) or "n/a" (the run could not measure it).
type value struct {
	V     float64
	Never bool
	NA    bool
}

func num(v float64) value { return value{V: v} }

var (
	never = value{Never: true}
	na    = value{NA: true}
)

func (v value) String() string {
	switch {
	case v.NA:
		return "n/a"
	case v.Never:
		return "never"
	case v.V == math.Trunc(v.V) && math.Abs(v.V) < 1e9:
		return fmt.Sprintf("%.0f", v.V)
	case math.Abs(v.V) >= 100:
		return fmt.Sprintf("%.0f", v.V)
	case math.Abs(v.V) >= 10:
		return fmt.Sprintf("%.1f", v.V)
	case math.Abs(v.V) >= 1:
		return fmt.Sprintf("%.2f", v.V)
	default:
		return fmt.Sprintf("%.3f", v.V)
	}
}

// figure is one named measurement of one run. better says which way is
// good: "lower" or "higher".
type figure struct {
	Name   string
	Unit   string
	Better string
	Value  value
	Series []float64 `json:",omitempty"` // samples over time, or a distribution, for the chart
}

// row is one figure of one scenario for both libraries.
type row struct {
	Scenario string
	Figure   string
	Unit     string
	Better   string
	Ours     value
	Theirs   value
	OursS    []float64 `json:"-"`
	TheirsS  []float64 `json:"-"`
}

// ratio is theirs ÷ ours for lower-is-better figures and ours ÷ theirs for
// higher-is-better ones, so above 1 always means ours does better. ok is
// false when the ratio means nothing (n/a, both zero).
func (r row) ratio() (string, float64, bool) {
	a, b := r.Theirs, r.Ours
	if r.Better == "higher" {
		a, b = b, a
	}
	switch {
	case a.NA || b.NA:
		return "", 0, false
	case a.Never && b.Never:
		return "=", 1, true
	case a.Never:
		return "∞", math.Inf(1), true
	case b.Never:
		return "0", 0, true
	case a.V == 0 && b.V == 0:
		return "=", 1, true
	case b.V == 0:
		return "∞", math.Inf(1), true
	}
	x := a.V / b.V
	return fmt.Sprintf("%.2f", x), x, true
}

// writeMarkdown writes rows as a markdown table.
func writeMarkdown(w io.Writer, rows []row) {
	fmt.Fprintln(w, "| scenario | figure | ours | theirs | ratio |")
	fmt.Fprintln(w, "|---|---|---:|---:|---:|")
	for _, r := range rows {
		s, _, _ := r.ratio()
		unit := ""
		if r.Unit != "" {
			unit = " (" + r.Unit + ")"
		}
		fmt.Fprintf(w, "| %s | %s%s, %s is better | %s | %s | %s |\n", r.Scenario, r.Figure, unit, r.Better, r.Ours, r.Theirs, s)
	}
}

// jsonValue is a value as JSON: a number, or null with a note.
type jsonValue struct {
	Value *float64 `json:"value"`
	Note  string   `json:"note,omitempty"`
}

func toJSON(v value) jsonValue {
	switch {
	case v.NA:
		return jsonValue{Note: "n/a"}
	case v.Never:
		return jsonValue{Note: "never"}
	}
	x := v.V
	return jsonValue{Value: &x}
}

// writeJSON writes rows, with their series, as JSON.
func writeJSON(w io.Writer, meta map[string]string, rows []row) error {
	type jrow struct {
		Scenario     string    `json:"scenario"`
		Figure       string    `json:"figure"`
		Unit         string    `json:"unit,omitempty"`
		Better       string    `json:"better"`
		Ours         jsonValue `json:"ours"`
		Theirs       jsonValue `json:"theirs"`
		Ratio        *float64  `json:"ratio"`
		OursSeries   []float64 `json:"ours_series,omitempty"`
		TheirsSeries []float64 `json:"theirs_series,omitempty"`
	}
	out := struct {
		Meta map[string]string `json:"meta"`
		Rows []jrow            `json:"rows"`
	}{Meta: meta}
	for _, r := range rows {
		j := jrow{Scenario: r.Scenario, Figure: r.Figure, Unit: r.Unit, Better: r.Better,
			Ours: toJSON(r.Ours), Theirs: toJSON(r.Theirs), OursSeries: r.OursS, TheirsSeries: r.TheirsS}
		if _, x, ok := r.ratio(); ok && !math.IsInf(x, 0) {
			j.Ratio = &x
		}
		out.Rows = append(out.Rows, j)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// svgEscape escapes s for SVG text.
func svgEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}
