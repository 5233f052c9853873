package memberlist

import (
	"bytes"
	"log/slog"
	"math/rand/v2"
	"net"
	"sync/atomic"
	"time"
)

// table is the node table as a state machine, in the manner of
// etcd-io/raft's Step: apply takes one message about a node (an alive,
// suspect or dead, or the expiry of a suspicion timer) and the current
// time, changes the table, and returns what must happen because of it as
// effects. It takes no lock, reads no clock, arms no timer, logs nothing
// and calls no user code; the Memberlist that embeds it holds Memberlist.mu
// around every call and carries the effects out (step.go).
//
// The zero value is not usable: newTable makes one.
type table struct {
	conf        *Config // read only
	nodes       []*nodeState
	nodeMap     map[string]*nodeState
	probeIndex  int
	suspicions  map[string]*suspicionRecord
	graves      graveyard
	order       *rand.Rand     // probe-order positions and shuffles
	inc         *atomic.Uint32 // the local incarnation, also raised by UpdateNode
	numNodes    *atomic.Int64  // the estimated cluster size, read without the lock
	leaving     *atomic.Bool
	leaveNotify chan struct{} // closed when the leave broadcast is done
}

func newTable(conf *Config, seed uint64, inc *atomic.Uint32, numNodes *atomic.Int64, leaving *atomic.Bool) table {
	return table{
		conf:        conf,
		nodeMap:     make(map[string]*nodeState),
		suspicions:  make(map[string]*suspicionRecord),
		order:       rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		inc:         inc,
		numNodes:    numNodes,
		leaving:     leaving,
		leaveNotify: make(chan struct{}),
	}
}

// aliveInput is an alive message for the table. notify, when non-nil, is
// closed once the resulting broadcast is done; bootstrap is set when the
// local node announces itself (Create, UpdateNode).
type aliveInput struct {
	a         *alive
	notify    chan struct{}
	bootstrap bool
}

// suspicionExpiry is the firing of the suspicion timer armed for name when
// it was marked suspect at token (its StateChange then).
type suspicionExpiry struct {
	name  string
	token time.Time
}

// apply applies in, one of aliveInput, *suspect, *dead or suspicionExpiry,
// at time now, and returns its effects.
func (t *table) apply(in any, now time.Time) effects {
	var e effects
	switch in := in.(type) {
	case aliveInput:
		t.alive(in, now, &e)
	case *suspect:
		t.suspect(in, now, &e)
	case *dead:
		t.dead(in, now, &e)
	case suspicionExpiry:
		t.expire(in, now, &e)
	}
	return e
}

// estNumNodes returns the estimated number of nodes in the cluster.
func (t *table) estNumNodes() int { return int(t.numNodes.Load()) }

// alive applies an alive message (SWIM §4.2; reference §3.3).
func (t *table) alive(in aliveInput, now time.Time, e *effects) {
	a := in.a
	self := a.Node == t.conf.Name
	if self && t.leaving.Load() {
		return // a queued alive must not re-join a node that is leaving
	}
	st, known := t.nodeMap[a.Node]
	if !known || !bytes.Equal(st.Addr, a.Addr) || st.Port != a.Port {
		if err := t.conf.IPAllowed(a.Addr); err != nil {
			e.logLimited(warnRejectedNode, slog.LevelWarn, "Rejected node", logNode(a.Node), logErr(err))
			return
		}
	}
	if !known {
		if a.Incarnation == 0 && !in.bootstrap {
			return // would be ignored; do not leave a placeholder
		}
		st = &nodeState{Node: Node{Name: a.Node, Addr: cloneBytes(a.Addr), Port: a.Port, State: StateDead}}
		st.setVsn(a.Vsn)
		t.exhume(st, self, now)
		t.insert(st)
	}
	action, addrUpdate := decideAlive(st, a, self, in.bootstrap, now, t.conf.DeadNodeReclaimTime)
	switch action {
	case aliveIgnore:
		if !self && !addrUpdate && staleAgainst(st.State, st.Incarnation, a.Incarnation) {
			t.tell(&st.told, a, st.Incarnation, heldState(st), now, e)
		}
		return
	case aliveConflict:
		t.conflict(st, a, e)
		return
	}
	if addrUpdate {
		e.log(slog.LevelInfo, "Updating address for left or failed node", logNode(a.Node),
			slog.String("from", joinHostPort(net.IP(st.Addr).String(), st.Port)),
			slog.String("to", joinHostPort(net.IP(a.Addr).String(), a.Port)))
	}
	t.stopSuspicion(a.Node, e)
	oldState, oldMeta := st.State, st.Meta
	if action == aliveRefute {
		t.refute(st, a.Incarnation, e)
		e.log(slog.LevelWarn, "Refuting an alive message", logNode(a.Node), slog.Uint64(logKeyInc, uint64(a.Incarnation)))
	} else {
		t.update(st, in, now, e)
		if !self && known && (oldState == StateSuspect || oldState == StateDead) {
			st.cameBack = now
		}
	}
	e.count(keyMsgAlive)
	switch {
	case oldState == StateDead || oldState == StateLeft:
		t.event(joinEvent, st, e)
	case !bytes.Equal(oldMeta, st.Meta):
		t.event(updateEvent, st, e)
	}
}

