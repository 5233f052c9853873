package bench

import (
	"io"
	"net"
	"testing"
	"time"

	ours "github.com/gossip-go/memberlist"
	theirs "github.com/hashicorp/memberlist"
)

// lib is the small seam every scenario is written against: the parts of a
// memberlist implementation the benchmarks drive. oursLib and theirsLib are
// its two implementations; they differ only in which package's types they
// name.
type lib interface {
	name() string
	newQueue(numNodes, retransmitMult int) queue
	newNode(tb testing.TB, o nodeOptions) node
}

var libs = []lib{oursLib{}, theirsLib{}}

// queue is a TransmitLimitedQueue.
type queue interface {
	queueBroadcast(b *bcast)
	getBroadcasts(overhead, limit int) [][]byte
	numQueued() int
}

// bcast is a named broadcast, independent of the library. Its finished
// hook, when set, runs from the queue's Finished call.
type bcast struct {
	nodeName string
	msg      []byte
	finished func(*bcast)
}

func (b *bcast) Name() string    { return b.nodeName }
func (b *bcast) Message() []byte { return b.msg }
func (b *bcast) Finished() {
	if b.finished != nil {
		b.finished(b)
	}
}

// bcastOf gives a *bcast the Invalidates method of library B's Broadcast
// interface. It is pointer-shaped, so converting it to an interface does not
// allocate.
type bcastOf[B any] struct{ *bcast }

func (b bcastOf[B]) Invalidates(other B) bool {
	o, ok := any(other).(interface{ Name() string })
	return ok && o.Name() == b.nodeName
}

type queueOf[B any] struct {
	q interface {
		QueueBroadcast(B)
		GetBroadcasts(overhead, limit int) [][]byte
		NumQueued() int
	}
	wrap func(*bcast) B
}

func (q queueOf[B]) queueBroadcast(b *bcast) { q.q.QueueBroadcast(q.wrap(b)) }
func (q queueOf[B]) getBroadcasts(overhead, limit int) [][]byte {
	return q.q.GetBroadcasts(overhead, limit)
}
func (q queueOf[B]) numQueued() int { return q.q.NumQueued() }

// nodeOptions selects the configuration of a benchmarked node. Every node
// is named nodeName, listens on the fake transport at 127.0.0.1:7946, has
// compression off and no periodic probe, gossip or push/pull, so the only
// work it does is what the benchmark feeds it.
type nodeOptions struct {
	secretKey []byte // nil: no encryption
}

const nodeName = "bench-node"

// node is one running memberlist on a fake transport.
type node interface {
	// preparePackets wraps bufs in the library's Packet type, ready to be
	// sent with sendPacket(0 .. len(bufs)-1). Each buffer is handed over.
	preparePackets(bufs [][]byte)
	sendPacket(i int)
	pushStream(c net.Conn)
	writes() <-chan struct{} // a token per packet the node wrote
	joins() <-chan struct{}  // a token per NotifyJoin
	numMembers() int
	startRecording()
	recorded() [][]byte
	shutdown() error
}

// joinSignal is an EventDelegate for library node type N that posts a token
// on ch for every NotifyJoin, never blocking.
type joinSignal[N any] struct{ ch chan struct{} }

func (j joinSignal[N]) NotifyJoin(*N) {
	select {
	case j.ch <- struct{}{}:
	default:
	}
}
func (j joinSignal[N]) NotifyLeave(*N)  {}
func (j joinSignal[N]) NotifyUpdate(*N) {}

// libNode implements node for library packet type P and address type A.
type libNode[P, A any] struct {
	*fakeTransport[P, A]
	ml interface {
		NumMembers() int
		Shutdown() error
	}
	joinCh   chan struct{}
	mkPacket func(buf []byte, from net.Addr) *P
	prepared []*P
}

// peerAddr is where the benchmark's packets claim to come from.
var peerAddr = &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2).To4(), Port: 7947}

func (n *libNode[P, A]) preparePackets(bufs [][]byte) {
	n.prepared = n.prepared[:0]
	for _, b := range bufs {
		n.prepared = append(n.prepared, n.mkPacket(b, peerAddr))
	}
}

