package memberlist

import (
	"slices"
	"strings"
	"time"
)

// MemberState is one entry of a node's membership table, as that node
// believes it: the Node (its State included), the incarnation number that
// orders the messages about it, and when its state last changed here.
type MemberState struct {
	Node
	Incarnation uint32
	StateChange time.Time
}

// MemberStates returns a snapshot of the membership table, sorted by name:
// the local node and every node it holds, alive, suspect, dead or left. A
// dead or left node stays in the table until it is reaped, about
// GossipToTheDeadTime after its death. Unlike Members, which lists only
// alive and suspect nodes, it lets a caller show what failed and when.
// Each entry is a copy; changing it changes nothing in the table.
func (m *Memberlist) MemberStates() []MemberState {
	m.mu.Lock()
	out := make([]MemberState, 0, len(m.nodes))
	for _, st := range m.nodes {
		out = append(out, MemberState{Node: st.node(), Incarnation: st.Incarnation, StateChange: st.StateChange})
	}
	m.mu.Unlock()
	slices.SortFunc(out, func(a, b MemberState) int { return strings.Compare(a.Name, b.Name) })
	return out
}
