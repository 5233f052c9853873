package main

import (
	"io"
	"net"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gossip-go/memberlist"
)

func node(name string, s memberlist.NodeStateType) *memberlist.Node {
	return &memberlist.Node{Name: name, Addr: net.IPv4(127, 0, 0, 1), Port: 7946, State: s, PCur: 2}
}

// entry returns a node table entry.
func entry(name string, s memberlist.NodeStateType, inc uint32, change time.Time) memberlist.MemberState {
	return memberlist.MemberState{Node: *node(name, s), Incarnation: inc, StateChange: change}
}

func TestMergeMembers(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	t1 := t0.Add(time.Minute)
	table := []memberlist.MemberState{
		entry("a", memberlist.StateAlive, 3, t0),
		entry("c", memberlist.StateSuspect, 5, t0),
		entry("d", memberlist.StateDead, 2, t1),
	}
	departed := []departure{
		{state: entry("b", memberlist.StateDead, 4, t0), known: true}, // reaped
		{state: entry("a", memberlist.StateLeft, 1, t0), known: true}, // back: the table wins
		{state: entry("d", memberlist.StateDead, 1, t0), known: true}, // not reaped yet: the table wins
		{state: entry("e", memberlist.StateLeft, 0, t0)},              // reaped, incarnation unknown
	}
	got := mergeMembers(table, departed)
	type row struct {
		name, state string
		inc         int64 // -1 for unknown
		departed    time.Time
	}
	want := []row{
		{"a", "alive", 3, time.Time{}},
		{"b", "dead", 4, t0},
		{"c", "suspect", 5, time.Time{}},
		{"d", "dead", 2, t1},
		{"e", "left", -1, t0},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v", got)
	}
	for i, w := range want {
		g := row{got[i].Name, got[i].State, -1, got[i].Departed}
		if got[i].Incarnation != nil {
			g.inc = int64(*got[i].Incarnation)
		}
		if g != w {
			t.Errorf("row %d = %+v, want %+v", i, g, w)
		}
	}
}

func TestMembershipRemembersDeparturesForTTL(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ms := newMembership(discardLogger, time.Minute, func() time.Time { return now })
	ms.NotifyLeave(node("dead", memberlist.StateDead))
	ms.NotifyLeave(node("back", memberlist.StateLeft))
	ms.NotifyJoin(node("back", memberlist.StateAlive))
	if d := ms.departures(); len(d) != 1 || d[0].state.Name != "dead" || d[0].state.State != memberlist.StateDead {
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

// TestMembershipReadsTheTableAtLeave checks that a departure takes its
// incarnation and time from the node table's entry when that entry records
// the same departure, and is remembered without incarnation otherwise.
func TestMembershipReadsTheTableAtLeave(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 10, 0, 0, time.UTC)
	died := now.Add(-time.Second)
	ms := newMembership(discardLogger, time.Hour, func() time.Time { return now })
	ms.NotifyLeave(node("early", memberlist.StateDead)) // before setTable
	ms.setTable(func() []memberlist.MemberState {
		return []memberlist.MemberState{
			entry("back", memberlist.StateAlive, 9, now), // the table moved on
			entry("dead", memberlist.StateDead, 7, died),
		}
	})
	ms.NotifyLeave(node("dead", memberlist.StateDead))
	ms.NotifyLeave(node("back", memberlist.StateDead))
	ms.NotifyLeave(node("gone", memberlist.StateLeft)) // not in the table
	got := make(map[string]departure)
	for _, d := range ms.departures() {
		got[d.state.Name] = d
	}
	if d := got["dead"]; !d.known || d.state.Incarnation != 7 || !d.state.StateChange.Equal(died) {
		t.Errorf("dead: %+v, want incarnation 7 changed at %v", d, died)
	}
	for _, name := range []string{"early", "back", "gone"} {
		if d := got[name]; d.known || !d.state.StateChange.Equal(now) || d.state.Name != name {
			t.Errorf("%s: %+v, want an unknown incarnation, changed at %v", name, d, now)
		}
	}
}

// TestViewKeepsReapedMembers runs two real nodes on the in-memory network
// over virtual time: after b fails, a's view lists it dead with the
// incarnation and time of the node table, and still does, unchanged, once
// the table has reaped it.
func TestViewKeepsReapedMembers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var network memberlist.MockNetwork
		ms := newMembership(discardLogger, time.Hour, time.Now)
		a := startMockNode(t, &network, "a", ms)
		ms.setTable(a.MemberStates)
		b := startMockNode(t, &network, "b", nil)
		if _, err := b.Join([]string{a.LocalNode().Address()}); err != nil {
			t.Fatal(err)
		}
		srv := &server{cluster: a, membership: ms, now: time.Now}
		row := func() (member, bool) {
			for _, m := range srv.view().Members {
				if m.Name == "b" {
					return m, true
				}
			}
			return member{}, false
		}
		waitVirtual(t, "b alive in a's view", func() bool { m, ok := row(); return ok && m.State == "alive" })
		b.Shutdown()
		waitVirtual(t, "b dead in a's view", func() bool { m, ok := row(); return ok && m.State == "dead" })
		dead, _ := row()
		if dead.Incarnation == nil || *dead.Incarnation == 0 || dead.Departed.IsZero() {
			t.Fatalf("b's row when dead: %+v", dead)
		}
		waitVirtual(t, "b reaped from a's table", func() bool {
			return len(a.MemberStates()) == 1
		})
		reaped, ok := row()
		if !ok || reaped.State != "dead" || reaped.Incarnation == nil ||
			*reaped.Incarnation != *dead.Incarnation || !reaped.Departed.Equal(dead.Departed) {
			t.Errorf("b's row after the reap: %+v (listed %v), want %+v", reaped, ok, dead)
		}
		a.Shutdown()
	})
}

// startMockNode creates a node with the local profile on network.
func startMockNode(t *testing.T, network *memberlist.MockNetwork, name string, events memberlist.EventDelegate) *memberlist.Memberlist {
	t.Helper()
	conf := memberlist.DefaultLocalConfig()
	conf.Name = name
	conf.Transport = network.NewTransport(name)
	conf.LogOutput = io.Discard
	conf.Events = events
	m, err := memberlist.Create(conf)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// waitVirtual lets virtual time pass, in a synctest bubble, until cond
// holds, failing t after two virtual minutes.
func waitVirtual(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 2 minutes", what)
		}
		<-time.After(100 * time.Millisecond)
	}
}
