package memberlist

import (
	"bytes"
	"fmt"
	"log/slog"
	"net"
	"time"
)

// aliveAction is what an alive message does to the node table.
type aliveAction uint8

const (
	aliveIgnore   aliveAction = iota // stale or redundant
	aliveConflict                    // the name is in use at another address
	aliveRefute                      // about us and wrong: announce a newer incarnation
	aliveApply                       // update the entry and re-gossip
)

// vsnValid reports whether v announces a usable protocol range: all six
// version bytes, with a non-zero, ordered min and max. Every peer since
// protocol version 1 sends six bytes; an entry stored without them would
// carry zero versions into every later push/pull, where the version check
// (ours and upstream's) refuses the whole merge.
func vsnValid(v []uint8) bool {
	return len(v) >= 6 && v[0] != 0 && v[1] != 0 && v[0] <= v[1]
}

// reclaimable reports whether st's name may move to another address: the
// node has left, or has been dead for longer than reclaim (0 = never).
func reclaimable(st *nodeState, now time.Time, reclaim time.Duration) bool {
	if st.State == StateLeft {
		return true
	}
	return st.State == StateDead && reclaim > 0 && now.Sub(st.StateChange) > reclaim
}

// decideAlive applies the rules of SWIM §4.2 with incarnation numbers to an
// alive message a about the entry st (a fresh Dead entry with incarnation 0
// when the name is unknown). self reports whether a is about the local node
// and bootstrap whether the local node is announcing itself. It also
// reports whether the message moves the node to a new address.
func decideAlive(st *nodeState, a *alive, self, bootstrap bool, now time.Time, reclaim time.Duration) (action aliveAction, addrUpdate bool) {
	if !bytes.Equal(st.Addr, a.Addr) || st.Port != a.Port {
		if !reclaimable(st, now, reclaim) {
			return aliveConflict, false
		}
		addrUpdate = true
	}
	switch {
	case !self && !addrUpdate && a.Incarnation <= st.Incarnation:
		return aliveIgnore, addrUpdate
	case self && a.Incarnation < st.Incarnation:
		return aliveIgnore, addrUpdate
	case self && !bootstrap:
		if a.Incarnation == st.Incarnation && bytes.Equal(a.Meta, st.Meta) && vsnEqual(a.Vsn, st.vsn()) {
			return aliveIgnore, addrUpdate
		}
		return aliveRefute, addrUpdate
	}
	return aliveApply, addrUpdate
}

func vsnEqual(a, b []uint8) bool {
	if len(a) < 6 || len(b) < 6 {
		return false
	}
	return bytes.Equal(a[:6], b[:6])
}

// suspectAction is what a suspect message does to the node table.
type suspectAction uint8

const (
	suspectIgnore  suspectAction = iota
	suspectConfirm               // a suspicion is running: count a confirmation
	suspectRefute                // about us: announce a newer incarnation
	suspectApply                 // mark the node suspect and start the timer
)

// decideSuspect applies the suspicion rules of Lifeguard §IV-B to a suspect
// message with incarnation inc about st. running reports whether a
// suspicion timer exists for the node.
func decideSuspect(st *nodeState, inc uint32, self, running bool) suspectAction {
	switch {
	case inc < st.Incarnation:
		return suspectIgnore
	case running:
		return suspectConfirm
	case st.State != StateAlive:
		return suspectIgnore
	case self:
		return suspectRefute
	}
	return suspectApply
}

// deadAction is what a dead message does to the node table.
type deadAction uint8

const (
	deadIgnore deadAction = iota
	deadRefute            // about us while not leaving
	deadApply             // mark the node dead, or left when it said so itself
)

// decideDead applies the dead rules to a dead message with incarnation inc
// about st. leaving reports whether the local node is leaving.
func decideDead(st *nodeState, inc uint32, self, leaving bool) deadAction {
	switch {
	case inc < st.Incarnation:
		return deadIgnore
	case st.DeadOrLeft():
		return deadIgnore
	case self && !leaving:
		return deadRefute
	}
	return deadApply
}

// remoteAction is the message a push/pull entry is merged as.
type remoteAction uint8

const (
	remoteSkip    remoteAction = iota
	remoteAlive                // process as an alive message
	remoteLeft                 // process as a dead message from the node itself
	remoteSuspect              // a remote dead or suspect only makes us suspect
)

// mergeAction maps the state in a push/pull entry to the message merged.
func mergeAction(s NodeStateType) remoteAction {
	switch s {
	case StateAlive:
		return remoteAlive
	case StateLeft:
		return remoteLeft
	case StateDead, StateSuspect:
		return remoteSuspect
	}
	return remoteSkip
}

