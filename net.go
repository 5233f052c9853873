package memberlist

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"
)

// maxNestingDepth bounds compound and compress wrappers inside one packet.
// Senders nest at most a compound inside a compress wrapper.
const maxNestingDepth = 4

// encryptionVersion returns the encryption version used when sending: 0
// for protocol version 1, 1 otherwise.
func (m *Memberlist) encryptionVersion() encryptionVersion {
	if m.config.ProtocolVersion < 2 {
		return 0
	}
	return 1
}

// packetListen reads packets from the transport until shutdown.
func (m *Memberlist) packetListen() {
	ch := m.transport.PacketCh()
	var scratch []msgHandoff // reused: handoff copies the messages
	for {
		select {
		case p := <-ch:
			scratch = m.ingest(p.Buf, p.From, p.Timestamp, scratch[:0])
		case <-m.shutdownCh:
			return
		}
	}
}

// ingestPacket unwraps a received packet (label, encryption, CRC) and
// handles the message inside.
func (m *Memberlist) ingestPacket(buf []byte, from net.Addr, ts time.Time) {
	m.ingest(buf, from, ts, nil)
}

// ingest is ingestPacket collecting the packet's gossip into scratch, which
// it returns for reuse.
func (m *Memberlist) ingest(buf []byte, from net.Addr, ts time.Time, scratch []msgHandoff) []msgHandoff {
	buf, ok := m.unwrapPacket(buf, from)
	if !ok {
		return scratch
	}
	in := inbound{from: from, ts: ts, gossip: scratch}
	m.handleCommand(buf, &in, 0)
	m.handoffMessages(in.gossip)
	return in.gossip
}

// unwrapPacket removes the label, encryption and CRC layers of a packet and
// reports whether it is acceptable.
func (m *Memberlist) unwrapPacket(buf []byte, from net.Addr) ([]byte, bool) {
	buf, label, err := RemoveLabelHeaderFromPacket(buf)
	if err != nil {
		m.countDrop(keyUDPDecodeFailed, 1)
		m.logger.Debug("Failed to remove label header from packet", logAddr(from), logErr(err))
		return nil, false
	}
	if !m.inboundLabelOK(label, from, "packet") {
		return nil, false
	}
	if m.config.EncryptionEnabled() {
		plain, err := m.config.Keyring.decryptPayload(buf, []byte(m.config.Label))
		switch {
		case err == nil:
			buf = plain
		case m.config.GossipVerifyIncoming:
			m.countDrop(keyUDPDecryptFailed, 1)
			m.logger.Debug("Decrypt packet failed", logAddr(from), logErr(err))
			return nil, false
		}
	}
	payload, _, err := crcUnframePacket(buf)
	if err != nil {
		m.countDrop(keyCRCInvalid, 1)
		m.logger.Debug("Got invalid checksum for UDP packet", logAddr(from), logErr(err))
		return nil, false
	}
	return payload, true
}

// inbound is one received packet while it is dispatched.
type inbound struct {
	from net.Addr
	ts   time.Time
	// gossip collects the packet's gossip messages, handed off together
	// so the handler sees a compound's parts in one step.
	gossip []msgHandoff
}

// inboundLabelOK reports whether the label of inbound traffic is ours.
func (m *Memberlist) inboundLabelOK(label string, from net.Addr, kind string) bool {
	if m.config.SkipInboundLabelCheck {
		if label != "" {
			m.countDrop(keyLabelMismatch, 1)
			level, attrs := m.refusedLevel(kind, logAddr(from))
			m.logger.LogAttrs(context.Background(), level, "unexpected double "+kind+" label header", attrs...)
			return false
		}
		return true
	}
	if label != m.config.Label {
		m.countDrop(keyLabelMismatch, 1)
		level, attrs := m.refusedLevel(kind, logAddr(from), slog.String("label", label), slog.String("want", m.config.Label))
		m.logger.LogAttrs(context.Background(), level, "discarding "+kind+" with unacceptable label", attrs...)
		return false
	}
	return true
}

