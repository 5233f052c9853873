package memberlist

import (
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// gatedTransport holds every packet write while its gate is shut.
type gatedTransport struct {
	*MockTransport
	shut    atomic.Bool
	gate    chan struct{}
	written atomic.Int32 // writes completed while the gate was in use
}

func (t *gatedTransport) WriteToAddress(b []byte, a Address) (time.Time, error) {
	if !t.shut.Load() {
		return t.MockTransport.WriteToAddress(b, a)
	}
	<-t.gate
	ts, err := t.MockTransport.WriteToAddress(b, a)
	t.written.Add(1)
	return ts, err
}

// TestLeaveReturnsAfterTheWrite holds every packet write of the leaving
// node: Leave must not return while the packet carrying its leave is not
// yet with the transport, and once it is, a Shutdown right after Leave is
// seen by the peer as a leave, not a failure. (It failed before the fix:
// Leave returned as soon as the broadcast queue handed the message out.)
func TestLeaveReturnsAfterTheWrite(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 101)
		gt := &gatedTransport{gate: make(chan struct{})}
		one := func(conf *Config) { conf.RetransmitMult = 1 } // one hand-out finishes a broadcast
		a := c.add("a", one, func(conf *Config) {
			gt.MockTransport = c.net.NewTransport("a") // replaces the one config made
			conf.Transport = gt
		})
		b := c.add("b", one)
		if _, err := b.Join([]string{"a/" + gt.addr.String()}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 5*time.Second, "join", func() bool { return a.NumMembers() == 2 && b.NumMembers() == 2 })
		advance(time.Second) // every join broadcast is done

		gt.shut.Store(true)
		var open sync.Once
		defer open.Do(func() { close(gt.gate) }) // a failing test still shuts down
		done := make(chan error, 1)
		go func() { done <- a.Leave(time.Minute) }()
		synctest.Wait()
		select {
		case err := <-done:
			t.Fatalf("Leave returned (%v) with %d packets written; its leave is still waiting to be written", err, gt.written.Load())
		default:
		}
		open.Do(func() { close(gt.gate) })
		if err := <-done; err != nil {
			t.Fatalf("Leave: %v", err)
		}
		a.Shutdown()
		waitFor(t, 5*time.Second, "b sees a left", func() bool {
			st, ok := stateOf(b, "a")
			return !ok || st == StateLeft
		})
		if st, ok := stateOf(b, "a"); ok && st != StateLeft {
			t.Errorf("b holds a as %v after Leave then Shutdown, want left", st)
		}
	})
}
