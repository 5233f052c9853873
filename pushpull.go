package memberlist

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"
)

// pushPullNode runs a push/pull exchange with a: it sends the local state,
// reads the remote state and merges it. It returns the number of nodes in
// the remote state. When ctx is done, the exchange is abandoned: its
// connection is closed and the error matches ctx.Err().
func (m *Memberlist) pushPullNode(ctx context.Context, a Address, join bool) (int, error) {
	defer m.metrics.MeasureSinceWithLabels(keyPushPullNode, time.Now(), m.labels.base)
	conn, err := m.dialStreamContext(ctx, a, m.config.TCPTimeout)
	if err != nil {
		return 0, err
	}
	defer m.conns.remove(conn)
	if ctx.Done() != nil {
		stop := context.AfterFunc(ctx, func() { conn.Close() })
		defer stop()
	}
	n, err := m.exchangeState(conn, a, join)
	if err != nil {
		return 0, tcpDNSContextError(ctx, err)
	}
	return n, nil
}

// exchangeState sends the local state on conn, reads the remote state and
// merges it. It returns the number of nodes in the remote state.
func (m *Memberlist) exchangeState(conn net.Conn, a Address, join bool) (int, error) {
	m.logger.Debug("Initiating push/pull sync", logNode(a.Name), logConnAddr(conn))
	m.metrics.IncrCounterWithLabels(keyTCPConnect, 1, m.labels.base)
	if err := m.sendLocalState(conn, join, m.config.Label); err != nil {
		return 0, err
	}
	conn.SetDeadline(time.Now().Add(m.config.TCPTimeout))
	t, r, err := m.readStream(conn, m.config.Label)
	if err != nil {
		return 0, m.explainStreamError(err)
	}
	switch t {
	case errMsg:
		var e errResp
		if err := newStreamDecoder(r, maxPushStateBytes).decode(&e); err != nil {
			return 0, err
		}
		return 0, remoteError(e.Error)
	case pushPullMsg:
	default:
		return 0, fmt.Errorf("received invalid msgType (%d), expected pushPullMsg (%d) %s", t, pushPullMsg, LogConn(conn))
	}
	_, remote, user, err := m.readRemoteState(r)
	if err != nil {
		return 0, err
	}
	return len(remote), m.mergeRemoteState(join, remote, user)
}

// errNoReply is wrapped into push/pull errors when the remote side closed
// the stream without answering, which is what a node with another label,
// or another encryption setting, does.
var errNoReply = errors.New("remote node closed the stream without replying; it may use a different label or encryption configuration")

func (m *Memberlist) explainStreamError(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: %w", errNoReply, err)
	}
	return err
}

// sendLocalState writes the local node table and the Delegate's state as a
// push/pull message.
func (m *Memberlist) sendLocalState(conn net.Conn, join bool, label string) error {
	conn.SetDeadline(time.Now().Add(m.config.TCPTimeout))
	states, counts := m.snapshotStates()
	for s, n := range counts {
		m.metrics.SetGaugeWithLabels(keyNodeInstances, float32(n), m.labels.nodeState[s])
	}
	var user []byte
	if m.config.Delegate != nil {
		m.goroutines.callback(func() { user = m.config.Delegate.LocalState(join) })
	}
	header := pushPullHeader{Nodes: len(states), UserStateLen: len(user), Join: join}
	buf := make([]byte, 0, 64+len(states)*96+len(user))
	buf = appendMessage(buf, pushPullMsg, &header)
	for i := range states {
		buf = states[i].appendMsgpack(buf)
	}
	buf = append(buf, user...)
	m.metrics.SetGaugeWithLabels(keySizeLocal, sizeLocalGauge(buf), m.labels.base)
	return m.rawSendMsgStream(conn, buf, label)
}

// sizeLocalGauge is the value upstream reports as memberlist.size.local:
// bytes 1 to 4 of the message read as a big-endian number. Dashboards
// compare against it, so it is kept.
func sizeLocalGauge(buf []byte) float32 {
	if len(buf) < 5 {
		return 0
	}
	return float32(binary.BigEndian.Uint32(buf[1:5]))
}

