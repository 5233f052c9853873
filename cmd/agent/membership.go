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
// membership event and remembers the members that died or left, which
// Memberlist.Members no longer returns, so that the page and /members can
// show them for ttl after they went. It is safe for concurrent use; the
// zero value is not usable, use newMembership.
type membership struct {
	logger *slog.Logger
	ttl    time.Duration
	now    func() time.Time

	mu       sync.Mutex
	departed map[string]departure // by node name
}

// departure is a member that died or left.
type departure struct {
	node memberlist.Node
	at   time.Time
}

// newMembership returns a membership logging to logger and listing
// departed members for ttl.
func newMembership(logger *slog.Logger, ttl time.Duration, now func() time.Time) *membership {
	return &membership{logger: logger, ttl: ttl, now: now, departed: make(map[string]departure)}
}

// NotifyJoin logs the join and forgets an earlier departure of the node.
func (ms *membership) NotifyJoin(n *memberlist.Node) {
	ms.logger.Info("member joined", "node", n.Name, "addr", n.Address())
	ms.mu.Lock()
	delete(ms.departed, n.Name)
	ms.mu.Unlock()
}

// NotifyLeave logs the departure and records it.
func (ms *membership) NotifyLeave(n *memberlist.Node) {
	msg := "member failed"
	if n.State == memberlist.StateLeft {
		msg = "member left"
	}
	ms.logger.Warn(msg, "node", n.Name, "addr", n.Address(), "state", stateName(n.State))
	ms.mu.Lock()
	ms.departed[n.Name] = departure{node: *n, at: ms.now()}
	ms.mu.Unlock()
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
		if now.Sub(d.at) >= ms.ttl {
			delete(ms.departed, name)
			continue
		}
		out = append(out, d)
	}
	return out
}

// stateName returns the lower-case name of a node state.
func stateName(s memberlist.NodeStateType) string {
	switch s {
	case memberlist.StateAlive:
		return "alive"
	case memberlist.StateSuspect:
		return "suspect"
	case memberlist.StateDead:
		return "dead"
	case memberlist.StateLeft:
		return "left"
	}
	return "unknown"
}

// mergeMembers returns the members to list: every node of live (the
// result of Members), then every departed node that is not in live, sorted
// by name. A node in both has rejoined; its live entry wins.
func mergeMembers(live []*memberlist.Node, departed []departure) []member {
	out := make([]member, 0, len(live)+len(departed))
	seen := make(map[string]bool, len(live))
	for _, n := range live {
		seen[n.Name] = true
		out = append(out, newMember(n, time.Time{}))
	}
	for i := range departed {
		if !seen[departed[i].node.Name] {
			out = append(out, newMember(&departed[i].node, departed[i].at))
		}
	}
	slices.SortFunc(out, func(a, b member) int { return strings.Compare(a.Name, b.Name) })
	return out
}
