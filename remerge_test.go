package memberlist

import (
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

func TestRemergeBackoff(t *testing.T) {
	const iv = 10 * time.Second
	for _, tc := range []struct {
		tries, max int
		want       time.Duration
	}{
		{0, 8, iv}, {1, 8, iv}, {2, 8, 2 * iv}, {3, 8, 4 * iv}, {4, 8, 8 * iv}, {5, 8, 8 * iv}, {100, 8, 8 * iv},
		{1, 2, iv}, {2, 2, 2 * iv}, {3, 2, 2 * iv}, {100, 2, 2 * iv},
	} {
		if got := remergeBackoff(iv, tc.tries, tc.max); got != tc.want {
			t.Errorf("remergeBackoff(%v, %d, %d) = %v, want %v", iv, tc.tries, tc.max, got, tc.want)
		}
	}
}

// remergeStep is one step of a remergeSet story: observe a table entry,
// add a seed, pick at an offset from t0 (wanting a target or none), or
// record a try.
type remergeStep struct {
	observe *remergeObs
	seed    string        // add this join address
	at      time.Duration // pick or try at t0+at
	pick    string        // want this address picked; "-" for none
	live    []string      // addresses of live members during the pick
	try     string        // record a try of this address at t0+at
	trySeed bool
}

type remergeObs struct {
	name, addr string
	state      NodeStateType
	changed    time.Duration // t0+changed
}

func TestRemergeSetStories(t *testing.T) {
	const iv = time.Second
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	dead := func(name string, at time.Duration) remergeStep {
		return remergeStep{observe: &remergeObs{name, name + ":1", StateDead, at}}
	}
	state := func(name string, st NodeStateType) remergeStep {
		return remergeStep{observe: &remergeObs{name, name + ":1", st, 0}}
	}
	pick := func(at time.Duration, want string, live ...string) remergeStep {
		return remergeStep{at: at, pick: want, live: live}
	}
	try := func(at time.Duration, addr string) remergeStep { return remergeStep{at: at, try: addr} }
	trySeed := func(at time.Duration, addr string) remergeStep {
		return remergeStep{at: at, try: addr, trySeed: true}
	}
	for _, tc := range []struct {
		name  string
		steps []remergeStep
	}{
		{"nothing to do", []remergeStep{pick(0, "-")}},
		{"a dead member is due at once", []remergeStep{dead("a", 0), pick(0, "a:1")}},
		{"the longest due first", []remergeStep{dead("b", 2*iv), dead("a", iv), pick(3*iv, "a:1")}},
		{"recently dead: backoff doubles to 2 intervals", []remergeStep{
			dead("a", 0),
			try(0, "a:1"), pick(iv-1, "-"), pick(iv, "a:1"),
			try(iv, "a:1"), pick(3*iv-1, "-"), pick(3*iv, "a:1"),
			try(3*iv, "a:1"), pick(5*iv-1, "-"), pick(5*iv, "a:1"),
		}},
		{"dead for an hour: backoff doubles to 8 intervals", []remergeStep{
			dead("a", -remergeRecent),
			try(0, "a:1"), pick(iv-1, "-"), pick(iv, "a:1"),
			try(iv, "a:1"), pick(3*iv-1, "-"), pick(3*iv, "a:1"),
			try(3*iv, "a:1"), pick(7*iv-1, "-"), pick(7*iv, "a:1"),
			try(7*iv, "a:1"), pick(15*iv-1, "-"), pick(15*iv, "a:1"),
			try(15*iv, "a:1"), pick(23*iv-1, "-"), pick(23*iv, "a:1"),
		}},
		{"a tried target gives way to an untried one", []remergeStep{
			dead("a", 0), dead("b", 0), try(0, "a:1"), pick(0, "b:1"), try(0, "b:1"), pick(iv, "a:1"),
		}},
		{"alive again: forgotten", []remergeStep{dead("a", 0), state("a", StateAlive), pick(0, "-")}},
		{"suspect: forgotten", []remergeStep{dead("a", 0), state("a", StateSuspect), pick(0, "-")}},
		{"left on purpose: never tried", []remergeStep{state("a", StateLeft), dead("b", 0), state("b", StateLeft), pick(0, "-")}},
		{"died anew: backoff reset", []remergeStep{
			dead("a", 0), try(0, "a:1"), try(iv, "a:1"), dead("a", 2*iv), pick(2*iv, "a:1"),
		}},
		{"same death observed twice: backoff kept", []remergeStep{
			dead("a", 0), try(0, "a:1"), dead("a", 0), pick(0, "-"),
		}},
		{"dead for longer than remergeMaxAge: forgotten", []remergeStep{
			dead("a", 0), pick(remergeMaxAge, "a:1"), pick(remergeMaxAge+1, "-"),
		}},
		{"tried just before the heal: due within 2 intervals", []remergeStep{
			dead("a", 0), dead("b", 0),
			try(0, "a:1"), try(iv, "b:1"), try(2*iv, "a:1"), try(3*iv, "b:1"), try(4*iv, "a:1"), try(5*iv, "b:1"),
			pick(5*iv, "-"), pick(6*iv, "a:1"),
		}},
		{"address taken by a live member: skipped", []remergeStep{dead("a", 0), pick(0, "-", "a:1"), pick(0, "a:1")}},
		{"a seed that is a live member is not tried", []remergeStep{{seed: "s:1"}, pick(0, "-", "s:1")}},
		{"a seed that is no live member is tried", []remergeStep{{seed: "s:1"}, pick(0, "s:1", "x:1")}},
		{"dead members before seeds", []remergeStep{{seed: "s:1"}, dead("a", 0), pick(0, "a:1")}},
		{"a seed answering without becoming a member backs off", []remergeStep{
			{seed: "s:1"}, trySeed(0, "s:1"), trySeed(iv, "s:1"), trySeed(3*iv, "s:1"), trySeed(7*iv, "s:1"),
			pick(15*iv-1, "-"), pick(15*iv, "s:1"),
		}},
		{"a seed seen live again restarts its backoff", []remergeStep{
			{seed: "s:1"}, trySeed(0, "s:1"), trySeed(iv, "s:1"), pick(2*iv, "-", "s:1"), pick(2*iv, "s:1"),
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s remergeSet
			for i, st := range tc.steps {
				now := t0.Add(st.at)
				switch {
				case st.observe != nil:
					o := st.observe
					s.observe(o.name, o.addr, o.state, t0.Add(o.changed))
				case st.seed != "":
					s.addSeed("", st.seed)
				case st.try != "":
					s.tried(st.try, st.trySeed, now, iv)
				default:
					live := map[string]bool{}
					for _, a := range st.live {
						live[a] = true
					}
					got, ok := s.pick(now, func(a string) bool { return live[a] })
					if !ok {
						got.addr = "-"
					}
					if got.addr != st.pick {
						t.Fatalf("step %d: pick at t0+%v = %q, want %q", i, st.at, got.addr, st.pick)
					}
				}
			}
		})
	}
}

// TestRemergeSetBounds: at most remergeMaxDead dead members (the longest
// dead is forgotten first) and remergeMaxSeeds join addresses.
func TestRemergeSetBounds(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var s remergeSet
	for i := range remergeMaxDead + 5 {
		s.observe(fmt.Sprintf("n%d", i), fmt.Sprintf("n%d:1", i), StateDead, t0.Add(time.Duration(i)*time.Second))
	}
	for i := range remergeMaxSeeds + 5 {
		s.addSeed("", fmt.Sprintf("s%d:1", i))
	}
	s.addSeed("named", "s0:1")
	if len(s.dead) != remergeMaxDead || len(s.seeds) != remergeMaxSeeds {
		t.Fatalf("kept %d dead and %d seeds, want %d and %d", len(s.dead), len(s.seeds), remergeMaxDead, remergeMaxSeeds)
	}
	if s.dead[0].name != "n5" {
		t.Errorf("longest dead kept is %s, want n5", s.dead[0].name)
	}
	if s.seeds[0].name != "named" {
		t.Errorf("a known seed did not take the name it was given later: %+v", s.seeds[0])
	}
}

// partitionCluster starts names on one network, all joined through the
// first, with RemergeInterval set to remerge (mods may change more).
func partitionCluster(t *testing.T, seed uint64, names []string, remerge time.Duration) *testCluster {
	c := newTestCluster(t, seed)
	for _, name := range names {
		c.add(name, func(conf *Config) { conf.RemergeInterval = remerge })
	}
	c.joinAll()
	waitFor(t, 5*time.Second, "join", func() bool { return allViewsWhole(c) })
	return c
}

// allViewsWhole reports whether every node lists every node alive.
func allViewsWhole(c *testCluster) bool {
	for _, m := range c.nodes {
		if m.NumMembers() != len(c.nodes) {
			return false
		}
		for _, o := range c.nodes {
			if st, _ := stateOf(m, o.config.Name); st != StateAlive {
				return false
			}
		}
	}
	return true
}

// TestMockCluster_RemergeAfterPartition splits six nodes 3/3 for long
// enough that each side declares the other dead and reaps it, then heals
// the network. With re-merge on, the views are whole again within two
// push/pull intervals; with it off (upstream's behaviour) the halves stay
// apart. "dead members only" forgets the join addresses first, so the
// remembered dead members must do it alone; "join addresses only" turns
// the dead-member list off by reaping nothing into it (GossipToTheDeadTime
// long, RemergeInterval past the partition).
func TestMockCluster_RemergeAfterPartition(t *testing.T) {
	names := []string{"a", "b", "c", "d", "e", "f"}
	const hold = 20 * time.Second
	for _, tc := range []struct {
		name    string
		remerge time.Duration
		prepare func(c *testCluster)
		heals   bool
	}{
		{"on", time.Second, nil, true},
		{"dead members only", time.Second, forgetSeeds, true},
		{"join addresses only", time.Second, nil, true},
		// Rounds further apart than GossipToTheDeadTime: a dead member is
		// reaped from the table between two rounds, and only the reaper
		// hands it over.
		{"reaped between rounds", 5 * time.Second, forgetSeeds, true},
		{"off", 0, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := partitionCluster(t, 110, names, tc.remerge)
				if tc.prepare != nil {
					tc.prepare(c)
				}
				c.net.Partition(names[:3], names[3:])
				waitFor(t, hold, "each side declares the other dead", func() bool {
					st, known := stateOf(c.nodes[0], "f")
					return !known || st == StateDead
				})
				advance(hold)
				if tc.name == "join addresses only" {
					for _, m := range c.nodes {
						m.mu.Lock()
						m.remergeTargets.dead = nil
						m.mu.Unlock()
					}
				}
				for i, m := range c.nodes {
					for _, o := range c.nodes[:3] {
						if _, known := stateOf(m, o.config.Name); known != (i < 3) {
							t.Fatalf("%s holds %s: %v after the partition; the test wants the other side reaped", m.config.Name, o.config.Name, known)
						}
					}
				}
				c.net.Heal()
				bound := 2 * max(c.nodes[0].config.PushPullInterval, c.nodes[0].config.RemergeInterval)
				if tc.name == "join addresses only" {
					// Tried all through the partition, a join address
					// is at its longest backoff.
					bound = remergeMaxBackoff*c.nodes[0].config.RemergeInterval + bound
				}
				deadline := time.Now().Add(bound)
				for !allViewsWhole(c) && time.Now().Before(deadline) {
					advance(10 * time.Millisecond)
				}
				if whole := allViewsWhole(c); whole != tc.heals {
					t.Fatalf("%v after the heal, views whole = %v, want %v", bound, whole, tc.heals)
				}
			})
		})
	}
}