// snapshotStates copies the node table as push/pull entries and counts the
// nodes in each state.
func (m *Memberlist) snapshotStates() ([]pushNodeState, [4]int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var counts [4]int
	states := make([]pushNodeState, len(m.table.nodes))
	vsns := make([]uint8, 0, 6*len(m.table.nodes)) // one allocation for every Vsn
	for i, st := range m.table.nodes {
		vsns = st.appendVsn(vsns)
		states[i] = pushNodeState{
			Name:        st.Name,
			Addr:        st.Addr,
			Port:        st.Port,
			Meta:        st.Meta,
			Incarnation: st.Incarnation,
			State:       st.State,
			Vsn:         vsns[len(vsns)-6 : len(vsns) : len(vsns)],
		}
		if st.State >= StateAlive && st.State <= StateLeft {
			counts[st.State]++
		}
	}
	return states, counts
}

// readRemoteState reads a push/pull body after its type byte.
func (m *Memberlist) readRemoteState(r streamReader) (bool, []pushNodeState, []byte, error) {
	dec := newStreamDecoder(r, maxPushStateBytes)
	var header pushPullHeader
	if err := dec.decode(&header); err != nil {
		return false, nil, nil, err
	}
	if header.Nodes < 0 || header.Nodes > maxPushStateNodes {
		return false, nil, nil, withText(ErrMessageTooLarge, fmt.Sprintf("number of nodes in header (%d) exceeds limit", header.Nodes))
	}
	states := make([]pushNodeState, 0, min(header.Nodes, 1024))
	for i := 0; i < header.Nodes; i++ {
		states = append(states, pushNodeState{})
		s := &states[len(states)-1]
		if err := dec.decode(s); err != nil {
			return false, nil, nil, err
		}
		if s.Port == 0 || m.config.ProtocolVersion < 2 {
			s.Port = uint16(m.config.BindPort)
		}
	}
	if header.UserStateLen < 0 || header.UserStateLen > maxPushStateBytes {
		return false, nil, nil, withText(ErrMessageTooLarge, fmt.Sprintf("user state length (%d) exceeds limit", header.UserStateLen))
	}
	var user []byte
	if header.UserStateLen > 0 {
		buf, err := readFull(r, header.UserStateLen)
		if err != nil {
			return false, nil, nil, fmt.Errorf("failed to read full user state (%d / %d): %w", len(buf), header.UserStateLen, err)
		}
		user = buf
	}
	return header.Join, states, user, nil
}

// mergeRemoteState checks versions, lets the MergeDelegate veto a join, and
// merges the remote node table and user state.
func (m *Memberlist) mergeRemoteState(join bool, remote []pushNodeState, user []byte) error {
	if err := verifyProtocol(m.localVersions(), remoteVersions(remote)); err != nil {
		return err
	}
	if join && m.config.Merge != nil {
		peers := make([]*Node, len(remote))
		for i := range remote {
			r := &remote[i]
			n := &Node{Name: r.Name, Addr: cloneBytes(r.Addr), Port: r.Port, Meta: cloneBytes(r.Meta), State: r.State}
			n.setVsn(r.Vsn)
			peers[i] = n
		}
		var err error
		m.goroutines.callback(func() { err = m.config.Merge.NotifyMerge(peers) })
		if err != nil {
			return err
		}
	}
	m.mergeState(remote)
	if user != nil && m.config.Delegate != nil {
		m.goroutines.callback(func() { m.config.Delegate.MergeRemoteState(user, join) })
	}
	return nil
}

// localVersions returns the versions of the local table's nodes. Every
// entry has all six: alive messages without them are ignored (vsnValid).
func (m *Memberlist) localVersions() []versioned {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]versioned, 0, len(m.table.nodes))
	vsns := make([]uint8, 0, 6*len(m.table.nodes)) // one allocation for every vsn
	for _, st := range m.table.nodes {
		vsns = st.appendVsn(vsns)
		out = append(out, versioned{name: st.Name, state: st.State, vsn: vsns[len(vsns)-6 : len(vsns) : len(vsns)]})
	}
	return out
}

func remoteVersions(remote []pushNodeState) []versioned {
	out := make([]versioned, len(remote))
	for i := range remote {
		out[i] = versioned{name: remote[i].Name, state: remote[i].State, vsn: remote[i].Vsn}
	}
	return out
}

// remoteError returns the error for an errMsg reply whose text is msg:
// "remote error: <msg>", matching ErrLabelMismatch when the peer refused
// our label.
func remoteError(msg string) error {
	if strings.HasPrefix(msg, ErrLabelMismatch.Error()+":") {
		return fmt.Errorf("remote error: %w", withText(ErrLabelMismatch, msg))
	}
	return fmt.Errorf("remote error: %s", msg)
}
