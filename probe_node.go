package memberlist

import (
	"log/slog"
	"net"
	"time"
)

// probeNode runs one SWIM probe of node (SWIM §4, Lifeguard §IV-A): a direct
// ping, then indirect pings through random peers and a TCP ping in parallel,
// and finally a suspicion when nothing answered. The outcome adjusts the
// local health score.
func (m *Memberlist) probeNode(node *nodeState) {
	defer m.metrics.MeasureSinceWithLabels(keyProbeNode, time.Now(), m.labels.base)
	interval := m.awareness.ScaleTimeout(m.config.ProbeInterval)
	if interval > m.config.ProbeInterval {
		m.metrics.IncrCounterWithLabels(keyDegradedProbe, 1, m.labels.base)
	}
	p := ping{
		SeqNo:      m.nextSeqNo(),
		Node:       node.Name,
		SourceAddr: m.advertiseAddr,
		SourcePort: m.advertisePort,
		SourceNode: m.config.Name,
	}
	ackCh := make(chan ackMessage, m.config.IndirectChecks+1)
	nackCh := make(chan struct{}, m.config.IndirectChecks+1)
	m.setProbeChannels(p.SeqNo, ackCh, nackCh, interval)
	sent := time.Now()
	deadline := sent.Add(interval)
	delta := 0
	defer func() { m.applyAwareness(delta) }()

	remoteFailed, err := m.sendProbePing(node, &p)
	if err != nil {
		m.logger.Error("Failed to send UDP ping", logNode(node.Name), logErr(err))
		return
	}
	if !remoteFailed {
		delta = -1
		if m.waitDirectAck(node, ackCh, sent) {
			return
		}
	}
	expectedNacks := m.sendIndirectPings(node, p.SeqNo)
	fallback := m.startTCPPing(node, &p, deadline)
	select {
	case v := <-ackCh:
		if v.Complete {
			return
		}
	case <-m.shutdownCh:
		return
	}
	if contacted := <-fallback; contacted {
		m.logger.Warn("Was able to connect over TCP but UDP probes failed, network may be misconfigured", logNode(node.Name))
		return
	}
	delta = probeFailureDelta(expectedNacks, len(nackCh))
	m.logger.Info("Suspect has failed, no acks received", logNode(node.Name), slog.Uint64(logKeyInc, uint64(node.Incarnation)))
	s := suspect{Incarnation: node.Incarnation, Node: node.Name, From: m.config.Name}
	m.suspectNode(&s)
}

// probeFailureDelta is the health-score change after a failed probe
// (Lifeguard §IV-A): one per missing nack, or one when no nacks were asked.
func probeFailureDelta(expectedNacks, nacks int) int {
	if expectedNacks == 0 {
		return 1
	}
	return max(expectedNacks-nacks, 0)
}

// sendProbePing sends the direct ping. A suspect node also gets the
// suspicion, so it can refute it at once. remoteFailed reports a send error
// blamed on the remote side; other send errors are returned.
func (m *Memberlist) sendProbePing(node *nodeState, p *ping) (remoteFailed bool, err error) {
	addr := node.FullAddress()
	if node.State == StateAlive {
		err = m.encodeAndSendMsg(addr, pingMsg, p)
	} else {
		s := suspect{Incarnation: node.Incarnation, Node: node.Name, From: m.config.Name}
		msg := makeCompoundMessage([][]byte{encodeMessage(pingMsg, p), encodeMessage(suspectMsg, &s)})
		err = m.rawSendMsgPacket(addr, &node.Node, msg)
	}
	if err != nil && failedRemote(err) {
		return true, nil
	}
	return false, err
}

