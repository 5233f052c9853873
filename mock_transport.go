package memberlist

import (
	"bytes"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

const (
	// mockInboxSize is the number of packets a MockTransport queues for its
	// reader before it drops new ones.
	mockInboxSize = 4096

	// mockBacklogSize is the number of inbound streams a MockTransport
	// queues for its reader before it refuses new ones.
	mockBacklogSize = 128

	// mockHost is the IP of every MockTransport address.
	mockHost = "127.0.0.1"
)

// errMockTransportShutdown is returned by MockTransport methods called
// after Shutdown.
var errMockTransportShutdown = withText(ErrShutdown, "mock transport is shut down")

// MockLinkFaults describes how a MockNetwork treats the packets sent over
// one link, and the streams dialled over it from its source to its
// destination. The zero value is a perfect link: no loss, no delay, no
// duplicates, working streams. Streams are affected only by Stream and
// StreamResetAfter, and by a cut link (MockNetwork.Block,
// MockNetwork.Partition), which refuses them.
type MockLinkFaults struct {
	// Loss is the probability, from 0 to 1, that a packet is dropped.
	Loss float64

	// Duplicate is the probability, from 0 to 1, that a packet that is not
	// lost is delivered twice. Each copy gets its own delay.
	Duplicate float64

	// Delay is added to every packet's delivery. Zero or negative means
	// immediate delivery, before the sender's write returns. A delayed
	// packet still carries its send time as Packet.Timestamp, so a round
	// trip measured from timestamps counts the outbound delay only.
	Delay time.Duration

	// Jitter adds a uniformly random extra delay in [0, Jitter) to every
	// packet, so packets on a jittery link may be reordered. Zero or
	// negative means none.
	Jitter time.Duration

	// Stream is the fault applied to streams dialled over the link.
	Stream MockStreamFault

	// StreamResetAfter is the byte count after which a stream is reset
	// when Stream is MockStreamReset.
	StreamResetAfter int
}

// mockLink is a directed link between two transport names.
type mockLink struct {
	from, to string
}

// MockNetwork is an in-memory network connecting MockTransports, for tests
// that need no sockets. Packets are delivered through per-transport
// queues and streams are net.Pipe connections, so a network runs on
// virtual time inside a testing/synctest bubble.
//
// A MockNetwork can inject faults, link by link: packet loss, delay,
// jitter (and so reordering), duplication, one-way blocks and partitions
// (SetLink, SetAllLinks, Block, Partition), stream faults (refused,
// hanging, reset and stalled streams: MockLinkFaults.Stream); node by
// node: inbound and outbound loss and stream faults (SetNode), and pauses
// (Pause, Resume). It counts what it does to each link's packets and
// streams (LinkStats, TotalStats). A stream is cut when a Block or the
// partition cuts either direction between its ends, and the dial says
// which; the other stream faults apply in the direction of the dial.
//
// Random decisions come from one generator per link, derived from the
// network's seed, so a run with the same seed and the same sequence of
// sends on each link makes the same decisions, however sends on different
// links interleave. Links are named by the names given to NewTransport.
//
// Delayed packets are delivered by time.AfterFunc, so inside a synctest
// bubble they arrive on virtual time. Create the transports in the bubble
// that uses them: their channels belong to the bubble that made them.
//
// The zero value is a perfect, empty network seeded with 0. A MockNetwork
// is safe for concurrent use, including NewTransport while other
// transports are sending.
type MockNetwork struct {
	mu       sync.Mutex
	seed     uint64
	rngs     map[mockLink]*rand.Rand // one generator per link, made on first use
	byAddr   map[string]*MockTransport
	byName   map[string]*MockTransport
	lastPort int

	defaults MockLinkFaults
	links    map[mockLink]MockLinkFaults
	blocked  map[mockLink]bool
	groups   map[string]int // partition group by name; nil when not partitioned
	nodes    map[string]MockNodeFaults
	capture  func(from, to string, b []byte)
	stats    map[mockLink]*mockCounters
}

// NewTransport returns a new transport attached to the network, with the
// next address in the sequence 127.0.0.1:1, 127.0.0.1:2, ... It is
// reachable by that address and, when name is not empty, by name; a later
// transport with the same name takes the name over.
func (n *MockNetwork) NewTransport(name string) *MockTransport {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.byAddr == nil {
		n.byAddr = make(map[string]*MockTransport)
		n.byName = make(map[string]*MockTransport)
	}
	n.lastPort++
	return n.attachLocked(name, n.lastPort)
}

// attachLocked makes a transport named name with port port and routes its
// address and name to it.
func (n *MockNetwork) attachLocked(name string, port int) *MockTransport {
	addr := net.JoinHostPort(mockHost, strconv.Itoa(port))
	t := &MockTransport{
		network:    n,
		name:       name,
		port:       port,
		addr:       &MockAddress{addr: addr, name: name},
		packetCh:   make(chan *Packet, mockInboxSize),
		streamCh:   make(chan net.Conn, mockBacklogSize),
		shutdownCh: make(chan struct{}),
		pending:    make(map[*mockDelivery]struct{}),
	}
	n.byAddr[addr] = t
	if name != "" {
		n.byName[name] = t
	}
	return t
}

// Restart returns a new transport with the name and address of old, which
// must have shut down: a process restarted on the same host and port. From
// then on, the address and the name reach the new transport.
func (n *MockNetwork) Restart(old *MockTransport) (*MockTransport, error) {
	if old == nil || old.network != n {
		return nil, fmt.Errorf("mock: Restart of a transport of another network")
	}
	if !old.isShutdown() {
		return nil, fmt.Errorf("mock: Restart of %s, which has not shut down", old.addr)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.attachLocked(old.name, old.port), nil
}

// SetSeed reseeds the network's random generators, which decide packet
// loss (of links and nodes), duplication and jitter; the zero network uses
// seed 0.
func (n *MockNetwork) SetSeed(seed uint64) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.seed = seed
	n.rngs = nil
}

// SetLink sets the faults of the link from the transport named from to the
// one named to, overriding SetAllLinks for that link.
func (n *MockNetwork) SetLink(from, to string, f MockLinkFaults) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.links == nil {
		n.links = make(map[mockLink]MockLinkFaults)
	}
	n.links[mockLink{from, to}] = f
}

