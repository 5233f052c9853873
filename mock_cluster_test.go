package memberlist

import (
	"fmt"
	"testing"
	"testing/synctest"
	"time"
)

// mockWatch advances virtual time by d in steps and reports whether, at
// every step, every node of nodes holds name in a state that ok accepts.
func mockWatch(d time.Duration, nodes []*Memberlist, name string, ok func(NodeStateType) bool) (bad string) {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		for _, m := range nodes {
			if st, known := stateOf(m, name); !known || !ok(st) {
				return fmt.Sprintf("%s holds %s as %v (known %v)", m.config.Name, name, st, known)
			}
		}
		advance(10 * time.Millisecond)
	}
	return ""
}

// TestMockCluster_TCPOnlyFailure runs three nodes where c's streams are all
// refused while its packets flow: push/pull to and from c fails, but the
// UDP probes succeed, so c stays alive in every view.
func TestMockCluster_TCPOnlyFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 90)
		a, b := c.add("a"), c.add("b")
		c.add("c")
		c.joinAll()
		waitFor(t, 5*time.Second, "join", func() bool { return a.NumMembers() == 3 && b.NumMembers() == 3 })
		c.net.ResetStats()
		c.net.SetNode("c", MockNodeFaults{Streams: MockStreamRefuse})
		if bad := mockWatch(20*time.Second, []*Memberlist{a, b}, "c", func(st NodeStateType) bool { return st == StateAlive }); bad != "" {
			t.Fatalf("with c's streams refused and its packets flowing: %s", bad)
		}
		refused := 0
		for _, l := range [][2]string{{"a", "c"}, {"b", "c"}, {"c", "a"}, {"c", "b"}} {
			s := c.net.LinkStats(l[0], l[1])
			refused += int(s.StreamsRefused)
			if s.StreamsOpened != 0 {
				t.Errorf("%s→%s opened %d streams", l[0], l[1], s.StreamsOpened)
			}
			if s.PacketsDelivered == 0 {
				t.Errorf("%s→%s delivered no packet", l[0], l[1])
			}
		}
		if refused == 0 {
			t.Error("no push/pull stream to or from c was refused in 20s")
		}
	})
}

// TestMockCluster_UDPOnlyFailure is the reverse: c's packets are all lost
// while its streams work. With the TCP fallback ping on, the others reach
// c over TCP when their UDP probes fail and keep it alive; with it off, c
// is declared dead.
func TestMockCluster_UDPOnlyFailure(t *testing.T) {
	for _, tcpPings := range []bool{true, false} {
		t.Run(fmt.Sprintf("tcpPings=%v", tcpPings), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := newTestCluster(t, 91)
				mod := func(conf *Config) { conf.DisableTcpPings = !tcpPings }
				a, b := c.add("a", mod), c.add("b", mod)
				c.add("c", mod)
				c.joinAll()
				waitFor(t, 5*time.Second, "join", func() bool { return a.NumMembers() == 3 && b.NumMembers() == 3 })
				c.net.SetNode("c", MockNodeFaults{InLoss: 1, OutLoss: 1})
				if tcpPings {
					if bad := mockWatch(10*time.Second, []*Memberlist{a, b}, "c", func(st NodeStateType) bool { return st == StateAlive }); bad != "" {
						t.Errorf("c, reachable over TCP only: %s", bad)
					}
					return
				}
				waitFor(t, 10*time.Second, "c declared dead", func() bool {
					sa, _ := stateOf(a, "c")
					sb, _ := stateOf(b, "c")
					return sa == StateDead && sb == StateDead
				})
			})
		})
	}
}

// TestMockCluster_Pause pauses one of four nodes past the others'
// suspicion timeout: they declare it suspect then dead. Once resumed it
// reads its backlog, learns of the suspicion and refutes, and every node
// sees every other alive again.
func TestMockCluster_Pause(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 92)
		for _, name := range []string{"a", "b", "c", "d"} {
			c.add(name)
		}
		c.joinAll()
		allAlive := func() bool { return allViewsWhole(c) }
		waitFor(t, 5*time.Second, "join", allAlive)
		d := c.nodes[3]
		inc := d.incarnation.Load()
		c.net.ResetStats()
		c.net.Pause("d")
		waitFor(t, 5*time.Second, "d declared dead", func() bool {
			for _, m := range c.nodes[:3] {
				if st, _ := stateOf(m, "d"); st != StateDead {
					return false
				}
			}
			return true
		})
		if s := c.net.LinkStats("d", "a"); s.PacketsPaused == 0 || s.PacketsDelivered != 0 {
			t.Errorf("d→a while paused: %+v", s)
		}
		c.net.Resume("d")
		waitFor(t, 30*time.Second, "every node alive everywhere after Resume", allAlive)
		if got := d.incarnation.Load(); got <= inc {
			t.Errorf("d's incarnation %d after resuming, want above %d (a refutation)", got, inc)
		}
	})
}

// TestMockCluster_StreamFaults runs three nodes where every stream of c
// hangs, stalls or is reset: push/pull with c fails each time, on its
// timeout or at once, yet c stays alive, and every node shuts down.
func TestMockCluster_StreamFaults(t *testing.T) {
	for _, f := range []MockNodeFaults{
		{Streams: MockStreamHang},
		{Streams: MockStreamStall},
		{Streams: MockStreamReset, StreamResetAfter: 10},
	} {
		t.Run(f.Streams.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := newTestCluster(t, 93)
				a, b := c.add("a"), c.add("b")
				c.add("c")
				c.joinAll()
				waitFor(t, 5*time.Second, "join", func() bool { return a.NumMembers() == 3 && b.NumMembers() == 3 })
				c.net.ResetStats()
				c.net.SetNode("c", f)
				if bad := mockWatch(10*time.Second, []*Memberlist{a, b}, "c", func(st NodeStateType) bool { return st == StateAlive }); bad != "" {
					t.Fatalf("with c's streams failing: %s", bad)
				}
				synctest.Wait() // let streams opened at this instant meet their fault
				s := c.net.LinkStats("a", "c")
				s.add(c.net.LinkStats("c", "a"))
				switch f.Streams {
				case MockStreamHang:
					if s.StreamsRefused == 0 || s.StreamsOpened != 0 {
						t.Errorf("a↔c stats %+v, want hung dials only", s)
					}
				case MockStreamStall:
					if s.StreamsOpened == 0 || s.StreamsRefused != 0 {
						t.Errorf("a↔c stats %+v, want stalled streams", s)
					}
				case MockStreamReset:
					if s.StreamsReset == 0 || s.StreamsReset != s.StreamsOpened {
						t.Errorf("a↔c stats %+v, want every stream reset", s)
					}
				}
				for _, m := range c.nodes {
					if err := m.Shutdown(); err != nil {
						t.Error(err)
					}
				}
			})
		})
	}
}