// conflict reports an alive that claims a known name at another address.
func (t *table) conflict(st *nodeState, a *alive, e *effects) {
	e.logLimited(warnConflict, slog.LevelError, "Conflicting address", logNode(a.Node),
		slog.String("mine", joinHostPort(net.IP(st.Addr).String(), st.Port)),
		slog.String("theirs", joinHostPort(net.IP(a.Addr).String(), a.Port)),
		slog.String("state", st.State.String()))
	if t.conf.Conflict != nil {
		other := Node{Name: a.Node, Addr: cloneBytes(a.Addr), Port: a.Port, Meta: cloneBytes(a.Meta)}
		e.events = append(e.events, event{kind: conflictEvent, node: st.node(), other: other})
	}
}

// update stores the alive of in in st and queues it for gossip.
func (t *table) update(st *nodeState, in aliveInput, now time.Time, e *effects) {
	a := in.a
	e.broadcast(a.Node, aliveMsg, a, in.notify)
	st.setVsn(a.Vsn)
	st.Incarnation, st.suspectRaised = a.Incarnation, false
	st.Meta = cloneBytes(a.Meta)
	st.Addr = cloneBytes(a.Addr)
	st.Port = a.Port
	if st.State != StateAlive {
		st.State = StateAlive
		st.StateChange = now
	}
}

// insert adds st at a random position of the probe order.
func (t *table) insert(st *nodeState) {
	t.nodeMap[st.Name] = st
	t.graves.bury(st.Name)
	n := len(t.nodes)
	t.nodes = append(t.nodes, st)
	j := t.order.IntN(n + 1)
	t.nodes[n], t.nodes[j] = t.nodes[j], t.nodes[n]
	t.numNodes.Add(1)
}

// refute answers an accusation about the local node at incarnation accused
// by announcing a higher incarnation (SWIM §4.2), and counts the accusation
// against the local health (Lifeguard §IV-A).
func (t *table) refute(me *nodeState, accused uint32, e *effects) {
	inc := raiseIncarnation(t.inc, accused)
	me.Incarnation = inc
	e.awareness++
	e.broadcast(me.Name, aliveMsg, me.aliveAt(inc), nil)
}

// raiseIncarnation sets the local incarnation c above both its last value
// and above, saturating at math.MaxUint32, and returns it.
func raiseIncarnation(c *atomic.Uint32, above uint32) uint32 {
	for {
		cur := c.Load()
		next := refuteIncarnation(max(cur, above))
		if c.CompareAndSwap(cur, next) {
			return next
		}
	}
}

// suspect applies a suspect message (Lifeguard §IV-B; reference §3.3).
func (t *table) suspect(s *suspect, now time.Time, e *effects) {
	st, ok := t.nodeMap[s.Node]
	if !ok {
		t.forwardUnknown(s.Node, s.Incarnation, StateSuspect, suspectMsg, s, now, e)
		return
	}
	rec, running := t.suspicions[s.Node]
	self := s.Node == t.conf.Name
	switch decideSuspect(st, s.Incarnation, self, running) {
	case suspectIgnore:
		if !self && st.DeadOrLeft() && s.Incarnation <= st.Incarnation {
			t.retell(st, now, e)
		}
		raiseStored(st, s.Incarnation, self, true)
		if self {
			t.reassert(st, s.Incarnation, now, e)
		}
		return
	case suspectConfirm:
		t.confirm(st, rec, s, now, e)
		return
	case suspectRefute:
		t.refute(st, s.Incarnation, e)
		e.log(slog.LevelWarn, "Refuting a suspect message", logNode(s.Node), slog.String("from", s.From), slog.Uint64(logKeyInc, uint64(s.Incarnation)))
		return
	}
	e.broadcast(s.Node, suspectMsg, s, nil)
	e.count(keyMsgSuspect)
	st.Incarnation, st.suspectRaised = s.Incarnation, false
	st.State = StateSuspect
	st.StateChange = now
	t.startSuspicion(st, s, now, e)
}

