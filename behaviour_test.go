package memberlist

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	metrics "github.com/hashicorp/go-metrics"
)

type vetoMerge struct{ calls int }

func (v *vetoMerge) NotifyMerge(peers []*Node) error {
	v.calls++
	return errors.New("merge vetoed")
}

func TestMergeDelegateCancelsJoinOnBothSides(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 40)
		va, vb := &vetoMerge{}, &vetoMerge{}
		a := c.add("a", func(conf *Config) { conf.Merge = va })
		b := c.add("b", func(conf *Config) { conf.Merge = vb })
		_, err := b.Join([]string{seedAddr(a)})
		if err == nil || !strings.Contains(err.Error(), "merge vetoed") {
			t.Fatalf("Join error = %v, want the veto", err)
		}
		synctest.Wait()
		if va.calls == 0 || vb.calls == 0 {
			t.Errorf("NotifyMerge calls: seed %d, joiner %d; want both", va.calls, vb.calls)
		}
		if a.NumMembers() != 1 || b.NumMembers() != 1 {
			t.Errorf("members after veto: %d, %d", a.NumMembers(), b.NumMembers())
		}
	})
}

type vetoAlive struct{}

func (vetoAlive) NotifyAlive(peer *Node) error {
	if peer.Name == "b" {
		return errors.New("not b")
	}
	return nil
}

func TestAliveDelegateVetoKeepsNodeOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 41)
		a := c.add("a", func(conf *Config) { conf.Alive = vetoAlive{} })
		b := c.add("b")
		if _, err := b.Join([]string{seedAddr(a)}); err != nil {
			t.Fatalf("Join should succeed even when the seed vetoes us: %v", err)
		}
		advance(3 * time.Second)
		if _, ok := stateOf(a, "b"); ok {
			t.Error("a admitted the vetoed node")
		}
	})
}

type conflictRecorder struct {
	mu        sync.Mutex
	conflicts []string
}

func (c *conflictRecorder) NotifyConflict(existing, other *Node) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.conflicts = append(c.conflicts, existing.Name+"@"+existing.Address()+" vs "+other.Address())
}

func TestConflictDelegate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 42)
		rec := &conflictRecorder{}
		a := c.add("a", func(conf *Config) { conf.Conflict = rec })
		c.add("b")
		c.joinAll()
		waitFor(t, 5*time.Second, "join", func() bool { return a.NumMembers() == 2 })
		imposter := c.add("b2", func(conf *Config) { conf.Name = "b" })
		imposter.Join([]string{seedAddr(a)})
		waitFor(t, 5*time.Second, "conflict reported", func() bool {
			rec.mu.Lock()
			defer rec.mu.Unlock()
			return len(rec.conflicts) > 0
		})
	})
}

type pingRecorder struct {
	mu      sync.Mutex
	payload []byte
	rtts    []time.Duration
	nodes   []string
	got     [][]byte
}

func (p *pingRecorder) AckPayload() []byte { return p.payload }

func (p *pingRecorder) NotifyPingComplete(other *Node, rtt time.Duration, payload []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rtts = append(p.rtts, rtt)
	p.nodes = append(p.nodes, other.Name)
	p.got = append(p.got, payload)
}

func TestPingDelegate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 43)
		c.net.SetAllLinks(MockLinkFaults{Delay: 3 * time.Millisecond})
		pa, pb := &pingRecorder{}, &pingRecorder{payload: []byte("from-b")}
		a := c.add("a", func(conf *Config) { conf.Ping = pa })
		c.add("b", func(conf *Config) { conf.Ping = pb })
		c.joinAll()
		waitFor(t, 5*time.Second, "a probed b", func() bool {
			pa.mu.Lock()
			defer pa.mu.Unlock()
			return len(pa.nodes) > 0
		})
		pa.mu.Lock()
		defer pa.mu.Unlock()
		// The ack's Packet.Timestamp is its send time (the mock's contract,
		// as upstream's), so the round trip counts the outbound delay only.
		if pa.nodes[0] != "b" || string(pa.got[0]) != "from-b" || pa.rtts[0] != 3*time.Millisecond {
			t.Errorf("NotifyPingComplete(%s, %v, %q), want (b, 3ms, from-b)", pa.nodes[0], pa.rtts[0], pa.got[0])
		}
		_ = a
	})
}

