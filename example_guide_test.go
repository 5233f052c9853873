package memberlist

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"
)

// These examples run on the in-memory network, so they need no sockets.
// Examples cannot use testing/synctest, so they wait for conditions on
// real time; the in-memory network makes that fast. (They are in package
// memberlist rather than memberlist_test because serf's suite replaces
// hashicorp/memberlist with this directory: see ExampleMockNetwork.)

// exampleNode creates a node on network with DefaultLocalConfig; mod, if
// not nil, adjusts the config first.
func exampleNode(network *MockNetwork, name string, mod func(*Config)) *Memberlist {
	conf := DefaultLocalConfig()
	conf.Name = name
	conf.Transport = network.NewTransport(name)
	conf.LogOutput = io.Discard
	if mod != nil {
		mod(conf)
	}
	m, err := Create(conf)
	if err != nil {
		panic(err)
	}
	return m
}

// joinAddr is the address to pass to Join for m on the in-memory network:
// "name/address", which routes by name.
func joinAddr(m *Memberlist) string {
	return m.LocalNode().Name + "/" + m.LocalNode().Address()
}

// waitUntil checks cond every 10 ms until it holds, for at most 10 s, and
// reports whether it held.
func waitUntil(cond func() bool) bool {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(10 * time.Second)
	for !cond() {
		select {
		case <-tick.C:
		case <-deadline:
			return false
		}
	}
	return true
}

// memberNames returns the sorted names of m's members.
func memberNames(m *Memberlist) []string {
	var names []string
	for _, n := range m.Members() {
		names = append(names, n.Name)
	}
	slices.Sort(names)
	return names
}

// ExampleMemberlist_Join builds a three-node cluster: each new node joins
// through any existing one, and gossip tells everyone about everyone.
func ExampleMemberlist_Join() {
	network := &MockNetwork{}
	a := exampleNode(network, "a", nil)
	b := exampleNode(network, "b", nil)
	c := exampleNode(network, "c", nil)
	defer a.Shutdown()
	defer b.Shutdown()
	defer c.Shutdown()

	if _, err := b.Join([]string{joinAddr(a)}); err != nil {
		panic(err)
	}
	if _, err := c.Join([]string{joinAddr(b)}); err != nil {
		panic(err)
	}
	// c learned a and b from b at once; a learns of c by gossip.
	waitUntil(func() bool { return a.NumMembers() == 3 })
	fmt.Println(memberNames(a))
	fmt.Println(memberNames(c))
	// Output:
	// [a b c]
	// [a b c]
}

// ExampleChannelEventDelegate watches the cluster from node a: a join, and
// then a graceful leave.
func ExampleChannelEventDelegate() {
	network := &MockNetwork{}
	events := make(chan NodeEvent, 16)
	a := exampleNode(network, "a", func(c *Config) {
		c.Events = &ChannelEventDelegate{Ch: events}
	})
	defer a.Shutdown()
	b := exampleNode(network, "b", nil)

	if _, err := b.Join([]string{joinAddr(a)}); err != nil {
		panic(err)
	}
	if err := b.Leave(time.Second); err != nil {
		panic(err)
	}
	b.Shutdown()

	kinds := map[NodeEventType]string{NodeJoin: "join", NodeLeave: "leave", NodeUpdate: "update"}
	for range 3 {
		select {
		case e := <-events:
			fmt.Println(kinds[e.Event], e.Node.Name)
		case <-time.After(10 * time.Second):
			fmt.Println("timed out")
			return
		}
	}
	// Output:
	// join a
	// join b
	// leave b
}

// chatDelegate is a Delegate that gossips user messages through a
// TransmitLimitedQueue and records the ones it receives.
type chatDelegate struct {
	queue *TransmitLimitedQueue

	mu       sync.Mutex
	received []string
}

// chatMessage is a Broadcast that never replaces another.
type chatMessage []byte

func (m chatMessage) Invalidates(Broadcast) bool { return false }
func (m chatMessage) Message() []byte            { return m }
func (m chatMessage) Finished()                  {}