// forgetSeeds empties every node's join addresses.
func forgetSeeds(c *testCluster) {
	for _, m := range c.nodes {
		m.mu.Lock()
		m.remergeTargets.seeds = nil
		m.mu.Unlock()
	}
}

// TestMockCluster_RemergeCostsNothingWhenHealthy: in a cluster with no
// fault, re-merge has no target (every join address is a live member), so
// the nodes open exactly as many streams as with it off.
func TestMockCluster_RemergeCostsNothingWhenHealthy(t *testing.T) {
	names := []string{"a", "b", "c", "d", "e", "f"}
	streams := map[time.Duration]uint64{}
	for _, remerge := range []time.Duration{0, time.Second} {
		synctest.Test(t, func(t *testing.T) {
			start := time.Now()
			c := partitionCluster(t, 111, names, remerge)
			advance(time.Until(start.Add(10 * time.Second))) // the same window in both runs
			c.net.ResetStats()
			advance(60 * time.Second)
			if !allViewsWhole(c) {
				t.Fatal("views not whole in a healthy cluster")
			}
			streams[remerge] = c.net.TotalStats().StreamsOpened
		})
	}
	if streams[time.Second] != streams[0] || streams[0] == 0 {
		t.Errorf("streams opened in 60s: %d with re-merge every second, %d without", streams[time.Second], streams[0])
	}
}