// waitDirectAck waits ProbeTimeout for the direct ack and reports whether it
// came.
func (m *Memberlist) waitDirectAck(node *nodeState, ackCh chan ackMessage, sent time.Time) bool {
	t := time.NewTimer(m.config.ProbeTimeout)
	defer t.Stop()
	select {
	case v := <-ackCh:
		if v.Complete {
			if m.config.Ping != nil {
				n := node.node()
				m.goroutines.callback(func() { m.config.Ping.NotifyPingComplete(&n, v.Timestamp.Sub(sent), v.Payload) })
			}
			return true
		}
		ackCh <- v // the expiry marker, for the indirect phase
	case <-t.C:
		m.logger.Debug("Failed UDP ping (timeout reached)", logNode(node.Name))
	case <-m.shutdownCh:
		return true
	}
	return false
}

// sendIndirectPings asks up to IndirectChecks alive peers to ping node and
// returns how many nacks to expect.
func (m *Memberlist) sendIndirectPings(node *nodeState, seq uint32) int {
	peers := m.randomNodes(m.config.IndirectChecks, func(st *nodeState) bool {
		return st.Name == m.config.Name || st.Name == node.Name || st.State != StateAlive
	})
	expected := 0
	for i := range peers {
		peer := &peers[i]
		ind := indirectPingReq{
			SeqNo:      seq,
			Target:     node.Addr,
			Port:       node.Port,
			Node:       node.Name,
			Nack:       peer.PMax >= 4,
			SourceAddr: m.advertiseAddr,
			SourcePort: m.advertisePort,
			SourceNode: m.config.Name,
		}
		if ind.Nack {
			expected++
		}
		if err := m.encodeAndSendMsg(peer.FullAddress(), indirectPingMsg, &ind); err != nil {
			m.logger.Error("Failed to send indirect UDP ping", logNode(peer.Name), slog.String("target", node.Name), logErr(err))
		}
	}
	return expected
}

// startTCPPing starts the TCP fallback ping when node supports it and it
// is enabled. The channel yields whether node was reached.
func (m *Memberlist) startTCPPing(node *nodeState, p *ping, deadline time.Time) <-chan bool {
	ch := make(chan bool, 1)
	disabled := m.config.DisableTcpPings || node.PMax < 3
	if f := m.config.DisableTcpPingsForNode; f != nil && !disabled {
		m.goroutines.callback(func() { disabled = f(node.Name) })
	}
	if disabled {
		ch <- false
		return ch
	}
	addr := node.FullAddress()
	started := m.goroutines.Go(func() {
		ok, err := m.sendPingAndWaitForAck(addr, p, deadline)
		if err != nil {
			m.logger.Error("Failed fallback TCP ping", logNode(node.Name), logErr(err))
		}
		ch <- ok
	})
	if !started {
		ch <- false
	}
	return ch
}

// Ping sends a ping to node at addr and returns the round-trip time, or
// NoPingResponseError when no ack comes within ProbeTimeout.
func (m *Memberlist) Ping(node string, addr net.Addr) (time.Duration, error) {
	if !m.goroutines.enter() {
		return 0, ErrShutdown
	}
	defer m.goroutines.leave()
	p := ping{
		SeqNo:      m.nextSeqNo(),
		Node:       node,
		SourceAddr: m.advertiseAddr,
		SourcePort: m.advertisePort,
		SourceNode: m.config.Name,
	}
	ackCh := make(chan ackMessage, m.config.IndirectChecks+1)
	m.setProbeChannels(p.SeqNo, ackCh, nil, m.config.ProbeInterval)
	a := Address{Addr: addr.String(), Name: node}
	if err := m.encodeAndSendMsg(a, pingMsg, &p); err != nil {
		return 0, err
	}
	sent := time.Now()
	t := time.NewTimer(m.config.ProbeTimeout)
	defer t.Stop()
	select {
	case v := <-ackCh:
		if v.Complete {
			return v.Timestamp.Sub(sent), nil
		}
	case <-t.C:
	case <-m.shutdownCh:
	}
	m.logger.Debug("Failed UDP ping (timeout reached)", logNode(node))
	return 0, NoPingResponseError{node: node}
}
