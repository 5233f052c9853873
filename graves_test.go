package memberlist

import (
	"fmt"
	"testing"
	"testing/synctest"
	"time"
)

func TestGraveyard(t *testing.T) {
	t0 := time.Unix(1000, 0)
	var y graveyard
	y.dig("x", 5, StateDead, t0, 3)
	if g := y.find("x", t0.Add(time.Second), time.Minute); g == nil || g.inc != 5 || g.state != StateDead {
		t.Fatalf("find x = %+v", g)
	}
	y.dig("x", 3, StateLeft, t0.Add(2*time.Second), 3) // older: no change
	if g := y.find("x", t0, time.Minute); g.inc != 5 || g.state != StateDead || !g.when.Equal(t0) {
		t.Errorf("an older dig changed the grave: %+v", g)
	}
	y.dig("x", 9, StateLeft, t0.Add(2*time.Second), 3) // newer: raised, lifetime renewed
	if g := y.find("x", t0.Add(61*time.Second), time.Minute); g == nil || g.inc != 9 || g.state != StateLeft {
		t.Errorf("a newer dig did not raise the grave: %+v", g)
	}
	if g := y.find("x", t0.Add(63*time.Second), time.Minute); g != nil {
		t.Errorf("grave found past its lifetime: %+v", g)
	}
	// The limit evicts the oldest.
	for i := range 5 {
		y.dig(fmt.Sprint("n", i), 1, StateDead, t0.Add(time.Duration(i)*time.Second), 3)
	}
	if y.len() != 3 {
		t.Errorf("%d graves, want the limit 3", y.len())
	}
	for i, want := range []bool{false, false, true, true, true} {
		if got := y.find(fmt.Sprint("n", i), t0, time.Hour) != nil; got != want {
			t.Errorf("n%d kept = %v, want %v", i, got, want)
		}
	}
	y.expire(t0.Add(3500*time.Millisecond+time.Minute), time.Minute) // n2 (dug at t0+2s) and n3 (t0+3s) are past a minute
	if y.len() != 1 || y.find("n4", t0, time.Hour) == nil {
		t.Errorf("after expiry %d graves, want n4 only", y.len())
	}
	y.bury("n4")
	if y.len() != 0 {
		t.Errorf("bury left %d graves", y.len())
	}
	// Re-digging one name many times keeps the order bounded.
	for i := range 1000 {
		y.dig("same", uint32(i+1), StateDead, t0.Add(time.Duration(i)*time.Millisecond), 3)
	}
	if len(y.order) > 2*y.len()+16 {
		t.Errorf("order holds %d refs for %d graves", len(y.order), y.len())
	}
}

func TestGraveBounds(t *testing.T) {
	if got := graveLifetime(30*time.Second, 30*time.Second, 40); got != 180*time.Second {
		t.Errorf("lifetime at 40 nodes, LAN = %v, want 3 × 60s", got)
	}
	if got := graveLifetime(0, 30*time.Second, 40); got != 30*time.Second {
		t.Errorf("lifetime with push/pull off = %v, want GossipToTheDeadTime", got)
	}
	if graveLimit(10) != 1024 || graveLimit(5000) != 10000 {
		t.Errorf("limits %d, %d", graveLimit(10), graveLimit(5000))
	}
}

// reap runs the probe loop's reaping of m at once.
func reap(m *Memberlist) {
	m.mu.Lock()
	m.table.reap(time.Now())
	m.mu.Unlock()
}

// TestReapedNodeIsNotRevivedByAStaleAlive: once a dead or left node is
// reaped, a third-party alive that is not newer than its death does not
// bring it back (upstream #312); a newer one, the node itself back, does.
// Before the fix the stale alive made x a member again (with NotifyJoin).
func TestReapedNodeIsNotRevivedByAStaleAlive(t *testing.T) {
	for _, leave := range []bool{false, true} {
		t.Run(fmt.Sprintf("left=%v", leave), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := newTestCluster(t, 105)
				events := &recordingDelegate{}
				a := c.add("a", func(conf *Config) {
					conf.ProbeInterval, conf.GossipInterval, conf.PushPullInterval = 0, 0, 0
					conf.Events = events
				})
				from := "b"
				if leave {
					from = "x"
				}
				feed(a, "x", gossipStep{"alive", 3, ""}, gossipStep{"dead", 3, from})
				advance(a.config.GossipToTheDeadTime + time.Second)
				reap(a)
				if _, ok := stateOf(a, "x"); ok {
					t.Fatal("x was not reaped")
				}
				feed(a, "x", gossipStep{"alive", 3, ""})
				if n := a.NumMembers(); n != 1 {
					t.Fatalf("a stale alive after the reap brought x back: %d members", n)
				}
				feed(a, "x", gossipStep{"alive", 4, ""})
				if st, _ := stateOf(a, "x"); st != StateAlive {
					t.Fatalf("x's own newer alive left it %v", st)
				}
				_, evs := events.snapshot()
				want := []string{"join a", "join x", "leave x", "join x"}
				if fmt.Sprint(evs) != fmt.Sprint(want) {
					t.Errorf("events %v, want %v", evs, want)
				}
			})
		})
	}
}

// TestGraveExpires: past its lifetime a grave holds nothing back.
func TestGraveExpires(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 106)
		a := c.add("a", func(conf *Config) { conf.ProbeInterval, conf.GossipInterval, conf.PushPullInterval = 0, 0, 0 })
		feed(a, "x", gossipStep{"alive", 3, ""}, gossipStep{"dead", 3, "b"})
		advance(a.config.GossipToTheDeadTime + time.Second)
		reap(a)
		advance(a.table.graveLifetime() + time.Second)
		reap(a)
		if a.table.graves.len() != 0 {
			t.Errorf("%d graves past the lifetime", a.table.graves.len())
		}
		feed(a, "x", gossipStep{"alive", 1, ""})
		if st, ok := stateOf(a, "x"); !ok || st != StateAlive {
			t.Errorf("x after its grave expired: %v (known %v), want alive", st, ok)
		}
	})
}
