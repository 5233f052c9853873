package memberlist

import (
	"sync/atomic"
	"time"
)

// maxPushPullWaiters bounds the inbound push/pulls that wait for a slot
// when maxPushPullRequests-1 are already being served. A waiter holds only
// its stream and a read buffer: the remote state stays unread, in the
// kernel's socket buffer, until a slot frees up.
const maxPushPullWaiters = 4 * maxPushPullRequests

// pushPullGate admits inbound push/pulls. At most slots are served at once;
// up to waiters more wait, each for a bounded time, for one of them to
// finish; the rest are refused. A busy node so slows a join storm down
// instead of failing it. The zero value admits nothing; use
// newPushPullGate. A pushPullGate is safe for concurrent use.
type pushPullGate struct {
	slots      chan struct{} // one token per push/pull being served
	waiting    atomic.Int32  // push/pulls waiting for a slot
	maxWaiting int32
}

// newPushPullGate returns a gate that serves slots push/pulls at once and
// lets up to waiters more wait.
func newPushPullGate(slots, waiters int) *pushPullGate {
	return &pushPullGate{slots: make(chan struct{}, max(slots, 0)), maxWaiting: int32(max(waiters, 0))}
}

// enter reports whether a push/pull may be served now, waiting up to wait
// for a slot when none is free and fewer than the gate's waiters already
// wait. It gives up at once when stop is closed. A true result must be
// paired with leave.
func (g *pushPullGate) enter(wait time.Duration, stop <-chan struct{}) bool {
	select {
	case g.slots <- struct{}{}:
		return true
	default:
	}
	if g.waiting.Add(1) > g.maxWaiting {
		g.waiting.Add(-1)
		return false
	}
	defer g.waiting.Add(-1)
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case g.slots <- struct{}{}:
		return true
	case <-t.C:
		return false
	case <-stop:
		return false
	}
}

// leave frees the slot of a push/pull that enter admitted.
func (g *pushPullGate) leave() {
	<-g.slots
}

// pushPullWait is how long an inbound push/pull waits for a slot: half of
// TCPTimeout, which leaves the other half of the stream's deadline (set on
// accept) to read the remote state, and keeps a dialer of either library,
// whose write or read is bounded by its own TCPTimeout, waiting for the
// reply rather than failing.
func pushPullWait(tcpTimeout time.Duration) time.Duration {
	return tcpTimeout / 2
}
