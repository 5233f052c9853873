package memberlist

import (
	"context"
	"errors"
	"net"
	"strings"
	"time"
)

// schedule starts the probe, push/pull and gossip loops. It is idempotent.
// Each loop waits a random offset within its interval first and only then
// starts its ticker, so nodes started together do not probe or gossip in
// step (the first round comes one offset plus one interval after Create).
// The offsets are drawn here, in a fixed order, so a seeded node staggers
// the same way every run.
func (m *Memberlist) schedule() {
	m.scheduleOnce.Do(func() {
		c := m.config
		probeStagger := m.stagger(c.ProbeInterval)
		pushPullStagger := m.stagger(c.PushPullInterval)
		gossipStagger := m.stagger(c.GossipInterval)
		if c.ProbeInterval > 0 {
			m.goroutines.Go(func() { m.tickLoop(c.ProbeInterval, probeStagger, m.probe, false) })
		}
		if c.PushPullInterval > 0 {
			m.goroutines.Go(func() { m.pushPullLoop(pushPullStagger) })
		}
		if c.GossipInterval > 0 && c.GossipNodes > 0 {
			m.goroutines.Go(func() { m.tickLoop(c.GossipInterval, gossipStagger, m.gossip, true) })
		}
		m.startRemerge()
		m.startStreamCheck()
	})
}

// sleep waits for d or shutdown and reports whether d elapsed.
func (m *Memberlist) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-m.shutdownCh:
		return false
	}
}

// tickLoop waits stagger, then calls f every interval until shutdown, and
// once right after the wait too when atOnce is set. The ticker starts after
// the wait: a ticker started before it would keep the phase of Create, and
// the stagger would shift nothing.
//
// The gossip loop starts at once: its first round then comes within the
// first interval, never later than an unstaggered ticker's first tick, so a
// refutation queued by a Join right after Create goes out as soon as
// upstream's would (serf's TestSerf_update allows about 10 ms).
func (m *Memberlist) tickLoop(interval, stagger time.Duration, f func(), atOnce bool) {
	if !m.sleep(stagger) {
		return
	}
	if atOnce {
		f()
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			f()
		case <-m.shutdownCh:
			return
		}
	}
}

// pushPullLoop syncs state with a random node every PushPullInterval,
// scaled up for large clusters, starting stagger plus one interval after
// Create.
func (m *Memberlist) pushPullLoop(stagger time.Duration) {
	if !m.sleep(stagger) {
		return
	}
	for m.sleep(pushPullScale(m.config.PushPullInterval, m.table.estNumNodes())) {
		m.pushPull()
	}
}

// pushPull runs one periodic push/pull with a random alive node.
func (m *Memberlist) pushPull() {
	m.pushPullAvoiding(nil)
}

// pushPullAvoiding runs a push/pull with a random alive node, one whose
// address is not in avoid when there is such a node. It returns the number
// of nodes in the remote state, and whether a push/pull took place and
// succeeded.
func (m *Memberlist) pushPullAvoiding(avoid []Address) (int, bool) {
	other := func(st *nodeState) bool { return st.Name == m.config.Name || st.State != StateAlive }
	nodes := m.randomNodes(1, func(st *nodeState) bool { return other(st) || avoided(st, avoid) })
	if len(nodes) == 0 && len(avoid) > 0 {
		nodes = m.randomNodes(1, other)
	}
	if len(nodes) == 0 {
		return 0, false
	}
	n, err := m.pushPullNode(context.Background(), nodes[0].FullAddress(), false)
	m.noteStream(nodes[0].Name, err)
	if err != nil {
		m.logger.Error("Push/Pull failed", logNode(nodes[0].Name), logErr(err))
	}
	return n, err == nil
}

// avoided reports whether st has the address, or the name, of one of
// avoid.
func avoided(st *nodeState, avoid []Address) bool {
	if len(avoid) == 0 {
		return false
	}
	addr := joinHostPort(st.Addr.String(), st.Port)
	for _, a := range avoid {
		if a.Addr == addr || (a.Name != "" && a.Name == st.Name) {
			return true
		}
	}
	return false
}

