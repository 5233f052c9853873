package memberlist

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"
)

// joinAtOnce calls Join to seed from every node at the same instant and
// returns the errors, in the nodes' order.
func joinAtOnce(nodes []*Memberlist, seed string) []error {
	errs := make([]error, len(nodes))
	var wg sync.WaitGroup
	for i, m := range nodes {
		wg.Go(func() { _, errs[i] = m.Join([]string{seed}) })
	}
	wg.Wait()
	return errs
}

// converged reports whether every node lists n live members.
func converged(nodes []*Memberlist, n int) bool {
	for _, m := range nodes {
		if m.NumMembers() != n {
			return false
		}
	}
	return true
}

// TestJoinStormThroughABusySeed has 40 nodes join a seed that serves two
// push/pulls at a time and lets four more wait: every Join succeeds (the
// rest are refused, then retried) and the cluster converges.
func TestJoinStormThroughABusySeed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 111)
		sink := newInmem()
		seed := c.addWith("seed", options{pushPullSlots: 2, pushPullWaiters: 4}, func(conf *Config) { conf.MetricSink = sink })
		for i := range 40 {
			c.add(fmt.Sprintf("n%02d", i))
		}
		for i, err := range joinAtOnce(c.nodes[1:], seedAddr(seed)) {
			if err != nil {
				t.Errorf("Join of %s: %v", c.nodes[i+1].config.Name, err)
			}
		}
		t.Logf("push/pulls refused by the seed: %v", inmemCounters(sink)["memberlist.tcp.pushpull_refused"])
		waitFor(t, 10*time.Second, "every node to list all 41", func() bool { return converged(c.nodes, 41) })
	})
}

// TestJoinWaitsForAPushPullSlot checks that a seed whose push/pull slots
// are all taken keeps a joiner waiting rather than refusing it.
func TestJoinWaitsForAPushPullSlot(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 112)
		sink := newInmem()
		seed := c.addWith("seed", options{pushPullSlots: 1, pushPullWaiters: 1}, func(conf *Config) { conf.MetricSink = sink })
		b := c.add("b")
		seed.pushPulls.slots <- struct{}{} // a push/pull in progress
		time.AfterFunc(80*time.Millisecond, seed.pushPulls.leave)
		start := time.Now()
		if _, err := b.Join([]string{seedAddr(seed)}); err != nil {
			t.Fatalf("Join while the seed's only slot is taken for 80ms: %v", err)
		}
		if took := time.Since(start); took != 80*time.Millisecond {
			t.Errorf("Join took %v, want 80ms: served as soon as the slot freed", took)
		}
		if got := inmemCounters(sink)["memberlist.tcp.pushpull_refused"]; got != 0 {
			t.Errorf("pushpull_refused = %v, want 0", got)
		}
	})
}

// TestJoinRetriesARefusedPushPull checks that Join tries again, with
// backoff, a push/pull that the seed dropped without a reply, as a node of
// either library at its cap does, and stops after joinAttempts.
func TestJoinRetriesARefusedPushPull(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 113)
		sink := newInmem()
		seed := c.addWith("seed", options{pushPullSlots: 1, pushPullWaiters: 0}, func(conf *Config) { conf.MetricSink = sink })
		b := c.add("b", func(conf *Config) { conf.PushPullInterval = 0 }) // only Join's push/pulls
		seed.pushPulls.slots <- struct{}{}
		time.AfterFunc(120*time.Millisecond, seed.pushPulls.leave)
		start := time.Now()
		if _, err := b.Join([]string{seedAddr(seed)}); err != nil {
			t.Fatalf("Join to a seed that refuses for 120ms: %v", err)
		}
		took := time.Since(start)
		refused := inmemCounters(sink)["memberlist.tcp.pushpull_refused"]
		if refused < 2 || took < 120*time.Millisecond || took >= 300*time.Millisecond {
			t.Errorf("Join took %v after %v refusals; want at least 2, and success within two backoffs of the release", took, refused)
		}

		seed.pushPulls.slots <- struct{}{} // refuse for good
		start = time.Now()
		_, err := b.Join([]string{seedAddr(seed)})
		if !errors.Is(err, ErrNoSeedReachable) || !errors.Is(err, errNoReply) {
			t.Errorf("Join to a seed that always refuses = %v, want ErrNoSeedReachable and errNoReply", err)
		}
		if got := inmemCounters(sink)["memberlist.tcp.pushpull_refused"] - refused; got != joinAttempts {
			t.Errorf("seed refused %v push/pulls, want %d attempts", got, joinAttempts)
		}
		if took := time.Since(start); took < 350*time.Millisecond || took >= 700*time.Millisecond {
			t.Errorf("%d attempts took %v, want the backoffs' sum, in [350ms, 700ms)", joinAttempts, took)
		}
	})
}

