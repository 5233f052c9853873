package memberlist

import (
	"bytes"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// Tests for the deliberate differences listed in COMPATIBILITY.md.

type metaDelegate struct {
	recordingDelegate
	size int
}

func (d *metaDelegate) NodeMeta(int) []byte { return bytes.Repeat([]byte("m"), d.size) }

func TestNodeMetaTooLongIsAnError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 60)
		d := &metaDelegate{size: MetaMaxSize + 1}
		conf := c.config("a")
		conf.Delegate = d
		if _, err := create(conf, options{}); err == nil || !strings.Contains(err.Error(), "longer than the limit") {
			t.Fatalf("Create with oversized meta = %v, want an error", err)
		}
		d.size = MetaMaxSize
		a := c.add("b", func(conf *Config) { conf.Delegate = d })
		d.size = MetaMaxSize + 1
		if err := a.UpdateNode(time.Second); err == nil {
			t.Fatal("UpdateNode with oversized meta succeeded")
		}
	})
}

func TestMembersAreCopiesWithTheirState(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 61)
		a, _ := c.add("a"), c.add("b")
		c.joinAll()
		waitFor(t, 5*time.Second, "join", func() bool { return a.NumMembers() == 2 })
		a.mu.Lock()
		inc := a.table.nodeMap["b"].Incarnation
		a.mu.Unlock()
		c.net.Block("b", "a") // keep b from refuting
		a.suspectNode(&suspect{Incarnation: inc, Node: "b", From: "x"})
		var got NodeStateType = -1
		for _, n := range a.Members() {
			if n.Name == "b" {
				got = n.State
				n.Name = "changed"
				n.Addr[0] = 99
			}
		}
		if got != StateSuspect {
			t.Errorf("Members reports b in state %d, want StateSuspect", got)
		}
		a.mu.Lock()
		st := a.table.nodeMap["b"]
		a.mu.Unlock()
		if st.Name != "b" || st.Addr[0] == 99 {
			t.Error("changing a Members() result changed the node table")
		}
	})
}

func TestAliveWithIncarnationZeroLeavesNoPlaceholder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 62)
		a := c.add("a")
		a.aliveNode(&alive{Incarnation: 0, Node: "ghost", Addr: net.IPv4(10, 0, 0, 9).To4(), Port: 1, Vsn: []uint8{1, 5, 2, 0, 0, 0}}, nil, false)
		if _, ok := stateOf(a, "ghost"); ok {
			t.Error("an alive with incarnation 0 left an entry behind")
		}
		if n := a.table.estNumNodes(); n != 1 {
			t.Errorf("estimated nodes %d, want 1", n)
		}
	})
}

func TestRefutationReplacesQueuedMessagesAboutUs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 63)
		a := c.add("a", func(conf *Config) { conf.GossipInterval = 0 })
		a.broadcasts.Reset()
		a.encodeBroadcast("a", aliveMsg, &alive{Incarnation: 1, Node: "a"})
		a.mu.Lock()
		inc := a.table.nodeMap["a"].Incarnation
		a.mu.Unlock()
		a.suspectNode(&suspect{Incarnation: inc, Node: "a", From: "x"})
		if n := a.broadcasts.NumQueued(); n != 1 {
			t.Errorf("queued broadcasts after a refutation: %d, want 1 (keyed by our name)", n)
		}
	})
}

func TestPacketNestingIsBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 64)
		var acks atomic.Int32
		c.net.SetCapture(func(from, to string, b []byte) {
			if from == "a" && to == "b" {
				acks.Add(1)
			}
		})
		a := c.add("a", func(conf *Config) { conf.ProbeInterval = 0; conf.GossipInterval = 0 })
		b := c.add("b", func(conf *Config) { conf.ProbeInterval = 0; conf.GossipInterval = 0 })
		p := encodeMessage(pingMsg, &ping{SeqNo: 1, Node: "a", SourceAddr: b.advertiseAddr, SourcePort: b.advertisePort, SourceNode: "b"})
		nest := func(depth int) []byte {
			msg := p
			for range depth {
				msg = makeCompoundMessage([][]byte{msg})
			}
			return msg
		}
		a.ingestPacket(nest(maxNestingDepth), mockTransportOf(b).addr, time.Now())
		synctest.Wait()
		if acks.Load() != 1 {
			t.Fatalf("acks after %d levels of nesting: %d, want 1", maxNestingDepth, acks.Load())
		}
		a.ingestPacket(nest(maxNestingDepth+1), mockTransportOf(b).addr, time.Now())
		synctest.Wait()
		if acks.Load() != 1 {
			t.Fatalf("a ping nested %d levels deep was answered", maxNestingDepth+1)
		}
	})
}

