package memberlist

import (
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
)

// testBroadcast is an ordinary Broadcast that invalidates queued broadcasts
// whose key equals its own, and counts its Finished calls.
type testBroadcast struct {
	key      string
	msg      []byte
	finished atomic.Int32
}

func (b *testBroadcast) Invalidates(other Broadcast) bool {
	o, ok := other.(*testBroadcast)
	return ok && b.key != "" && o.key == b.key
}
func (b *testBroadcast) Message() []byte { return b.msg }
func (b *testBroadcast) Finished()       { b.finished.Add(1) }

// testNamedBroadcast is a NamedBroadcast whose Invalidates must never be
// called by the queue.
type testNamedBroadcast struct {
	testBroadcast
	name string
	t    testing.TB
}

func (b *testNamedBroadcast) Name() string { return b.name }
func (b *testNamedBroadcast) Invalidates(Broadcast) bool {
	b.t.Errorf("Invalidates called on named broadcast %q", b.name)
	return false
}

// testUniqueBroadcast is a UniqueBroadcast whose Invalidates must never be
// called by the queue.
type testUniqueBroadcast struct {
	testBroadcast
	t testing.TB
}

func (b *testUniqueBroadcast) UniqueBroadcast() {}
func (b *testUniqueBroadcast) Invalidates(Broadcast) bool {
	b.t.Errorf("Invalidates called on unique broadcast %q", b.msg)
	return false
}

func newNamed(t testing.TB, name string, msg string) *testNamedBroadcast {
	return &testNamedBroadcast{testBroadcast: testBroadcast{msg: []byte(msg)}, name: name, t: t}
}

// queueOrder returns the names of the queued named broadcasts in tree order.
func queueOrder(q *TransmitLimitedQueue) []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	var names []string
	if q.tree == nil {
		return nil
	}
	q.tree.Ascend(func(qb *queuedBroadcast) bool {
		names = append(names, qb.name)
		return true
	})
	return names
}

