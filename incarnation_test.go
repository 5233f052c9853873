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

// gossipStep is one message fed to a node in a scripted test.
type gossipStep struct {
	kind string // "alive", "suspect" or "dead"
	inc  uint32
	from string // accuser, for suspect and dead
}

// feed applies steps about the node x to m, as the packet handler would.
func feed(m *Memberlist, x string, steps ...gossipStep) {
	for _, s := range steps {
		switch s.kind {
		case "alive":
			m.aliveNode(&alive{Incarnation: s.inc, Node: x, Addr: []byte{10, 0, 0, 9}, Port: 7946, Vsn: []uint8{1, 5, 2, 0, 0, 0}}, nil, false)
		case "suspect":
			m.suspectNode(&suspect{Incarnation: s.inc, Node: x, From: s.from})
		case "dead":
			m.deadNode(&dead{Incarnation: s.inc, Node: x, From: s.from})
		}
	}
}

// TestAccusationsRaiseTheStoredIncarnation: a suspect or dead newer than
// the stored incarnation raises it even when it changes no state, so an
// alive older than the accusation cannot revive the node (upstream #312,
// al8n/memberlist#197). Before the fix the first two scripts revived x and
// the third cleared its suspicion.
func TestAccusationsRaiseTheStoredIncarnation(t *testing.T) {
	for _, tc := range []struct {
		name  string
		steps []gossipStep
		state NodeStateType
		inc   uint32
	}{
		{"higher dead on a dead node", []gossipStep{{"alive", 1, ""}, {"dead", 1, "b"}, {"dead", 10, "c"}, {"alive", 2, ""}}, StateDead, 10},
		{"higher suspect on a dead node", []gossipStep{{"alive", 1, ""}, {"dead", 1, "b"}, {"suspect", 10, "c"}, {"alive", 2, ""}}, StateDead, 10},
		{"higher confirmation of a suspicion", []gossipStep{{"alive", 1, ""}, {"suspect", 1, "b"}, {"suspect", 10, "c"}, {"alive", 5, ""}}, StateSuspect, 10},
		{"higher dead on a left node", []gossipStep{{"alive", 1, ""}, {"dead", 1, "x"}, {"dead", 10, "c"}, {"alive", 2, ""}}, StateLeft, 10},
		{"a newer alive still revives", []gossipStep{{"alive", 1, ""}, {"dead", 1, "b"}, {"dead", 10, "c"}, {"alive", 11, ""}}, StateAlive, 11},
		{"an older accusation changes nothing", []gossipStep{{"alive", 5, ""}, {"dead", 5, "b"}, {"dead", 3, "c"}, {"suspect", 4, "c"}}, StateDead, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := newTestCluster(t, 104)
				a := c.add("a", func(conf *Config) { conf.ProbeInterval, conf.GossipInterval = time.Hour, 0 })
				feed(a, "x", tc.steps...)
				a.mu.Lock()
				st, ok := a.table.nodeMap["x"]
				var got nodeState
				if ok {
					got = *st
				}
				a.mu.Unlock()
				if !ok || got.State != tc.state || got.Incarnation != tc.inc {
					t.Errorf("x is %v at incarnation %d (known %v), want %v at %d", got.State, got.Incarnation, ok, tc.state, tc.inc)
				}
			})
		})
	}
}
