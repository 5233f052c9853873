package memberlist

import (
	"log/slog"
	"time"
)

// memberlistBroadcast is a gossip message about one node. Being a
// NamedBroadcast, a newer message about the same node replaces it in the
// queue.
type memberlistBroadcast struct {
	node   string
	msg    []byte
	notify chan struct{}
}

// Invalidates reports whether b is about the same node.
func (b *memberlistBroadcast) Invalidates(other Broadcast) bool {
	mb, ok := other.(*memberlistBroadcast)
	return ok && mb.node == b.node
}

// Name returns the node the message is about.
func (b *memberlistBroadcast) Name() string { return b.node }

// Message returns the encoded message.
func (b *memberlistBroadcast) Message() []byte { return b.msg }

// Finished closes the notify channel, if any.
func (b *memberlistBroadcast) Finished() {
	if b.notify == nil {
		return
	}
	select {
	case <-b.notify:
	default:
		close(b.notify)
	}
}

// encodeBroadcast queues a gossip message about node.
func (m *Memberlist) encodeBroadcast(node string, t messageType, msg wireMessage) {
	m.encodeBroadcastNotify(node, t, msg, nil)
}

// encodeBroadcastNotify queues a gossip message about node; notify, when
// non-nil, is closed when the message has been sent enough times or
// replaced.
func (m *Memberlist) encodeBroadcastNotify(node string, t messageType, msg wireMessage, notify chan struct{}) {
	buf := encodeMessage(t, msg)
	m.broadcasts.QueueBroadcast(&memberlistBroadcast{node: node, msg: buf, notify: notify})
}

// getBroadcasts returns queued messages that fit in limit bytes, each
// costing overhead bytes more: memberlist's own first, then the Delegate's
// as user messages.
func (m *Memberlist) getBroadcasts(overhead, limit int) [][]byte {
	d := m.config.Delegate
	if d != nil && m.config.UserBroadcastShare > 0 {
		return m.getSharedBroadcasts(d, overhead, limit)
	}
	msgs := m.broadcasts.GetBroadcasts(overhead, limit)
	if d == nil {
		return msgs
	}
	used := 0
	for _, msg := range msgs {
		used += len(msg) + overhead
	}
	avail := limit - used
	if avail <= overhead+1 {
		return msgs
	}
	var user [][]byte
	m.goroutines.callback(func() { user = d.GetBroadcasts(overhead+1, avail) })
	for _, um := range user {
		msgs = append(msgs, userMessage(um))
	}
	return msgs
}

// packetBudget returns the bytes of an outbound packet left for messages
// once the compound header, label and (when counted) encryption are paid.
func (m *Memberlist) packetBudget(countEncryption bool) int {
	avail := m.config.UDPBufferSize - compoundHeaderOverhead - labelOverhead(m.config.Label)
	if countEncryption && m.config.EncryptionEnabled() {
		avail -= encryptOverhead(m.encryptionVersion())
	}
	return avail
}

// Compound framing costs, used for budgets.
const (
	compoundHeaderOverhead = 2 // type byte and part count
	compoundOverhead       = 2 // each part's length
)

// gossip sends queued broadcasts to GossipNodes random nodes that are
// alive, suspect, or recently dead (SWIM §4.1 dissemination).
func (m *Memberlist) gossip() {
	defer m.metrics.MeasureSinceWithLabels(keyGossip, time.Now(), m.labels.base)
	now := time.Now()
	targets := m.randomNodes(m.config.GossipNodes, func(st *nodeState) bool {
		if st.Name == m.config.Name {
			return true
		}
		switch st.State {
		case StateAlive, StateSuspect:
			return false
		case StateDead:
			return now.Sub(st.StateChange) > m.config.GossipToTheDeadTime
		}
		return true
	})
	avail := m.packetBudget(true)
	for i := range targets {
		if !m.gossipTo(&targets[i], avail) {
			return
		}
	}
}

// gossipTo sends node the queued broadcasts that fit in avail bytes and
// reports whether there were any.
func (m *Memberlist) gossipTo(node *Node, avail int) bool {
	id := m.writes.begin()
	defer m.writes.end(id)
	msgs := m.getBroadcasts(compoundOverhead, avail)
	if len(msgs) == 0 {
		return false
	}
	if len(msgs) == 1 {
		m.sendGossip(node, msgs[0])
		return true
	}
	for _, compound := range makeCompoundMessages(msgs) {
		m.sendGossip(node, compound)
	}
	return true
}

func (m *Memberlist) sendGossip(node *Node, msg []byte) {
	addr := node.FullAddress()
	if err := m.rawSendMsgPacket(addr, node, msg); err != nil {
		m.logger.Error("Failed to send gossip", logNode(node.Name), slog.String(logKeyAddr, addr.Addr), logErr(err))
	}
}

// randomNodes returns copies of up to k distinct nodes for which exclude
// reports false. When the table is small it checks every node, so it finds
// k eligible nodes whenever they exist.
func (m *Memberlist) randomNodes(k int, exclude func(*nodeState) bool) []Node {
	if k <= 0 {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	n := len(m.table.nodes)
	out := make([]Node, 0, k)
	if n < 3*k {
		for _, i := range m.permLocked(n) {
			if st := m.table.nodes[i]; !exclude(st) {
				out = append(out, st.node())
				if len(out) == k {
					break
				}
			}
		}
		return out
	}
	seen := make(map[int]struct{}, k)
	for tries := 0; tries < 3*n && len(out) < k; tries++ {
		i := m.randIntN(n)
		if _, dup := seen[i]; dup {
			continue
		}
		seen[i] = struct{}{}
		if st := m.table.nodes[i]; !exclude(st) {
			out = append(out, st.node())
		}
	}
	return out
}

// permLocked returns a random permutation of [0, n).
func (m *Memberlist) permLocked(n int) []int {
	m.rngMu.Lock()
	defer m.rngMu.Unlock()
	return m.rng.Perm(n)
}