// versionRange is the intersection of the protocol and delegate version
// ranges of a set of nodes.
type versionRange struct {
	pmin, pmax, dmin, dmax uint8
}

func newVersionRange() versionRange {
	return versionRange{pmin: 0, pmax: 255, dmin: 0, dmax: 255}
}

// add narrows r by the ranges in v, which must hold at least five bytes.
func (r *versionRange) add(v []uint8) {
	r.pmin = max(r.pmin, v[0])
	r.pmax = min(r.pmax, v[1])
	r.dmin = max(r.dmin, v[3])
	r.dmax = min(r.dmax, v[4])
}

// check returns an error when the current versions in v (0 when v is
// shorter than six bytes) fall outside r.
func (r *versionRange) check(name string, v []uint8) error {
	var pcur, dcur uint8
	if len(v) >= 6 {
		pcur, dcur = v[2], v[5]
	}
	if pcur < r.pmin || pcur > r.pmax {
		return fmt.Errorf("Node '%s' protocol version (%d) is incompatible: [%d, %d]", name, pcur, r.pmin, r.pmax)
	}
	if dcur < r.dmin || dcur > r.dmax {
		return fmt.Errorf("Node '%s' delegate protocol version (%d) is incompatible: [%d, %d]", name, dcur, r.dmin, r.dmax)
	}
	return nil
}

// versioned is a node name, state and version bytes, local or remote.
type versioned struct {
	name  string
	state NodeStateType
	vsn   []uint8
}

// verifyProtocol checks that every node, local and remote, speaks versions
// that every alive node understands.
func verifyProtocol(local, remote []versioned) error {
	r := newVersionRange()
	for _, set := range [][]versioned{remote, local} {
		for _, n := range set {
			if n.state == StateAlive && len(n.vsn) >= 5 {
				r.add(n.vsn)
			}
		}
	}
	for _, set := range [][]versioned{remote, local} {
		for _, n := range set {
			if err := r.check(n.name, n.vsn); err != nil {
				return err
			}
		}
	}
	return nil
}

// aliveNode processes an alive message. notify, when non-nil, is closed once
// the resulting broadcast is done. bootstrap is set when the local node
// announces itself.
func (m *Memberlist) aliveNode(a *alive, notify chan struct{}, bootstrap bool) {
	self := a.Node == m.config.Name
	if self && m.leaving.Load() {
		return
	}
	if len(a.Vsn) < 6 {
		m.logger.Warn("ignoring alive message: Vsn is not present", logNode(a.Node))
		return
	}
	if !vsnValid(a.Vsn) {
		m.logger.Warn("ignoring alive message: invalid protocol versions", logNode(a.Node), slog.Any("vsn", a.Vsn))
		return
	}
	if m.config.Alive != nil && !m.aliveAllowed(a) {
		return
	}
	m.mu.Lock()
	m.applyAliveLocked(a, notify, self, bootstrap)
	m.mu.Unlock()
	m.deliverEvents()
}

// aliveAllowed asks the AliveDelegate about a.
func (m *Memberlist) aliveAllowed(a *alive) bool {
	n := Node{Name: a.Node, Addr: append(net.IP(nil), a.Addr...), Port: a.Port, Meta: cloneBytes(a.Meta)}
	n.setVsn(a.Vsn)
	var err error
	m.goroutines.callback(func() { err = m.config.Alive.NotifyAlive(&n) })
	if err != nil {
		m.logger.Warn("ignoring alive message", logNode(a.Node), logErr(err))
		return false
	}
	return true
}

