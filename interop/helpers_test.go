package interop

import (
	"bytes"
	"errors"
	"fmt"
	"log"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	ours "github.com/gossip-go/memberlist"
	theirs "github.com/hashicorp/memberlist"
)

// kind names a memberlist implementation.
type kind string

const (
	kindOurs   kind = "ours"
	kindTheirs kind = "theirs"
)

// kinds returns both implementations, ours first.
func kinds() []kind { return []kind{kindOurs, kindTheirs} }

// timers are the protocol periods of a test node.
type timers struct {
	Probe, ProbeTimeout, Gossip, PushPull, TCP, GossipToTheDead time.Duration
	SuspicionMult, RetransmitMult                               int
}

// fastTimers returns the periods of a lively test cluster.
func fastTimers() timers {
	return timers{
		Probe:           100 * time.Millisecond,
		ProbeTimeout:    50 * time.Millisecond,
		Gossip:          20 * time.Millisecond,
		PushPull:        500 * time.Millisecond,
		TCP:             10 * time.Second, // only a starved node waits this long
		GossipToTheDead: 15 * time.Second,
		SuspicionMult:   3,
		RetransmitMult:  2,
	}
}

// quietTimers returns periods under which a node sends nothing on its own:
// no gossip, no push/pull, and a probe period no test outlives. The probe
// timeout bounds a public Ping, which must succeed under load.
func quietTimers() timers {
	t := fastTimers()
	t.Probe = 10 * time.Minute
	t.ProbeTimeout = 2 * time.Second
	t.Gossip = 0
	t.PushPull = 0
	return t
}

// steadyTimers returns periods for tests that assert no node is ever
// declared dead: gossip as lively as fastTimers, but a probe timeout and a
// suspicion timeout that a loaded 2-core machine under -race still meets,
// and the default retransmit multiplier, so that a broadcast reaches all
// of a small cluster without being queued again. In a cluster of up to
// 17 nodes SuspicionMult 16 wants no confirmations (k = 16-2 > n-2), so
// the suspicion timeout is its minimum, 16 × 250 ms = 4 s (reference
// §3.2): a suspected node has 4 s to refute.
func steadyTimers() timers {
	t := fastTimers()
	t.Probe, t.ProbeTimeout = 250*time.Millisecond, 200*time.Millisecond
	t.PushPull = time.Second
	t.SuspicionMult, t.RetransmitMult = 16, 4
	return t
}

// nodeOpts describes a test node independently of its implementation.
type nodeOpts struct {
	Name        string
	Proto       uint8 // protocol version spoken; 0 means ProtocolVersion2Compatible
	Compression bool
	Label       string
	SecretKey   []byte
	AcceptPlain bool          // with a key: GossipVerifyIncoming=false, plaintext input is accepted
	SendPlain   bool          // with a key: GossipVerifyOutgoing=false, output is not encrypted
	Record      bool          // wrap the NetTransport in a recorder
	DropUDP     bool          // with Record: record outbound packets but do not send them
	Meta        []byte        // initial Delegate.NodeMeta
	State       []byte        // Delegate.LocalState
	AckPayload  []byte        // non-nil installs a PingDelegate answering with it
	Relay       bool          // re-queue each new user message for gossip (epidemic broadcast)
	ReclaimDead time.Duration // DeadNodeReclaimTime
	Timers      timers
}

// member is a Node as either implementation reports it.
type member struct {
	Name                               string
	Addr                               string
	Port                               uint16
	Meta                               []byte
	PMin, PMax, PCur, DMin, DMax, DCur uint8
}

// node is a running Memberlist of either kind, behind one interface so that
// each scenario is written once and run in every direction.
type node interface {
	Kind() kind
	Name() string
	Addr() string // 127.0.0.1:port, for UDP and TCP
	Port() int
	Join(addrs ...string) (int, error)
	Members() []member
	Ping(name, addr string) (time.Duration, error)
	SendReliable(to string, msg []byte) error
	SendBestEffort(to string, msg []byte) error
	Broadcast(msg []byte) // queue a user broadcast in the node's TransmitLimitedQueue
	NumQueued() int       // user broadcasts still queued
	UpdateNode(timeout time.Duration) error
	Leave(timeout time.Duration) error
	Shutdown() error
	Keyring() keyring // nil when the node was created without a key
	Del() *recDelegate
	Events() *recEvents
	Rec() *recorder // nil unless nodeOpts.Record
	Logs() *syncBuffer
}