// confirm counts s as a confirmation of the running suspicion rec of st:
// new information is re-gossiped and shortens the timer, or runs it out.
func (t *table) confirm(st *nodeState, rec *suspicionRecord, s *suspect, now time.Time, e *effects) {
	fresh, remaining := rec.confirm(s.From, now)
	if !fresh {
		return
	}
	e.broadcast(s.Node, suspectMsg, s, nil)
	if remaining > 0 {
		e.timers = append(e.timers, timerOp{name: s.Node, after: remaining, token: st.StateChange})
		return
	}
	t.expire(suspicionExpiry{name: s.Node, token: st.StateChange}, now, e)
}

// startSuspicion starts the suspicion of Lifeguard §IV-B for st, the node
// of s, marked suspect at now: k confirmations are wanted, and the timer
// runs from max down to min as they come. A troubled node's suspicion runs
// the whole max, whatever the confirmations.
func (t *table) startSuspicion(st *nodeState, s *suspect, now time.Time, e *effects) {
	n := t.estNumNodes()
	k := t.conf.SuspicionMult - 2
	if n-2 < k {
		k = 0
	}
	minT := suspicionTimeout(t.conf.SuspicionMult, n, t.conf.ProbeInterval)
	maxT := time.Duration(t.conf.SuspicionMaxTimeoutMult) * minT
	if troubled(st, now, maxT) {
		minT = max(minT, maxT)
		k = max(k, 1)
	}
	rec := newSuspicionRecord(s.From, k, minT, maxT, now)
	t.suspicions[s.Node] = rec
	e.timers = append(e.timers, timerOp{name: s.Node, after: rec.timeout(), token: now})
}

// troubleMemory is how long, in multiples of the longest suspicion
// timeout, a node that came back from suspect or dead counts as troubled.
const troubleMemory = 4

// troubled reports whether st came back from suspect or dead less than
// troubleMemory longest suspicion timeouts (maxT) before now. Such a node
// answers, but late or only sometimes: it is losing packets or flapping.
// Its next suspicion runs the whole maxT, so that it settles as a member
// that refutes rather than flipping between dead and alive, and a real
// failure of it is still declared, maxT after it is first suspected.
func troubled(st *nodeState, now time.Time, maxT time.Duration) bool {
	return !st.cameBack.IsZero() && now.Sub(st.cameBack) < troubleMemory*maxT
}

// stopSuspicion drops the suspicion of name, if any, and its timer.
func (t *table) stopSuspicion(name string, e *effects) {
	if _, ok := t.suspicions[name]; ok {
		delete(t.suspicions, name)
		e.timers = append(e.timers, timerOp{name: name, stop: true})
	}
}

// expire declares a node dead when it is still the suspect whose timer ran
// out (its StateChange is the timer's token).
func (t *table) expire(x suspicionExpiry, now time.Time, e *effects) {
	st, ok := t.nodeMap[x.name]
	if !ok || st.State != StateSuspect || !st.StateChange.Equal(x.token) {
		return
	}
	confirmations, k := 0, 0
	rec := t.suspicions[x.name]
	if rec != nil {
		confirmations, k = rec.n, rec.k
	}
	if k > 0 && confirmations == 0 && !rec.renewed {
		t.renew(st, rec, now, e)
		return
	}
	if k > 0 && confirmations < k {
		e.count(keyDegradedTimeout)
	}
	e.log(slog.LevelInfo, "Marking as failed, suspect timeout reached", logNode(x.name), slog.Int("confirmations", confirmations))
	t.dead(&dead{Incarnation: st.Incarnation, Node: x.name, From: t.conf.Name}, now, e)
}