func TestPublicPing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 44)
		c.net.SetAllLinks(MockLinkFaults{Delay: 2 * time.Millisecond})
		a, b := c.add("a"), c.add("b")
		addr := mockTransportOf(b).addr
		rtt, err := a.Ping("b", addr)
		// Outbound delay only: the ack carries its send time.
		if err != nil || rtt != 2*time.Millisecond {
			t.Fatalf("Ping = %v, %v; want 2ms", rtt, err)
		}
		c.net.Block("b", "a")
		_, err = a.Ping("b", addr)
		var npr NoPingResponseError
		if !errors.As(err, &npr) || err.Error() != "No response from node b" {
			t.Fatalf("Ping to the wrong name = %v, want NoPingResponseError", err)
		}
	})
}

// TestProbeSuspectRefutes checks that probing a suspect node sends it the
// suspicion, so it refutes at once with a higher incarnation.
func TestProbeSuspectRefutes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 45)
		a, b := c.add("a"), c.add("b")
		c.joinAll()
		waitFor(t, 5*time.Second, "join", func() bool { return a.NumMembers() == 2 })
		a.mu.Lock()
		inc := a.table.nodeMap["b"].Incarnation
		a.mu.Unlock()
		a.suspectNode(&suspect{Incarnation: inc, Node: "b", From: "someone"})
		waitFor(t, 5*time.Second, "b refuted", func() bool {
			a.mu.Lock()
			defer a.mu.Unlock()
			st := a.table.nodeMap["b"]
			return st.State == StateAlive && st.Incarnation > inc
		})
		if s := b.GetHealthScore(); s != 1 {
			t.Errorf("b's health score after refuting = %d, want 1", s)
		}
	})
}

// TestAwarenessRisesWhenProbesFail checks Lifeguard's local health: a node
// that cannot reach anyone (its outbound links are cut) blames itself.
func TestAwarenessRisesWhenProbesFail(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 46)
		for i := range 4 {
			c.add(fmt.Sprintf("n%d", i))
		}
		c.joinAll()
		waitFor(t, 5*time.Second, "join", func() bool { return c.nodes[0].NumMembers() == 4 })
		for _, other := range []string{"n1", "n2", "n3"} {
			c.net.Block("n0", other)
		}
		waitFor(t, 10*time.Second, "n0's health score rises", func() bool { return c.nodes[0].GetHealthScore() > 0 })
		c.net.Heal()
		waitFor(t, 60*time.Second, "n0 recovers", func() bool { return c.nodes[0].GetHealthScore() == 0 })
	})
}

func TestProtocolVersionPairsJoin(t *testing.T) {
	for _, pair := range [][2]uint8{{2, 1}, {2, 3}, {3, 2}, {3, 1}, {2, 5}, {5, 4}, {1, 5}} {
		t.Run(fmt.Sprintf("%d-%d", pair[0], pair[1]), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := newTestCluster(t, 47)
				a := c.add("a", func(conf *Config) { conf.ProtocolVersion = pair[0] })
				b := c.add("b", func(conf *Config) { conf.ProtocolVersion = pair[1] })
				c.joinAll()
				waitFor(t, 5*time.Second, "join", func() bool { return a.NumMembers() == 2 && b.NumMembers() == 2 })
				advance(3 * time.Second)
				if a.NumMembers() != 2 || b.NumMembers() != 2 {
					t.Errorf("members: %d, %d", a.NumMembers(), b.NumMembers())
				}
			})
		})
	}
}

func TestDeadNodesAreReapedAfterGossipToTheDeadTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 48)
		a := c.add("a")
		c.add("b")
		v := c.add("v")
		c.joinAll()
		waitFor(t, 5*time.Second, "join", func() bool { return a.NumMembers() == 3 })
		v.Shutdown()
		waitFor(t, 30*time.Second, "v dead", func() bool { s, _ := stateOf(a, "v"); return s == StateDead })
		waitFor(t, 30*time.Second, "v reaped", func() bool { _, ok := stateOf(a, "v"); return !ok })
		if n := a.table.estNumNodes(); n != 2 {
			t.Errorf("estimated nodes after reaping = %d, want 2", n)
		}
	})
}

