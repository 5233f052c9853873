package memberlist

import (
	"math"
	"sync"
)

// User broadcasts at scale (upstream #299). Memberlist's own messages fill
// a gossip packet first and the Delegate's get what is left, so when
// membership changes keep the queue long (a large cluster churning) user
// broadcasts are never sent. UserBroadcastShare reserves part of the
// packets for them: the Delegate is asked first, for its credit or for
// whatever memberlist's queue leaves free if that is more, and memberlist's
// queue then gets all the Delegate did not use, so no space is wasted when
// either side has little to send.
//
// The credit is the share of every packet built while memberlist's queue
// would fill it, less what the Delegate spent beyond the free space,
// saved up to one whole packet (deficit round robin). Over many packets
// the Delegate gets its share on average, and a message larger than the
// share of one packet (a 512-byte message with a quarter of 1,400 bytes)
// still goes out once the credit of a few packets covers it; a per-packet
// reserve would hold it back until the queue drained.

// userCredit is the Delegate's unspent share of gossip packets, in bytes.
// Its zero value has none. It is safe for concurrent use.
type userCredit struct {
	mu     sync.Mutex // leaf lock
	credit int
}

// budget adds the share of one packet of limit bytes to the credit, at
// most limit in all, and returns how many bytes to offer the Delegate: the
// credit, or all that memberlist's pending messages (pending bytes with
// their overhead) leave free if that is more, and the free part.
func (c *userCredit) budget(limit, pending int, share float64) (budget, free int) {
	if limit <= 0 {
		return 0, 0
	}
	free = max(0, limit-pending)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.credit = min(limit, c.credit+int(math.Floor(share*float64(limit))))
	return max(free, c.credit), free
}

// spend charges the Delegate for used bytes of a packet whose free part
// was free bytes: what it took beyond the free part comes off the credit.
func (c *userCredit) spend(used, free int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.credit = max(0, c.credit-max(0, used-free))
}

// pendingBytes returns the bytes memberlist's queued messages would take
// with overhead each, counting no further once max is reached.
func (q *TransmitLimitedQueue) pendingBytes(overhead, max int) int {
	q.mu.Lock()
	defer q.mu.Unlock()
	sum := 0
	if q.tree == nil {
		return 0
	}
	q.tree.Ascend(func(qb *queuedBroadcast) bool {
		sum += overhead + qb.msgLen
		return sum < max
	})
	return sum
}

// getSharedBroadcasts is getBroadcasts with part of the packets reserved
// for the Delegate's broadcasts (see UserBroadcastShare and userCredit).
func (m *Memberlist) getSharedBroadcasts(d Delegate, overhead, limit int) [][]byte {
	budget, free := m.userShare.budget(limit, m.broadcasts.pendingBytes(overhead, limit), m.config.UserBroadcastShare)
	var user [][]byte
	if budget > overhead+1 {
		m.goroutines.callback(func() { user = d.GetBroadcasts(overhead+1, budget) })
	}
	used := 0
	for _, um := range user {
		used += overhead + 1 + len(um)
	}
	m.userShare.spend(used, free)
	msgs := m.broadcasts.GetBroadcasts(overhead, limit-used)
	for _, um := range user {
		msgs = append(msgs, userMessage(um))
	}
	return msgs
}