func TestLeaveAfterShutdownIsAnError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 65)
		a := c.add("a")
		a.Shutdown()
		if err := a.Leave(time.Second); err == nil || err.Error() != "leave after shutdown" {
			t.Fatalf("Leave after Shutdown = %v", err)
		}
	})
}

func TestRawSendCRC(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 66)
		var mu sync.Mutex
		var firstBytes []byte
		quiet := func(conf *Config) { conf.ProbeInterval = 0; conf.GossipInterval = 0; conf.PushPullInterval = 0 }
		a := c.add("a", quiet)
		b := c.add("b", quiet)
		c.joinAll()
		synctest.Wait()
		c.net.SetCapture(func(from, to string, p []byte) {
			mu.Lock()
			defer mu.Unlock()
			firstBytes = append(firstBytes, p[0])
		})
		msg := []byte{byte(userMsg), 'x'}
		bAddr := mockTransportOf(b).addr.String()
		a.rawSendMsgPacket(Address{Addr: bAddr, Name: "b"}, nil, msg)
		a.rawSendMsgPacket(Address{Addr: bAddr}, nil, msg)
		synctest.Wait()
		mu.Lock()
		defer mu.Unlock()
		if len(firstBytes) != 2 || firstBytes[0] != byte(hasCrcMsg) || firstBytes[1] != byte(userMsg) {
			t.Fatalf("first bytes %v: want a CRC for the known protocol-5 node only", firstBytes)
		}
	})
}

// lockingDelegate takes mu in NotifyMsg, as serf's delegate takes its state
// lock, and tells started when it is waiting.
type lockingDelegate struct {
	recordingDelegate
	mu      *sync.Mutex
	started chan struct{}
}

func (d *lockingDelegate) NotifyMsg(b []byte) {
	select {
	case d.started <- struct{}{}:
	default:
	}
	d.mu.Lock()
	d.mu.Unlock()
}

// TestShutdownWhileACallbackWaitsForTheCaller checks that Shutdown does not
// wait for a goroutine blocked in a delegate on a lock the caller of
// Shutdown holds.
func TestShutdownWhileACallbackWaitsForTheCaller(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 67)
		var mu sync.Mutex
		d := &lockingDelegate{mu: &mu, started: make(chan struct{}, 1)}
		a := c.add("a", func(conf *Config) { conf.Delegate = d })
		b := c.add("b")
		c.joinAll()
		synctest.Wait()
		mu.Lock()
		var nodeA *Node
		for _, n := range b.Members() {
			if n.Name == "a" {
				nodeA = n
			}
		}
		b.SendBestEffort(nodeA, []byte("hello"))
		<-d.started
		a.Shutdown() // would deadlock if it waited for the handler
		mu.Unlock()
	})
}

type shutdownInCallback struct{ m *Memberlist }

func (s *shutdownInCallback) NotifyJoin(n *Node) {
	if s.m != nil && n.Name == "b" {
		s.m.Shutdown()
	}
}
func (s *shutdownInCallback) NotifyLeave(*Node)  {}
func (s *shutdownInCallback) NotifyUpdate(*Node) {}

func TestShutdownFromInsideACallback(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 68)
		d := &shutdownInCallback{}
		a := c.add("a", func(conf *Config) { conf.Events = d })
		d.m = a
		b := c.add("b")
		b.Join([]string{seedAddr(a)})
		waitFor(t, 5*time.Second, "a shut itself down", func() bool { return a.shutdown.Load() })
	})
}

func TestLeaveAndUpdateNodeTimeouts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 69)
		silent := func(conf *Config) { conf.GossipInterval = 0; conf.ProbeInterval = 0; conf.PushPullInterval = 0 }
		d := &recordingDelegate{meta: []byte("v1")}
		a := c.add("a", silent, func(conf *Config) { conf.Delegate = d })
		c.add("b", silent)
		c.joinAll()
		synctest.Wait()
		if a.NumMembers() != 2 {
			t.Fatalf("a has %d members", a.NumMembers())
		}
		d.meta = []byte("v2")
		if err := a.UpdateNode(100 * time.Millisecond); err == nil || err.Error() != "timeout waiting for update broadcast" {
			t.Errorf("UpdateNode with nothing gossiping = %v", err)
		}
		if err := a.Leave(100 * time.Millisecond); err == nil || err.Error() != "timeout waiting for leave broadcast" {
			t.Errorf("Leave with nothing gossiping = %v", err)
		}
	})
}
