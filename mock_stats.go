package memberlist

import "sync/atomic"

// MockLinkStats counts what a MockNetwork did with the packets and streams
// of one directed link, or of all links together (MockNetwork.TotalStats).
// A packet is counted once as sent and then at most once per copy by its
// fate: delivered, lost, cut, overflowed or dropped because its sender was
// paused. Packets still in flight (delayed, or held for a paused receiver)
// and packets to a transport that shut down are counted only as sent.
// The zero value counts nothing.
type MockLinkStats struct {
	// PacketsSent counts WriteTo and WriteToAddress calls that found a
	// destination.
	PacketsSent uint64

	// BytesSent counts the bytes of the packets in PacketsSent.
	BytesSent uint64

	// PacketsDelivered counts the copies put into the receiver's PacketCh;
	// a duplicated packet counts twice.
	PacketsDelivered uint64

	// PacketsLost counts packets dropped by a loss fault of the link
	// (MockLinkFaults.Loss) or of a node (MockNodeFaults.InLoss, OutLoss).
	PacketsLost uint64

	// PacketsCut counts packets dropped by a Block or a Partition.
	PacketsCut uint64

	// PacketsOverflow counts copies dropped because the receiver's inbox,
	// or its backlog while paused, was full.
	PacketsOverflow uint64

	// PacketsPaused counts packets dropped because their sender was paused.
	PacketsPaused uint64

	// StreamsOpened counts dials that returned a connection.
	StreamsOpened uint64

	// StreamsRefused counts dials that failed after finding their
	// destination: a cut link, a MockStreamRefuse or MockStreamHang fault,
	// a full backlog, a paused dialler or a peer that had shut down.
	StreamsRefused uint64

	// StreamsReset counts streams reset by a MockStreamReset fault.
	StreamsReset uint64
}

// add adds the counts of o to s.
func (s *MockLinkStats) add(o MockLinkStats) {
	s.PacketsSent += o.PacketsSent
	s.BytesSent += o.BytesSent
	s.PacketsDelivered += o.PacketsDelivered
	s.PacketsLost += o.PacketsLost
	s.PacketsCut += o.PacketsCut
	s.PacketsOverflow += o.PacketsOverflow
	s.PacketsPaused += o.PacketsPaused
	s.StreamsOpened += o.StreamsOpened
	s.StreamsRefused += o.StreamsRefused
	s.StreamsReset += o.StreamsReset
}

// mockCounters are the live counters of one link. They are atomics so that
// deliveries, which happen outside the network's lock (on timers, on
// Resume), can count without taking it.
type mockCounters struct {
	packetsSent, bytesSent                      atomic.Uint64
	packetsDelivered, packetsLost               atomic.Uint64
	packetsCut, packetsOverflow                 atomic.Uint64
	packetsPaused                               atomic.Uint64
	streamsOpened, streamsRefused, streamsReset atomic.Uint64
}

// snapshot returns the current counts.
func (c *mockCounters) snapshot() MockLinkStats {
	return MockLinkStats{
		PacketsSent:      c.packetsSent.Load(),
		BytesSent:        c.bytesSent.Load(),
		PacketsDelivered: c.packetsDelivered.Load(),
		PacketsLost:      c.packetsLost.Load(),
		PacketsCut:       c.packetsCut.Load(),
		PacketsOverflow:  c.packetsOverflow.Load(),
		PacketsPaused:    c.packetsPaused.Load(),
		StreamsOpened:    c.streamsOpened.Load(),
		StreamsRefused:   c.streamsRefused.Load(),
		StreamsReset:     c.streamsReset.Load(),
	}
}

// reset sets every count to zero.
func (c *mockCounters) reset() {
	for _, v := range []*atomic.Uint64{
		&c.packetsSent, &c.bytesSent, &c.packetsDelivered, &c.packetsLost,
		&c.packetsCut, &c.packetsOverflow, &c.packetsPaused,
		&c.streamsOpened, &c.streamsRefused, &c.streamsReset,
	} {
		v.Store(0)
	}
}

// statsLocked returns the counters of the link from → to, making them on
// first use.
func (n *MockNetwork) statsLocked(from, to string) *mockCounters {
	l := mockLink{from, to}
	if c, ok := n.stats[l]; ok {
		return c
	}
	if n.stats == nil {
		n.stats = make(map[mockLink]*mockCounters)
	}
	c := &mockCounters{}
	n.stats[l] = c
	return c
}

// LinkStats returns the counts of the link from the transport named from
// to the one named to since the network was made or ResetStats was last
// called. Streams count on the link from their dialler to their acceptor.
func (n *MockNetwork) LinkStats(from, to string) MockLinkStats {
	n.mu.Lock()
	defer n.mu.Unlock()
	if c, ok := n.stats[mockLink{from, to}]; ok {
		return c.snapshot()
	}
	return MockLinkStats{}
}

// TotalStats returns the sum of the counts of every link.
func (n *MockNetwork) TotalStats() MockLinkStats {
	n.mu.Lock()
	defer n.mu.Unlock()
	var total MockLinkStats
	for _, c := range n.stats {
		total.add(c.snapshot())
	}
	return total
}

// ResetStats sets the counts of every link to zero. Packets still in flight
// are counted when they land, after the reset.
func (n *MockNetwork) ResetStats() {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, c := range n.stats {
		c.reset()
	}
}