// keyring is the key API both kinds' *Keyring have.
type keyring interface {
	AddKey(key []byte) error
	UseKey(key []byte) error
	RemoveKey(key []byte) error
	GetKeys() [][]byte
	GetPrimaryKey() []byte
}

// newNode starts a node of kind k and shuts it down when the test ends,
// printing its log if the test failed.
func newNode(t testing.TB, k kind, o nodeOpts) node {
	t.Helper()
	if o.Timers == (timers{}) {
		o.Timers = fastTimers()
	}
	if o.Proto == 0 {
		o.Proto = ours.ProtocolVersion2Compatible
	}
	b := &base{
		kind: k, name: o.Name,
		del:  &recDelegate{meta: o.Meta, state: o.State, relay: o.Relay, seen: map[string]bool{}},
		ev:   &recEvents{},
		logs: &syncBuffer{},
	}
	if o.Record {
		b.rec = &recorder{drop: o.DropUDP, w: wire{Key: o.SecretKey, Label: o.Label}}
	}
	var n node
	var err error
	switch k {
	case kindOurs:
		n, err = newOursNode(b, o)
	case kindTheirs:
		n, err = newTheirsNode(b, o)
	default:
		err = fmt.Errorf("unknown kind %q", k)
	}
	if err != nil {
		t.Fatalf("create %s node %s: %v\n%s", k, o.Name, err, b.logs.tail(8<<10))
	}
	t.Cleanup(func() {
		n.Shutdown()
		if t.Failed() {
			t.Logf("log of %s node %s (last 16 KiB):\n%s", k, o.Name, b.logs.tail(16<<10))
		}
	})
	return n
}

// base holds what nodes of both kinds share.
type base struct {
	kind kind
	name string
	port int
	keys keyring
	del  *recDelegate
	ev   *recEvents
	rec  *recorder
	logs *syncBuffer
}

func (b *base) Kind() kind          { return b.kind }
func (b *base) Name() string        { return b.name }
func (b *base) Port() int           { return b.port }
func (b *base) Addr() string        { return net.JoinHostPort("127.0.0.1", strconv.Itoa(b.port)) }
func (b *base) Keyring() keyring    { return b.keys }
func (b *base) Del() *recDelegate   { return b.del }
func (b *base) Events() *recEvents  { return b.ev }
func (b *base) Rec() *recorder      { return b.rec }
func (b *base) Logs() *syncBuffer   { return b.logs }
func (b *base) String() string      { return string(b.kind) + ":" + b.name }
func (b *base) logger() *log.Logger { return log.New(b.logs, "", log.Lmicroseconds) }

// udpAddr parses a host:port for Ping.
func udpAddr(addr string) (*net.UDPAddr, error) { return net.ResolveUDPAddr("udp", addr) }

// ---- ours ----

type oursNode struct {
	*base
	ml atomic.Pointer[ours.Memberlist]
	q  *ours.TransmitLimitedQueue
}

