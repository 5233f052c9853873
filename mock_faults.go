package memberlist

import (
	"fmt"
	"os"
	"time"
)

// MockStreamFault says what a MockNetwork does to the streams dialled over
// a link (MockLinkFaults.Stream) or to or from a node
// (MockNodeFaults.Streams). When several faults apply to one dial, the
// first of Refuse, Hang, Stall and Reset that any of them names wins; for
// Reset, the smallest StreamResetAfter wins. Values other than the
// constants below act as MockStreamOK.
type MockStreamFault int

const (
	// MockStreamOK leaves streams working.
	MockStreamOK MockStreamFault = 0

	// MockStreamRefuse makes the dial fail at once, as a refused
	// connection does.
	MockStreamRefuse MockStreamFault = 1

	// MockStreamHang makes the dial block until its timeout, or until the
	// dialler's transport shuts down, and then fail, as a dial to a host
	// that drops every packet does. A timeout of zero or less waits for
	// the shutdown.
	MockStreamHang MockStreamFault = 2

	// MockStreamReset lets the dial succeed and resets the stream once
	// StreamResetAfter bytes in total, both directions counted, have
	// crossed it: then every read and write on both ends fails. A
	// StreamResetAfter of zero or less resets the stream at its first
	// write.
	MockStreamReset MockStreamFault = 3

	// MockStreamStall lets the dial succeed and the peer accept the
	// stream, but no byte ever crosses it: reads and writes on both ends
	// block until their deadline passes or that end is closed. Closing
	// one end is not seen by the other.
	MockStreamStall MockStreamFault = 4
)

// String returns the fault's name, such as "refuse".
func (f MockStreamFault) String() string {
	switch f {
	case MockStreamOK:
		return "ok"
	case MockStreamRefuse:
		return "refuse"
	case MockStreamHang:
		return "hang"
	case MockStreamReset:
		return "reset"
	case MockStreamStall:
		return "stall"
	}
	return fmt.Sprintf("MockStreamFault(%d)", int(f))
}

// MockNodeFaults describes how a MockNetwork treats the traffic of one
// node, on top of the faults of its links: a packet is lost if the link's
// Loss or either node's loss says so, each decision drawn from the link's
// generator. The zero value is a healthy node.
//
// Two recipes: a node whose streams fail while its packets flow (a
// TCP-only failure) is MockNodeFaults{Streams: MockStreamRefuse}; a node
// whose packets are all lost while its streams work (a UDP-only failure)
// is MockNodeFaults{InLoss: 1, OutLoss: 1}.
type MockNodeFaults struct {
	// InLoss is the probability, from 0 to 1, that a packet sent to the
	// node is dropped; 1 makes it deaf.
	InLoss float64

	// OutLoss is the probability, from 0 to 1, that a packet the node
	// sends is dropped; 1 makes it mute.
	OutLoss float64

	// Streams applies to every stream dialled to or from the node.
	Streams MockStreamFault

	// StreamResetAfter is the byte count after which a stream is reset
	// when Streams is MockStreamReset.
	StreamResetAfter int
}

// SetNode sets the faults of the transport named name, replacing earlier
// ones; the zero MockNodeFaults removes them. The faults belong to the
// name: a later transport with the same name has them too.
func (n *MockNetwork) SetNode(name string, f MockNodeFaults) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if f == (MockNodeFaults{}) {
		delete(n.nodes, name)
		return
	}
	if n.nodes == nil {
		n.nodes = make(map[string]MockNodeFaults)
	}
	n.nodes[name] = f
}

// Pause freezes the transport named name, as a stopped VM or a long
// garbage-collection pause would: packets sent to it are held, up to 4096
// of them, and further ones are dropped (counted as PacketsOverflow);
// packets it sends are dropped (counted as PacketsPaused); streams dialled
// to it succeed, as the kernel would accept them, but it sees them only
// once resumed; streams it dials fail. Pause acts on the transport that
// holds the name now and does nothing when none does or it is already
// paused.
//
// This is an approximation: only the network is frozen, not the node. Its
// goroutines and timers keep running, streams already open keep working,
// and packets already in its PacketCh can still be read. So a paused
// memberlist node keeps probing, hears no acks and suspects its peers
// meanwhile, where a frozen process would do nothing until it woke.
func (n *MockNetwork) Pause(name string) {
	if t := n.transportNamed(name); t != nil {
		t.pause()
	}
}

// Resume undoes Pause: the transport named name delivers the packets held
// for it to its PacketCh in the order they arrived, then the streams held
// for it to its StreamCh, and works normally again. What finds PacketCh or
// StreamCh full is dropped (and counted) or closed. Resume of a transport
// that is not paused does nothing.
func (n *MockNetwork) Resume(name string) {
	if t := n.transportNamed(name); t != nil {
		t.resume()
	}
}