func TestJoinErrorsNameEverySeed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 49)
		a := c.add("a")
		n, err := a.Join([]string{"/nobody", "ghost/127.0.0.1:99", "127.0.0.1:80000"})
		if n != 0 || err == nil {
			t.Fatalf("Join = %d, %v", n, err)
		}
		for _, want := range []string{"failed to resolve /nobody", "empty node name provided", "failed to join 127.0.0.1:99", "failed to resolve 127.0.0.1:80000"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q lacks %q", err, want)
			}
		}
	})
}

func TestRequireNodeNames(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 50)
		a := c.add("a", func(conf *Config) { conf.RequireNodeNames = true })
		b := c.add("b")
		err := a.SendToAddress(Address{Addr: mockTransportOf(b).addr.String()}, []byte("x"))
		if !errors.Is(err, errNodeNameRequired) {
			t.Errorf("SendToAddress without a name = %v", err)
		}
		if _, err := a.Join([]string{mockTransportOf(b).addr.String()}); err == nil || !strings.Contains(err.Error(), "node names are required") {
			t.Errorf("Join without a name = %v", err)
		}
	})
}

// plainTransport hides the NodeAwareTransport methods of a MockTransport.
type plainTransport struct{ t *MockTransport }

func (p plainTransport) FinalAdvertiseAddr(ip string, port int) (net.IP, int, error) {
	return p.t.FinalAdvertiseAddr(ip, port)
}
func (p plainTransport) WriteTo(b []byte, addr string) (time.Time, error) {
	return p.t.WriteTo(b, addr)
}
func (p plainTransport) PacketCh() <-chan *Packet { return p.t.PacketCh() }
func (p plainTransport) DialTimeout(addr string, d time.Duration) (net.Conn, error) {
	return p.t.DialTimeout(addr, d)
}
func (p plainTransport) StreamCh() <-chan net.Conn { return p.t.StreamCh() }
func (p plainTransport) Shutdown() error           { return p.t.Shutdown() }

func TestPlainTransportIsAdapted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 51)
		a := c.add("a", func(conf *Config) { conf.Transport = plainTransport{c.net.NewTransport("a")} })
		b := c.add("b", func(conf *Config) { conf.Transport = plainTransport{c.net.NewTransport("b")} })
		if _, err := b.Join([]string{"127.0.0.1:" + fmt.Sprint(a.advertisePort)}); err != nil {
			t.Fatalf("Join over a plain transport: %v", err)
		}
		waitFor(t, 5*time.Second, "join", func() bool { return a.NumMembers() == 2 && b.NumMembers() == 2 })
	})
}

func TestMetricsEmitted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		inm := metrics.NewInmemSink(time.Hour, time.Hour)
		cfg := metrics.DefaultConfig("test")
		cfg.EnableHostname = false
		cfg.EnableRuntimeMetrics = false
		sink, err := metrics.New(cfg, inm)
		if err != nil {
			t.Fatal(err)
		}
		c := newTestCluster(t, 52)
		labels := make([]metrics.Label, 1, 4) // spare capacity must not be written
		labels[0] = metrics.Label{Name: "dc", Value: "one"}
		a := c.add("a", func(conf *Config) { conf.MetricSink = sink })
		b := c.add("b", func(conf *Config) { conf.MetricLabels = labels })
		if _, err := b.Join([]string{seedAddr(a)}); err != nil {
			t.Fatal(err)
		}
		advance(2 * time.Second)
		data := inm.Data()
		seen := map[string]bool{}
		for _, iv := range data {
			for k := range iv.Counters {
				seen[k] = true
			}
			for k := range iv.Gauges {
				seen[k] = true
			}
			for k := range iv.Samples {
				seen[k] = true
			}
		}
		for _, want := range []string{
			"test.memberlist.udp.sent", "test.memberlist.tcp.accept", "test.memberlist.msg.alive",
			"test.memberlist.node.instances;node_state=alive", "test.memberlist.node.instances;node_state=left",
			"test.memberlist.gossip", "test.memberlist.probeNode",
		} {
			if !seen[want] {
				t.Errorf("metric %s not emitted; have %v", want, slices.Sorted(mapsKeys(seen)))
			}
		}
		if full := labels[:cap(labels)]; full[1] != (metrics.Label{}) {
			t.Errorf("the caller's MetricLabels backing array was written: %v", full)
		}
	})
}

func mapsKeys(m map[string]bool) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}