// SetAllLinks sets the faults of every link and removes the settings made
// by SetLink. SetAllLinks(MockLinkFaults{}) restores perfect links.
func (n *MockNetwork) SetAllLinks(f MockLinkFaults) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.defaults = f
	clear(n.links)
}

// Block drops every packet from the transport named from to the one named
// to, and refuses new streams between them in both directions, since a
// TCP connection needs both; streams already open are not affected. The
// reverse direction still carries packets.
func (n *MockNetwork) Block(from, to string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.blocked == nil {
		n.blocked = make(map[mockLink]bool)
	}
	n.blocked[mockLink{from, to}] = true
}

// Unblock undoes Block(from, to).
func (n *MockNetwork) Unblock(from, to string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	delete(n.blocked, mockLink{from, to})
}

// Partition splits the network into groups of transport names: packets
// and new streams pass only between transports in the same group. Names
// that no group lists form one more group together. A name listed in two
// groups belongs to the last. Partition replaces any earlier partition;
// connections already open are not affected.
func (n *MockNetwork) Partition(groups ...[]string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.groups = make(map[string]int)
	for i, g := range groups {
		for _, name := range g {
			n.groups[name] = i
		}
	}
}

// Heal removes the partition and every Block. Link faults set by SetLink
// and SetAllLinks, node faults set by SetNode and pauses stay.
func (n *MockNetwork) Heal() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.groups = nil
	clear(n.blocked)
}

// SetCapture installs fn to be called for every packet sent to a known
// destination, with the sender's and receiver's names and the packet's
// bytes, before faults decide its fate. fn runs on the sending goroutine
// with no lock held; it must not modify b and must copy it to keep it.
// Nil removes the hook.
func (n *MockNetwork) SetCapture(fn func(from, to string, b []byte)) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.capture = fn
}