func (m *Memberlist) applyAliveLocked(a *alive, notify chan struct{}, self, bootstrap bool) {
	st, known := m.nodeMap[a.Node]
	if !known || !bytes.Equal(st.Addr, a.Addr) || st.Port != a.Port {
		if err := m.config.IPAllowed(a.Addr); err != nil {
			m.logLocked(slog.LevelWarn, "Rejected node", logNode(a.Node), logErr(err))
			return
		}
	}
	if !known {
		if a.Incarnation == 0 && !bootstrap {
			return // would be ignored; do not leave a placeholder
		}
		st = &nodeState{Node: Node{Name: a.Node, Addr: cloneBytes(a.Addr), Port: a.Port, State: StateDead}}
		st.setVsn(a.Vsn)
		m.insertNodeLocked(st)
	}
	var now time.Time // needed only to judge an address change
	if !bytes.Equal(st.Addr, a.Addr) || st.Port != a.Port {
		now = time.Now()
	}
	action, addrUpdate := decideAlive(st, a, self, bootstrap, now, m.config.DeadNodeReclaimTime)
	switch action {
	case aliveIgnore:
		return
	case aliveConflict:
		m.logLocked(slog.LevelError, "Conflicting address", logNode(a.Node),
			slog.String("mine", joinHostPort(net.IP(st.Addr).String(), st.Port)),
			slog.String("theirs", joinHostPort(net.IP(a.Addr).String(), a.Port)),
			slog.String("state", st.State.metricsString()))
		other := Node{Name: a.Node, Addr: cloneBytes(a.Addr), Port: a.Port, Meta: cloneBytes(a.Meta)}
		if m.config.Conflict != nil {
			m.events.push(event{kind: conflictEvent, node: st.node(), other: other})
		}
		return
	}
	if addrUpdate {
		m.logLocked(slog.LevelInfo, "Updating address for left or failed node", logNode(a.Node),
			slog.String("from", joinHostPort(net.IP(st.Addr).String(), st.Port)),
			slog.String("to", joinHostPort(net.IP(a.Addr).String(), a.Port)))
	}
	m.stopSuspicionLocked(a.Node)
	oldState, oldMeta := st.State, st.Meta
	if action == aliveRefute {
		m.refuteLocked(st, a.Incarnation)
		m.logLocked(slog.LevelWarn, "Refuting an alive message", logNode(a.Node), slog.Uint64(logKeyInc, uint64(a.Incarnation)))
	} else {
		m.updateAliveLocked(st, a, notify)
	}
	m.countLocked(keyMsgAlive)
	switch {
	case oldState == StateDead || oldState == StateLeft:
		m.queueEventLocked(joinEvent, st)
	case !bytes.Equal(oldMeta, st.Meta):
		m.queueEventLocked(updateEvent, st)
	}
}

// updateAliveLocked stores a in st and queues it for gossip.
func (m *Memberlist) updateAliveLocked(st *nodeState, a *alive, notify chan struct{}) {
	m.encodeBroadcastNotify(a.Node, aliveMsg, a, notify)
	st.setVsn(a.Vsn)
	st.Incarnation = a.Incarnation
	st.Meta = cloneBytes(a.Meta)
	st.Addr = cloneBytes(a.Addr)
	st.Port = a.Port
	if st.State != StateAlive {
		st.State = StateAlive
		st.StateChange = time.Now()
	}
}

// insertNodeLocked adds st at a random position of the probe order.
func (m *Memberlist) insertNodeLocked(st *nodeState) {
	m.nodeMap[st.Name] = st
	n := len(m.nodes)
	m.nodes = append(m.nodes, st)
	j := m.randIntN(n + 1)
	m.nodes[n], m.nodes[j] = m.nodes[j], m.nodes[n]
	m.numNodes.Add(1)
}

// refuteLocked answers an accusation about the local node with incarnation
// accused by announcing a higher incarnation (SWIM §4.2), and counts the
// accusation against the local health (Lifeguard §IV-A).
func (m *Memberlist) refuteLocked(me *nodeState, accused uint32) {
	inc := m.nextIncarnation()
	if accused >= inc {
		inc = m.skipIncarnation(accused - inc + 1)
	}
	me.Incarnation = inc
	m.applyAwareness(1)
	a := alive{
		Incarnation: inc,
		Node:        me.Name,
		Addr:        me.Addr,
		Port:        me.Port,
		Meta:        me.Meta,
		Vsn:         me.vsn(),
	}
	m.encodeBroadcast(me.Name, aliveMsg, &a)
}

// applyAwareness changes the local health score and emits its gauge.
func (m *Memberlist) applyAwareness(delta int) {
	if delta == 0 {
		return
	}
	score, changed := m.awareness.ApplyDelta(delta)
	if changed {
		m.metrics.SetGaugeWithLabels(keyHealthScore, float32(score), m.labels.base)
	}
}

// suspectNode processes a suspect message.
func (m *Memberlist) suspectNode(s *suspect) {
	m.mu.Lock()
	m.applySuspectLocked(s)
	m.mu.Unlock()
	m.deliverEvents()
}

