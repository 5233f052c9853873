package memberlist

import (
	"log/slog"
	"net"
	"sync"
)

// msgHandoff is a gossip message waiting for the handler goroutine.
type msgHandoff struct {
	t    messageType
	body []byte
	from net.Addr
}

// handoffQueues hold received gossip for the handler goroutine: alive
// messages in their own queue, served first, and both served newest first.
// It is safe for concurrent use.
type handoffQueues struct {
	mu    sync.Mutex // leaf lock
	high  []msgHandoff
	low   []msgHandoff
	depth int
	ready chan struct{}
}

func (q *handoffQueues) init(depth int) {
	q.depth = depth
	q.ready = make(chan struct{}, 1)
}

// push queues the messages and returns how many were dropped because
// their queue was full.
func (q *handoffQueues) push(msgs []msgHandoff) (dropped []msgHandoff) {
	q.mu.Lock()
	for _, h := range msgs {
		queue := &q.low
		if h.t == aliveMsg {
			queue = &q.high
		}
		if len(*queue) >= q.depth {
			dropped = append(dropped, h)
			continue
		}
		*queue = append(*queue, h)
	}
	q.mu.Unlock()
	if len(dropped) < len(msgs) {
		select {
		case q.ready <- struct{}{}:
		default:
		}
	}
	return dropped
}

// pop returns the newest alive message, else the newest other message.
func (q *handoffQueues) pop() (msgHandoff, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, queue := range []*[]msgHandoff{&q.high, &q.low} {
		if n := len(*queue); n > 0 {
			h := (*queue)[n-1]
			(*queue)[n-1] = msgHandoff{}
			*queue = (*queue)[:n-1]
			return h, true
		}
	}
	return msgHandoff{}, false
}

// handoffMessages queues a packet's gossip messages for the handler
// goroutine.
func (m *Memberlist) handoffMessages(msgs []msgHandoff) {
	if len(msgs) == 0 {
		return
	}
	for _, h := range m.handoff.push(msgs) {
		m.countDrop(keyHandoffQueueFull, 1)
		m.logger.Debug("handler queue full, dropping message", slog.Int(logKeyType, int(h.t)), logAddr(h.from))
	}
}

// aliveSourceAllowed applies CIDRsAllowed to the sender of an alive packet.
func (m *Memberlist) aliveSourceAllowed(from net.Addr) bool {
	if !m.config.IPMustBeChecked() {
		return true
	}
	host, _, err := net.SplitHostPort(from.String())
	if err != nil {
		host = from.String()
	}
	if host == "pipe" {
		return true
	}
	ip := net.ParseIP(host)
	if ip == nil {
		m.logger.Debug("Blocked alive message: cannot parse the source IP", logAddr(from))
		return false
	}
	if err := m.config.IPAllowed(ip); err != nil {
		m.logger.Debug("Blocked alive message", logAddr(from), logErr(err))
		return false
	}
	return true
}

// packetHandler processes handed-off gossip until shutdown.
func (m *Memberlist) packetHandler() {
	for {
		select {
		case <-m.handoff.ready:
			for !m.shutdown.Load() {
				h, ok := m.handoff.pop()
				if !ok {
					break
				}
				m.handleGossip(&h)
			}
		case <-m.shutdownCh:
			return
		}
	}
}

// handleGossip applies one handed-off message.
func (m *Memberlist) handleGossip(h *msgHandoff) {
	switch h.t {
	case suspectMsg:
		var s suspect
		if m.decodeGossip(h, &s, "suspect") {
			m.suspectNode(&s)
		}
	case aliveMsg:
		var a alive
		if m.decodeGossip(h, &a, "alive") && m.aliveAddrAllowed(&a, h.from) {
			if m.config.ProtocolVersion < 2 || a.Port == 0 {
				a.Port = uint16(m.config.BindPort)
			}
			m.aliveNode(&a, nil, false)
		}
	case deadMsg:
		var d dead
		if m.decodeGossip(h, &d, "dead") {
			m.deadNode(&d)
		}
	case userMsg:
		if d := m.config.Delegate; d != nil {
			m.goroutines.callback(func() { d.NotifyMsg(h.body) })
		}
	}
}

func (m *Memberlist) decodeGossip(h *msgHandoff, msg wireMessage, kind string) bool {
	if err := decodeMessage(h.body, msg); err != nil {
		m.countDrop(keyUDPDecodeFailed, 1)
		m.logger.Debug("Failed to decode "+kind+" message", logAddr(h.from), logErr(err))
		return false
	}
	return true
}

// aliveAddrAllowed applies CIDRsAllowed to the address an alive announces.
func (m *Memberlist) aliveAddrAllowed(a *alive, from net.Addr) bool {
	if !m.config.IPMustBeChecked() || a.Addr == nil {
		return true
	}
	if err := m.config.IPAllowed(a.Addr); err != nil {
		m.logger.Debug("Blocked alive message: announced address not allowed", logNode(a.Node), logAddr(from), logErr(err))
		return false
	}
	return true
}
