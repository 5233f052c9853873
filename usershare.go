package memberlist

import "math"

// User broadcasts at scale (upstream #299). Memberlist's own messages fill
// a gossip packet first and the Delegate's get what is left, so when
// membership changes keep the queue long (a large cluster churning) user
// broadcasts are never sent. UserBroadcastShare reserves part of each
// packet for them: the Delegate is asked first, for the reserved share or
// for whatever memberlist's queue leaves free if that is more, and
// memberlist's queue then gets all the Delegate did not use, so no space
// is wasted when either side has little to send.

// userBudget returns how many bytes of a packet budget of limit to offer
// the Delegate: at least share of it, and all that memberlist's pending
// messages (pending bytes with their overhead) leave free.
func userBudget(limit, pending int, share float64) int {
	if limit <= 0 {
		return 0
	}
	reserve := int(math.Floor(share * float64(limit)))
	return limit - min(pending, limit-reserve)
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

// getSharedBroadcasts is getBroadcasts with a share of the budget
// reserved for the Delegate's broadcasts (see UserBroadcastShare).
func (m *Memberlist) getSharedBroadcasts(d Delegate, overhead, limit int) [][]byte {
	budget := userBudget(limit, m.broadcasts.pendingBytes(overhead, limit), m.config.UserBroadcastShare)
	var user [][]byte
	if budget > overhead+1 {
		m.goroutines.callback(func() { user = d.GetBroadcasts(overhead+1, budget) })
	}
	used := 0
	for _, um := range user {
		used += overhead + 1 + len(um)
	}
	msgs := m.broadcasts.GetBroadcasts(overhead, limit-used)
	for _, um := range user {
		msgs = append(msgs, userMessage(um))
	}
	return msgs
}