func newOursNode(b *base, o nodeOpts) (node, error) {
	n := &oursNode{base: b}
	c := ours.DefaultLocalConfig()
	c.Name = o.Name
	c.BindAddr, c.BindPort = "127.0.0.1", 0
	c.AdvertiseAddr, c.AdvertisePort = "127.0.0.1", 0
	c.ProtocolVersion = o.Proto
	c.EnableCompression = o.Compression
	c.Label = o.Label
	c.SecretKey = o.SecretKey
	c.GossipVerifyIncoming, c.GossipVerifyOutgoing = !o.AcceptPlain, !o.SendPlain
	c.ProbeInterval, c.ProbeTimeout = o.Timers.Probe, o.Timers.ProbeTimeout
	c.GossipInterval, c.PushPullInterval = o.Timers.Gossip, o.Timers.PushPull
	c.TCPTimeout, c.GossipToTheDeadTime = o.Timers.TCP, o.Timers.GossipToTheDead
	c.SuspicionMult, c.RetransmitMult = o.Timers.SuspicionMult, o.Timers.RetransmitMult
	c.DeadNodeReclaimTime = o.ReclaimDead
	c.Delegate = b.del
	c.Events = oursEvents{b.ev}
	if o.AckPayload != nil {
		c.Ping = oursPing{o.AckPayload}
	}
	c.Logger = b.logger()
	if o.Record {
		nt, err := retryBind(func() (*ours.NetTransport, error) {
			return ours.NewNetTransport(&ours.NetTransportConfig{BindAddrs: []string{"127.0.0.1"}, Logger: c.Logger})
		})
		if err != nil {
			return nil, err
		}
		c.BindPort = nt.GetAutoBindPort()
		c.AdvertisePort = c.BindPort
		c.Transport = &oursRecTransport{NetTransport: nt, rec: b.rec}
	}
	ml, err := ours.Create(c)
	if err != nil {
		return nil, err
	}
	n.ml.Store(ml)
	b.port = c.BindPort
	if c.Keyring != nil { // Create builds it from SecretKey
		b.keys = c.Keyring
	}
	n.q = &ours.TransmitLimitedQueue{NumNodes: ml.NumMembers, RetransmitMult: c.RetransmitMult}
	b.del.setQueue(n.q.GetBroadcasts, func(m []byte) { n.q.QueueBroadcast(oursBcast(m)) })
	return n, nil
}

func (n *oursNode) m() *ours.Memberlist { return n.ml.Load() }

func (n *oursNode) Join(addrs ...string) (int, error) { return n.m().Join(addrs) }
func (n *oursNode) Members() []member {
	var out []member
	for _, x := range n.m().Members() {
		out = append(out, oursMember(x))
	}
	return out
}

func oursMember(x *ours.Node) member {
	return member{x.Name, x.Addr.String(), x.Port, slices.Clone(x.Meta), x.PMin, x.PMax, x.PCur, x.DMin, x.DMax, x.DCur}
}
func (n *oursNode) Ping(name, addr string) (time.Duration, error) {
	a, err := udpAddr(addr)
	if err != nil {
		return 0, err
	}
	return n.m().Ping(name, a)
}
func (n *oursNode) find(name string) (*ours.Node, error) {
	for _, x := range n.m().Members() {
		if x.Name == name {
			return x, nil
		}
	}
	return nil, fmt.Errorf("%s: no member %s", n, name)
}
func (n *oursNode) SendReliable(to string, msg []byte) error {
	x, err := n.find(to)
	if err != nil {
		return err
	}
	return n.m().SendReliable(x, msg)
}
func (n *oursNode) SendBestEffort(to string, msg []byte) error {
	x, err := n.find(to)
	if err != nil {
		return err
	}
	return n.m().SendBestEffort(x, msg)
}
func (n *oursNode) Broadcast(msg []byte)                   { n.q.QueueBroadcast(oursBcast(slices.Clone(msg))) }
func (n *oursNode) NumQueued() int                         { return n.q.NumQueued() }
func (n *oursNode) UpdateNode(timeout time.Duration) error { return n.m().UpdateNode(timeout) }
func (n *oursNode) Leave(timeout time.Duration) error      { return n.m().Leave(timeout) }
func (n *oursNode) Shutdown() error                        { return n.m().Shutdown() }

type oursBcast []byte

func (b oursBcast) Invalidates(ours.Broadcast) bool { return false }
func (b oursBcast) Message() []byte                 { return b }
func (b oursBcast) Finished()                       {}

type oursEvents struct{ r *recEvents }

func (e oursEvents) NotifyJoin(n *ours.Node)   { e.r.add("join", oursMember(n)) }
func (e oursEvents) NotifyLeave(n *ours.Node)  { e.r.add("leave", oursMember(n)) }
func (e oursEvents) NotifyUpdate(n *ours.Node) { e.r.add("update", oursMember(n)) }

type oursPing struct{ payload []byte }

func (p oursPing) AckPayload() []byte                                   { return p.payload }
func (p oursPing) NotifyPingComplete(*ours.Node, time.Duration, []byte) {}

// ---- theirs ----

