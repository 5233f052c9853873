package memberlist

import (
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
		time.Sleep(2 * time.Second)
		before := nodes[0].MemberStates()
		if got := memberStateNames(before); got != "a,b,c" {
			t.Fatalf("names %q, want a,b,c", got)
		}
		if before[0].Incarnation < 2 {
			t.Errorf("a's incarnation %d after UpdateNode, want at least 2", before[0].Incarnation)
		}
		before[1].Meta = []byte("changed")
		nodes[2].Shutdown()
		deadline := time.Now().Add(time.Minute)
		for {
			st := nodes[1].MemberStates()
			if len(st) == 3 && st[2].State == StateDead {
				if !st[2].StateChange.After(before[2].StateChange) {
					t.Errorf("StateChange %v did not move past %v", st[2].StateChange, before[2].StateChange)
				}
				if st[1].Meta != nil {
					t.Errorf("a caller's change reached the table: meta %q", st[1].Meta)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("c not seen dead: %+v", st)
			}
			time.Sleep(100 * time.Millisecond)
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
