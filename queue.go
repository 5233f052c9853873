package memberlist

import (
	"math"
	"sync"

	"github.com/google/btree"
	metrics "github.com/hashicorp/go-metrics"
)

// Broadcast is a message that a TransmitLimitedQueue gossips to the cluster
// a limited number of times.
type Broadcast interface {
	// Invalidates reports whether this broadcast makes b obsolete, so that
	// b can be dropped from the queue. It is called only between broadcasts
	// that are neither NamedBroadcast nor UniqueBroadcast, with the queue's
	// lock held: it must not call back into the queue.
	Invalidates(b Broadcast) bool

	// Message returns the bytes to send. The queue calls it once, when the
	// broadcast is queued.
	Message() []byte

	// Finished is called once when the broadcast leaves the queue, because it
	// was sent often enough, was replaced or invalidated, or was pruned or
	// reset. It is called without the queue's lock held.
	Finished()
}

// NamedBroadcast is a Broadcast that replaces any queued NamedBroadcast with
// the same non-empty Name, without calling Invalidates.
type NamedBroadcast interface {
	Broadcast
	// Name returns the key under which the broadcast replaces older ones.
	Name() string
}

// UniqueBroadcast is a Broadcast that never invalidates, and is never
// invalidated by, another broadcast. Queueing one costs no scan of the queue.
type UniqueBroadcast interface {
	Broadcast
	// UniqueBroadcast is a marker method; it is never called.
	UniqueBroadcast()
}

// queueTreeDegree is the degree of the btree that orders queued broadcasts.
const queueTreeDegree = 32

// TransmitLimitedQueue holds broadcasts and hands them out to be piggybacked
// on outgoing packets, each one a bounded number of times that grows with the
// logarithm of the cluster size. Newer, longer and less-sent messages go first.
//
// The zero value is an empty queue ready to use; NumNodes and RetransmitMult
// should be set before the first GetBroadcasts and not changed afterwards.
// A TransmitLimitedQueue is safe for concurrent use. It calls the
// broadcasts' Finished methods, and NumNodes, without holding its lock, so
// they may call back into the queue.
type TransmitLimitedQueue struct {
	// NumNodes returns the estimated number of nodes in the cluster. It is
	// called once per GetBroadcasts. A nil NumNodes counts as zero nodes,
	// which means every message is sent once.
	NumNodes func() int

	// RetransmitMult is the multiplier of the retransmit limit:
	// RetransmitMult × ceil(log10(NumNodes()+1)) transmits per message.
	RetransmitMult int

	mu sync.Mutex
	// tree orders the queued broadcasts by queuedBroadcastLess; nil until
	// the first QueueBroadcast.
	tree *btree.BTreeG[*queuedBroadcast]
	// named indexes the queued broadcasts that have a name.
	named map[string]*queuedBroadcast
	// lastID is the id of the most recently queued broadcast, or 0 after
	// the queue became empty.
	lastID int64
	// pivot and picked are scratch space for GetBroadcasts.
	pivot  queuedBroadcast
	picked []*queuedBroadcast

	// metrics and labels receive the eviction counter; nil metrics means
	// the go-metrics global instance. Set before first use, never changed.
	metrics metricSink
	labels  []metrics.Label
}

// queuedBroadcast is one entry of a TransmitLimitedQueue.
type queuedBroadcast struct {
	transmits int    // number of times the message was handed out
	msgLen    int    // len(msg); kept apart so a search pivot needs no bytes
	id        int64  // larger means queued later
	msg       []byte // b.Message() at queue time
	b         Broadcast
	name      string // b.Name() for a NamedBroadcast with a non-empty name
	// special is set for NamedBroadcast and UniqueBroadcast values, which are
	// exempt from Invalidates.
	special bool
}

// queuedBroadcastLess orders broadcasts: fewer transmits first, then longer
// messages, then newer ones (higher id).
func queuedBroadcastLess(a, b *queuedBroadcast) bool {
	if a.transmits != b.transmits {
		return a.transmits < b.transmits
	}
	if a.msgLen != b.msgLen {
		return a.msgLen > b.msgLen
	}
	return a.id > b.id
}

// retransmitLimit reports how many times a broadcast is sent to a cluster of
// n nodes: retransmitMult × ceil(log10(n+1)). A negative n counts as zero.
func retransmitLimit(retransmitMult, n int) int {
	if n < 0 {
		n = 0
	}
	nodeScale := math.Ceil(math.Log10(float64(n) + 1.0))
	return retransmitMult * int(nodeScale)
}