type theirsNode struct {
	*base
	ml atomic.Pointer[theirs.Memberlist]
	q  *theirs.TransmitLimitedQueue
}

func newTheirsNode(b *base, o nodeOpts) (node, error) {
	n := &theirsNode{base: b}
	c := theirs.DefaultLocalConfig()
	c.Name = o.Name
	c.BindAddr, c.BindPort = "127.0.0.1", 0
	c.AdvertiseAddr, c.AdvertisePort = "127.0.0.1", 0
	c.ProtocolVersion = o.Proto
	c.EnableCompression = o.Compression
	c.Label = o.Label
	c.SecretKey = o.SecretKey
	c.GossipVerifyIncoming, c.GossipVerifyOutgoing = !o.AcceptPlain, !o.SendPlain
	c.ProbeInterval, c.ProbeTimeout = o.Timers.Probe, o.Timers.ProbeTimeout
	c.GossipInterval, c.PushPullInterval = o.Timers.Gossip, o.Timers.PushPull
	c.TCPTimeout, c.GossipToTheDeadTime = o.Timers.TCP, o.Timers.GossipToTheDead
	c.SuspicionMult, c.RetransmitMult = o.Timers.SuspicionMult, o.Timers.RetransmitMult
	c.DeadNodeReclaimTime = o.ReclaimDead
	c.Delegate = b.del
	c.Events = theirsEvents{b.ev}
	if o.AckPayload != nil {
		c.Ping = theirsPing{o.AckPayload}
	}
	c.Logger = b.logger()
	if o.Record {
		nt, err := retryBind(func() (*theirs.NetTransport, error) {
			return theirs.NewNetTransport(&theirs.NetTransportConfig{BindAddrs: []string{"127.0.0.1"}, Logger: c.Logger})
		})
		if err != nil {
			return nil, err
		}
		c.BindPort = nt.GetAutoBindPort()
		c.AdvertisePort = c.BindPort
		c.Transport = &theirsRecTransport{NetTransport: nt, rec: b.rec}
	}
	ml, err := theirs.Create(c)
	if err != nil {
		return nil, err
	}
	n.ml.Store(ml)
	b.port = c.BindPort
	if c.Keyring != nil { // Create builds it from SecretKey
		b.keys = c.Keyring
	}
	n.q = &theirs.TransmitLimitedQueue{NumNodes: ml.NumMembers, RetransmitMult: c.RetransmitMult}
	b.del.setQueue(n.q.GetBroadcasts, func(m []byte) { n.q.QueueBroadcast(theirsBcast(m)) })
	return n, nil
}

func (n *theirsNode) m() *theirs.Memberlist { return n.ml.Load() }

func (n *theirsNode) Join(addrs ...string) (int, error) { return n.m().Join(addrs) }

// Members lists the peer's members by name and takes the rest of each
// Node from the copy its EventDelegate made. The peer's Members returns
// pointers to the Nodes in its table, which it changes under its own lock,
// so reading their other fields here would race.
func (n *theirsNode) Members() []member {
	var out []member
	for _, x := range n.m().Members() {
		m, ok := n.ev.member(x.Name)
		if !ok {
			m = member{Name: x.Name}
		}
		out = append(out, m)
	}
	return out
}
func (n *theirsNode) Ping(name, addr string) (time.Duration, error) {
	a, err := udpAddr(addr)
	if err != nil {
		return 0, err
	}
	return n.m().Ping(name, a)
}

