package memberlist

import (
	"bytes"
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

// TestRepeatBroadcastWaitsForTheQueue checks that a repeat broadcast (a
// death or a refutation gossiped again for a peer that missed it) is
// queued only when nothing about its node is: it must not restart the
// retransmissions of a message still going out, nor replace it.
func TestRepeatBroadcastWaitsForTheQueue(t *testing.T) {
	m := &Memberlist{broadcasts: &TransmitLimitedQueue{NumNodes: func() int { return 10 }, RetransmitMult: 4}}
	first := &dead{Incarnation: 3, Node: "x", From: "a"}
	again := &dead{Incarnation: 3, Node: "x", From: "b"}
	var e effects
	e.broadcast("x", deadMsg, first, nil)
	m.queueLocked(&e)
	for range 2 {
		m.broadcasts.GetBroadcasts(compoundOverhead, 1400) // two of its transmissions
	}
	e = effects{}
	e.rebroadcast("x", deadMsg, again)
	m.queueLocked(&e)
	sent := 0
	for _, msg := range drainQueue(m.broadcasts) {
		if !bytes.Equal(msg, encodeMessage(deadMsg, first)) {
			t.Fatalf("queue sent %q, want only the first dead", msg)
		}
		sent++
	}
	if limit := retransmitLimit(4, 10); sent != limit-2 {
		t.Errorf("first dead sent %d more times, want %d (its retransmissions not restarted)", sent, limit-2)
	}
	e = effects{}
	e.rebroadcast("x", deadMsg, again)
	m.queueLocked(&e)
	if !m.broadcasts.holds("x") {
		t.Error("repeat not queued once the queue held nothing about x")
	}
}

// drainQueue takes packets from q until it is empty and returns their
// messages.
func drainQueue(q *TransmitLimitedQueue) [][]byte {
	var out [][]byte
	for q.NumQueued() > 0 {
		out = append(out, q.GetBroadcasts(compoundOverhead, 1400)...)
	}
	return out
}
