package scoreboard

import (
	"slices"
	"testing"
	"testing/synctest"
	"time"
)

func TestFailedName(t *testing.T) {
	for _, c := range []struct {
		line string
		name string
		ok   bool
	}{
		{"2026/12/06 [INFO] memberlist: Marking n03 as failed, suspect timeout reached (2 peer confirmations)\n", "n03", true},
		{"[INFO] memberlist: Marking as failed, suspect timeout reached node=n04 confirmations=2\n", "n04", true},
		{"[INFO] memberlist: Marking as failed, suspect timeout reached node=n05\n", "n05", true},
		{"[WARN] memberlist: Refuting a suspect message node=n04\n", "", false},
	} {
		name, ok := failedName([]byte(c.line))
		if name != c.name || ok != c.ok {
			t.Errorf("failedName(%q) = %q, %v; want %q, %v", c.line, name, ok, c.name, c.ok)
		}
	}
}

// TestSleepOffGrid checks the waits before the kill scenario's faults: the
// same seed gives both libraries the same waits, each falls within one
// probe interval after the fixed part, and they spread over the interval,
// so the faults do not meet hashicorp's probe rounds (which keep the phase
// of Create) at one point in every run.
func TestSleepOffGrid(t *testing.T) {
	const draws = 8
	waits := func(seed uint64) []time.Duration {
		var out []time.Duration
		synctest.Test(t, func(t *testing.T) {
			w := newWorld(oursLib{}, seed, lanTimings())
			for range draws {
				start := time.Now()
				w.sleepOffGrid(10 * time.Second)
				out = append(out, time.Since(start))
			}
		})
		return out
	}
	interval := lanTimings().ProbeInterval
	for _, seed := range []uint64{1, 2} {
		a, b := waits(seed), waits(seed)
		if !slices.Equal(a, b) {
			t.Fatalf("seed %d: two worlds waited %v and %v", seed, a, b)
		}
		lo, hi := slices.Min(a)-10*time.Second, slices.Max(a)-10*time.Second
		if lo < 0 || hi >= interval {
			t.Errorf("seed %d: offsets %v..%v outside [0, %v)", seed, lo, hi, interval)
		}
		if hi-lo < interval/4 {
			t.Errorf("seed %d: %d offsets within %v of each other, want them spread over the probe interval %v", seed, draws, hi-lo, interval)
		}
	}
}