// handleCommand dispatches one message by its type byte.
func (m *Memberlist) handleCommand(buf []byte, in *inbound, depth int) {
	from := in.from
	if len(buf) < 1 {
		m.countDrop(keyUDPDecodeFailed, 1)
		m.logger.Debug("missing message type byte", logAddr(from))
		return
	}
	t, body := messageType(buf[0]), buf[1:]
	switch t {
	case compoundMsg:
		m.handleCompound(body, in, depth)
	case compressMsg:
		m.handleCompressed(body, in, depth)
	case pingMsg:
		m.handlePing(body, from)
	case indirectPingMsg:
		m.handleIndirectPing(body, from)
	case ackRespMsg:
		m.handleAck(body, from, in.ts)
	case nackRespMsg:
		m.handleNack(body, from)
	case suspectMsg, aliveMsg, deadMsg, userMsg:
		if t != aliveMsg || m.aliveSourceAllowed(from) {
			in.gossip = append(in.gossip, msgHandoff{t: t, body: body, from: from})
		}
	default:
		m.countDrop(keyUDPDecodeFailed, 1)
		m.logger.Debug("msg type not supported", slog.Int(logKeyType, int(t)), logAddr(from))
	}
}

func (m *Memberlist) handleCompound(body []byte, in *inbound, depth int) {
	from := in.from
	if depth >= maxNestingDepth {
		m.countDrop(keyUDPDecodeFailed, 1)
		m.logger.Debug("compound message nested too deeply", logAddr(from))
		return
	}
	trunc, parts, err := decodeCompoundMessage(body)
	if err != nil {
		m.countDrop(keyUDPDecodeFailed, 1)
		m.logger.Debug("Failed to decode compound request", logAddr(from), logErr(err))
		return
	}
	if trunc > 0 {
		m.countDrop(keyUDPDecodeFailed, trunc)
		m.logger.Debug("Compound request had truncated messages", slog.Int("truncated", trunc), logAddr(from))
	}
	for _, part := range parts {
		m.handleCommand(part, in, depth+1)
	}
}

func (m *Memberlist) handleCompressed(body []byte, in *inbound, depth int) {
	from := in.from
	if depth >= maxNestingDepth {
		m.countDrop(keyUDPDecodeFailed, 1)
		m.logger.Debug("compressed message nested too deeply", logAddr(from))
		return
	}
	payload, err := m.decompressMessage(body)
	if err != nil {
		m.countDrop(keyUDPDecodeFailed, 1)
		m.logger.Debug("Failed to decompress payload", logAddr(from), logErr(err))
		return
	}
	m.handleCommand(payload, in, depth+1)
}

// decompressMessage decodes a compress wrapper body and returns the
// decompressed message.
func (m *Memberlist) decompressMessage(body []byte) ([]byte, error) {
	var c compress
	if err := decodeMessage(body, &c); err != nil {
		return nil, err
	}
	if c.Algo != lzwAlgo {
		return nil, fmt.Errorf("cannot decompress unknown algorithm %d", c.Algo)
	}
	return m.lzw.decompress(c.Buf, maxDecompressedBytes)
}

// compressMessage wraps msg in a compress wrapper.
func (m *Memberlist) compressMessage(msg []byte) ([]byte, error) {
	buf, err := m.lzw.compress(msg)
	if err != nil {
		return nil, err
	}
	return encodeMessage(compressMsg, &compress{Algo: lzwAlgo, Buf: buf}), nil
}

// replyAddress is where to answer a ping: the source it names, or the
// packet's sender.
func replyAddress(addr []byte, port uint16, node string, from net.Addr) Address {
	if len(addr) > 0 && port > 0 {
		return Address{Addr: joinHostPort(net.IP(addr).String(), port), Name: node}
	}
	return Address{Addr: from.String(), Name: node}
}

