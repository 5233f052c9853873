package memberlist

import (
	"fmt"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

// queueModel tracks every broadcast given to a TransmitLimitedQueue under
// test, and checks the queue's observable behaviour against a few
// invariants.
type queueModel struct {
	q     *TransmitLimitedQueue
	limit int // max(retransmitLimit, 1): how often a message is sent
	all   []*modelBroadcast
	byMsg map[string]*modelBroadcast
	// inGet is set while GetBroadcasts runs, so Finished can tell its
	// caller apart.
	inGet     bool
	finInCall []*modelBroadcast
}

type modelKind int

const (
	modelPlain modelKind = iota
	modelNamed
	modelUnique
)

// modelBroadcast is any of the three kinds of broadcast, by kind.
type modelBroadcast struct {
	m        *queueModel
	kind     modelKind
	key      string // name for named, invalidation key for plain
	msg      []byte
	sent     int
	finished int
}

func (b *modelBroadcast) Invalidates(other Broadcast) bool {
	if b.kind != modelPlain {
		panic("Invalidates called on a named or unique broadcast")
	}
	o := modelOf(other)
	if o.kind != modelPlain {
		panic("Invalidates offered a named or unique broadcast")
	}
	return b.key != "" && o.key == b.key
}
func (b *modelBroadcast) Message() []byte { return b.msg }
func (b *modelBroadcast) Finished() {
	b.finished++
	if b.m.inGet {
		b.m.finInCall = append(b.m.finInCall, b)
	}
}

type modelNamedBroadcast struct{ *modelBroadcast }

func (b modelNamedBroadcast) Name() string { return b.key }

type modelUniqueBroadcast struct{ *modelBroadcast }

func (b modelUniqueBroadcast) UniqueBroadcast() {}

func modelOf(b Broadcast) *modelBroadcast {
	switch v := b.(type) {
	case *modelBroadcast:
		return v
	case modelNamedBroadcast:
		return v.modelBroadcast
	case modelUniqueBroadcast:
		return v.modelBroadcast
	}
	panic(fmt.Sprintf("unexpected broadcast %T", b))
}

// live reports whether b is queued according to the model.
func (b *modelBroadcast) live() bool { return b.finished == 0 }

func (m *queueModel) queue(t *rapid.T) {
	kind := modelKind(rapid.IntRange(0, 2).Draw(t, "kind"))
	key := rapid.SampledFrom([]string{"", "a", "b", "c"}).Draw(t, "key")
	id := fmt.Sprint(len(m.all))
	n := rapid.IntRange(len(id), 60).Draw(t, "len")
	b := &modelBroadcast{m: m, kind: kind, key: key, msg: []byte(id + strings.Repeat(".", n-len(id)))}
	m.all = append(m.all, b)
	m.byMsg[string(b.msg)] = b

	// What the queue must replace.
	var stale []*modelBroadcast
	for _, old := range m.all[:len(m.all)-1] {
		if !old.live() || old.kind != kind || key == "" || old.key != key {
			continue
		}
		if kind != modelUnique {
			stale = append(stale, old)
		}
	}
	switch kind {
	case modelNamed:
		m.q.QueueBroadcast(modelNamedBroadcast{b})
	case modelUnique:
		m.q.QueueBroadcast(modelUniqueBroadcast{b})
	default:
		m.q.QueueBroadcast(b)
	}
	for _, old := range stale {
		if old.finished != 1 {
			t.Fatalf("replaced broadcast %q finished %d times, want 1", old.msg, old.finished)
		}
	}
}

func (m *queueModel) get(t *rapid.T, overhead, limit int) int {
	m.inGet, m.finInCall = true, nil
	got := m.q.GetBroadcasts(overhead, limit)
	m.inGet = false

	used := 0
	seen := make(map[*modelBroadcast]bool)
	for _, msg := range got {
		b, ok := m.byMsg[string(msg)]
		if !ok {
			t.Fatalf("unknown message %q", msg)
		}
		if seen[b] {
			t.Fatalf("message %q returned twice in one call", msg)
		}
		seen[b] = true
		if b.finished > 1 || (b.finished == 1 && !containsBroadcast(m.finInCall, b)) {
			t.Fatalf("message %q returned after it was finished", msg)
		}
		b.sent++
		if b.sent > m.limit {
			t.Fatalf("message %q sent %d times, limit %d", msg, b.sent, m.limit)
		}
		if (b.sent == m.limit) != (b.finished == 1) {
			t.Fatalf("message %q sent %d of %d times, finished %d", msg, b.sent, m.limit, b.finished)
		}
		used += len(msg) + max(overhead, 0)
	}
	if len(got) > 0 && used > limit {
		t.Fatalf("used %d bytes, limit %d", used, limit)
	}
	for _, b := range m.finInCall {
		if !seen[b] {
			t.Fatalf("%q finished by a call that did not return it", b.msg)
		}
	}
	return len(got)
}

func containsBroadcast(bs []*modelBroadcast, b *modelBroadcast) bool {
	for _, x := range bs {
		if x == b {
			return true
		}
	}
	return false
}

// check verifies that every broadcast is finished at most once and that the
// queue holds exactly the unfinished ones.
func (m *queueModel) check(t *rapid.T) {
	live := 0
	for _, b := range m.all {
		if b.finished > 1 {
			t.Fatalf("%q finished %d times", b.msg, b.finished)
		}
		if b.live() {
			live++
		}
	}
	if n := m.q.NumQueued(); n != live {
		t.Fatalf("NumQueued = %d, model has %d live broadcasts", n, live)
	}
}

func checkQueueProperties(t *rapid.T) {
	mult := rapid.IntRange(0, 4).Draw(t, "mult")
	nodes := rapid.IntRange(0, 200).Draw(t, "nodes")
	m := &queueModel{
		q:     &TransmitLimitedQueue{RetransmitMult: mult, NumNodes: func() int { return nodes }},
		limit: max(retransmitLimit(mult, nodes), 1),
		byMsg: make(map[string]*modelBroadcast),
	}
	t.Repeat(map[string]func(*rapid.T){
		"queue": m.queue,
		"get": func(t *rapid.T) {
			m.get(t, rapid.IntRange(-1, 5).Draw(t, "overhead"), rapid.IntRange(-1, 200).Draw(t, "limit"))
		},
		"prune":  func(t *rapid.T) { m.q.Prune(rapid.IntRange(-1, 8).Draw(t, "maxRetain")) },
		"reset":  func(t *rapid.T) { m.q.Reset() },
		"":       m.check,
		"noop":   func(*rapid.T) {},
		"getbig": func(t *rapid.T) { m.get(t, 2, 1<<20) },
	})

	// Drain: with room for everything, each call sends every queued message
	// once, so limit calls finish them all.
	for range m.limit {
		m.get(t, 2, 1<<20)
	}
	if n := m.get(t, 2, 1<<20); n != 0 {
		t.Fatalf("%d messages left after draining", n)
	}
	for _, b := range m.all {
		if b.finished != 1 {
			t.Fatalf("%q finished %d times, want 1", b.msg, b.finished)
		}
	}
	m.check(t)
	if m.q.lastID != 0 {
		t.Fatalf("lastID = %d on an empty queue", m.q.lastID)
	}
}

func TestTransmitLimitedQueue_Properties(t *testing.T) {
	rapid.Check(t, checkQueueProperties)
}

func FuzzTransmitLimitedQueue(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{3, 1, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})
	f.Add([]byte("\x04\x64\x01\x02\x00\x10\x01\x01\x20\x02\x03\x30\x00\x00\x05\x02\x50\x01"))
	f.Fuzz(rapid.MakeFuzz(checkQueueProperties))
}