// remergeVeto is a MergeDelegate that refuses every merge once closed is
// set.
type remergeVeto struct{ closed atomic.Bool }

func (v *remergeVeto) NotifyMerge([]*Node) error {
	if v.closed.Load() {
		return errors.New("cluster closed")
	}
	return nil
}

// TestMockCluster_RemergeAsksTheMergeDelegate: a re-merge push/pull is
// flagged as a join, so a MergeDelegate may refuse it as it may refuse a
// Join (an address reused by another cluster, say). With every node's
// delegate refusing, the halves of a healed partition stay apart.
func TestMockCluster_RemergeAsksTheMergeDelegate(t *testing.T) {
	names := []string{"a", "b", "c", "d"}
	for _, refuse := range []bool{false, true} {
		t.Run(fmt.Sprintf("refuse=%v", refuse), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := newTestCluster(t, 112)
				var vetoes []*remergeVeto
				for _, name := range names {
					v := &remergeVeto{}
					vetoes = append(vetoes, v)
					c.add(name, func(conf *Config) { conf.RemergeInterval, conf.Merge = time.Second, v })
				}
				c.joinAll()
				waitFor(t, 5*time.Second, "join", func() bool { return allViewsWhole(c) })
				for _, v := range vetoes {
					v.closed.Store(refuse)
				}
				c.net.Partition(names[:2], names[2:])
				advance(20 * time.Second)
				c.net.Heal()
				advance(2 * c.nodes[0].config.PushPullInterval)
				if whole := allViewsWhole(c); whole == refuse {
					t.Fatalf("with merges refused = %v, views whole 2 push/pull intervals after the heal = %v", refuse, whole)
				}
			})
		})
	}
}