// mockPlan is the fate of one packet: how many copies to deliver and the
// delay of each.
type mockPlan struct {
	copies int
	delays [2]time.Duration
}

// mockRoute is where a packet goes and what happens to it on the way.
type mockRoute struct {
	dest    *MockTransport
	plan    mockPlan
	capture func(from, to string, b []byte)
	stats   *mockCounters
}

// routePacket finds the destination of a packet of size bytes from src,
// decides its fate and counts it.
func (n *MockNetwork) routePacket(src *MockTransport, a Address, size int) (mockRoute, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	dest, err := n.lookupLocked(a)
	if err != nil {
		return mockRoute{}, err
	}
	c := n.statsLocked(src.name, dest.name)
	c.packetsSent.Add(1)
	c.bytesSent.Add(uint64(size))
	return mockRoute{dest: dest, plan: n.planLocked(src, dest.name, c), capture: n.capture, stats: c}, nil
}

// mockStreamRoute is where a dial goes and what happens to its stream.
type mockStreamRoute struct {
	dest  *MockTransport
	plan  mockStreamPlan
	stats *mockCounters
}

// routeStream finds the destination of a stream from src, failing when src
// is paused, the link is cut in either direction or a fault refuses it.
func (n *MockNetwork) routeStream(src *MockTransport, a Address) (mockStreamRoute, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	dest, err := n.lookupLocked(a)
	if err != nil {
		return mockStreamRoute{}, err
	}
	from, to := src.name, dest.name
	c := n.statsLocked(from, to)
	why := n.cutReasonLocked(from, to)
	if why == "" {
		why = n.cutReasonLocked(to, from)
	}
	if why == "" && src.paused.Load() {
		why = fmt.Sprintf("%q is paused", from)
	}
	plan := n.streamPlanLocked(from, to)
	if why == "" && plan.fault == MockStreamRefuse {
		why = "stream fault"
	}
	if why != "" {
		c.streamsRefused.Add(1)
		return mockStreamRoute{}, fmt.Errorf("mock: connection from %q to %q refused: %s", from, to, why)
	}
	return mockStreamRoute{dest: dest, plan: plan, stats: c}, nil
}

// lookupLocked finds a by name when it has one, by address otherwise.
func (n *MockNetwork) lookupLocked(a Address) (*MockTransport, error) {
	var dest *MockTransport
	if a.Name != "" {
		dest = n.byName[a.Name]
	} else {
		dest = n.byAddr[a.Addr]
	}
	if dest == nil {
		return nil, fmt.Errorf("no route to %v", a)
	}
	return dest, nil
}

// groupLocked returns the partition group of name; -1 for unlisted names.
func (n *MockNetwork) groupLocked(name string) int {
	if g, ok := n.groups[name]; ok {
		return g
	}
	return -1
}

// planLocked decides the fate of a packet from src to the transport named
// to and counts the drops it decides. It draws from the link's generator
// only for the faults that are set, so a perfect network consumes no
// randomness.
func (n *MockNetwork) planLocked(src *MockTransport, to string, c *mockCounters) mockPlan {
	from := src.name
	if src.paused.Load() {
		c.packetsPaused.Add(1)
		return mockPlan{}
	}
	if n.cutLocked(from, to) {
		c.packetsCut.Add(1)
		return mockPlan{}
	}
	f, ok := n.links[mockLink{from, to}]
	if !ok {
		f = n.defaults
	}
	if n.lostLocked(from, to, f) {
		c.packetsLost.Add(1)
		return mockPlan{}
	}
	p := mockPlan{copies: 1}
	if f.Duplicate > 0 && n.randLocked(from, to).Float64() < f.Duplicate {
		p.copies = 2
	}
	for i := range p.copies {
		p.delays[i] = f.Delay
		if f.Jitter > 0 {
			p.delays[i] += time.Duration(n.randLocked(from, to).Int64N(int64(f.Jitter)))
		}
	}
	return p
}

