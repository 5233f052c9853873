package main

import (
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gossip-go/memberlist"
)

// membership is the agent's memberlist.EventDelegate. It logs every
// membership event and remembers the members that died or left, so that
// the page and /members can show them for ttl after they went: the node
// table (Memberlist.MemberStates) keeps a dead or left node only until it
// is reaped, about GossipToTheDeadTime (30 s on a LAN) after it went. It
// is safe for concurrent use; the zero value is not usable, use
// newMembership.
type membership struct {
	logger *slog.Logger
	ttl    time.Duration
	now    func() time.Time

	mu       sync.Mutex
	table    func() []memberlist.MemberState // nil until setTable
	departed map[string]departure            // by node name
}

// departure is a member that died or left, as the node table held it when
// the agent learnt of it.
type departure struct {
	// state is the table's entry; its StateChange is when the node died
	// or left.
	state memberlist.MemberState
	// known reports whether state.Incarnation is the table's. It is false
	// when the table no longer held the death when the agent read it (the
	// node was already back, say); StateChange is then when the agent
	// learnt of it.
	known bool
}

// newMembership returns a membership logging to logger and listing
// departed members for ttl.
func newMembership(logger *slog.Logger, ttl time.Duration, now func() time.Time) *membership {
	return &membership{logger: logger, ttl: ttl, now: now, departed: make(map[string]departure)}
}

// setTable gives ms the node table to read the incarnation of a departed
// member from, typically Memberlist.MemberStates. Until it is called,
// departures are remembered without incarnation.
func (ms *membership) setTable(table func() []memberlist.MemberState) {
	ms.mu.Lock()
	ms.table = table
	ms.mu.Unlock()
}

// NotifyJoin logs the join and forgets an earlier departure of the node.
func (ms *membership) NotifyJoin(n *memberlist.Node) {
	ms.logger.Info("member joined", "node", n.Name, "addr", n.Address())
	ms.mu.Lock()
	delete(ms.departed, n.Name)
	ms.mu.Unlock()
}

// NotifyLeave logs the departure and records it with the table's entry for
// the node.
func (ms *membership) NotifyLeave(n *memberlist.Node) {
	msg := "member failed"
	if n.State == memberlist.StateLeft {
		msg = "member left"
	}
	ms.logger.Warn(msg, "node", n.Name, "addr", n.Address(), "state", n.State.String())
	ms.mu.Lock()
	table := ms.table
	ms.mu.Unlock()
	// Memberlist delivers events without its lock held, so reading the
	// table here cannot deadlock; it is read outside ms.mu all the same.
	d := departure{state: memberlist.MemberState{Node: *n, StateChange: ms.now()}}
	if table != nil {
		if st, ok := findDeparture(table(), n); ok {
			d = departure{state: st, known: true}
		}
	}
	ms.mu.Lock()
	ms.departed[n.Name] = d
	ms.mu.Unlock()
}

// findDeparture returns the entry of table for n when it records the same
// departure as n, and reports whether there is one.
func findDeparture(table []memberlist.MemberState, n *memberlist.Node) (memberlist.MemberState, bool) {
	for _, st := range table {
		if st.Name == n.Name {
			return st, st.State == n.State
		}
	}
	return memberlist.MemberState{}, false
}

// NotifyUpdate logs the update.
func (ms *membership) NotifyUpdate(n *memberlist.Node) {
	ms.logger.Info("member updated", "node", n.Name, "addr", n.Address(), "meta", string(n.Meta))
}

// departures returns the departures younger than ttl, and forgets the
// others.
func (ms *membership) departures() []departure {
	now := ms.now()
	ms.mu.Lock()
	defer ms.mu.Unlock()
	out := make([]departure, 0, len(ms.departed))
	for name, d := range ms.departed {
		if now.Sub(d.state.StateChange) >= ms.ttl {
			delete(ms.departed, name)
			continue
		}
		out = append(out, d)
	}
	return out
}

// mergeMembers returns the members to list, sorted by name: every entry of
// table (the result of MemberStates), then every departed node that is not
// in table, which the table has reaped. A node in both is listed as the
// table has it: it is either not reaped yet or back.
func mergeMembers(table []memberlist.MemberState, departed []departure) []member {
	out := make([]member, 0, len(table)+len(departed))
	seen := make(map[string]bool, len(table))
	for _, st := range table {
		seen[st.Name] = true
		out = append(out, newMember(st, true))
	}
	for _, d := range departed {
		if !seen[d.state.Name] {
			out = append(out, newMember(d.state, d.known))
		}
	}
	slices.SortFunc(out, func(a, b member) int { return strings.Compare(a.Name, b.Name) })
	return out
}