// TestJoinDoesNotRetryAnAnswer checks that a push/pull the seed answers
// with an error (another label here) or that cannot be dialled fails the
// Join at once.
func TestJoinDoesNotRetryAnAnswer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 114)
		seed := c.add("seed", func(conf *Config) { conf.Label = "other" })
		b := c.add("b")
		start := time.Now()
		if _, err := b.Join([]string{seedAddr(seed)}); !errors.Is(err, ErrLabelMismatch) {
			t.Errorf("Join to a seed with another label = %v, want ErrLabelMismatch", err)
		}
		if _, err := b.Join([]string{"gone/127.0.0.1:1"}); err == nil {
			t.Errorf("Join to no node succeeded")
		}
		if took := time.Since(start); took != 0 {
			t.Errorf("failed Joins took %v, want no retry", took)
		}
	})
}

func TestJoinRetryable(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{fmt.Errorf("%w: %w", errNoReply, io.EOF), true},
		{&net.OpError{Op: "read", Err: os.NewSyscallError("read", syscall.ECONNRESET)}, true},
		{&net.OpError{Op: "write", Err: os.NewSyscallError("write", syscall.EPIPE)}, true},
		{io.ErrClosedPipe, true},
		{errMockStreamReset, true},
		{&net.OpError{Op: "dial", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}, false},
		{os.ErrDeadlineExceeded, false},
		{context.Canceled, false},
		{remoteError("Node 'x' protocol version (9) is incompatible: [1, 5]"), false},
		{fmt.Errorf("remote error: %w", ErrLabelMismatch), false},
		{ErrShutdown, false},
	} {
		if got := joinRetryable(tc.err); got != tc.want {
			t.Errorf("joinRetryable(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

func TestJoinRetryDelay(t *testing.T) {
	want := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond}
	for i, w := range want {
		if got := joinRetryDelay(i + 1); got != w {
			t.Errorf("joinRetryDelay(%d) = %v, want %v", i+1, got, w)
		}
	}
	if got := joinRetryDelay(100); got != 100*time.Millisecond<<8 {
		t.Errorf("joinRetryDelay(100) = %v, want the cap %v", got, 100*time.Millisecond<<8)
	}
}

// TestPushPullGate checks the gate's slots, its waiters' bound and their
// timeout, and that shutdown releases a waiter.
func TestPushPullGate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newPushPullGate(2, 1)
		stop := make(chan struct{})
		if !g.enter(time.Second, stop) || !g.enter(time.Second, stop) {
			t.Fatal("two free slots refused")
		}
		start := time.Now()
		if g.enter(50*time.Millisecond, stop) || time.Since(start) != 50*time.Millisecond {
			t.Errorf("a waiter with no slot freed was not refused after its wait (%v)", time.Since(start))
		}
		admitted := make(chan bool)
		go func() { admitted <- g.enter(time.Second, stop) }()
		synctest.Wait()
		if g.enter(time.Second, stop) {
			t.Errorf("a second waiter was admitted past a gate with room for one")
		}
		g.leave()
		if !<-admitted {
			t.Errorf("the waiter was refused though a slot freed")
		}
		go func() { admitted <- g.enter(time.Hour, stop) }()
		synctest.Wait()
		close(stop)
		if <-admitted {
			t.Errorf("a waiter was admitted after stop")
		}
		if g.waiting.Load() != 0 || len(g.slots) != 2 {
			t.Errorf("waiting %d, slots taken %d; want 0 and 2", g.waiting.Load(), len(g.slots))
		}
	})
}

// TestJoinFollowUpsAvoidTheSeed checks that the push/pull following a Join
// into a settled cluster goes to a member other than the seed, and that it
// is the only one: it finds the same table.
func TestJoinFollowUpsAvoidTheSeed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 116)
		slow := func(conf *Config) { conf.PushPullInterval = 10 * time.Minute }
		seed := c.add("seed", slow)
		for _, name := range []string{"b", "c", "d"} {
			c.add(name, slow)
		}
		c.joinAll()
		advance(time.Minute) // their own follow-ups are over
		x := c.add("x", slow)
		if _, err := x.Join([]string{seedAddr(seed)}); err != nil {
			t.Fatal(err)
		}
		advance(time.Minute)
		others := uint64(0)
		for _, name := range []string{"b", "c", "d"} {
			others += c.net.LinkStats("x", name).StreamsOpened
		}
		if toSeed := c.net.LinkStats("x", "seed").StreamsOpened; toSeed != 1 || others != 1 {
			t.Errorf("x opened %d streams to the seed and %d to the others in the minute after its Join, want 1 (the Join) and 1 (one follow-up)", toSeed, others)
		}
	})
}

// TestJoinFollowUpsMergeSnapshots has 30 nodes join one seed, one after
// the other at the same instant, with gossip and periodic push/pull off, so
// that only the push/pulls of Join and of its follow-ups carry membership:
// each joiner's table is the seed's at its turn, and the follow-ups must
// merge them. Joining in turn keeps the run deterministic.
func TestJoinFollowUpsMergeSnapshots(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 117)
		quiet := func(conf *Config) {
			conf.GossipInterval = 0
			conf.PushPullInterval = time.Hour
			conf.RemergeInterval = 0
		}
		seed := c.add("seed", quiet)
		for i := range 30 {
			c.add(fmt.Sprintf("n%02d", i), quiet)
		}
		c.joinAll()
		waitFor(t, 12*seed.config.ProbeInterval, "every node to list all 31", func() bool { return converged(c.nodes, 31) })
	})
}