func TestQueuedBroadcastLess(t *testing.T) {
	cases := []struct {
		name string
		a, b queuedBroadcast
		want bool // a before b
	}{
		{"fewer transmits first", queuedBroadcast{transmits: 0, msgLen: 1, id: 1}, queuedBroadcast{transmits: 1, msgLen: 9, id: 9}, true},
		{"more transmits later", queuedBroadcast{transmits: 2, msgLen: 9, id: 9}, queuedBroadcast{transmits: 1, msgLen: 1, id: 1}, false},
		{"longer first", queuedBroadcast{transmits: 1, msgLen: 10, id: 1}, queuedBroadcast{transmits: 1, msgLen: 9, id: 9}, true},
		{"shorter later", queuedBroadcast{transmits: 1, msgLen: 9, id: 9}, queuedBroadcast{transmits: 1, msgLen: 10, id: 1}, false},
		{"newer first", queuedBroadcast{transmits: 1, msgLen: 5, id: 7}, queuedBroadcast{transmits: 1, msgLen: 5, id: 6}, true},
		{"older later", queuedBroadcast{transmits: 1, msgLen: 5, id: 6}, queuedBroadcast{transmits: 1, msgLen: 5, id: 7}, false},
		{"equal", queuedBroadcast{transmits: 1, msgLen: 5, id: 6}, queuedBroadcast{transmits: 1, msgLen: 5, id: 6}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := queuedBroadcastLess(&tc.a, &tc.b); got != tc.want {
				t.Errorf("less = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestTransmitLimitedQueue_ZeroValue(t *testing.T) {
	var q TransmitLimitedQueue
	if n := q.NumQueued(); n != 0 {
		t.Fatalf("NumQueued = %d, want 0", n)
	}
	q.Prune(0) // upstream panics here
	q.Reset()
	if got := q.GetBroadcasts(2, 1400); got != nil {
		t.Fatalf("GetBroadcasts = %q, want nil", got)
	}

	// NumNodes nil counts as zero nodes: each message is sent once.
	b := &testBroadcast{msg: []byte("hello")}
	q.QueueBroadcast(b)
	if got := q.GetBroadcasts(2, 1400); len(got) != 1 || string(got[0]) != "hello" {
		t.Fatalf("GetBroadcasts = %q, want [hello]", got)
	}
	if n := q.NumQueued(); n != 0 || b.finished.Load() != 1 {
		t.Fatalf("NumQueued = %d, finished = %d; want 0, 1", n, b.finished.Load())
	}
}

func TestTransmitLimitedQueue_QueueOrderAndNamedReplace(t *testing.T) {
	q := &TransmitLimitedQueue{RetransmitMult: 1, NumNodes: func() int { return 1 }}
	first := newNamed(t, "test", "")
	q.QueueBroadcast(first)
	q.QueueBroadcast(newNamed(t, "foo", ""))
	q.QueueBroadcast(newNamed(t, "bar", ""))

	if n := q.NumQueued(); n != 3 {
		t.Fatalf("NumQueued = %d, want 3", n)
	}
	if got, want := queueOrder(q), []string{"bar", "foo", "test"}; !slices.Equal(got, want) {
		t.Fatalf("order = %q, want %q (newest first)", got, want)
	}

	// Re-queueing a name replaces the old entry and moves it to the front.
	q.QueueBroadcast(newNamed(t, "test", ""))
	if n := q.NumQueued(); n != 3 {
		t.Fatalf("NumQueued = %d, want 3", n)
	}
	if got, want := queueOrder(q), []string{"test", "bar", "foo"}; !slices.Equal(got, want) {
		t.Fatalf("order = %q, want %q", got, want)
	}
	if f := first.finished.Load(); f != 1 {
		t.Fatalf("replaced broadcast finished %d times, want 1", f)
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if ids := []int64{q.named["test"].id, q.named["bar"].id, q.named["foo"].id}; !slices.Equal(ids, []int64{4, 3, 2}) {
		t.Fatalf("ids = %v, want [4 3 2]", ids)
	}
}

func TestTransmitLimitedQueue_InvalidatesOrdinaryOnly(t *testing.T) {
	q := &TransmitLimitedQueue{RetransmitMult: 1, NumNodes: func() int { return 10 }}
	oldA := &testBroadcast{key: "a", msg: []byte("a1")}
	otherB := &testBroadcast{key: "b", msg: []byte("b1")}
	named := newNamed(t, "a", "n1")
	unique := &testUniqueBroadcast{testBroadcast: testBroadcast{key: "a", msg: []byte("u1")}, t: t}
	q.QueueBroadcast(oldA)
	q.QueueBroadcast(otherB)
	q.QueueBroadcast(named)
	q.QueueBroadcast(unique)

	// A unique broadcast with the same key does not invalidate anything.
	unique2 := &testUniqueBroadcast{testBroadcast: testBroadcast{key: "a", msg: []byte("u2")}, t: t}
	q.QueueBroadcast(unique2)
	if n := q.NumQueued(); n != 5 || oldA.finished.Load() != 0 {
		t.Fatalf("after unique: NumQueued = %d, oldA finished %d; want 5, 0", n, oldA.finished.Load())
	}

	// An ordinary broadcast invalidates only the ordinary one with its key;
	// the named and unique entries are never offered to Invalidates.
	newA := &testBroadcast{key: "a", msg: []byte("a2")}
	q.QueueBroadcast(newA)
	if n := q.NumQueued(); n != 5 {
		t.Fatalf("NumQueued = %d, want 5", n)
	}
	for _, b := range []*testBroadcast{&named.testBroadcast, &unique.testBroadcast, &unique2.testBroadcast, otherB, newA} {
		if f := b.finished.Load(); f != 0 {
			t.Errorf("%q finished %d times, want 0", b.msg, f)
		}
	}
	if f := oldA.finished.Load(); f != 1 {
		t.Errorf("invalidated broadcast finished %d times, want 1", f)
	}
}

// queueFour queues four 18-byte named broadcasts.
func queueFour(t *testing.T, q *TransmitLimitedQueue) []*testNamedBroadcast {
	var bs []*testNamedBroadcast
	for _, name := range []string{"test", "foo", "bar", "baz"} {
		b := newNamed(t, name, "18 bytes test msg")
		b.msg = append(b.msg, '!')
		bs = append(bs, b)
		q.QueueBroadcast(b)
	}
	return bs
}

func TestTransmitLimitedQueue_GetBroadcasts(t *testing.T) {
	cases := []struct {
		overhead, limit, want int
	}{
		{2, 80, 4}, // 4 × (2 + 18) = 80 fits exactly
		{3, 80, 3}, // the fourth would need 84
		{0, 18, 1},
		{0, 17, 0},
		{18, 18, 0}, // no room after the overhead
		{-5, 36, 2}, // a negative overhead counts as zero
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("overhead=%d,limit=%d", tc.overhead, tc.limit), func(t *testing.T) {
			q := &TransmitLimitedQueue{RetransmitMult: 3, NumNodes: func() int { return 10 }}
			queueFour(t, q)
			got := q.GetBroadcasts(tc.overhead, tc.limit)
			if len(got) != tc.want {
				t.Fatalf("got %d messages, want %d", len(got), tc.want)
			}
			if tc.want == 0 && got != nil {
				t.Fatalf("got %q, want nil", got)
			}
			// Limit 6: nothing is exhausted after one call.
			if n := q.NumQueued(); n != 4 {
				t.Fatalf("NumQueued = %d, want 4", n)
			}
		})
	}
}

func TestTransmitLimitedQueue_GetBroadcastsLimit(t *testing.T) {
	q := &TransmitLimitedQueue{RetransmitMult: 1, NumNodes: func() int { return 10 }}
	if got := retransmitLimit(q.RetransmitMult, q.NumNodes()); got != 2 {
		t.Fatalf("retransmitLimit = %d, want 2", got)
	}
	bs := queueFour(t, q)
	if q.lastID != 4 {
		t.Fatalf("lastID = %d, want 4", q.lastID)
	}

	var sent []string
	for i, want := range []int{3, 3, 2, 0} {
		got := q.GetBroadcasts(3, 80)
		if len(got) != want {
			t.Fatalf("call %d: got %d messages, want %d", i, len(got), want)
		}
		for _, m := range got {
			sent = append(sent, string(m))
		}
	}
	if len(sent) != 8 {
		t.Fatalf("sent %d messages, want 8", len(sent))
	}
	for _, b := range bs {
		if f := b.finished.Load(); f != 1 {
			t.Errorf("%s finished %d times, want 1", b.name, f)
		}
	}
	if n := q.NumQueued(); n != 0 {
		t.Fatalf("NumQueued = %d, want 0", n)
	}
	if q.lastID != 0 {
		t.Fatalf("lastID = %d after the queue emptied, want 0", q.lastID)
	}
	if len(q.named) != 0 {
		t.Fatalf("named index holds %d entries, want 0", len(q.named))
	}
}

func TestTransmitLimitedQueue_SelectionOrder(t *testing.T) {
	q := &TransmitLimitedQueue{RetransmitMult: 2, NumNodes: func() int { return 10 }}
	// Lengths 5, 3, 5, 1: tier 0 order is c(5, newest), a(5), b(3), d(1).
	for _, nb := range []struct{ name, msg string }{
		{"a", "aaaaa"}, {"b", "bbb"}, {"c", "ccccc"}, {"d", "d"},
	} {
		q.QueueBroadcast(newNamed(t, nb.name, nb.msg))
	}
	// Budget 9: c (5) leaves 4, a does not fit, b (3) leaves 1, d (1) fits.
	if got, want := q.GetBroadcasts(0, 9), []string{"ccccc", "bbb", "d"}; !slices.Equal(toStrings(got), want) {
		t.Fatalf("first call = %q, want %q", got, want)
	}
	// Tier 0 (a) comes before tier 1 (c, b, d), then the largest that fits.
	if got, want := q.GetBroadcasts(0, 9), []string{"aaaaa", "bbb", "d"}; !slices.Equal(toStrings(got), want) {
		t.Fatalf("second call = %q, want %q", got, want)
	}
	// Limit 4: nothing is exhausted yet. Tier 1 holds c and a, tier 2 b and d.
	if got, want := queueOrder(q), []string{"c", "a", "b", "d"}; !slices.Equal(got, want) {
		t.Fatalf("remaining order = %q, want %q", got, want)
	}
}

func toStrings(msgs [][]byte) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = string(m)
	}
	return out
}

func TestTransmitLimitedQueue_Prune(t *testing.T) {
	q := &TransmitLimitedQueue{RetransmitMult: 1, NumNodes: func() int { return 10 }}
	var bs []*testNamedBroadcast
	for _, name := range []string{"test", "foo", "bar", "baz", "qux"} {
		b := newNamed(t, name, "")
		bs = append(bs, b)
		q.QueueBroadcast(b)
	}

	q.Prune(3)
	if n := q.NumQueued(); n != 3 {
		t.Fatalf("NumQueued = %d, want 3", n)
	}
	for i, b := range bs {
		want := int32(0)
		if i < 2 { // the two oldest
			want = 1
		}
		if f := b.finished.Load(); f != want {
			t.Errorf("%s finished %d times, want %d", b.name, f, want)
		}
	}
	if got, want := queueOrder(q), []string{"qux", "baz", "bar"}; !slices.Equal(got, want) {
		t.Fatalf("order = %q, want %q", got, want)
	}

	q.Prune(-1)
	if n := q.NumQueued(); n != 0 {
		t.Fatalf("NumQueued = %d, want 0", n)
	}
	for _, b := range bs {
		if f := b.finished.Load(); f != 1 {
			t.Errorf("%s finished %d times, want 1", b.name, f)
		}
	}
	if q.lastID != 0 || len(q.named) != 0 {
		t.Fatalf("lastID = %d, named = %d; want 0, 0", q.lastID, len(q.named))
	}
}

func TestTransmitLimitedQueue_PruneMostSentFirst(t *testing.T) {
	q := &TransmitLimitedQueue{RetransmitMult: 5, NumNodes: func() int { return 10 }}
	q.QueueBroadcast(newNamed(t, "old", "xx"))
	q.GetBroadcasts(0, 100) // old now has one transmit
	q.QueueBroadcast(newNamed(t, "new", "x"))
	if got, want := queueOrder(q), []string{"new", "old"}; !slices.Equal(got, want) {
		t.Fatalf("order = %q, want %q (more transmits sort later)", got, want)
	}
	q.Prune(1)
	if got, want := queueOrder(q), []string{"new"}; !slices.Equal(got, want) {
		t.Fatalf("after Prune(1) = %q, want %q", got, want)
	}
}

func TestTransmitLimitedQueue_Reset(t *testing.T) {
	q := &TransmitLimitedQueue{RetransmitMult: 3, NumNodes: func() int { return 10 }}
	bs := queueFour(t, q)
	plain := &testBroadcast{msg: []byte("plain")}
	q.QueueBroadcast(plain)
	q.Reset()
	if n := q.NumQueued(); n != 0 {
		t.Fatalf("NumQueued = %d, want 0", n)
	}
	for _, b := range append([]*testBroadcast{plain}, &bs[0].testBroadcast, &bs[3].testBroadcast) {
		if f := b.finished.Load(); f != 1 {
			t.Errorf("%q finished %d times, want 1", b.msg, f)
		}
	}
	if q.lastID != 0 || len(q.named) != 0 {
		t.Fatalf("lastID = %d, named = %d; want 0, 0", q.lastID, len(q.named))
	}
	// Names are free again after Reset.
	q.QueueBroadcast(newNamed(t, "test", "again"))
	if n := q.NumQueued(); n != 1 || bs[0].finished.Load() != 1 {
		t.Fatalf("NumQueued = %d, finished = %d; want 1, 1", n, bs[0].finished.Load())
	}
}

// reentrantBroadcast calls back into its queue from Finished, which would
// deadlock if Finished ran under the queue's lock.
type reentrantBroadcast struct {
	testBroadcast
	q *TransmitLimitedQueue
}

func (b *reentrantBroadcast) Invalidates(other Broadcast) bool {
	o, ok := other.(*reentrantBroadcast)
	return ok && b.key != "" && o.key == b.key
}

func (b *reentrantBroadcast) Finished() {
	b.testBroadcast.Finished()
	b.q.NumQueued()
	b.q.QueueBroadcast(&testBroadcast{msg: []byte("follow-up")})
}

func TestTransmitLimitedQueue_FinishedOutsideLock(t *testing.T) {
	q := &TransmitLimitedQueue{RetransmitMult: 1, NumNodes: func() int { return 1 }}
	q.QueueBroadcast(&reentrantBroadcast{testBroadcast: testBroadcast{key: "k", msg: []byte("1")}, q: q})
	q.QueueBroadcast(&reentrantBroadcast{testBroadcast: testBroadcast{key: "k", msg: []byte("2")}, q: q}) // invalidates 1
	if got := q.GetBroadcasts(0, 100); len(got) != 2 {                                                    // "2" and the follow-up
		t.Fatalf("got %q, want 2 messages", got)
	}
	q.QueueBroadcast(&reentrantBroadcast{testBroadcast: testBroadcast{msg: []byte("3")}, q: q})
	q.Prune(0)
	q.QueueBroadcast(&reentrantBroadcast{testBroadcast: testBroadcast{msg: []byte("4")}, q: q})
	q.Reset()
	if n := q.NumQueued(); n != 1 { // the follow-up queued by 4's Finished
		t.Fatalf("NumQueued = %d, want 1", n)
	}
}

func TestTransmitLimitedQueue_Concurrent(t *testing.T) {
	q := &TransmitLimitedQueue{RetransmitMult: 2}
	var numNodes atomic.Int64
	numNodes.Store(10)
	q.NumNodes = func() int { return int(numNodes.Load()) }

	const workers, perWorker = 4, 300
	all := make([][]*testBroadcast, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				var b Broadcast
				switch i % 3 {
				case 0:
					nb := newNamed(t, fmt.Sprintf("n%d", i%17), fmt.Sprintf("w%d-%d", w, i))
					all[w] = append(all[w], &nb.testBroadcast)
					b = nb
				case 1:
					tb := &testBroadcast{key: fmt.Sprintf("k%d", i%5), msg: []byte(fmt.Sprintf("w%d-%d", w, i))}
					all[w] = append(all[w], tb)
					b = tb
				default:
					ub := &testUniqueBroadcast{testBroadcast: testBroadcast{msg: []byte(fmt.Sprintf("w%d-%d", w, i))}, t: t}
					all[w] = append(all[w], &ub.testBroadcast)
					b = ub
				}
				q.QueueBroadcast(b)
				q.GetBroadcasts(2, 100)
				if i%50 == 0 {
					q.Prune(20)
					numNodes.Add(1)
				}
				q.NumQueued()
			}
		})
	}
	wg.Wait()
	q.Reset()
	for _, bs := range all {
		for _, b := range bs {
			if f := b.finished.Load(); f != 1 {
				t.Fatalf("%q finished %d times, want 1", b.msg, f)
			}
		}
	}
}

