package memberlist

import (
	"fmt"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestCreateWithNetTransport runs two nodes on real loopback sockets with
// kernel-chosen ports, and checks the chosen port is written back.
func TestCreateWithNetTransport(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	var confA *Config
	a := newLoopbackNode(t, "a", localTimings, func(c *Config) { confA = c })
	defer a.Shutdown()
	b := newLoopbackNode(t, "b", localTimings)
	defer b.Shutdown()
	if confA.BindPort == 0 || confA.AdvertisePort != confA.BindPort {
		t.Fatalf("BindPort %d, AdvertisePort %d: the chosen port was not written back", confA.BindPort, confA.AdvertisePort)
	}
	if got := a.LocalNode().Port; int(got) != confA.BindPort {
		t.Errorf("local node port %d, want %d", got, confA.BindPort)
	}
	if _, err := b.Join([]string{a.LocalNode().Address()}); err != nil {
		t.Fatalf("Join: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for a.NumMembers() != 2 || b.NumMembers() != 2 {
		if time.Now().After(deadline) {
			t.Fatalf("no convergence: %d, %d", a.NumMembers(), b.NumMembers())
		}
		<-time.After(10 * time.Millisecond)
	}
	a.Shutdown()
	b.Shutdown()
}

// TestLeaveThenShutdownOverUDP is the scoreboard's "leave then shutdown" on
// real loopback sockets: a node joins two others, calls Leave and at once
// Shutdown, ten times over; each time both others must see it left, never
// failed. On loopback the race it guards against (Shutdown closing the
// socket before the leave is written) did not show before the fix either:
// TestLeaveReturnsAfterTheWrite is the test that forces it.
func TestLeaveThenShutdownOverUDP(t *testing.T) {
	newNode := func(name string) *Memberlist {
		m := newLoopbackNode(t, name, localTimings)
		t.Cleanup(func() { m.Shutdown() })
		return m
	}
	a, b := newNode("a"), newNode("b")
	if _, err := b.Join([]string{a.LocalNode().Address()}); err != nil {
		t.Fatal(err)
	}
	waitReal := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			<-time.After(5 * time.Millisecond)
		}
	}
	for i := range 10 {
		name := fmt.Sprintf("leaver%d", i)
		x := newNode(name)
		if _, err := x.Join([]string{a.LocalNode().Address()}); err != nil {
			t.Fatal(err)
		}
		waitReal(name+" joined", func() bool { return a.NumMembers() == 3 && b.NumMembers() == 3 && x.NumMembers() == 3 })
		if err := x.Leave(time.Second); err != nil {
			t.Fatalf("%s: Leave: %v", name, err)
		}
		x.Shutdown()
		for _, m := range []*Memberlist{a, b} {
			waitReal(m.config.Name+" sees "+name+" gone", func() bool {
				st, ok := stateOf(m, name)
				return !ok || st != StateAlive
			})
			if st, ok := stateOf(m, name); ok && st != StateLeft {
				t.Errorf("repetition %d: %s holds %s as %v after Leave then Shutdown, want left", i, m.config.Name, name, st)
			}
		}
	}
}

// localTimings gives a newLoopbackNode DefaultLocalConfig's timings in
// place of the leak tests' faster ones.
func localTimings(c *Config) {
	d := DefaultLocalConfig()
	c.ProbeInterval, c.ProbeTimeout, c.GossipInterval = d.ProbeInterval, d.ProbeTimeout, d.GossipInterval
	c.PushPullInterval, c.TCPTimeout = d.PushPullInterval, d.TCPTimeout
}
