package memberlist

import (
	"bytes"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"
)

// testCluster is a set of nodes on one MockNetwork. Build it inside a
// synctest bubble so its timers run on virtual time.
type testCluster struct {
	t     *testing.T
	net   *MockNetwork
	nodes []*Memberlist
	seed  uint64
}

func newTestCluster(t *testing.T, seed uint64) *testCluster {
	n := &MockNetwork{}
	n.SetSeed(seed)
	return &testCluster{t: t, net: n, seed: seed}
}

// testConfig returns a fast local config for a node on the mock network.
func (c *testCluster) config(name string) *Config {
	conf := DefaultLocalConfig()
	conf.Name = name
	conf.Transport = c.net.NewTransport(name)
	conf.LogOutput = io.Discard
	conf.ProbeInterval = 100 * time.Millisecond
	conf.ProbeTimeout = 30 * time.Millisecond
	conf.GossipInterval = 10 * time.Millisecond
	conf.PushPullInterval = time.Second
	conf.GossipToTheDeadTime = 2 * time.Second
	conf.TCPTimeout = 200 * time.Millisecond
	return conf
}

// add creates a node; mods adjust its config first.
func (c *testCluster) add(name string, mods ...func(*Config)) *Memberlist {
	c.t.Helper()
	return c.addWith(name, options{}, mods...)
}

// addWith is add with test seams; its seed is the cluster's.
func (c *testCluster) addWith(name string, opts options, mods ...func(*Config)) *Memberlist {
	c.t.Helper()
	conf := c.config(name)
	for _, mod := range mods {
		mod(conf)
	}
	seed := [2]uint64{c.seed, uint64(len(c.nodes))}
	opts.seed = &seed
	m, err := create(conf, opts)
	if err != nil {
		c.t.Fatalf("create %s: %v", name, err)
	}
	c.nodes = append(c.nodes, m)
	c.t.Cleanup(func() { m.Shutdown() })
	return m
}

// joinAll joins every node but the first to the first.
func (c *testCluster) joinAll() {
	c.t.Helper()
	first := c.nodes[0]
	addr := first.config.Name + "/" + first.transport.(*MockTransport).addr.String()
	for _, m := range c.nodes[1:] {
		if _, err := m.Join([]string{addr}); err != nil {
			c.t.Fatalf("join %s: %v", m.config.Name, err)
		}
	}
}

// seedAddr is the join string of m on the mock network.
func seedAddr(m *Memberlist) string {
	return m.config.Name + "/" + mockTransportOf(m).addr.String()
}

func mockTransportOf(m *Memberlist) *MockTransport {
	switch t := m.transport.(type) {
	case *MockTransport:
		return t
	case *labelWrappedTransport:
		return t.NodeAwareTransport.(*MockTransport)
	case advertisingTransport:
		return t.MockTransport
	}
	panic("not a mock transport")
}

// advance lets virtual time pass inside a synctest bubble. It is not a
// real-time wait: the bubble's clock jumps when every goroutine is idle.
func advance(d time.Duration) {
	<-time.After(d)
}

// waitFor advances virtual time in steps until cond holds or limit passes.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", limit, what)
		}
		advance(10 * time.Millisecond)
	}
}

// stateOf returns the state m holds for name, and whether it knows name.
func stateOf(m *Memberlist, name string) (NodeStateType, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	st, ok := m.table.nodeMap[name]
	if !ok {
		return 0, false
	}
	return st.State, true
}

// recordingDelegate implements Delegate, EventDelegate and records calls.
type recordingDelegate struct {
	mu         sync.Mutex
	meta       []byte
	msgs       [][]byte
	broadcasts [][]byte
	state      []byte
	remote     [][]byte
	events     []string
}

func (d *recordingDelegate) NodeMeta(limit int) []byte {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.meta
}

func (d *recordingDelegate) NotifyMsg(b []byte) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.msgs = append(d.msgs, bytes.Clone(b))
}

func (d *recordingDelegate) GetBroadcasts(overhead, limit int) [][]byte {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out [][]byte
	used := 0
	for len(d.broadcasts) > 0 && used+overhead+len(d.broadcasts[0]) <= limit {
		used += overhead + len(d.broadcasts[0])
		out = append(out, d.broadcasts[0])
		d.broadcasts = d.broadcasts[1:]
	}
	return out
}

func (d *recordingDelegate) LocalState(join bool) []byte {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.state
}

func (d *recordingDelegate) MergeRemoteState(buf []byte, join bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.remote = append(d.remote, bytes.Clone(buf))
}

func (d *recordingDelegate) NotifyJoin(n *Node)   { d.event("join", n) }
func (d *recordingDelegate) NotifyLeave(n *Node)  { d.event("leave", n) }
func (d *recordingDelegate) NotifyUpdate(n *Node) { d.event("update", n) }

func (d *recordingDelegate) event(kind string, n *Node) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.events = append(d.events, fmt.Sprintf("%s %s", kind, n.Name))
}

func (d *recordingDelegate) snapshot() (msgs [][]byte, events []string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([][]byte(nil), d.msgs...), append([]string(nil), d.events...)
}

func (d *recordingDelegate) hasMsg(want string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, m := range d.msgs {
		if string(m) == want {
			return true
		}
	}
	return false
}
