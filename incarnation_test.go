package memberlist

import (
	"math"
	"testing"
	"testing/synctest"
	"time"
)

// allSee reports whether every node of c holds every other as alive.
func allSee(c *testCluster) bool {
	for _, m := range c.nodes {
		for _, o := range c.nodes {
			if st, ok := stateOf(m, o.config.Name); !ok || st != StateAlive {
				return false
			}
		}
	}
	return true
}

// TestAccusationAtMaxIncarnation accuses c at incarnation MaxUint32, as a
// suspect and as a dead message, on every node at once (upstream #358).
// Before the fix c refuted with incarnation 0 (the counter wrapped), every
// peer ignored that as stale and declared c dead for good while c went on
// believing it was a member. Now c answers with MaxUint32 itself, which
// peers accept over an accusation at the maximum, and c stays.
func TestAccusationAtMaxIncarnation(t *testing.T) {
	for _, kind := range []string{"suspect", "dead"} {
		t.Run(kind, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := newTestCluster(t, 103)
				for _, n := range []string{"a", "b", "c"} {
					c.add(n)
				}
				c.joinAll()
				waitFor(t, 5*time.Second, "join", func() bool { return allSee(c) })
				for _, m := range c.nodes {
					if kind == "suspect" {
						m.suspectNode(&suspect{Incarnation: math.MaxUint32, Node: "c", From: "a"})
					} else {
						m.deadNode(&dead{Incarnation: math.MaxUint32, Node: "c", From: "a"})
					}
				}
				advance(30 * time.Second) // past every suspicion timeout
				if got := c.nodes[2].incarnation.Load(); got != math.MaxUint32 {
					t.Errorf("c's incarnation after the accusation is %d, want %d", got, uint32(math.MaxUint32))
				}
				if !allSee(c) {
					for _, m := range c.nodes[:2] {
						st, known := stateOf(m, "c")
						t.Errorf("%s holds c as %v (known %v) 30s after an accusation at the maximum", m.config.Name, st, known)
					}
				}
				// A second accusation at the maximum is answered the same way.
				c.nodes[0].suspectNode(&suspect{Incarnation: math.MaxUint32, Node: "c", From: "b"})
				advance(30 * time.Second)
				if !allSee(c) {
					t.Error("c was lost after a second accusation at the maximum")
				}
			})
		})
	}
}

func TestRefuteIncarnation(t *testing.T) {
	for _, tc := range []struct{ in, want uint32 }{
		{0, 1}, {41, 42}, {math.MaxUint32 - 1, math.MaxUint32}, {math.MaxUint32, math.MaxUint32},
	} {
		if got := refuteIncarnation(tc.in); got != tc.want {
			t.Errorf("refuteIncarnation(%d) = %d, want %d", tc.in, got, tc.want)
		}
	}
}