// renew restarts, at now, a suspicion of st whose timer ran out before any
// other node confirmed it: one accuser is not enough to declare a node
// dead when confirmations are possible (k > 0). A node that cannot hear
// its peers suspects every one of them and can confirm nothing, and a
// suspicion that reached nobody, not even the accused, cannot be refuted;
// either way the accused is most likely alive. The suspicion is gossiped
// again and runs its longest timeout once more; it ends sooner when the
// node refutes it or another node confirms it. It is renewed once: the
// other nodes may all have declared the node dead already, and a peer
// that does not gossip a death again when it hears a suspicion of a dead
// node (hashicorp/memberlist) would leave it renewed for ever. A node
// declared dead after the renewal by a lone accuser whose refutation the
// others have heard stays alive for them: the dead is older than it.
func (t *table) renew(st *nodeState, rec *suspicionRecord, now time.Time, e *effects) {
	rec.start, rec.renewed = now, true
	e.count(keySuspicionRenewed)
	e.broadcast(st.Name, suspectMsg, &suspect{Incarnation: st.Incarnation, Node: st.Name, From: t.conf.Name}, nil)
	e.timers = append(e.timers, timerOp{name: st.Name, after: rec.max, token: st.StateChange})
}

// dead applies a dead message; one from the node itself means it left
// (reference §3.3).
func (t *table) dead(d *dead, now time.Time, e *effects) {
	st, ok := t.nodeMap[d.Node]
	if !ok {
		state := StateDead
		if d.Node == d.From {
			state = StateLeft
		}
		t.forwardUnknown(d.Node, d.Incarnation, state, deadMsg, d, now, e)
		return
	}
	self := d.Node == t.conf.Name
	if d.Incarnation < st.Incarnation {
		if self {
			t.reassert(st, d.Incarnation, now, e)
		}
		return
	}
	t.stopSuspicion(d.Node, e)
	switch decideDead(st, d.Incarnation, self, t.leaving.Load()) {
	case deadIgnore:
		raiseStored(st, d.Incarnation, self, false)
		return
	case deadRefute:
		t.refute(st, d.Incarnation, e)
		e.log(slog.LevelWarn, "Refuting a dead message", logNode(d.Node), slog.String("from", d.From), slog.Uint64(logKeyInc, uint64(d.Incarnation)))
		return
	}
	var notify chan struct{}
	if self {
		notify = t.leaveNotify
	}
	e.broadcast(d.Node, deadMsg, d, notify)
	e.count(keyMsgDead)
	st.Incarnation, st.suspectRaised = d.Incarnation, false
	st.State = StateDead
	if d.Node == d.From {
		st.State = StateLeft
	}
	st.StateChange = now
	t.event(leaveEvent, st, e)
}

// event records a delegate call about st, when a delegate wants it.
func (t *table) event(kind eventKind, st *nodeState, e *effects) {
	if t.conf.Events == nil {
		return
	}
	e.events = append(e.events, event{kind: kind, node: st.node()})
}

// nextProbeTarget advances the probe index past the local node and dead or
// left nodes (SWIM §4.3, round robin over a shuffled order), reaping and
// reshuffling the table at each wrap-around, and returns a copy of the next
// node to probe, and the entries reaped on the way.
func (t *table) nextProbeTarget(now time.Time) (target nodeState, ok bool, reaped []*nodeState) {
	for checked := 0; checked < len(t.nodes); {
		if t.probeIndex >= len(t.nodes) {
			reaped = append(reaped, t.reap(now)...)
			t.probeIndex = 0
			checked++
			continue
		}
		st := t.nodes[t.probeIndex]
		t.probeIndex++
		if st.Name == t.conf.Name || st.DeadOrLeft() {
			checked++
			continue
		}
		cp := *st
		cp.Node = st.node()
		return cp, true, reaped
	}
	return nodeState{}, false, reaped
}

// reap drops dead and left nodes older than GossipToTheDeadTime, leaving a
// grave for each, shuffles the probe order, and returns the dropped nodes.
func (t *table) reap(now time.Time) (reaped []*nodeState) {
	lifetime, limit := t.graveLifetime(), graveLimit(len(t.nodes))
	t.graves.expire(now, lifetime)
	kept := t.nodes[:0]
	for _, st := range t.nodes {
		if st.DeadOrLeft() && now.Sub(st.StateChange) > t.conf.GossipToTheDeadTime {
			delete(t.nodeMap, st.Name)
			t.graves.dig(st.Name, st.Incarnation, st.State, now, limit).bySuspect = st.suspectRaised
			reaped = append(reaped, st)
			continue
		}
		kept = append(kept, st)
	}
	clear(t.nodes[len(kept):])
	t.nodes = kept
	t.numNodes.Store(int64(len(kept)))
	t.order.Shuffle(len(kept), func(i, j int) { kept[i], kept[j] = kept[j], kept[i] })
	return reaped
}