// BenchmarkTransmitLimitedQueue_GetBroadcasts measures one packet's worth of
// selection from a queue of named broadcasts. The retransmit limit is so high
// that nothing is exhausted, so the queue size stays constant.
func BenchmarkTransmitLimitedQueue_GetBroadcasts(b *testing.B) {
	for _, size := range []int{100, 1000} {
		b.Run(fmt.Sprintf("queued=%d", size), func(b *testing.B) {
			q := &TransmitLimitedQueue{RetransmitMult: 1 << 20, NumNodes: func() int { return size }}
			for i := range size {
				// Lengths 40..103, like alive messages with some meta.
				msg := make([]byte, 40+i%64)
				q.QueueBroadcast(newNamed(b, fmt.Sprintf("node-%d", i), string(msg)))
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if got := q.GetBroadcasts(2, 1400); len(got) == 0 {
					b.Fatal("no broadcasts")
				}
			}
		})
	}
}

// BenchmarkTransmitLimitedQueue_QueueNamed measures replacing a named
// broadcast in a queue of 1000.
func BenchmarkTransmitLimitedQueue_QueueNamed(b *testing.B) {
	q := &TransmitLimitedQueue{RetransmitMult: 4, NumNodes: func() int { return 1000 }}
	bs := make([]*testNamedBroadcast, 1000)
	for i := range bs {
		bs[i] = newNamed(b, fmt.Sprintf("node-%d", i), "some alive message")
		q.QueueBroadcast(bs[i])
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		q.QueueBroadcast(bs[i%len(bs)])
		i++
	}
}