// newQueuedBroadcast wraps b; it calls the user's methods, so the caller must
// not hold the queue's lock.
func newQueuedBroadcast(b Broadcast) *queuedBroadcast {
	msg := b.Message()
	qb := &queuedBroadcast{b: b, msg: msg, msgLen: len(msg)}
	switch v := b.(type) {
	case NamedBroadcast:
		qb.name = v.Name()
		qb.special = true
	case UniqueBroadcast:
		qb.special = true
	}
	return qb
}

// QueueBroadcast adds b to the queue. A NamedBroadcast replaces the queued
// broadcast of the same name; a UniqueBroadcast replaces nothing; any other
// broadcast replaces every queued broadcast, other than named and unique
// ones, that it Invalidates. Replaced broadcasts are Finished.
func (q *TransmitLimitedQueue) QueueBroadcast(b Broadcast) {
	qb := newQueuedBroadcast(b)
	var finished []Broadcast

	q.mu.Lock()
	if q.tree == nil {
		q.tree = btree.NewG(queueTreeDegree, queuedBroadcastLess)
		q.named = make(map[string]*queuedBroadcast)
	}
	switch {
	case qb.name != "":
		if old, ok := q.named[qb.name]; ok {
			q.removeLocked(old)
			finished = append(finished, old.b)
		}
	case !qb.special:
		finished = q.invalidateLocked(b)
	}
	qb.id = q.nextIDLocked()
	if old := q.insertLocked(qb); old != nil {
		finished = append(finished, old.b)
	}
	if qb.name != "" {
		q.named[qb.name] = qb
	}
	q.mu.Unlock()

	finishAll(finished)
}

// invalidateLocked removes and returns the queued ordinary broadcasts that b
// invalidates.
func (q *TransmitLimitedQueue) invalidateLocked(b Broadcast) []Broadcast {
	var stale []*queuedBroadcast
	q.tree.Ascend(func(cur *queuedBroadcast) bool {
		if !cur.special && b.Invalidates(cur.b) {
			stale = append(stale, cur)
		}
		return true
	})
	if len(stale) == 0 {
		return nil
	}
	finished := make([]Broadcast, len(stale))
	for i, cur := range stale {
		q.removeLocked(cur)
		finished[i] = cur.b
	}
	return finished
}

// nextIDLocked returns the id for a newly queued broadcast. It wraps to 1
// after math.MaxInt64.
func (q *TransmitLimitedQueue) nextIDLocked() int64 {
	if q.lastID == math.MaxInt64 {
		q.lastID = 1
	} else {
		q.lastID++
	}
	return q.lastID
}

// insertLocked adds qb to the tree. Ids are unique among queued entries, so
// nothing is ever displaced, unless the id counter has wrapped around onto a
// broadcast that is still queued after 2^63 others; such a displaced entry
// is returned, unindexed, for the caller to Finish, so that no broadcast
// leaves the queue silently.
func (q *TransmitLimitedQueue) insertLocked(qb *queuedBroadcast) *queuedBroadcast {
	old, replaced := q.tree.ReplaceOrInsert(qb)
	if !replaced {
		return nil
	}
	if old.name != "" && q.named[old.name] == old {
		delete(q.named, old.name)
	}
	return old
}

// removeLocked deletes qb from the tree and the name index. It does not
// reset the id counter; see noteEmptyLocked.
func (q *TransmitLimitedQueue) removeLocked(qb *queuedBroadcast) {
	q.tree.Delete(qb)
	if qb.name != "" && q.named[qb.name] == qb {
		delete(q.named, qb.name)
	}
}

// noteEmptyLocked restarts the id counter when the queue holds nothing.
// It is called at the end of each operation, never while removed entries
// are waiting to be re-inserted, so a reused id cannot collide.
func (q *TransmitLimitedQueue) noteEmptyLocked() {
	if q.tree.Len() == 0 {
		q.lastID = 0
	}
}

// finishAll calls Finished on each broadcast, in order.
func finishAll(bs []Broadcast) {
	for _, b := range bs {
		b.Finished()
	}
}