// find returns a Node for the member called name to send to. It is built
// from the EventDelegate's copy: the peer's SendReliable and
// SendBestEffort read the address of the Node they are given, and the
// peer changes the Nodes that Members returns under its own lock (for one
// that comes back after being declared dead, say), which is a data race.
func (n *theirsNode) find(name string) (*theirs.Node, error) {
	if !slices.Contains(names(n.Members()), name) {
		return nil, fmt.Errorf("%s: no member %s", n, name)
	}
	m, ok := n.ev.member(name)
	if !ok {
		return nil, fmt.Errorf("%s: no event for member %s", n, name)
	}
	// The versions matter: a packet gets a CRC when the Node's PMax is 5.
	return &theirs.Node{Name: m.Name, Addr: net.ParseIP(m.Addr), Port: m.Port, Meta: m.Meta,
		PMin: m.PMin, PMax: m.PMax, PCur: m.PCur, DMin: m.DMin, DMax: m.DMax, DCur: m.DCur}, nil
}
func (n *theirsNode) SendReliable(to string, msg []byte) error {
	x, err := n.find(to)
	if err != nil {
		return err
	}
	return n.m().SendReliable(x, msg)
}
func (n *theirsNode) SendBestEffort(to string, msg []byte) error {
	x, err := n.find(to)
	if err != nil {
		return err
	}
	return n.m().SendBestEffort(x, msg)
}
func (n *theirsNode) Broadcast(msg []byte)                   { n.q.QueueBroadcast(theirsBcast(slices.Clone(msg))) }
func (n *theirsNode) NumQueued() int                         { return n.q.NumQueued() }
func (n *theirsNode) UpdateNode(timeout time.Duration) error { return n.m().UpdateNode(timeout) }
func (n *theirsNode) Leave(timeout time.Duration) error      { return n.m().Leave(timeout) }
func (n *theirsNode) Shutdown() error                        { return n.m().Shutdown() }

type theirsBcast []byte

func (b theirsBcast) Invalidates(theirs.Broadcast) bool { return false }
func (b theirsBcast) Message() []byte                   { return b }
func (b theirsBcast) Finished()                         {}

type theirsEvents struct{ r *recEvents }

// The peer calls its EventDelegate with its node lock held, so the Node
// can be read here.
func (e theirsEvents) NotifyJoin(n *theirs.Node)   { e.r.add("join", theirsMember(n)) }
func (e theirsEvents) NotifyLeave(n *theirs.Node)  { e.r.add("leave", theirsMember(n)) }
func (e theirsEvents) NotifyUpdate(n *theirs.Node) { e.r.add("update", theirsMember(n)) }

func theirsMember(x *theirs.Node) member {
	return member{x.Name, x.Addr.String(), x.Port, slices.Clone(x.Meta), x.PMin, x.PMax, x.PCur, x.DMin, x.DMax, x.DCur}
}

type theirsPing struct{ payload []byte }

func (p theirsPing) AckPayload() []byte                                     { return p.payload }
func (p theirsPing) NotifyPingComplete(*theirs.Node, time.Duration, []byte) {}

// ---- delegate and events ----

// recDelegate is a Delegate for both kinds (the interface mentions no
// library type). It records what it is given and serves user broadcasts
// from the node's TransmitLimitedQueue. It is safe for concurrent use.
type recDelegate struct {
	mu     sync.Mutex
	meta   []byte
	state  []byte
	relay  bool
	seen   map[string]bool
	msgs   [][]byte
	merges []merge
	get    func(overhead, limit int) [][]byte
	put    func([]byte)
}

// merge is one MergeRemoteState call.
type merge struct {
	State string
	Join  bool
}

func (d *recDelegate) setQueue(get func(int, int) [][]byte, put func([]byte)) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.get, d.put = get, put
}

func (d *recDelegate) NodeMeta(limit int) []byte {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.meta)
}

func (d *recDelegate) NotifyMsg(b []byte) {
	b = slices.Clone(b)
	d.mu.Lock()
	d.msgs = append(d.msgs, b)
	fresh := !d.seen[string(b)]
	d.seen[string(b)] = true
	put := d.put
	d.mu.Unlock()
	if fresh && d.relay && put != nil {
		put(b)
	}
}

func (d *recDelegate) GetBroadcasts(overhead, limit int) [][]byte {
	d.mu.Lock()
	get := d.get
	d.mu.Unlock()
	if get == nil {
		return nil
	}
	return get(overhead, limit)
}

func (d *recDelegate) LocalState(join bool) []byte {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.state)
}

func (d *recDelegate) MergeRemoteState(buf []byte, join bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.merges = append(d.merges, merge{string(buf), join})
}

// setMeta changes what NodeMeta returns.
func (d *recDelegate) setMeta(meta []byte) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.meta = slices.Clone(meta)
}

// got reports whether NotifyMsg was called with msg.
func (d *recDelegate) got(msg []byte) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.seen[string(msg)]
}

