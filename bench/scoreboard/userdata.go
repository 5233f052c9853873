package scoreboard

import (
	"bytes"
	"slices"
	"sync"
	"time"

	ours "github.com/gossip-go/memberlist"
	theirs "github.com/hashicorp/memberlist"
)

// userLog records, for a whole run, when each node first had each user
// message, and holds the metadata every node advertises. It is safe for
// concurrent use.
type userLog struct {
	meta []byte // every node's NodeMeta

	mu  sync.Mutex
	got map[string]map[string]time.Time // message -> node -> first receipt
}

func newUserLog(metaSize int) *userLog {
	return &userLog{meta: bytes.Repeat([]byte{'m'}, metaSize), got: map[string]map[string]time.Time{}}
}

// receive records that node has msg now, and reports whether it is the
// first time.
func (u *userLog) receive(node string, msg []byte) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	m := u.got[string(msg)]
	if m == nil {
		m = map[string]time.Time{}
		u.got[string(msg)] = m
	}
	if _, ok := m[node]; ok {
		return false
	}
	m[node] = time.Now()
	return true
}

// received returns when node first had msg.
func (u *userLog) received(msg, node string) (time.Time, bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	t, ok := u.got[msg][node]
	return t, ok
}

// userDelegate is a Delegate of either library, written the way users
// write one: user messages go out through a TransmitLimitedQueue that
// GetBroadcasts drains, and a node that receives a message for the first
// time queues it again, so it spreads by gossip.
type userDelegate struct {
	log   *userLog
	self  string
	queue func(msg []byte)
	get   func(overhead, limit int) [][]byte
}

func newUserDelegate(log *userLog, self string, queue func([]byte), get func(int, int) [][]byte) *userDelegate {
	return &userDelegate{log: log, self: self, queue: queue, get: get}
}

func (d *userDelegate) NodeMeta(limit int) []byte                  { return d.log.meta[:min(limit, len(d.log.meta))] }
func (d *userDelegate) GetBroadcasts(overhead, limit int) [][]byte { return d.get(overhead, limit) }
func (d *userDelegate) LocalState(bool) []byte                     { return nil }
func (d *userDelegate) MergeRemoteState([]byte, bool)              {}

func (d *userDelegate) NotifyMsg(b []byte) {
	if d.log.receive(d.self, b) {
		d.queue(bytes.Clone(b))
	}
}

// broadcast sends a new user message from this node.
func (d *userDelegate) broadcast(msg []byte) {
	d.log.receive(d.self, msg)
	d.queue(msg)
}

// oursUserMsg and theirsUserMsg are a user message as each library's
// UniqueBroadcast: never invalidated, so every message is sent.
type (
	oursUserMsg   []byte
	theirsUserMsg []byte
)

func (b oursUserMsg) Invalidates(ours.Broadcast) bool     { return false }
func (b oursUserMsg) Message() []byte                     { return b }
func (b oursUserMsg) Finished()                           {}
func (b oursUserMsg) UniqueBroadcast()                    {}
func (b theirsUserMsg) Invalidates(theirs.Broadcast) bool { return false }
func (b theirsUserMsg) Message() []byte                   { return b }
func (b theirsUserMsg) Finished()                         {}
func (b theirsUserMsg) UniqueBroadcast()                  {}

// userBcast is one user broadcast of a run: its message, when it was
// issued, and the nodes running then.
type userBcast struct {
	msg     string
	at      time.Time
	targets []string
}

// deliveryTimes returns, for each broadcast of bs, how long it took to
// reach every target that counts, or -1 when a target that counts lacked
// it capd after it was issued. A target counts when it received the
// message within capd, or was still running capd after the issue (stopped
// holds when each stopped node stopped). The second result is how many
// (broadcast, target) pairs were missing at the cap.
func deliveryTimes(bs []userBcast, got func(msg, node string) (time.Time, bool), stopped map[string]time.Time, capd time.Duration) ([]time.Duration, int) {
	out := make([]time.Duration, len(bs))
	missing := 0
	for i, b := range bs {
		end := b.at.Add(capd)
		for _, x := range b.targets {
			t, ok := got(b.msg, x)
			switch {
			case ok && !t.After(end):
				if out[i] >= 0 {
					out[i] = max(out[i], t.Sub(b.at))
				}
			case !stopped[x].IsZero() && stopped[x].Before(end):
				// x stopped before the cap without the message: it does not count.
			default:
				missing++
				out[i] = -1
			}
		}
	}
	return out, missing
}

// deliveryFigures returns the median and the longest of ds as values, a
// -1 (never delivered) counting as longer than any time.
func deliveryFigures(ds []time.Duration) (median, longest value) {
	if len(ds) == 0 {
		return na, na
	}
	s := slices.Clone(ds)
	slices.SortFunc(s, func(a, b time.Duration) int {
		switch {
		case a < 0 && b < 0:
			return 0
		case a < 0:
			return 1
		case b < 0:
			return -1
		}
		return int(a - b)
	})
	at := func(d time.Duration) value {
		if d < 0 {
			return never
		}
		return secs(d)
	}
	return at(s[(len(s)-1)/2]), at(s[len(s)-1])
}
