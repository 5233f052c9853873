package memberlist

import (
	"fmt"
	"net"
	"strconv"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// capturedKinds records the message types of every packet sent on a
// MockNetwork, per (from, to) link.
type capturedKinds struct {
	mu    sync.Mutex
	kinds map[[2]string][]messageType
}

func captureKinds(n *MockNetwork) *capturedKinds {
	c := &capturedKinds{kinds: map[[2]string][]messageType{}}
	n.SetCapture(func(from, to string, b []byte) {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.kinds[[2]string{from, to}] = append(c.kinds[[2]string{from, to}], packetKinds(b)...)
	})
	return c
}

func (c *capturedKinds) count(from, to string, t messageType) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, k := range c.kinds[[2]string{from, to}] {
		if k == t {
			n++
		}
	}
	return n
}

// TestStaleAliveIsToldItsAccusation: a holds x dead at incarnation 10 and
// receives x's alive at 2, as a node restarted with the name would send.
// a sends the death straight to the alive's address (and re-gossips it),
// so a restarted x refutes at once (upstream #311); a burst of stale
// alives is answered once per probe interval. Before the fix the stale
// alive was dropped silently and nothing was sent.
func TestStaleAliveIsToldItsAccusation(t *testing.T) {
	for _, state := range []string{"dead", "suspect", "reaped"} {
		t.Run(state, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := newTestCluster(t, 107)
				a := c.add("a", func(conf *Config) {
					conf.ProbeInterval, conf.GossipInterval, conf.PushPullInterval = time.Hour, 0, 0
					conf.EnableCompression = false
				})
				x := c.net.NewTransport("x")
				host, port, _ := net.SplitHostPort(x.addr.String())
				p, _ := strconv.Atoi(port)
				alive := func(inc uint32) {
					a.aliveNode(&alive{Incarnation: inc, Node: "x", Addr: net.ParseIP(host).To4(), Port: uint16(p), Vsn: []uint8{1, 5, 2, 0, 0, 0}}, nil, false)
				}
				alive(1)
				want := deadMsg
				switch state {
				case "dead":
					feed(a, "x", gossipStep{"dead", 10, "b"})
				case "suspect":
					feed(a, "x", gossipStep{"suspect", 10, "b"})
					want = suspectMsg
				case "reaped":
					feed(a, "x", gossipStep{"dead", 10, "b"})
					advance(a.config.GossipToTheDeadTime + time.Second)
					reap(a)
				}
				got := captureKinds(c.net)
				a.broadcasts.Reset()
				alive(2)
				alive(2)
				if n := got.count("a", "x", want); n != 1 {
					t.Errorf("a sent x %d %v messages after two stale alives, want 1", n, want)
				}
				if want == deadMsg && a.broadcasts.NumQueued() != 1 {
					t.Errorf("%d broadcasts queued, want the death re-gossiped", a.broadcasts.NumQueued())
				}
				advance(a.config.ProbeInterval)
				alive(2)
				if n := got.count("a", "x", want); n != 2 {
					t.Errorf("a sent x %d %v messages once the rate limit passed, want 2", n, want)
				}
				if st, _ := stateOf(a, "x"); st == StateAlive {
					t.Error("the stale alive made x alive")
				}
				x.Shutdown()
			})
		})
	}
}

// TestAccusationAboutUnknownIsForwardedOnce: a suspect or dead about a name
// not in the table is passed on (it may be about a node that restarted
// and is not known here yet), once per incarnation. Before the fix it was
// dropped.
func TestAccusationAboutUnknownIsForwardedOnce(t *testing.T) {
	for _, kind := range []string{"suspect", "dead"} {
		t.Run(kind, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := newTestCluster(t, 108)
				a := c.add("a", func(conf *Config) { conf.ProbeInterval, conf.GossipInterval, conf.PushPullInterval = 0, 0, 0 })
				a.broadcasts.Reset()
				queued := func() int {
					n := a.broadcasts.NumQueued()
					a.broadcasts.Reset()
					return n
				}
				feed(a, "y", gossipStep{kind, 5, "b"})
				if n := queued(); n != 1 {
					t.Fatalf("%d broadcasts after an accusation about an unknown name, want it forwarded", n)
				}
				feed(a, "y", gossipStep{kind, 5, "c"}, gossipStep{kind, 4, "c"})
				if n := queued(); n != 0 {
					t.Errorf("the same accusation was forwarded again (%d)", n)
				}
				feed(a, "y", gossipStep{kind, 6, "c"})
				if n := queued(); n != 1 {
					t.Errorf("a newer accusation was not forwarded (%d)", n)
				}
				if _, ok := stateOf(a, "y"); ok {
					t.Error("forwarding put y in the table")
				}
			})
		})
	}
}