func (m *Memberlist) handlePing(body []byte, from net.Addr) {
	var p ping
	if err := decodeMessage(body, &p); err != nil {
		m.countDrop(keyUDPDecodeFailed, 1)
		m.logger.Debug("Failed to decode ping request", logAddr(from), logErr(err))
		return
	}
	if p.Node != "" && p.Node != m.config.Name {
		m.logger.Debug("Got ping for unexpected node", logNode(p.Node), logAddr(from))
		return
	}
	ack := ackResp{SeqNo: p.SeqNo}
	if m.config.Ping != nil {
		m.goroutines.callback(func() { ack.Payload = m.config.Ping.AckPayload() })
	}
	to := replyAddress(p.SourceAddr, p.SourcePort, p.SourceNode, from)
	if err := m.encodeAndSendMsg(to, ackRespMsg, &ack); err != nil {
		m.countDrop(keyUDPReplyFailed, 1)
		m.logger.Debug("Failed to send ack", logAddr(from), logErr(err))
	}
}

// handleIndirectPing probes a target for a peer and relays the ack, or a
// nack when the target does not answer in time (Lifeguard §IV-A).
func (m *Memberlist) handleIndirectPing(body []byte, from net.Addr) {
	var ind indirectPingReq
	if err := decodeMessage(body, &ind); err != nil {
		m.countDrop(keyUDPDecodeFailed, 1)
		m.logger.Debug("Failed to decode indirect ping request", logAddr(from), logErr(err))
		return
	}
	if m.config.ProtocolVersion < 2 || ind.Port == 0 {
		ind.Port = uint16(m.config.BindPort)
	}
	requester := replyAddress(ind.SourceAddr, ind.SourcePort, ind.SourceNode, from)
	p := ping{
		SeqNo:      m.nextSeqNo(),
		Node:       ind.Node,
		SourceAddr: m.advertiseAddr,
		SourcePort: m.advertisePort,
		SourceNode: m.config.Name,
	}
	answered := make(chan struct{})
	var once sync.Once
	ackFn := func([]byte, time.Time) {
		once.Do(func() { close(answered) })
		ack := ackResp{SeqNo: ind.SeqNo}
		if err := m.encodeAndSendMsg(requester, ackRespMsg, &ack); err != nil {
			m.countDrop(keyUDPReplyFailed, 1)
			m.logger.Debug("Failed to forward ack", logAddr(from), logErr(err))
		}
	}
	m.addAckHandler(p.SeqNo, ackFn, nil, m.config.ProbeTimeout, nil)
	target := Address{Addr: joinHostPort(net.IP(ind.Target).String(), ind.Port), Name: ind.Node}
	if err := m.encodeAndSendMsg(target, pingMsg, &p); err != nil {
		m.countDrop(keyUDPReplyFailed, 1)
		m.logger.Debug("Failed to send indirect ping", logNode(ind.Node), logAddr(from), logErr(err))
	}
	if ind.Nack {
		m.goroutines.Go(func() { m.nackAfterTimeout(answered, requester, ind.SeqNo) })
	}
}

// nackAfterTimeout sends a nack to requester unless answered closes first.
func (m *Memberlist) nackAfterTimeout(answered chan struct{}, requester Address, seq uint32) {
	t := time.NewTimer(m.config.ProbeTimeout)
	defer t.Stop()
	select {
	case <-answered:
	case <-m.shutdownCh:
	case <-t.C:
		nack := nackResp{SeqNo: seq}
		if err := m.encodeAndSendMsg(requester, nackRespMsg, &nack); err != nil {
			m.countDrop(keyUDPReplyFailed, 1)
			m.logger.Debug("Failed to send nack", slog.String(logKeyAddr, requester.Addr), logErr(err))
		}
	}
}

func (m *Memberlist) handleAck(body []byte, from net.Addr, ts time.Time) {
	var ack ackResp
	if err := decodeMessage(body, &ack); err != nil {
		m.countDrop(keyUDPDecodeFailed, 1)
		m.logger.Debug("Failed to decode ack response", logAddr(from), logErr(err))
		return
	}
	ack.Payload = cloneBytes(ack.Payload)
	m.invokeAckHandler(&ack, ts)
}

func (m *Memberlist) handleNack(body []byte, from net.Addr) {
	var nack nackResp
	if err := decodeMessage(body, &nack); err != nil {
		m.countDrop(keyUDPDecodeFailed, 1)
		m.logger.Debug("Failed to decode nack response", logAddr(from), logErr(err))
		return
	}
	m.invokeNackHandler(&nack)
}