// randLocked returns the generator of the link from → to. Each link has
// its own, seeded from the network's seed and the link's names, so the fate
// of one link's packets does not depend on how sends on other links
// interleave.
func (n *MockNetwork) randLocked(from, to string) *rand.Rand {
	l := mockLink{from, to}
	if r, ok := n.rngs[l]; ok {
		return r
	}
	if n.rngs == nil {
		n.rngs = make(map[mockLink]*rand.Rand)
	}
	h := fnv.New64a()
	h.Write([]byte(from))
	h.Write([]byte{0})
	h.Write([]byte(to))
	r := rand.New(rand.NewPCG(n.seed, h.Sum64()))
	n.rngs[l] = r
	return r
}

// MockAddress is the net.Addr of a MockTransport, reported as the From of
// the packets it sends. The zero value is an empty address.
type MockAddress struct {
	addr string
	name string
}

// Network returns "mock".
func (a *MockAddress) Network() string {
	return "mock"
}

// String returns the transport's "127.0.0.1:<n>" address.
func (a *MockAddress) String() string {
	return a.addr
}

// MockTransport is a NodeAwareTransport on a MockNetwork. Inbound packets
// wait in a queue of 4096; when it is full further packets are dropped and
// counted (DroppedPackets), as a UDP socket would, so senders never block.
// Inbound streams wait in a backlog of 128; a dial to a full backlog waits
// for room, up to its timeout.
// Writes to a transport that has shut down are dropped silently; dials to
// it fail. While its network holds it paused (MockNetwork.Pause), what
// arrives for it waits in a backlog of the same bounds.
//
// A MockTransport is created by MockNetwork.NewTransport; the zero value
// is not usable. It is safe for concurrent use.
type MockTransport struct {
	network *MockNetwork
	name    string
	port    int
	addr    *MockAddress

	packetCh    chan *Packet
	streamCh    chan net.Conn
	shutdownCh  chan struct{}
	dropped     atomic.Uint64
	ingestStats mockCounters // counts for IngestPacket, which has no link
	paused      atomic.Bool  // written under mu, read without it

	mu          sync.Mutex
	closed      bool                       // guarded by mu
	pending     map[*mockDelivery]struct{} // delayed packets; guarded by mu
	heldPackets []mockHeld                 // arrived while paused; guarded by mu
	heldStreams []net.Conn                 // dialled while paused; guarded by mu
	wg          sync.WaitGroup             // delayed deliveries
}

// mockDelivery is a delayed packet waiting for its timer.
type mockDelivery struct {
	timer *time.Timer
}

// mockHeld is a packet held for a paused transport, with the counters of
// its link.
type mockHeld struct {
	p     *Packet
	stats *mockCounters
}

var (
	_ NodeAwareTransport      = (*MockTransport)(nil)
	_ IngestionAwareTransport = (*MockTransport)(nil)
)

// FinalAdvertiseAddr ignores its arguments and returns the transport's
// IP (127.0.0.1) and port.
func (t *MockTransport) FinalAdvertiseAddr(string, int) (net.IP, int, error) {
	if t.port > 65535 {
		return nil, 0, fmt.Errorf("mock: port %d out of range", t.port)
	}
	return net.ParseIP(mockHost), t.port, nil
}

// WriteTo sends b to the transport with address addr, as WriteToAddress
// does.
func (t *MockTransport) WriteTo(b []byte, addr string) (time.Time, error) {
	return t.WriteToAddress(b, Address{Addr: addr})
}

// WriteToAddress sends b to the transport named a.Name, or when a.Name is
// empty to the one with address a.Addr. It fails when there is no such
// transport or this one has shut down, and otherwise returns the send
// time, whatever the network then does with the packet. Every copy of the
// packet that is delivered carries that same time as its Timestamp, even
// when the link delays it.
func (t *MockTransport) WriteToAddress(b []byte, a Address) (time.Time, error) {
	if t.isShutdown() {
		return time.Time{}, errMockTransportShutdown
	}
	r, err := t.network.routePacket(t, a, len(b))
	if err != nil {
		return time.Time{}, err
	}
	now := time.Now()
	if r.plan.copies == 0 && r.capture == nil {
		return now, nil
	}
	buf := bytes.Clone(b)
	if r.capture != nil {
		r.capture(t.name, r.dest.name, buf)
	}
	for i := range r.plan.copies {
		if i > 0 {
			buf = bytes.Clone(buf)
		}
		r.dest.deliver(&Packet{Buf: buf, From: t.addr, Timestamp: now}, r.plan.delays[i], r.stats)
	}
	return now, nil
}

