package memberlist

import (
	"context"
	"log/slog"
	"net"
	"time"
)

// effects are what applying one message to the table asks for. The
// Memberlist shell carries them out (step).
type effects struct {
	broadcasts []outBroadcast
	events     []event
	timers     []timerOp
	tells      []accusation
	awareness  int // health score delta (Lifeguard §IV-A)
	logs       []logRecord
	counters   [][]string // metric keys to count once each
}

// outBroadcast is a message about node to queue for gossip; notify, when
// non-nil, is closed once it is done. A repeat is a message the table
// already gossiped once, sent again for a peer that missed it: it is
// queued only when no message about node is queued, so that it does not
// restart the retransmissions of one still going out.
type outBroadcast struct {
	node   string
	t      messageType
	msg    wireMessage
	notify chan struct{}
	repeat bool
}

// timerOp arms the suspicion timer of name to fire after after with token,
// replacing any armed one, or stops it.
type timerOp struct {
	name  string
	after time.Duration
	token time.Time
	stop  bool
}

// logRecord is one log line: a level, a message and slog attributes. A
// limited record is about something a peer can repeat at will: it is
// logged at its level at most once per warnEvery for its cause, and at
// DEBUG otherwise.
type logRecord struct {
	level   slog.Level
	msg     string
	args    []any
	limited bool
	cause   warnCause
}

func (e *effects) broadcast(node string, t messageType, msg wireMessage, notify chan struct{}) {
	e.broadcasts = append(e.broadcasts, outBroadcast{node: node, t: t, msg: msg, notify: notify})
}

// rebroadcast records a repeat broadcast (see outBroadcast).
func (e *effects) rebroadcast(node string, t messageType, msg wireMessage) {
	e.broadcasts = append(e.broadcasts, outBroadcast{node: node, t: t, msg: msg, repeat: true})
}

func (e *effects) log(level slog.Level, msg string, args ...any) {
	e.logs = append(e.logs, logRecord{level: level, msg: msg, args: args})
}

// logLimited records a log line rate-limited by cause (see logRecord).
func (e *effects) logLimited(cause warnCause, level slog.Level, msg string, args ...any) {
	e.logs = append(e.logs, logRecord{level: level, msg: msg, args: args, limited: true, cause: cause})
}

func (e *effects) count(key []string) { e.counters = append(e.counters, key) }

// step applies in to the table and carries out its effects. Broadcasts,
// events and timers are queued before the lock is released, so they keep
// the order of the table's decisions (none of them runs user code: the
// broadcast queue and the event queue take only their own leaf locks).
// Logs, metrics, the health score and accusations are handled after it,
// and the events are delivered last.
func (m *Memberlist) step(in any) {
	m.mu.Lock()
	e := m.table.apply(in, time.Now())
	m.queueLocked(&e)
	m.mu.Unlock()
	m.carryOut(&e)
	m.deliverEvents()
}

// queueLocked queues e's broadcasts and events and arms or stops its
// timers; the caller holds mu.
func (m *Memberlist) queueLocked(e *effects) {
	for _, b := range e.broadcasts {
		if b.repeat && m.broadcasts.holds(b.node) {
			continue
		}
		m.encodeBroadcastNotify(b.node, b.t, b.msg, b.notify)
	}
	for _, ev := range e.events {
		m.events.push(ev)
	}
	for _, op := range e.timers {
		m.armLocked(op)
	}
}

// armLocked carries out op on the suspicion timers; the caller holds mu.
func (m *Memberlist) armLocked(op timerOp) {
	if t, ok := m.timers[op.name]; ok {
		t.Stop()
		delete(m.timers, op.name)
	}
	if op.stop {
		return
	}
	x := suspicionExpiry{name: op.name, token: op.token}
	m.timers[op.name] = time.AfterFunc(op.after, func() {
		if !m.goroutines.enter() {
			return
		}
		defer m.goroutines.leave()
		m.step(x)
	})
}