func TestTransmitLimitedQueue_IDWrap(t *testing.T) {
	q := &TransmitLimitedQueue{RetransmitMult: 1, NumNodes: func() int { return 10 }}
	q.QueueBroadcast(newNamed(t, "first", "xx")) // a different length: no collision
	q.lastID = math.MaxInt64 - 1
	q.QueueBroadcast(newNamed(t, "max", "x"))
	q.QueueBroadcast(newNamed(t, "wrapped", "x"))
	q.mu.Lock()
	ids := []int64{q.named["first"].id, q.named["max"].id, q.named["wrapped"].id}
	q.mu.Unlock()
	if want := []int64{1, math.MaxInt64, 1}; !slices.Equal(ids, want) {
		t.Fatalf("ids = %v, want %v", ids, want)
	}
}

// TestTransmitLimitedQueue_IDCollision forces the only case where two
// entries could share a key, an id counter that wrapped onto a queued
// broadcast: the displaced broadcast must still be Finished, once.
func TestTransmitLimitedQueue_IDCollision(t *testing.T) {
	q := &TransmitLimitedQueue{RetransmitMult: 1, NumNodes: func() int { return 10 }}
	a := newNamed(t, "a", "x")
	q.QueueBroadcast(a)
	q.lastID = 0 // as if the counter had wrapped all the way round
	q.QueueBroadcast(newNamed(t, "b", "y"))
	if n := q.NumQueued(); n != 1 || a.finished.Load() != 1 {
		t.Fatalf("NumQueued = %d, displaced finished %d times; want 1, 1", n, a.finished.Load())
	}
	if got, want := queueOrder(q), []string{"b"}; !slices.Equal(got, want) {
		t.Fatalf("order = %q, want %q", got, want)
	}
	// Re-queueing "a" must not find the displaced entry.
	q.QueueBroadcast(newNamed(t, "a", "z"))
	if a.finished.Load() != 1 {
		t.Fatalf("displaced broadcast finished %d times, want 1", a.finished.Load())
	}
}
