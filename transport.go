package memberlist

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"time"
)

// Packet is a datagram received by a Transport and handed to memberlist
// through the channel returned by PacketCh.
//
// Once a Packet has been sent on that channel it belongs to the receiver:
// the transport must not touch Buf again, and memberlist may modify Buf in
// place while decoding it.
type Packet struct {
	// Buf holds the packet's bytes, exactly as they arrived, without any
	// transport framing.
	Buf []byte

	// From is the address of the sender. Its String method must return a
	// host:port that memberlist can parse and answer to with WriteTo.
	From net.Addr

	// Timestamp is the time the packet was received, taken as close to the
	// read from the network as possible. Memberlist measures round-trip
	// times against it, so it should not be taken when the packet is
	// dequeued.
	Timestamp time.Time
}

// Transport is the network layer beneath memberlist. It carries two kinds
// of traffic: best-effort packets (UDP-like: they may be lost, duplicated or
// reordered, and each fits in one datagram) and reliable streams (TCP-like
// connections used for push/pull state exchange, reliable user messages and
// the fallback ping).
//
// A Transport must be safe for concurrent use: memberlist calls WriteTo and
// DialTimeout from several goroutines at once, while it reads PacketCh and
// StreamCh from others.
//
// Transports that can address a peer by node name should also implement
// NodeAwareTransport; a plain Transport is wrapped so that the name is
// dropped.
type Transport interface {
	// FinalAdvertiseAddr returns the IP and port that memberlist announces
	// to peers. ip and port come from Config.AdvertiseAddr and
	// Config.AdvertisePort; ip may be empty, in which case the transport
	// picks an address it is reachable on. An error stops Create.
	FinalAdvertiseAddr(ip string, port int) (net.IP, int, error)

	// WriteTo sends b as a single packet to addr (a host:port). It returns
	// the time the packet was sent, which may be used for round-trip
	// measurements. WriteTo must not retain b after it returns. A packet
	// that cannot be delivered may be dropped silently, as UDP would; an
	// error means the packet was certainly not sent.
	WriteTo(b []byte, addr string) (time.Time, error)

	// PacketCh returns the channel on which the transport delivers inbound
	// packets. It must return the same channel on every call. Memberlist
	// reads it from one goroutine until it shuts down; the transport must
	// not block forever sending on it once Shutdown has been called.
	PacketCh() <-chan *Packet

	// DialTimeout opens a reliable stream to addr (a host:port). A timeout
	// of zero means no timeout. The caller owns the returned conn and
	// closes it when done.
	DialTimeout(addr string, timeout time.Duration) (net.Conn, error)

	// StreamCh returns the channel on which the transport delivers inbound
	// streams. It must return the same channel on every call. Each conn
	// received from it belongs to the receiver, who closes it; a conn the
	// transport could not hand over before Shutdown must be closed by the
	// transport.
	StreamCh() <-chan net.Conn

	// Shutdown stops the transport. It must close the listeners, unblock
	// every goroutine the transport started (including any blocked sending
	// on PacketCh or StreamCh, which memberlist may have stopped reading)
	// and return only once they have exited. Memberlist calls it once from
	// its own Shutdown, but implementations should make repeated calls
	// return nil.
	Shutdown() error
}

// NodeAwareTransport is a Transport that can use the destination's node
// name as well as its address, for example to route through a gateway.
// Memberlist uses these methods in preference to WriteTo and DialTimeout
// whenever it knows the name of the peer.
type NodeAwareTransport interface {
	Transport

	// WriteToAddress is WriteTo with the destination's name. addr.Addr is
	// the host:port; addr.Name may be empty.
	WriteToAddress(b []byte, addr Address) (time.Time, error)

	// DialAddressTimeout is DialTimeout with the destination's name.
	DialAddressTimeout(addr Address, timeout time.Duration) (net.Conn, error)
}

// IngestionAwareTransport is implemented by transports that accept
// traffic received elsewhere, for example over a shared listener.
//
// Deprecated: memberlist never uses this interface. It remains for
// compatibility; NetTransport and MockTransport implement it.
type IngestionAwareTransport interface {
	// IngestPacket reads all of conn and delivers its bytes as one packet
	// from addr received at now. When shouldClose is true, conn is closed
	// before IngestPacket returns.
	IngestPacket(conn net.Conn, addr net.Addr, now time.Time, shouldClose bool) error

	// IngestStream delivers conn as an inbound stream; the receiver of
	// StreamCh then owns it.
	IngestStream(conn net.Conn) error
}

// Address is the destination of a packet or stream: an address and,
// when known, the name of the node that should be listening there.
// The zero value is an empty address.
type Address struct {
	// Addr is a host:port string, as accepted by net.Dial.
	Addr string

	// Name is the node's name. It may be empty, and transports that are
	// not node-aware ignore it.
	Name string
}

// String returns "Name (Addr)" when a name is set and Addr otherwise.
func (a *Address) String() string {
	if a.Name != "" {
		return a.Name + " (" + a.Addr + ")"
	}
	return a.Addr
}

// shimNodeAwareTransport adapts a plain Transport to NodeAwareTransport by
// dropping the node name.
type shimNodeAwareTransport struct {
	Transport
}

var _ NodeAwareTransport = (*shimNodeAwareTransport)(nil)

// newShimNodeAwareTransport wraps t so that it satisfies
// NodeAwareTransport; the node names memberlist passes are ignored.
func newShimNodeAwareTransport(t Transport) NodeAwareTransport {
	return &shimNodeAwareTransport{Transport: t}
}

// WriteToAddress sends b to addr.Addr with WriteTo.
func (t *shimNodeAwareTransport) WriteToAddress(b []byte, addr Address) (time.Time, error) {
	return t.WriteTo(b, addr.Addr)
}

// DialAddressTimeout dials addr.Addr with DialTimeout.
func (t *shimNodeAwareTransport) DialAddressTimeout(addr Address, timeout time.Duration) (net.Conn, error) {
	return t.DialTimeout(addr.Addr, timeout)
}

// readIngestedPacket reads all of conn for IngestPacket, closing it when
// shouldClose is set. An empty packet is an error.
func readIngestedPacket(conn net.Conn, addr net.Addr, shouldClose bool) ([]byte, error) {
	if shouldClose {
		defer conn.Close()
	}
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, conn); err != nil {
		return nil, fmt.Errorf("failed to read packet: %w", err)
	}
	if buf.Len() < 1 {
		return nil, fmt.Errorf("packet too short (%d bytes) %s", buf.Len(), LogAddress(addr))
	}
	return buf.Bytes(), nil
}