// carryOut writes e's logs and metrics, applies its health delta and sends
// its accusations; the caller does not hold mu.
func (m *Memberlist) carryOut(e *effects) {
	for _, r := range e.logs {
		if r.limited {
			r.level, r.args = m.limitedLevel(r.cause, r.level, r.args)
		}
		m.logger.Log(context.Background(), r.level, r.msg, r.args...)
	}
	for _, key := range e.counters {
		m.metrics.IncrCounterWithLabels(key, 1, m.labels.base)
	}
	m.applyAwareness(e.awareness)
	for i := range e.tells {
		m.sendAccusation(&e.tells[i])
	}
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

// aliveNode processes an alive message. notify, when non-nil, is closed once
// the resulting broadcast is done. bootstrap is set when the local node
// announces itself.
func (m *Memberlist) aliveNode(a *alive, notify chan struct{}, bootstrap bool) {
	if a.Node == m.config.Name && m.leaving.Load() {
		return
	}
	if len(a.Vsn) < 6 {
		level, args := m.limitedLevel(warnBadAlive, slog.LevelWarn, []any{logNode(a.Node)})
		m.logger.Log(context.Background(), level, "ignoring alive message: Vsn is not present", args...)
		return
	}
	if !vsnValid(a.Vsn) {
		level, args := m.limitedLevel(warnBadAlive, slog.LevelWarn, []any{logNode(a.Node), slog.Any("vsn", a.Vsn)})
		m.logger.Log(context.Background(), level, "ignoring alive message: invalid protocol versions", args...)
		return
	}
	if m.config.Alive != nil && !m.aliveAllowed(a) {
		return
	}
	m.step(aliveInput{a: a, notify: notify, bootstrap: bootstrap})
}

// aliveAllowed asks the AliveDelegate about a.
func (m *Memberlist) aliveAllowed(a *alive) bool {
	n := Node{Name: a.Node, Addr: append(net.IP(nil), a.Addr...), Port: a.Port, Meta: cloneBytes(a.Meta)}
	n.setVsn(a.Vsn)
	var err error
	m.goroutines.callback(func() { err = m.config.Alive.NotifyAlive(&n) })
	if err != nil {
		level, args := m.limitedLevel(warnBadAlive, slog.LevelWarn, []any{logNode(a.Node), logErr(err)})
		m.logger.Log(context.Background(), level, "ignoring alive message", args...)
		return false
	}
	return true
}

// suspectNode processes a suspect message.
func (m *Memberlist) suspectNode(s *suspect) { m.step(s) }

// deadNode processes a dead message; a dead message from the node itself
// means it left.
func (m *Memberlist) deadNode(d *dead) { m.step(d) }

// mergeState merges the node entries of a remote push/pull, one message
// per entry (mergeInputs), each through the same path as gossip.
func (m *Memberlist) mergeState(remote []pushNodeState) {
	for _, in := range mergeInputs(remote, m.config.Name) {
		switch in := in.(type) {
		case aliveInput:
			m.aliveNode(in.a, nil, false)
		default:
			m.step(in)
		}
	}
}

// mergeInputs returns the messages a push/pull's entries are merged as
// (reference §3.3): an alive as an alive, a left as a dead from the node
// itself, and a dead or suspect as a suspect from us (a remote "dead" only
// makes us suspect).
func mergeInputs(remote []pushNodeState, me string) []any {
	out := make([]any, 0, len(remote))
	for i := range remote {
		r := &remote[i]
		switch mergeAction(r.State) {
		case remoteAlive:
			a := alive{Incarnation: r.Incarnation, Node: r.Name, Addr: r.Addr, Port: r.Port, Meta: r.Meta, Vsn: r.Vsn}
			out = append(out, aliveInput{a: &a})
		case remoteLeft:
			out = append(out, &dead{Incarnation: r.Incarnation, Node: r.Name, From: r.Name})
		case remoteSuspect:
			out = append(out, &suspect{Incarnation: r.Incarnation, Node: r.Name, From: me})
		}
	}
	return out
}

// sendAccusation sends acc; it must be called without mu held.
func (m *Memberlist) sendAccusation(acc *accusation) {
	// Without piggybacked gossip: the same accusation is queued for it.
	if err := m.rawSendMsgPacket(acc.to, nil, encodeMessage(acc.t, acc.msg)); err != nil {
		m.logger.Debug("Failed to send an accusation", logNode(acc.to.Name), slog.String(logKeyAddr, acc.to.Addr), logErr(err))
	}
}
