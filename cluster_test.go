package memberlist

import (
	"fmt"
	"slices"
	"testing"
	"testing/synctest"
	"time"
)

func TestCluster_JoinAndConverge(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 1)
		for i := range 5 {
			c.add(fmt.Sprintf("node%d", i))
		}
		c.joinAll()
		waitFor(t, 5*time.Second, "every node sees 5 alive members", func() bool {
			for _, m := range c.nodes {
				if m.NumMembers() != 5 {
					return false
				}
			}
			return true
		})
	})
}

func TestCluster_FailureDetection(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 2)
		for i := range 4 {
			c.add(fmt.Sprintf("node%d", i))
		}
		c.joinAll()
		waitFor(t, 5*time.Second, "convergence", func() bool { return c.nodes[3].NumMembers() == 4 })
		victim := c.nodes[3]
		victim.Shutdown()
		waitFor(t, 30*time.Second, "victim declared dead everywhere", func() bool {
			for _, m := range c.nodes[:3] {
				if s, ok := stateOf(m, "node3"); ok && s != StateDead {
					return false
				}
			}
			return true
		})
		for _, m := range c.nodes[:3] {
			if n := m.NumMembers(); n != 3 {
				t.Errorf("%s sees %d members, want 3", m.config.Name, n)
			}
		}
	})
}

func TestCluster_Leave(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 3)
		a, b := c.add("a"), c.add("b")
		c.joinAll()
		waitFor(t, 5*time.Second, "join", func() bool { return a.NumMembers() == 2 && b.NumMembers() == 2 })
		if err := b.Leave(time.Second); err != nil {
			t.Fatalf("Leave: %v", err)
		}
		waitFor(t, 5*time.Second, "b seen as left", func() bool {
			s, _ := stateOf(a, "b")
			return s == StateLeft
		})
		if n := a.NumMembers(); n != 1 {
			t.Errorf("a sees %d members after leave, want 1", n)
		}
		if err := b.Leave(time.Second); err != nil {
			t.Errorf("second Leave: %v", err)
		}
		b.Shutdown()
		if err := b.Leave(time.Second); err == nil {
			t.Error("Leave after Shutdown should fail")
		}
	})
}

func TestCluster_UserMessages(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 4)
		da, db := &recordingDelegate{state: []byte("state-a")}, &recordingDelegate{state: []byte("state-b")}
		a := c.add("a", func(conf *Config) { conf.Delegate = da; conf.Events = da })
		b := c.add("b", func(conf *Config) { conf.Delegate = db; conf.Events = db })
		c.joinAll()
		waitFor(t, 5*time.Second, "join", func() bool { return a.NumMembers() == 2 && b.NumMembers() == 2 })
		var nodeA *Node
		for _, n := range b.Members() {
			if n.Name == "a" {
				nodeA = n
			}
		}
		if err := b.SendReliable(nodeA, []byte("reliable")); err != nil {
			t.Fatalf("SendReliable: %v", err)
		}
		if err := b.SendBestEffort(nodeA, []byte("best-effort")); err != nil {
			t.Fatalf("SendBestEffort: %v", err)
		}
		db.mu.Lock()
		db.broadcasts = append(db.broadcasts, []byte("gossiped"))
		db.mu.Unlock()
		waitFor(t, 5*time.Second, "messages delivered", func() bool {
			return da.hasMsg("reliable") && da.hasMsg("best-effort") && da.hasMsg("gossiped")
		})
		da.mu.Lock()
		remote := slices.Clone(da.remote)
		da.mu.Unlock()
		if len(remote) == 0 || string(remote[0]) != "state-b" {
			t.Errorf("a merged remote state %q, want state-b first", remote)
		}
	})
}

func TestCluster_UpdateNodeMeta(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 5)
		da := &recordingDelegate{meta: []byte("v1")}
		db := &recordingDelegate{}
		a := c.add("a", func(conf *Config) { conf.Delegate = da })
		b := c.add("b", func(conf *Config) { conf.Events = db })
		c.joinAll()
		waitFor(t, 5*time.Second, "join", func() bool { return b.NumMembers() == 2 })
		da.mu.Lock()
		da.meta = []byte("v2")
		da.mu.Unlock()
		if err := a.UpdateNode(time.Second); err != nil {
			t.Fatalf("UpdateNode: %v", err)
		}
		waitFor(t, 5*time.Second, "meta propagated", func() bool {
			for _, n := range b.Members() {
				if n.Name == "a" && string(n.Meta) == "v2" {
					return true
				}
			}
			return false
		})
		_, events := db.snapshot()
		if !slices.Contains(events, "update a") {
			t.Errorf("events %v lack an update of a", events)
		}
	})
}

// reentrantDelegate calls back into the Memberlist from every event.
type reentrantDelegate struct {
	m     *Memberlist
	calls int
}

func (d *reentrantDelegate) NotifyJoin(n *Node)   { d.call(n) }
func (d *reentrantDelegate) NotifyLeave(n *Node)  { d.call(n) }
func (d *reentrantDelegate) NotifyUpdate(n *Node) { d.call(n) }

func (d *reentrantDelegate) call(n *Node) {
	if d.m == nil {
		return
	}
	d.calls++
	d.m.NumMembers()
	d.m.Members()
	d.m.LocalNode()
	if n.Name != d.m.config.Name {
		d.m.SendReliable(n, []byte("hello from a callback"))
	}
}

func TestDelegateCallbacksMayCallBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 6)
		d := &reentrantDelegate{}
		a := c.add("a", func(conf *Config) { conf.Events = d })
		d.m = a
		c.add("b")
		c.joinAll()
		waitFor(t, 5*time.Second, "join", func() bool { return a.NumMembers() == 2 })
		if d.calls == 0 {
			t.Fatal("delegate was never called")
		}
	})
}

func TestCreateShutdownLeavesNoGoroutines(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 7)
		a, b := c.add("a"), c.add("b")
		c.joinAll()
		waitFor(t, 5*time.Second, "join", func() bool { return a.NumMembers() == 2 })
		a.Shutdown()
		b.Shutdown()
		if err := a.Shutdown(); err != nil {
			t.Errorf("second Shutdown: %v", err)
		}
		// synctest.Test fails if a goroutine of the bubble is blocked
		// for good, but it waits for the others to exit, so this does not
		// show that Shutdown waits: TestShutdownLeaks does, outside a
		// bubble.
	})
}