func (d *chatDelegate) NodeMeta(limit int) []byte { return nil }
func (d *chatDelegate) NotifyMsg(b []byte) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.received = append(d.received, string(b)) // b is reused after the call: copy it
}
func (d *chatDelegate) GetBroadcasts(overhead, limit int) [][]byte {
	return d.queue.GetBroadcasts(overhead, limit)
}
func (d *chatDelegate) LocalState(join bool) []byte            { return nil }
func (d *chatDelegate) MergeRemoteState(buf []byte, join bool) {}

func (d *chatDelegate) messages() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.received)
}

// ExampleTransmitLimitedQueue gossips a user message to the cluster: the
// Delegate hands queued broadcasts to memberlist, which piggybacks them on
// its own packets, each sent a limited number of times.
func ExampleTransmitLimitedQueue() {
	network := &MockNetwork{}
	var delegates []*chatDelegate
	var nodes []*Memberlist
	for _, name := range []string{"a", "b", "c"} {
		d := &chatDelegate{}
		m := exampleNode(network, name, func(c *Config) { c.Delegate = d })
		defer m.Shutdown()
		// The queue scales its retransmit limit with the cluster size.
		d.queue = &TransmitLimitedQueue{NumNodes: m.NumMembers, RetransmitMult: 3}
		delegates, nodes = append(delegates, d), append(nodes, m)
	}
	for _, m := range nodes[1:] {
		if _, err := m.Join([]string{joinAddr(nodes[0])}); err != nil {
			panic(err)
		}
	}
	waitUntil(func() bool { return nodes[0].NumMembers() == 3 })

	delegates[0].queue.QueueBroadcast(chatMessage("hello from a"))
	waitUntil(func() bool { return len(delegates[1].messages()) > 0 && len(delegates[2].messages()) > 0 })
	fmt.Println("b got", delegates[1].messages()[0])
	fmt.Println("c got", delegates[2].messages()[0])
	// Output:
	// b got hello from a
	// c got hello from a
}

// ExampleKeyring rotates the encryption key of a running cluster without
// a restart: install the new key everywhere, make it the primary key
// everywhere, then remove the old one everywhere. Every node decrypts with
// any installed key and encrypts with the primary one, so the nodes keep
// talking at every step.
func ExampleKeyring() {
	oldKey := bytes.Repeat([]byte{1}, 32) // AES-256; use crypto/rand for real keys
	newKey := bytes.Repeat([]byte{2}, 32)

	network := &MockNetwork{}
	var rings []*Keyring
	start := func(name string, keys ...[]byte) *Memberlist {
		ring, err := NewKeyring(keys, keys[0])
		if err != nil {
			panic(err)
		}
		rings = append(rings, ring)
		return exampleNode(network, name, func(c *Config) { c.Keyring = ring })
	}
	a := start("a", oldKey)
	b := start("b", oldKey)
	defer a.Shutdown()
	defer b.Shutdown()
	if _, err := b.Join([]string{joinAddr(a)}); err != nil {
		panic(err)
	}

	for _, step := range []func(*Keyring) error{
		func(k *Keyring) error { return k.AddKey(newKey) },
		func(k *Keyring) error { return k.UseKey(newKey) },
		func(k *Keyring) error { return k.RemoveKey(oldKey) },
	} {
		for _, ring := range rings[:2] {
			if err := step(ring); err != nil {
				panic(err)
			}
		}
	}

	// A node with only the old key can no longer join...
	stale := start("stale", oldKey)
	defer stale.Shutdown()
	_, err := stale.Join([]string{joinAddr(a)})
	fmt.Println("join with the old key failed:", err != nil)

	// ...and one with the new key can.
	c := start("c", newKey)
	defer c.Shutdown()
	if _, err := c.Join([]string{joinAddr(a)}); err != nil {
		panic(err)
	}
	waitUntil(func() bool { return b.NumMembers() == 3 })
	fmt.Println(memberNames(b))
	// Output:
	// join with the old key failed: true
	// [a b c]
}
