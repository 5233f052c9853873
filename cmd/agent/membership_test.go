package main

import (
	"net"
	"testing"
	"time"

	"github.com/gossip-go/memberlist"
)

func node(name string, s memberlist.NodeStateType) *memberlist.Node {
	return &memberlist.Node{Name: name, Addr: net.IPv4(127, 0, 0, 1), Port: 7946, State: s, PCur: 2}
}

func TestMergeMembers(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	live := []*memberlist.Node{node("c", memberlist.StateSuspect), node("a", memberlist.StateAlive)}
	departed := []departure{
		{node: *node("b", memberlist.StateDead), at: t0},
		{node: *node("a", memberlist.StateLeft), at: t0}, // rejoined: live wins
	}
	got := mergeMembers(live, departed)
	want := []struct{ name, state string }{{"a", "alive"}, {"b", "dead"}, {"c", "suspect"}}
	if len(got) != len(want) {
		t.Fatalf("got %+v", got)
	}
	for i, w := range want {
		if got[i].Name != w.name || got[i].State != w.state {
			t.Errorf("row %d = %s %s, want %s %s", i, got[i].Name, got[i].State, w.name, w.state)
		}
	}
	if !got[1].Departed.Equal(t0) || !got[0].Departed.IsZero() {
		t.Errorf("departed times: %v, %v", got[0].Departed, got[1].Departed)
	}
}

func TestMembershipRemembersDeparturesForTTL(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ms := newMembership(discardLogger, time.Minute, func() time.Time { return now })
	ms.NotifyLeave(node("dead", memberlist.StateDead))
	ms.NotifyLeave(node("back", memberlist.StateLeft))
	ms.NotifyJoin(node("back", memberlist.StateAlive))
	if d := ms.departures(); len(d) != 1 || d[0].node.Name != "dead" || d[0].node.State != memberlist.StateDead {
		t.Fatalf("departures %+v", d)
	}
	now = now.Add(time.Minute - 1)
	if d := ms.departures(); len(d) != 1 {
		t.Fatalf("forgot too early: %+v", d)
	}
	now = now.Add(1)
	if d := ms.departures(); len(d) != 0 {
		t.Fatalf("remembered past the ttl: %+v", d)
	}
}
