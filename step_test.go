package memberlist

import (
	"testing"
	"testing/synctest"
	"time"
)

// TestSuspicionTimersAreDropped: the shell's suspicion timers are armed by
// the table's effects and gone once the suspicion ends, by its expiry or by
// a refutation.
func TestSuspicionTimersAreDropped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 110)
		// Suspicion timeouts scale with ProbeInterval: an hour keeps them
		// from firing before the checks below (0 would fire at once).
		a := c.add("a", func(conf *Config) { conf.ProbeInterval, conf.GossipInterval, conf.PushPullInterval = time.Hour, 0, 0 })
		timers := func() int {
			a.mu.Lock()
			defer a.mu.Unlock()
			return len(a.timers)
		}
		feed(a, "x", gossipStep{"alive", 1, ""}, gossipStep{"suspect", 1, "b"})
		feed(a, "y", gossipStep{"alive", 1, ""}, gossipStep{"suspect", 1, "b"})
		if n := timers(); n != 2 {
			t.Fatalf("%d timers armed for two suspicions", n)
		}
		feed(a, "y", gossipStep{"alive", 2, ""})
		if n := timers(); n != 1 {
			t.Errorf("%d timers after y refuted, want 1", n)
		}
		advance(48 * time.Hour) // past every suspicion, those the probes raise included
		synctest.Wait()
		if st, ok := stateOf(a, "x"); ok && st != StateDead {
			t.Errorf("x is %v after its suspicion timed out", st) // dead, or reaped since
		}
		if n := timers(); n != 0 {
			t.Errorf("%d timers left after the suspicion expired", n)
		}
	})
}
