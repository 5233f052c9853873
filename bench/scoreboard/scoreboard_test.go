package scoreboard

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

var (
	flagRun   = flag.Bool("scoreboard", false, "run the fault scoreboard (otherwise TestScoreboard runs a smoke version)")
	flagQuick = flag.Bool("quick", false, "smaller clusters and shorter faults (under 3 minutes)")
	flagSeed  = flag.Uint64("seed", 1, "seed of the mock network")
	flagOut   = flag.String("out", "", "directory for scoreboard.md, scoreboard.json and scoreboard.svg (default: none)")
	flagOnly  = flag.String("only", "", "run only the scenarios whose name matches this regexp")
)

// TestScoreboard runs every scenario for both libraries and prints the
// table. Without -scoreboard it runs the quick board's first scenario only,
// as a smoke test of the machinery.
func TestScoreboard(t *testing.T) {
	sz := size{quick: *flagQuick || !*flagRun}
	all := scenarios(sz)
	if !*flagRun && *flagOnly == "" {
		all = all[:1]
	}
	if *flagOnly != "" {
		re := regexp.MustCompile(*flagOnly)
		all = filterScenarios(all, re)
	}
	start := time.Now()
	var rows []row
	var notes []string
	for _, sc := range all {
		rows = append(rows, runScenario(t, sc, *flagSeed)...)
		if sc.note != "" {
			notes = append(notes, sc.note)
		}
	}
	meta := map[string]string{
		"date":    time.Now().UTC().Format("2006-01-02"),
		"seed":    fmt.Sprint(*flagSeed),
		"quick":   fmt.Sprint(sz.quick),
		"go":      runtime.Version(),
		"cpus":    fmt.Sprint(runtime.NumCPU()),
		"wall":    time.Since(start).Round(time.Second).String(),
		"machine": cpuModel(),
	}
	var b strings.Builder
	writeMarkdown(&b, rows)
	for _, n := range notes {
		fmt.Fprintf(&b, "\n%s\n", n)
	}
	fmt.Printf("\nFault scoreboard (%s, seed %d, quick=%v, %s, %d CPUs, %s wall)\n\n%s\n",
		meta["date"], *flagSeed, sz.quick, meta["go"], runtime.NumCPU(), meta["wall"], b.String())
	if *flagOut != "" {
		if err := writeOutputs(*flagOut, meta, rows, notes); err != nil {
			t.Fatal(err)
		}
	}
}

func filterScenarios(all []scenario, re *regexp.Regexp) []scenario {
	var out []scenario
	for _, sc := range all {
		if re.MatchString(sc.name) {
			out = append(out, sc)
		}
	}
	return out
}

// runScenario runs sc for both libraries, in parallel unless sc.serial, each
// in its own synctest bubble, and pairs their figures.
func runScenario(t *testing.T, sc scenario, seed uint64) []row {
	results := make([][]figure, len(libs))
	var mu sync.Mutex
	t.Run(sc.name, func(t *testing.T) {
		for i, l := range libs {
			if sc.oursOnly && l.name() != "ours" {
				continue
			}
			t.Run(l.name(), func(t *testing.T) {
				if !sc.serial {
					t.Parallel()
				}
				wall := time.Now()
				var figs []figure
				synctest.Test(t, func(t *testing.T) {
					w := newWorld(l, seed, sc.timings)
					var err error
					figs, err = sc.run(w)
					if err != nil {
						t.Logf("%s: %v (figures n/a)", l.name(), err)
					}
					w.finish()
				})
				t.Logf("%s: %s wall", l.name(), time.Since(wall).Round(time.Millisecond))
				mu.Lock()
				results[i] = figs
				mu.Unlock()
			})
		}
	})
	return pair(sc.name, results[0], results[1])
}

// pair joins the figures of both libraries by name; a figure only one
// library has is n/a for the other.
func pair(scenario string, a, b []figure) []row {
	var rows []row
	idx := map[string]int{}
	add := func(f figure, ours bool) {
		i, ok := idx[f.Name]
		if !ok {
			i = len(rows)
			idx[f.Name] = i
			rows = append(rows, row{Scenario: scenario, Figure: f.Name, Unit: f.Unit, Better: f.Better, Ours: na, Theirs: na})
		}
		if ours {
			rows[i].Ours, rows[i].OursS = f.Value, f.Series
		} else {
			rows[i].Theirs, rows[i].TheirsS = f.Value, f.Series
		}
	}
	for _, f := range a {
		add(f, true)
	}
	for _, f := range b {
		add(f, false)
	}
	return rows
}

func writeOutputs(dir string, meta map[string]string, rows []row, notes []string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var md strings.Builder
	fmt.Fprintf(&md, "Fault scoreboard: ours (github.com/gossip-go/memberlist) and theirs (hashicorp/memberlist v0.7.0)\n")
	fmt.Fprintf(&md, "in the same simulated faults. %s, seed %s, quick=%s, %s, %s CPUs (%s), %s wall.\n",
		meta["date"], meta["seed"], meta["quick"], meta["go"], meta["cpus"], meta["machine"], meta["wall"])
	fmt.Fprintf(&md, "Ratio: above 1 means ours does better (theirs ÷ ours when lower is better).\n\n")
	writeMarkdown(&md, rows)
	for _, n := range notes {
		fmt.Fprintf(&md, "\n%s\n", n)
	}
	if err := os.WriteFile(filepath.Join(dir, "scoreboard.md"), []byte(md.String()), 0o644); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(dir, "scoreboard.json"))
	if err != nil {
		return err
	}
	if err := writeJSON(f, meta, rows); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "scoreboard.svg"), []byte(chart(meta, rows)), 0o644)
}

// cpuModel returns the processor's model name from /proc/cpuinfo.
func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}