// probe picks the next node in the shuffled round-robin order (SWIM §4.3)
// and probes it.
func (m *Memberlist) probe() {
	target, ok := m.nextProbeTarget()
	if ok {
		m.probeNode(&target)
	}
}

// nextProbeTarget returns the next node to probe (table.nextProbeTarget).
func (m *Memberlist) nextProbeTarget() (nodeState, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	target, ok, reaped := m.table.nextProbeTarget(time.Now())
	for _, st := range reaped {
		m.noteReapedLocked(st)
	}
	return target, ok
}

// ackMessage is what a probe waits for: a complete ack, or the marker the
// ack handler's timer sends when it expires.
type ackMessage struct {
	Complete  bool
	Payload   []byte
	Timestamp time.Time
}

// ackHandler is registered per sequence number while a ping is in flight.
type ackHandler struct {
	ackFn  func(payload []byte, timestamp time.Time)
	nackFn func()
	timer  *time.Timer
}

// setProbeChannels registers channels for the ack and nacks of seq; after
// timeout the handler is removed and an incomplete ackMessage is sent.
func (m *Memberlist) setProbeChannels(seq uint32, ackCh chan ackMessage, nackCh chan struct{}, timeout time.Duration) {
	ackFn := func(payload []byte, ts time.Time) {
		select {
		case ackCh <- ackMessage{Complete: true, Payload: payload, Timestamp: ts}:
		default:
		}
	}
	var nackFn func()
	if nackCh != nil {
		nackFn = func() {
			select {
			case nackCh <- struct{}{}:
			default:
			}
		}
	}
	m.addAckHandler(seq, ackFn, nackFn, timeout, func() {
		select {
		case ackCh <- ackMessage{Timestamp: time.Now()}:
		default:
		}
	})
}

// addAckHandler registers ackFn and nackFn for seq for timeout, after which
// the handler is removed and expired (when non-nil) is called.
func (m *Memberlist) addAckHandler(seq uint32, ackFn func([]byte, time.Time), nackFn func(), timeout time.Duration, expired func()) {
	h := &ackHandler{ackFn: ackFn, nackFn: nackFn}
	m.ackMu.Lock()
	defer m.ackMu.Unlock()
	m.ackHandlers[seq] = h
	h.timer = time.AfterFunc(timeout, func() {
		m.ackMu.Lock()
		if m.ackHandlers[seq] == h {
			delete(m.ackHandlers, seq)
		}
		m.ackMu.Unlock()
		if expired != nil {
			expired()
		}
	})
}

// invokeAckHandler completes the ping with ack's sequence number.
func (m *Memberlist) invokeAckHandler(ack *ackResp, ts time.Time) {
	m.ackMu.Lock()
	h, ok := m.ackHandlers[ack.SeqNo]
	if ok {
		delete(m.ackHandlers, ack.SeqNo)
		h.timer.Stop()
	}
	m.ackMu.Unlock()
	if ok {
		h.ackFn(ack.Payload, ts)
	}
}

// invokeNackHandler counts a nack; the handler stays for a later ack.
func (m *Memberlist) invokeNackHandler(nack *nackResp) {
	m.ackMu.Lock()
	h, ok := m.ackHandlers[nack.SeqNo]
	m.ackMu.Unlock()
	if ok && h.nackFn != nil {
		h.nackFn()
	}
}

// failedRemote reports whether err shows that the remote side, not the
// local node, failed: a TCP dial, read or write error, or a UDP write error.
func failedRemote(err error) bool {
	var oe *net.OpError
	if !errors.As(err, &oe) {
		return false
	}
	switch {
	case strings.HasPrefix(oe.Net, "tcp"):
		return oe.Op == "dial" || oe.Op == "read" || oe.Op == "write"
	case strings.HasPrefix(oe.Net, "udp"):
		return oe.Op == "write"
	}
	return false
}