func (m *Memberlist) applySuspectLocked(s *suspect) {
	st, ok := m.nodeMap[s.Node]
	if !ok {
		return
	}
	timer, running := m.suspicions[s.Node]
	switch decideSuspect(st, s.Incarnation, s.Node == m.config.Name, running) {
	case suspectIgnore:
		return
	case suspectConfirm:
		if timer.Confirm(s.From) {
			m.encodeBroadcast(s.Node, suspectMsg, s)
		}
		return
	case suspectRefute:
		m.refuteLocked(st, s.Incarnation)
		m.logLocked(slog.LevelWarn, "Refuting a suspect message", logNode(s.Node), slog.String("from", s.From), slog.Uint64(logKeyInc, uint64(s.Incarnation)))
		return
	}
	m.encodeBroadcast(s.Node, suspectMsg, s)
	m.countLocked(keyMsgSuspect)
	st.Incarnation = s.Incarnation
	st.State = StateSuspect
	changed := time.Now()
	st.StateChange = changed
	m.startSuspicionLocked(s, changed)
}

// startSuspicionLocked starts the suspicion timer of Lifeguard §IV-B for the
// node of s, which was marked suspect at changed.
func (m *Memberlist) startSuspicionLocked(s *suspect, changed time.Time) {
	n := m.estNumNodes()
	k := m.config.SuspicionMult - 2
	if n-2 < k {
		k = 0
	}
	minT := suspicionTimeout(m.config.SuspicionMult, n, m.config.ProbeInterval)
	maxT := time.Duration(m.config.SuspicionMaxTimeoutMult) * minT
	name := s.Node
	fire := func(confirmations int) {
		if !m.goroutines.enter() {
			return
		}
		defer m.goroutines.leave()
		m.suspicionExpired(name, changed, k, confirmations)
	}
	m.suspicions[name] = newSuspicion(s.From, k, minT, maxT, fire)
}

// suspicionExpired declares a node dead when it is still the suspect whose
// timer ran out.
func (m *Memberlist) suspicionExpired(name string, changed time.Time, k, confirmations int) {
	m.mu.Lock()
	st, ok := m.nodeMap[name]
	expired := ok && st.State == StateSuspect && st.StateChange.Equal(changed)
	var d dead
	if expired {
		d = dead{Incarnation: st.Incarnation, Node: name, From: m.config.Name}
	}
	m.mu.Unlock()
	if !expired {
		return
	}
	if k > 0 && confirmations < k {
		m.metrics.IncrCounterWithLabels(keyDegradedTimeout, 1, m.labels.base)
	}
	m.logger.Info("Marking as failed, suspect timeout reached", logNode(name), slog.Int("confirmations", confirmations))
	m.deadNode(&d)
}

func (m *Memberlist) stopSuspicionLocked(name string) {
	if s, ok := m.suspicions[name]; ok {
		s.Stop()
		delete(m.suspicions, name)
	}
}

// deadNode processes a dead message; a dead message from the node itself
// means it left.
func (m *Memberlist) deadNode(d *dead) {
	m.mu.Lock()
	m.applyDeadLocked(d)
	m.mu.Unlock()
	m.deliverEvents()
}

func (m *Memberlist) applyDeadLocked(d *dead) {
	st, ok := m.nodeMap[d.Node]
	if !ok || d.Incarnation < st.Incarnation {
		return
	}
	m.stopSuspicionLocked(d.Node)
	self := d.Node == m.config.Name
	switch decideDead(st, d.Incarnation, self, m.leaving.Load()) {
	case deadIgnore:
		return
	case deadRefute:
		m.refuteLocked(st, d.Incarnation)
		m.logLocked(slog.LevelWarn, "Refuting a dead message", logNode(d.Node), slog.String("from", d.From), slog.Uint64(logKeyInc, uint64(d.Incarnation)))
		return
	}
	if self {
		m.encodeBroadcastNotify(d.Node, deadMsg, d, m.leaveNotify)
	} else {
		m.encodeBroadcast(d.Node, deadMsg, d)
	}
	m.countLocked(keyMsgDead)
	st.Incarnation = d.Incarnation
	st.State = StateDead
	if d.Node == d.From {
		st.State = StateLeft
	}
	st.StateChange = time.Now()
	m.queueEventLocked(leaveEvent, st)
}

// mergeState merges the node entries of a remote push/pull.
func (m *Memberlist) mergeState(remote []pushNodeState) {
	for i := range remote {
		r := &remote[i]
		switch mergeAction(r.State) {
		case remoteAlive:
			a := alive{Incarnation: r.Incarnation, Node: r.Name, Addr: r.Addr, Port: r.Port, Meta: r.Meta, Vsn: r.Vsn}
			m.aliveNode(&a, nil, false)
		case remoteLeft:
			d := dead{Incarnation: r.Incarnation, Node: r.Name, From: r.Name}
			m.deadNode(&d)
		case remoteSuspect:
			s := suspect{Incarnation: r.Incarnation, Node: r.Name, From: m.config.Name}
			m.suspectNode(&s)
		}
	}
}