func (n *libNode[P, A]) sendPacket(i int)        { n.packets <- n.prepared[i] }
func (n *libNode[P, A]) pushStream(c net.Conn)   { n.streams <- c }
func (n *libNode[P, A]) writes() <-chan struct{} { return n.fakeTransport.writes }
func (n *libNode[P, A]) joins() <-chan struct{}  { return n.joinCh }
func (n *libNode[P, A]) numMembers() int         { return n.ml.NumMembers() }
func (n *libNode[P, A]) shutdown() error         { return n.ml.Shutdown() }

// drain discards the tokens posted during Create (the local NotifyJoin).
func drain(ch <-chan struct{}) {
	for {
		select {
		case <-ch:
		default:
			return
		}
	}
}

type oursLib struct{}

func (oursLib) name() string { return "ours" }

func (oursLib) newQueue(numNodes, mult int) queue {
	return queueOf[ours.Broadcast]{
		q: &ours.TransmitLimitedQueue{
			NumNodes:       func() int { return numNodes },
			RetransmitMult: mult,
		},
		wrap: func(b *bcast) ours.Broadcast { return bcastOf[ours.Broadcast]{b} },
	}
}

func (oursLib) newNode(tb testing.TB, o nodeOptions) node {
	tr := newFakeTransport[ours.Packet, ours.Address]()
	n := &libNode[ours.Packet, ours.Address]{
		fakeTransport: tr,
		joinCh:        make(chan struct{}, 1024),
		mkPacket: func(buf []byte, from net.Addr) *ours.Packet {
			return &ours.Packet{Buf: buf, From: from, Timestamp: time.Now()}
		},
	}
	c := ours.DefaultLANConfig()
	c.Name = nodeName
	c.Transport = tr
	c.LogOutput = io.Discard
	c.EnableCompression = false
	c.SecretKey = o.secretKey
	c.ProbeInterval, c.GossipInterval, c.PushPullInterval = 0, 0, 0
	c.Events = joinSignal[ours.Node]{n.joinCh}
	ml, err := ours.Create(c)
	if err != nil {
		tb.Fatalf("ours: Create: %v", err)
	}
	n.ml = ml
	tb.Cleanup(func() { ml.Shutdown() })
	drain(n.joinCh)
	drain(tr.writes)
	return n
}

type theirsLib struct{}

func (theirsLib) name() string { return "theirs" }

func (theirsLib) newQueue(numNodes, mult int) queue {
	return queueOf[theirs.Broadcast]{
		q: &theirs.TransmitLimitedQueue{
			NumNodes:       func() int { return numNodes },
			RetransmitMult: mult,
		},
		wrap: func(b *bcast) theirs.Broadcast { return bcastOf[theirs.Broadcast]{b} },
	}
}

func (theirsLib) newNode(tb testing.TB, o nodeOptions) node {
	tr := newFakeTransport[theirs.Packet, theirs.Address]()
	n := &libNode[theirs.Packet, theirs.Address]{
		fakeTransport: tr,
		joinCh:        make(chan struct{}, 1024),
		mkPacket: func(buf []byte, from net.Addr) *theirs.Packet {
			return &theirs.Packet{Buf: buf, From: from, Timestamp: time.Now()}
		},
	}
	c := theirs.DefaultLANConfig()
	c.Name = nodeName
	c.Transport = tr
	c.LogOutput = io.Discard
	c.EnableCompression = false
	c.SecretKey = o.secretKey
	c.ProbeInterval, c.GossipInterval, c.PushPullInterval = 0, 0, 0
	c.Events = joinSignal[theirs.Node]{n.joinCh}
	ml, err := theirs.Create(c)
	if err != nil {
		tb.Fatalf("theirs: Create: %v", err)
	}
	n.ml = ml
	tb.Cleanup(func() { ml.Shutdown() })
	drain(n.joinCh)
	drain(tr.writes)
	return n
}

// Compile-time checks that the fake satisfies both libraries' interfaces.
var (
	_ ours.NodeAwareTransport   = (*fakeTransport[ours.Packet, ours.Address])(nil)
	_ theirs.NodeAwareTransport = (*fakeTransport[theirs.Packet, theirs.Address])(nil)
	_ ours.NamedBroadcast       = bcastOf[ours.Broadcast]{}
	_ theirs.NamedBroadcast     = bcastOf[theirs.Broadcast]{}
	_ ours.EventDelegate        = joinSignal[ours.Node]{}
	_ theirs.EventDelegate      = joinSignal[theirs.Node]{}
)