// merged reports whether MergeRemoteState was called with state and join.
func (d *recDelegate) merged(state string, join bool) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Contains(d.merges, merge{state, join})
}

// mergeList returns the MergeRemoteState calls so far.
func (d *recDelegate) mergeList() []merge {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.merges)
}

// recEvents records EventDelegate calls, and keeps the latest copy of each
// member they reported. It is safe for concurrent use.
type recEvents struct {
	mu   sync.Mutex
	evs  []event
	view map[string]member
}

type event struct {
	Type, Name, Meta string
}

func (r *recEvents) add(typ string, m member) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.evs = append(r.evs, event{typ, m.Name, string(m.Meta)})
	if r.view == nil {
		r.view = map[string]member{}
	}
	if typ == "leave" {
		delete(r.view, m.Name)
	} else {
		r.view[m.Name] = m
	}
}

// has reports whether an event of typ about name was seen.
func (r *recEvents) has(typ, name string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.ContainsFunc(r.evs, func(e event) bool { return e.Type == typ && e.Name == name })
}

// count returns how many events of typ were seen.
func (r *recEvents) count(typ string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, e := range r.evs {
		if e.Type == typ {
			n++
		}
	}
	return n
}

// announced reports whether a join or update event reported name with
// meta. (A node falsely declared dead under load that comes back with new
// meta is announced by NotifyJoin rather than NotifyUpdate.)
func (r *recEvents) announced(name, meta string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.ContainsFunc(r.evs, func(e event) bool {
		return (e.Type == "update" || e.Type == "join") && e.Name == name && e.Meta == meta
	})
}

// member returns the last join or update reported for name.
func (r *recEvents) member(name string) (member, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	m, ok := r.view[name]
	return m, ok
}

// ---- waiting, logs ----

// waitFor polls cond until it returns nil, failing the test with cond's
// last error when timeout passes first.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s: %v", timeout, what, err)
		}
		<-tick.C
	}
}

// names returns the sorted names of ms.
func names(ms []member) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Name)
	}
	slices.Sort(out)
	return out
}

// findMember returns the member called name.
func findMember(ms []member, name string) (member, bool) {
	for _, m := range ms {
		if m.Name == name {
			return m, true
		}
	}
	return member{}, false
}

// nodeNames returns the sorted names of ns.
func nodeNames(ns []node) []string {
	var out []string
	for _, n := range ns {
		out = append(out, n.Name())
	}
	slices.Sort(out)
	return out
}

// allSee returns nil when every node in observers lists exactly want.
func allSee(observers []node, want []string) error {
	var errs []error
	for _, o := range observers {
		if got := names(o.Members()); !slices.Equal(got, want) {
			errs = append(errs, fmt.Errorf("%s/%s sees %v", o.Kind(), o.Name(), got))
		}
	}
	return errors.Join(errs...)
}

// syncBuffer is a bytes.Buffer safe for concurrent writers. Upstream nodes
// may log after Shutdown, so it outlives the test that made it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf.Len() > 4<<20 { // keep memory bounded in long runs
		b.buf.Next(b.buf.Len() - 1<<20)
	}
	return b.buf.Write(p)
}

// tail returns the last n bytes written.
func (b *syncBuffer) tail(n int) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.buf.Bytes()
	if len(s) > n {
		s = s[len(s)-n:]
	}
	return string(s)
}

// contains reports whether s was logged (within the retained window).
func (b *syncBuffer) contains(s string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Contains(b.buf.Bytes(), []byte(s))
}

// errNotYet is a waitFor condition's answer while nothing has happened.
var errNotYet = errors.New("not yet")

// retryBind calls newTransport until it does not fail with "address already
// in use", at most 10 times. With port 0 the kernel picks a free TCP port
// and the transport binds UDP on the same number, which another socket may
// hold; both libraries' Create retry the same way when they build their own
// transport.
func retryBind[T any](newTransport func() (T, error)) (T, error) {
	var t T
	var err error
	for range 10 {
		t, err = newTransport()
		if err == nil || !strings.Contains(err.Error(), "address already in use") {
			break
		}
	}
	return t, err
}
