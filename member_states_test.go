package memberlist

import (
	"fmt"
	"io"
	"testing"
	"testing/synctest"
	"time"
)

// TestMemberStatesShowsDeadNodes checks that MemberStates lists a killed
// node as dead with its incarnation until it is reaped, and that entries
// are copies.
func TestMemberStatesShowsDeadNodes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var network MockNetwork
		var nodes []*Memberlist
		for _, name := range []string{"a", "b", "c"} {
			c := DefaultLocalConfig()
			c.Name = name
			c.Transport = network.NewTransport(name)
			c.LogOutput = io.Discard
			m, err := Create(c)
			if err != nil {
				t.Fatal(err)
			}
			nodes = append(nodes, m)
		}
		for _, m := range nodes[1:] {
			if _, err := m.Join([]string{nodes[0].LocalNode().Address()}); err != nil {
				t.Fatal(err)
			}
		}
		if err := nodes[0].UpdateNode(time.Second); err != nil {
			t.Fatal(err)
		}
		waitFor(t, time.Minute, "a to list all three at its raised incarnation", func() bool { return len(nodes[0].MemberStates()) == 3 && nodes[0].MemberStates()[0].Incarnation >= 2 })
		before := nodes[0].MemberStates()
		if got := memberStateNames(before); got != "a,b,c" {
			t.Fatalf("names %q, want a,b,c", got)
		}
		if before[0].Incarnation < 2 {
			t.Errorf("a's incarnation %d after UpdateNode, want at least 2", before[0].Incarnation)
		}
		before[1].Meta = []byte("changed")
		nodes[2].Shutdown()
		waitFor(t, time.Minute, "b to see c dead", func() bool {
			st := nodes[1].MemberStates()
			return len(st) == 3 && st[2].State == StateDead
		})
		st := nodes[1].MemberStates()
		if !st[2].StateChange.After(before[2].StateChange) {
			t.Errorf("StateChange %v did not move past %v", st[2].StateChange, before[2].StateChange)
		}
		if st[1].Meta != nil {
			t.Errorf("a caller's change reached the table: meta %q", st[1].Meta)
		}
		nodes[0].Shutdown()
		nodes[1].Shutdown()
	})
}

func memberStateNames(st []MemberState) string {
	s := ""
	for i, m := range st {
		if i > 0 {
			s += ","
		}
		s += m.Name
	}
	return s
}

// TestNodeStateTypeString checks the names %v prints for each state.
func TestNodeStateTypeString(t *testing.T) {
	for s, want := range map[NodeStateType]string{
		StateAlive: "alive", StateSuspect: "suspect", StateDead: "dead", StateLeft: "left",
		NodeStateType(7): "unhandled-value-7",
	} {
		if got := fmt.Sprint(s); got != want {
			t.Errorf("fmt.Sprint(%d) = %q, want %q", int(s), got, want)
		}
	}
}
