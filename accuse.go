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

// tell answers a stale alive a about a node held in state at incarnation
// held: the accusation goes to the alive's address, and a death is also
// re-gossiped, at most once per ProbeInterval per node (told holds the
// last time).
func (t *table) tell(told *time.Time, a *alive, held uint32, state NodeStateType, now time.Time, e *effects) {
	if !t.due(told, now) {
		return
	}
	mt, msg := accusationMsg(a.Node, t.conf.Name, held, state)
	if mt == deadMsg {
		e.rebroadcast(a.Node, mt, msg)
	}
	to := Address{Addr: joinHostPort(net.IP(a.Addr).String(), a.Port), Name: a.Node}
	e.tells = append(e.tells, accusation{to: to, t: mt, msg: msg})
}

// exhume gives st, a new entry for a name not in the table, what its grave
// remembers of a death: the incarnation, dead or left, and the last tell.
// The alive that brought the name is then judged like one about a dead
// node still in the table: a newer one is the node back (restarted, or
// refuting), an older one is ignored and the node is told. The entry stays
// dead meanwhile, so gossip still reaches the address for
// GossipToTheDeadTime and the node's refutation can come back (a node
// rejoining after a partition knows none of the nodes that reaped it). A
// grave left by an accusation about a suspect holds nothing back.
func (t *table) exhume(st *nodeState, self bool, now time.Time) {
	if self {
		return
	}
	g := t.graves.find(st.Name, now, t.graveLifetime())
	if g == nil || g.state == StateSuspect {
		return
	}
	st.Incarnation, st.State, st.StateChange, st.told = g.inc, g.state, now, g.told
	st.suspectRaised = g.bySuspect
}

// forwardUnknown passes on a suspect or dead message about a name the
// table does not hold, once per incarnation: the accused may be a node
// that restarted and joined elsewhere, and only gossip can bring it the
// accusation to refute. The grave it leaves stops the same accusation from
// being passed on again, and an older alive from reviving the name.
func (t *table) forwardUnknown(name string, inc uint32, state NodeStateType, mt messageType, msg wireMessage, now time.Time, e *effects) {
	if g := t.graves.find(name, now, t.graveLifetime()); g != nil && inc <= g.inc {
		return
	}
	t.graves.dig(name, inc, state, now, graveLimit(len(t.nodes)))
	e.broadcast(name, mt, msg, nil)
}

// graveLifetime returns how long graves are kept at the current size.
func (t *table) graveLifetime() time.Duration {
	return graveLifetime(t.conf.PushPullInterval, t.conf.GossipToTheDeadTime, t.estNumNodes())
}

// reassert answers an accusation at incarnation accused about the local
// node me that its last refutation already outbid: the accuser has not
// heard the refutation, which may never have left a lossy node before its
// retransmissions ran out. The local alive is gossiped again, without a
// new incarnation or a health penalty, at most once per ProbeInterval (me's
// told holds the last time).
func (t *table) reassert(me *nodeState, accused uint32, now time.Time, e *effects) {
	if accused >= me.Incarnation || t.leaving.Load() || !t.due(&me.told, now) {
		return
	}
	e.rebroadcast(me.Name, aliveMsg, me.aliveAt(me.Incarnation))
}

// retell answers a suspect about st, a node held dead or left at the same
// or a newer incarnation: the suspector has not heard of the death, whose
// gossip may have died out before it reached every node, and without
// confirmations its suspicion would only be renewed (table.renew). The
// death or the leave is gossiped again, at most once per ProbeInterval per
// node (st's told holds the last time).
func (t *table) retell(st *nodeState, now time.Time, e *effects) {
	if !t.due(&st.told, now) {
		return
	}
	mt, msg := accusationMsg(st.Name, t.conf.Name, st.Incarnation, st.State)
	e.rebroadcast(st.Name, mt, msg)
}

// due reports whether a message rate-limited to one per ProbeInterval may
// go out at now, last holding when the previous one went; if so it records
// now in last.
func (t *table) due(last *time.Time, now time.Time) bool {
	if !last.IsZero() && now.Sub(*last) < t.conf.ProbeInterval {
		return false
	}
	*last = now
	return true
}
