package memberlist

import (
	"sync"
	"time"
)

// writeTracker records the packet sends that carry queued broadcasts, from
// the moment they take broadcasts from the queue until the transport has
// the packet. A broadcast is "finished" when the queue hands it out for the
// last time, which is before it is written; Leave waits on the tracker so
// it returns only once its message has reached the transport, and a
// Shutdown right after cannot close the transport under it.
//
// The zero value is ready to use; it is safe for concurrent use.
type writeTracker struct {
	mu       sync.Mutex // leaf lock
	seq      uint64
	inflight map[uint64]chan struct{} // a channel is made only for a waiter
}

// begin records a send that is about to take broadcasts and returns its id.
func (w *writeTracker) begin() uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.inflight == nil {
		w.inflight = make(map[uint64]chan struct{})
	}
	w.seq++
	w.inflight[w.seq] = nil
	return w.seq
}

// end records that the send id has handed its packets to the transport.
func (w *writeTracker) end(id uint64) {
	w.mu.Lock()
	ch := w.inflight[id]
	delete(w.inflight, id)
	w.mu.Unlock()
	if ch != nil {
		close(ch)
	}
}

// pending returns a channel for every send in flight now, closed when that
// send ends.
func (w *writeTracker) pending() []chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]chan struct{}, 0, len(w.inflight))
	for id, ch := range w.inflight {
		if ch == nil {
			ch = make(chan struct{})
			w.inflight[id] = ch
		}
		out = append(out, ch)
	}
	return out
}

// waitWritten waits until every send in flight now has ended, or until
// deadline (zero: no limit) or shutdown, and reports whether they ended.
func (m *Memberlist) waitWritten(deadline time.Time) bool {
	var timeoutCh <-chan time.Time
	if !deadline.IsZero() {
		t := time.NewTimer(time.Until(deadline))
		defer t.Stop()
		timeoutCh = t.C
	}
	for _, ch := range m.writes.pending() {
		select {
		case <-ch:
		case <-timeoutCh:
			return false
		case <-m.shutdownCh:
			return false
		}
	}
	return true
}