// GetBroadcasts returns the messages to piggyback on a packet that has room
// for limit bytes, where each message costs overhead bytes on top of its
// length. It takes the least-sent messages first and, among those, the
// longest that still fits, newest first. Each returned message counts as one
// transmit; a message that has reached the retransmit limit is removed and
// Finished. GetBroadcasts returns nil when nothing fits. A negative overhead
// counts as zero.
func (q *TransmitLimitedQueue) GetBroadcasts(overhead, limit int) [][]byte {
	n := 0
	if q.NumNodes != nil {
		n = q.NumNodes()
	}
	transmitLimit := retransmitLimit(q.RetransmitMult, n)
	if overhead < 0 {
		overhead = 0
	}

	// Up to len(done) Finished calls need no allocation.
	var done [16]Broadcast
	finished := done[:0]

	q.mu.Lock()
	if q.tree == nil || q.tree.Len() == 0 {
		q.mu.Unlock()
		return nil
	}
	q.pickLocked(overhead, limit)
	var out [][]byte
	if len(q.picked) > 0 {
		out = make([][]byte, len(q.picked))
	}
	for i, qb := range q.picked {
		out[i] = qb.msg
		if qb.transmits+1 >= transmitLimit {
			if qb.name != "" && q.named[qb.name] == qb {
				delete(q.named, qb.name)
			}
			finished = append(finished, qb.b)
			continue
		}
		qb.transmits++
		if old := q.insertLocked(qb); old != nil {
			finished = append(finished, old.b)
		}
	}
	clear(q.picked)
	q.picked = q.picked[:0]
	q.noteEmptyLocked()
	q.mu.Unlock()

	finishAll(finished)
	return out
}

// pickLocked moves the selected entries from the tree to q.picked, in the
// order they are to be sent.
func (q *TransmitLimitedQueue) pickLocked(overhead, limit int) {
	used := 0
	first, ok := q.tree.Min()
	if !ok {
		return
	}
	for tier := first.transmits; ; {
		free := limit - used - overhead
		if free <= 0 {
			return
		}
		// The first entry at or after (tier, free, newest) is the longest
		// message of this tier that fits, newest first among equal lengths.
		qb := q.seekLocked(tier, free)
		if qb == nil {
			return
		}
		if qb.transmits != tier {
			// Nothing in this tier fits; qb opens the next tier.
			tier = qb.transmits
			continue
		}
		q.tree.Delete(qb)
		q.picked = append(q.picked, qb)
		used += overhead + qb.msgLen
	}
}

// seekLocked returns the first entry, in tree order, at or after the
// position of a newest message of length free in the given tier, or nil if
// there is none.
func (q *TransmitLimitedQueue) seekLocked(tier, free int) *queuedBroadcast {
	q.pivot = queuedBroadcast{transmits: tier, msgLen: free, id: math.MaxInt64}
	var found *queuedBroadcast
	q.tree.AscendGreaterOrEqual(&q.pivot, func(qb *queuedBroadcast) bool {
		found = qb
		return false
	})
	return found
}

// holds reports whether a broadcast named name is queued.
func (q *TransmitLimitedQueue) holds(name string) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	_, ok := q.named[name]
	return ok
}

// NumQueued returns the number of queued broadcasts.
func (q *TransmitLimitedQueue) NumQueued() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.tree == nil {
		return 0
	}
	return q.tree.Len()
}

// Reset removes every queued broadcast and Finishes each one.
func (q *TransmitLimitedQueue) Reset() {
	q.mu.Lock()
	if q.tree == nil {
		q.mu.Unlock()
		return
	}
	finished := make([]Broadcast, 0, q.tree.Len())
	q.tree.Ascend(func(qb *queuedBroadcast) bool {
		finished = append(finished, qb.b)
		return true
	})
	q.tree.Clear(false)
	clear(q.named)
	q.lastID = 0
	q.mu.Unlock()

	finishAll(finished)
}

// Prune removes broadcasts until at most maxRetain remain, dropping the
// most-sent first, then the shortest, then the oldest, and Finishes each one
// it removes. A negative maxRetain counts as zero. The removed broadcasts are
// counted in the go-metrics counter memberlist.queue.evicted.
func (q *TransmitLimitedQueue) Prune(maxRetain int) {
	maxRetain = max(maxRetain, 0)
	var finished []Broadcast

	q.mu.Lock()
	if q.tree == nil {
		q.mu.Unlock()
		return
	}
	for q.tree.Len() > maxRetain {
		qb, _ := q.tree.DeleteMax()
		if qb.name != "" && q.named[qb.name] == qb {
			delete(q.named, qb.name)
		}
		finished = append(finished, qb.b)
	}
	q.noteEmptyLocked()
	q.mu.Unlock()

	if len(finished) > 0 {
		q.countEvicted(len(finished))
	}
	finishAll(finished)
}

// countEvicted adds n to the eviction counter.
func (q *TransmitLimitedQueue) countEvicted(n int) {
	sink := q.metrics
	if sink == nil {
		sink = globalMetrics{}
	}
	sink.IncrCounterWithLabels(keyBroadcastsEvicted, float32(n), q.labels)
}