// transportNamed returns the transport that holds name, or nil.
func (n *MockNetwork) transportNamed(name string) *MockTransport {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.byName[name]
}

// lostLocked decides whether a packet on the link from → to with faults f
// is lost, drawing from the link's generator only for the faults that are
// set.
func (n *MockNetwork) lostLocked(from, to string, f MockLinkFaults) bool {
	for _, p := range [...]float64{f.Loss, n.nodes[from].OutLoss, n.nodes[to].InLoss} {
		if p > 0 && n.randLocked(from, to).Float64() < p {
			return true
		}
	}
	return false
}

// cutReasonLocked says why a block or the partition stops packets from the
// transport named from to the one named to; "" when nothing does.
func (n *MockNetwork) cutReasonLocked(from, to string) string {
	if n.blocked[mockLink{from, to}] {
		return fmt.Sprintf("the link from %q to %q is blocked", from, to)
	}
	if n.groups != nil && n.groupLocked(from) != n.groupLocked(to) {
		return fmt.Sprintf("%q and %q are in different partition groups", from, to)
	}
	return ""
}

// mockStreamPlan is what a dial gets once routed: the fault to apply and,
// for a reset, the byte budget.
type mockStreamPlan struct {
	fault      MockStreamFault
	resetAfter int
}

// streamPlanLocked combines the stream faults of the link from → to and of
// both nodes.
func (n *MockNetwork) streamPlanLocked(from, to string) mockStreamPlan {
	lf, ok := n.links[mockLink{from, to}]
	if !ok {
		lf = n.defaults
	}
	cands := [...]mockStreamPlan{
		{lf.Stream, lf.StreamResetAfter},
		{n.nodes[from].Streams, n.nodes[from].StreamResetAfter},
		{n.nodes[to].Streams, n.nodes[to].StreamResetAfter},
	}
	var best mockStreamPlan
	for _, c := range cands {
		if c.fault == MockStreamOK {
			continue
		}
		if best.fault == MockStreamOK || mockStreamRank(c.fault) < mockStreamRank(best.fault) ||
			(c.fault == best.fault && c.resetAfter < best.resetAfter) {
			best = c
		}
	}
	return best
}

// mockStreamRank orders stream faults by precedence, lowest first.
func mockStreamRank(f MockStreamFault) int {
	switch f {
	case MockStreamRefuse:
		return 0
	case MockStreamHang:
		return 1
	case MockStreamStall:
		return 2
	case MockStreamReset:
		return 3
	}
	return 4
}

// hang waits out a hanging dial to dest: until timeout passes, or for ever
// when timeout is not positive, unless t shuts down first.
func (t *MockTransport) hang(dest string, timeout time.Duration) error {
	var expired <-chan time.Time
	if timeout > 0 {
		timer := time.NewTimer(timeout)
		defer timer.Stop()
		expired = timer.C
	}
	select {
	case <-expired:
		return fmt.Errorf("mock: dial from %q to %q timed out after %v: %w", t.name, dest, timeout, os.ErrDeadlineExceeded)
	case <-t.shutdownCh:
		return fmt.Errorf("mock: dial from %q to %q: %w", t.name, dest, errMockTransportShutdown)
	}
}

// cutLocked reports whether a block or the partition stops packets from
// the transport named from to the one named to.
func (n *MockNetwork) cutLocked(from, to string) bool {
	if n.blocked[mockLink{from, to}] {
		return true
	}
	return n.groups != nil && n.groupLocked(from) != n.groupLocked(to)
}

// pause starts holding what arrives for t; see MockNetwork.Pause.
func (t *MockTransport) pause() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.closed {
		t.paused.Store(true)
	}
}

// resume delivers what was held for t, in order, and stops holding; see
// MockNetwork.Resume. Packets that find the inbox full are dropped and
// counted; streams that find the backlog full are closed.
func (t *MockTransport) resume() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.paused.Load() {
		return
	}
	for _, h := range t.heldPackets {
		t.push(h.p, h.stats)
	}
	for _, conn := range t.heldStreams {
		select {
		case t.streamCh <- conn:
		default:
			conn.Close()
		}
	}
	t.heldPackets, t.heldStreams = nil, nil
	t.paused.Store(false)
}

// holdLocked keeps p for delivery on resume, or drops and counts it when
// the paused backlog is full.
func (t *MockTransport) holdLocked(p *Packet, stats *mockCounters) bool {
	if len(t.heldPackets) >= mockInboxSize {
		t.dropped.Add(1)
		stats.packetsOverflow.Add(1)
		return false
	}
	t.heldPackets = append(t.heldPackets, mockHeld{p, stats})
	return true
}

// dropHeldLocked forgets the packets held for a paused transport and
// closes its held streams, at Shutdown.
func (t *MockTransport) dropHeldLocked() {
	for _, conn := range t.heldStreams {
		conn.Close()
	}
	t.heldPackets, t.heldStreams = nil, nil
	t.paused.Store(false)
}