// deliver queues p now, or after delay on a timer that Shutdown stops,
// counting its fate on stats.
func (t *MockTransport) deliver(p *Packet, delay time.Duration, stats *mockCounters) {
	if delay <= 0 {
		t.enqueue(p, stats)
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return
	}
	d := &mockDelivery{}
	t.wg.Add(1)
	d.timer = time.AfterFunc(delay, func() { t.arrive(d, p, stats) })
	t.pending[d] = struct{}{}
}

// arrive runs when the timer of a delayed packet fires.
func (t *MockTransport) arrive(d *mockDelivery, p *Packet, stats *mockCounters) {
	defer t.wg.Done()
	t.mu.Lock()
	delete(t.pending, d)
	closed := t.closed
	t.mu.Unlock()
	if !closed {
		t.enqueue(p, stats)
	}
}

// enqueue puts p in the inbox, holds it while the transport is paused, or
// drops it when the transport has shut down (silently) or the inbox or the
// paused backlog is full (counted). It reports whether p was queued or
// held.
func (t *MockTransport) enqueue(p *Packet, stats *mockCounters) bool {
	if t.isShutdown() {
		return false
	}
	if t.paused.Load() {
		t.mu.Lock()
		if t.paused.Load() && !t.closed {
			ok := t.holdLocked(p, stats)
			t.mu.Unlock()
			return ok
		}
		t.mu.Unlock()
	}
	return t.push(p, stats)
}

// push puts p in the inbox, counting it as delivered, or as dropped when
// the inbox is full.
func (t *MockTransport) push(p *Packet, stats *mockCounters) bool {
	select {
	case t.packetCh <- p:
		stats.packetsDelivered.Add(1)
		return true
	default:
		t.dropped.Add(1)
		stats.packetsOverflow.Add(1)
		return false
	}
}

// DroppedPackets returns how many inbound packets were dropped because
// the inbox, or the backlog of a paused transport, was full.
func (t *MockTransport) DroppedPackets() uint64 {
	return t.dropped.Load()
}

// PacketCh returns the inbox. It is never closed.
func (t *MockTransport) PacketCh() <-chan *Packet {
	return t.packetCh
}

// IngestPacket reads all of conn and queues it as a packet from addr
// received at now, closing conn first when shouldClose is set. Unlike
// WriteTo it reports a full inbox or a shut-down transport as an error.
func (t *MockTransport) IngestPacket(conn net.Conn, addr net.Addr, now time.Time, shouldClose bool) error {
	buf, err := readIngestedPacket(conn, addr, shouldClose)
	if err != nil {
		return err
	}
	if t.isShutdown() {
		return errMockTransportShutdown
	}
	if !t.enqueue(&Packet{Buf: buf, From: addr, Timestamp: now}, &t.ingestStats) {
		return fmt.Errorf("mock: packet inbox of %s is full", t.addr)
	}
	return nil
}

// DialTimeout opens a stream to the transport with address addr, as
// DialAddressTimeout does.
func (t *MockTransport) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	return t.DialAddressTimeout(Address{Addr: addr}, timeout)
}