// encodeAndSendMsg encodes msg and sends it with piggybacked broadcasts.
func (m *Memberlist) encodeAndSendMsg(a Address, t messageType, msg wireMessage) error {
	return m.sendMsg(a, encodeMessage(t, msg))
}

// sendMsg sends msg to a, filling the rest of the packet with queued
// broadcasts (SWIM §4.1 piggybacking).
func (m *Memberlist) sendMsg(a Address, msg []byte) error {
	avail := m.packetBudget(m.config.GossipVerifyOutgoing) - len(msg)
	id := m.writes.begin()
	defer m.writes.end(id)
	extra := m.getBroadcasts(compoundOverhead, avail)
	if len(extra) == 0 {
		return m.rawSendMsgPacket(a, nil, msg)
	}
	msgs := make([][]byte, 0, len(extra)+1)
	msgs = append(msgs, msg)
	msgs = append(msgs, extra...)
	var errs []error
	for _, compound := range makeCompoundMessages(msgs) {
		errs = append(errs, m.rawSendMsgPacket(a, nil, compound))
	}
	return errors.Join(errs...)
}

// errNodeNameRequired is returned by sends without a node name when
// Config.RequireNodeNames is set.
var errNodeNameRequired = errors.New("memberlist: node names are required by configuration but one was not provided")

// rawSendMsgPacket compresses, checksums and encrypts msg as configured and
// sends it to a. node, when known, decides the checksum; otherwise the node
// is looked up by a's name and then by a's host.
func (m *Memberlist) rawSendMsgPacket(a Address, node *Node, msg []byte) error {
	msg, err := m.encodePacket(a, node, msg)
	if err != nil {
		return err
	}
	return m.writePacket(a, msg)
}

// encodePacket returns msg compressed, checksummed and encrypted as
// configured for a packet to a (see rawSendMsgPacket).
func (m *Memberlist) encodePacket(a Address, node *Node, msg []byte) ([]byte, error) {
	if m.config.RequireNodeNames && a.Name == "" {
		return nil, errNodeNameRequired
	}
	if m.config.EnableCompression {
		if c, err := m.compressMessage(msg); err != nil {
			m.logger.Warn("Failed to compress payload", logErr(err))
		} else if len(c) < len(msg) {
			msg = c
		}
	}
	if m.peerPMax(a, node) >= 5 {
		msg = crcFramePacket(msg)
	}
	if m.config.EncryptionEnabled() && m.config.GossipVerifyOutgoing {
		enc, err := m.config.Keyring.encryptPayload(m.encryptionVersion(), msg, []byte(m.config.Label))
		if err != nil {
			m.logger.Error("Encryption of message failed", logErr(err))
			return nil, err
		}
		msg = enc
	}
	return msg, nil
}

// writePacket sends an encoded packet to a.
func (m *Memberlist) writePacket(a Address, msg []byte) error {
	m.metrics.IncrCounterWithLabels(keyUDPSent, float32(len(msg)), m.labels.base)
	_, err := m.transport.WriteToAddress(msg, a)
	return err
}

// peerPMax returns the highest protocol version of the destination, or 0
// when it is unknown.
func (m *Memberlist) peerPMax(a Address, node *Node) uint8 {
	if node != nil {
		return node.PMax
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if st, ok := m.table.nodeMap[a.Name]; ok && a.Name != "" {
		return st.PMax
	}
	host, _, err := net.SplitHostPort(a.Addr)
	if err != nil {
		return 0
	}
	if st, ok := m.table.nodeMap[host]; ok {
		return st.PMax
	}
	return 0
}

// refusedLevel returns the level and attributes of a log record about a
// packet or stream with another label: per-packet problems are counted in
// metrics and logged at debug, so a misbehaving peer cannot flood the log;
// a refused stream, the sign of a misconfigured member, is a warning at
// most once a minute (warnLevel).
func (m *Memberlist) refusedLevel(kind string, attrs ...slog.Attr) (slog.Level, []slog.Attr) {
	if kind == "packet" {
		return slog.LevelDebug, attrs
	}
	return m.warnLevel(warnStreamLabel, attrs...)
}