// TestMassRestartRejoinsAtOnce is upstream #311 on eight nodes: every node
// raises its incarnation, half are killed and declared dead, and they are
// restarted on their old addresses after one survivor (s0, with a short
// GossipToTheDeadTime) has reaped them while the others still hold them
// dead. Each restarted node joins s0, which takes it at incarnation 1; the
// others hold it dead at a higher incarnation. Push/pull is too slow to
// repair anything within the test (and gossip retransmits more than by
// default, so that gossip alone reaches every node). Before the fix the other survivors
// dropped the stale alive silently and the restarted nodes stayed dead in
// their views; now every view is whole within seconds.
func TestMassRestartRejoinsAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 109)
		slowPushPull := func(conf *Config) {
			conf.PushPullInterval = 10 * time.Minute
			conf.RetransmitMult = 10 // without push/pull, gossip alone must reach everyone
		}
		for i := range 8 {
			name := fmt.Sprint("s", i)
			mods := []func(*Config){slowPushPull}
			if i > 0 {
				mods = append(mods, func(conf *Config) { conf.GossipToTheDeadTime = time.Minute })
			}
			c.add(name, mods...)
		}
		var all []string
		for _, m := range c.nodes {
			all = append(all, seedAddr(m))
		}
		for _, m := range c.nodes { // push/pull is off, so everyone joins everyone
			if _, err := m.Join(all); err != nil {
				t.Fatal(err)
			}
		}
		waitFor(t, 5*time.Second, "join", func() bool { return allSee(c) })
		for range 5 {
			for _, m := range c.nodes {
				m.UpdateNode(time.Second)
			}
		}
		survivors, victims := c.nodes[:4], c.nodes[4:]
		for _, v := range victims {
			v.Shutdown()
		}
		waitFor(t, 20*time.Second, "victims declared dead", func() bool {
			for _, s := range survivors {
				for _, v := range victims {
					if st, ok := stateOf(s, v.config.Name); ok && st != StateDead {
						return false
					}
				}
			}
			return true
		})
		waitFor(t, 10*time.Second, "s0 reaps the victims", func() bool {
			for _, v := range victims {
				if _, ok := stateOf(survivors[0], v.config.Name); ok {
					return false
				}
			}
			return true
		})
		nodes := append([]*Memberlist(nil), survivors...)
		for _, v := range victims {
			old := mockTransportOf(v)
			m := c.add(v.config.Name, slowPushPull, func(conf *Config) {
				conf.Transport.Shutdown() // the one config made; the old address is reused
				tr, err := c.net.Restart(old)
				if err != nil {
					t.Fatal(err)
				}
				conf.Transport = tr
			})
			if _, err := m.Join([]string{seedAddr(survivors[0])}); err != nil {
				t.Fatal(err)
			}
			nodes = append(nodes, m)
		}
		whole := func() bool {
			for _, m := range nodes {
				if m.NumMembers() != len(nodes) {
					return false
				}
			}
			return true
		}
		defer func() {
			if t.Failed() {
				for _, m := range nodes {
					t.Log(viewOf(m))
				}
			}
		}()
		waitFor(t, 10*time.Second, "every view whole after the restart", whole)
	})
}

// viewOf describes m's table: each node's name, state and incarnation.
func viewOf(m *Memberlist) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := m.config.Name + ":"
	for _, st := range m.table.nodes {
		out += fmt.Sprintf(" %s/%v@%d", st.Name, st.State, st.Incarnation)
	}
	return out
}

// TestJoinIsFollowedByAPushPull: a successful Join runs one more push/pull
// with a random alive node one to two probe intervals later, so a node
// that joins while others come back by gossip (a mass restart) does not
// miss them until the periodic push/pull. Before the change the join's
// push/pull was the only stream c opened for ten minutes.
func TestJoinIsFollowedByAPushPull(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 111)
		slow := func(conf *Config) { conf.PushPullInterval = 10 * time.Minute }
		a, b := c.add("a", slow), c.add("b", slow)
		if _, err := b.Join([]string{seedAddr(a)}); err != nil {
			t.Fatal(err)
		}
		x := c.add("x", slow)
		if _, err := x.Join([]string{seedAddr(a)}); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		opened := func() uint64 {
			return c.net.LinkStats("x", "a").StreamsOpened + c.net.LinkStats("x", "b").StreamsOpened
		}
		if n := opened(); n != 1 {
			t.Fatalf("x opened %d streams by its Join, want 1", n)
		}
		advance(2 * x.config.ProbeInterval)
		if n := opened(); n != 2 {
			t.Errorf("x opened %d streams two probe intervals after its Join, want 2", n)
		}
		advance(time.Minute)
		if n := opened(); n != 2 {
			t.Errorf("x opened %d streams a minute after its Join, want 2 (one follow-up only)", n)
		}
	})
}