// DialAddressTimeout opens a stream to the transport named a.Name, or
// when a.Name is empty to the one with address a.Addr: it queues one end
// of a net.Pipe on the peer's StreamCh and returns the other. It fails at
// once when there is no such transport, either transport has shut down,
// this one is paused, the link is cut in either direction, a
// MockStreamRefuse fault applies. It waits under a MockStreamHang fault,
// for timeout, and then fails; and while the peer's backlog is full, for
// room, up to timeout (without limit when timeout is zero or less), as a
// TCP client whose SYN a full listen queue dropped sends it again; with a
// timeout of zero or less that dial fails at once.
func (t *MockTransport) DialAddressTimeout(a Address, timeout time.Duration) (net.Conn, error) {
	if t.isShutdown() {
		return nil, errMockTransportShutdown
	}
	r, err := t.network.routeStream(t, a)
	if err != nil {
		return nil, err
	}
	if r.plan.fault == MockStreamHang {
		err := t.hang(r.dest.name, timeout)
		r.stats.streamsRefused.Add(1)
		return nil, err
	}
	local, remote := mockStreamPair(t.name, r.dest.name, r.plan, r.stats)
	if err := r.dest.offerStream(remote, timeout, t.shutdownCh); err != nil {
		local.Close()
		remote.Close()
		r.stats.streamsRefused.Add(1)
		return nil, err
	}
	r.stats.streamsOpened.Add(1)
	return local, nil
}

// offerStream queues conn on the stream backlog, or holds it while the
// transport is paused. When the backlog is full it waits for room, up to
// wait, unless cancel is closed first; with a wait of zero or less it
// fails at once.
func (t *MockTransport) offerStream(conn net.Conn, wait time.Duration, cancel <-chan struct{}) error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return t.refused("transport is shut down")
	}
	if t.paused.Load() {
		defer t.mu.Unlock()
		if len(t.heldStreams) >= mockBacklogSize {
			return t.refused("backlog is full")
		}
		t.heldStreams = append(t.heldStreams, conn)
		return nil
	}
	select {
	case t.streamCh <- conn:
		t.mu.Unlock()
		return nil
	default:
	}
	t.mu.Unlock()
	if wait <= 0 {
		return t.refused("backlog is full")
	}
	return t.awaitBacklog(conn, wait, cancel)
}

// awaitBacklog queues conn on the full stream backlog as soon as there is
// room, up to wait, unless cancel is closed or the transport shuts down
// first.
func (t *MockTransport) awaitBacklog(conn net.Conn, wait time.Duration, cancel <-chan struct{}) error {
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case t.streamCh <- conn:
		t.mu.Lock()
		defer t.mu.Unlock()
		if t.closed { // Shutdown emptied the backlog before conn went in
			t.closeBacklogLocked()
			return t.refused("transport is shut down")
		}
		return nil
	case <-timer.C:
		return t.refused("backlog is full")
	case <-cancel:
		return errMockTransportShutdown
	case <-t.shutdownCh:
		return t.refused("transport is shut down")
	}
}

func (t *MockTransport) refused(why string) error {
	return fmt.Errorf("mock: connection to %s refused: %s", t.addr, why)
}

// StreamCh returns the stream backlog. It is never closed.
func (t *MockTransport) StreamCh() <-chan net.Conn {
	return t.streamCh
}

// IngestStream queues conn on StreamCh. It fails when the transport has
// shut down or its backlog is full.
func (t *MockTransport) IngestStream(conn net.Conn) error {
	return t.offerStream(conn, 0, nil)
}

// Shutdown stops the transport: later writes and dials from it fail,
// packets sent to it are dropped, dials to it fail, pending delayed
// packets are cancelled and queued streams nobody accepted are closed.
// PacketCh and StreamCh stay open. It returns once no delivery to the
// transport is running. Later calls do nothing and return nil.
func (t *MockTransport) Shutdown() error {
	t.mu.Lock()
	if !t.closed {
		t.closed = true
		close(t.shutdownCh)
		for d := range t.pending {
			if d.timer.Stop() {
				t.wg.Done()
			}
		}
		clear(t.pending)
		t.closeBacklogLocked()
		t.dropHeldLocked()
	}
	t.mu.Unlock()
	t.wg.Wait()
	return nil
}

// closeBacklogLocked closes every stream still waiting in the backlog.
func (t *MockTransport) closeBacklogLocked() {
	for {
		select {
		case conn := <-t.streamCh:
			conn.Close()
		default:
			return
		}
	}
}

// isShutdown reports whether Shutdown has been called.
func (t *MockTransport) isShutdown() bool {
	select {
	case <-t.shutdownCh:
		return true
	default:
		return false
	}
}
