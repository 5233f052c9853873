package memberlist

import (
	"net"
	"time"
)

// accusation is a suspect or dead message sent straight to a node that
// announced an alive older than what the table holds against it, so that
// it hears the accusation and refutes it (upstream #311: during a mass
// restart the stale alive was dropped silently and the restarted node
// stayed dead in that view until a push/pull happened to repair it).
type accusation struct {
	to  Address
	t   messageType
	msg wireMessage
}

// staleAgainst reports whether an alive at incarnation inc is stale against
// a node held in state at incarnation held: the node is suspect, dead or
// left, and the alive is not newer.
func staleAgainst(state NodeStateType, held, inc uint32) bool {
	return state != StateAlive && inc <= held
}

// accusationMsg returns the message that states what the table holds
// against name: a suspect for a suspect, a leave (a dead from the node
// itself) for a node that left, and a dead from us otherwise.
func accusationMsg(name, me string, inc uint32, state NodeStateType) (messageType, wireMessage) {
	switch state {
	case StateSuspect:
		return suspectMsg, &suspect{Incarnation: inc, Node: name, From: me}
	case StateLeft:
		return deadMsg, &dead{Incarnation: inc, Node: name, From: name}
	}
	return deadMsg, &dead{Incarnation: inc, Node: name, From: me}
}

// tellLocked answers a stale alive a about a node held in state at
// incarnation held: it returns the accusation to send to the alive's
// address, and re-gossips a death, at most once per ProbeInterval per node
// (told holds the last time). The caller holds mu.
func (m *Memberlist) tellLocked(told *time.Time, a *alive, held uint32, state NodeStateType) *accusation {
	now := time.Now()
	if !told.IsZero() && now.Sub(*told) < m.config.ProbeInterval {
		return nil
	}
	*told = now
	t, msg := accusationMsg(a.Node, m.config.Name, held, state)
	if t == deadMsg {
		m.encodeBroadcast(a.Node, t, msg)
	}
	to := Address{Addr: joinHostPort(net.IP(a.Addr).String(), a.Port), Name: a.Node}
	return &accusation{to: to, t: t, msg: msg}
}

// exhumeLocked gives st, a new entry for a name not in the table, what its
// grave remembers of a death: the incarnation, dead or left, and the last
// tell. The alive that brought the name is then judged like one about a
// dead node still in the table: a newer one is the node back (restarted,
// or refuting), an older one is ignored and the node is told. The entry
// stays dead meanwhile, so gossip still reaches the address for
// GossipToTheDeadTime and the node's refutation can come back (a node
// rejoining after a partition knows none of the nodes that reaped it).
// A grave left by an accusation about a suspect holds nothing back.
func (m *Memberlist) exhumeLocked(st *nodeState, self bool) {
	if self {
		return
	}
	now := time.Now()
	g := m.graves.find(st.Name, now, m.graveLifetime())
	if g == nil || g.state == StateSuspect {
		return
	}
	st.Incarnation, st.State, st.StateChange, st.told = g.inc, g.state, now, g.told
}

// forwardUnknownLocked passes on a suspect or dead message about a name the
// table does not hold, once per incarnation: the accused may be a node
// that restarted and joined elsewhere, and only gossip can bring it the
// accusation to refute. The grave it leaves stops the same accusation from
// being passed on again, and an older alive from reviving the name.
func (m *Memberlist) forwardUnknownLocked(name string, inc uint32, state NodeStateType, t messageType, msg wireMessage) {
	now := time.Now()
	if g := m.graves.find(name, now, m.graveLifetime()); g != nil && inc <= g.inc {
		return
	}
	m.graves.dig(name, inc, state, now, graveLimit(len(m.nodes)))
	m.encodeBroadcast(name, t, msg)
}

// graveLifetime returns how long graves are kept at the current size.
func (m *Memberlist) graveLifetime() time.Duration {
	return graveLifetime(m.config.PushPullInterval, m.config.GossipToTheDeadTime, m.estNumNodes())
}

// sendAccusation sends acc; it must be called without mu held.
func (m *Memberlist) sendAccusation(acc *accusation) {
	// Without piggybacked gossip: the same accusation is queued for it.
	if err := m.rawSendMsgPacket(acc.to, nil, encodeMessage(acc.t, acc.msg)); err != nil {
		m.logger.Debug("Failed to send an accusation to "+acc.to.Addr+": "+err.Error(), "node", acc.to.Name)
	}
}
