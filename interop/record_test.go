package interop

import (
	"net"
	"slices"
	"sync"
	"time"

	ours "github.com/gossip-go/memberlist"
	theirs "github.com/hashicorp/memberlist"
)

// recorder keeps copies of the packets a transport sent and of both
// directions of the streams it dialled. It is safe for concurrent use.
type recorder struct {
	drop    bool // immutable: packets are recorded, not sent
	w       wire // immutable: the node's label and key
	mu      sync.Mutex
	packets []sentPacket
	streams []*recConn
}

// sentPacket is one outbound packet.
type sentPacket struct {
	To, Name string
	B        []byte
}

// packet records b and reports whether it must be dropped.
func (r *recorder) packet(to, name string, b []byte) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.packets = append(r.packets, sentPacket{to, name, slices.Clone(b)})
	return r.drop
}

func (r *recorder) conn(to, name string, c net.Conn, err error) (net.Conn, error) {
	if err != nil {
		return c, err
	}
	rc := &recConn{Conn: c, To: to, Name: name}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.streams = append(r.streams, rc)
	return rc, nil
}

// Packets returns the packets sent so far.
func (r *recorder) Packets() []sentPacket {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.packets)
}

// Streams returns the streams dialled so far.
func (r *recorder) Streams() []*recConn {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.streams)
}

// recConn is a dialled stream whose bytes are recorded.
type recConn struct {
	net.Conn
	To, Name   string
	mu         sync.Mutex
	sent, recv []byte
}

func (c *recConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	c.mu.Lock()
	c.sent = append(c.sent, b[:n]...)
	c.mu.Unlock()
	return n, err
}

func (c *recConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.mu.Lock()
	c.recv = append(c.recv, b[:n]...)
	c.mu.Unlock()
	return n, err
}

// Sent returns what was written on the stream.
func (c *recConn) Sent() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.sent)
}

// Recv returns what was read from the stream.
func (c *recConn) Recv() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.recv)
}

// oursRecTransport records what our NetTransport sends.
type oursRecTransport struct {
	*ours.NetTransport
	rec *recorder
}

func (t *oursRecTransport) WriteTo(b []byte, addr string) (time.Time, error) {
	if t.rec.packet(addr, "", b) {
		return time.Now(), nil
	}
	return t.NetTransport.WriteTo(b, addr)
}
func (t *oursRecTransport) WriteToAddress(b []byte, a ours.Address) (time.Time, error) {
	if t.rec.packet(a.Addr, a.Name, b) {
		return time.Now(), nil
	}
	return t.NetTransport.WriteToAddress(b, a)
}
func (t *oursRecTransport) DialTimeout(addr string, d time.Duration) (net.Conn, error) {
	c, err := t.NetTransport.DialTimeout(addr, d)
	return t.rec.conn(addr, "", c, err)
}
func (t *oursRecTransport) DialAddressTimeout(a ours.Address, d time.Duration) (net.Conn, error) {
	c, err := t.NetTransport.DialAddressTimeout(a, d)
	return t.rec.conn(a.Addr, a.Name, c, err)
}

// theirsRecTransport records what the peer's NetTransport sends.
type theirsRecTransport struct {
	*theirs.NetTransport
	rec *recorder
}

func (t *theirsRecTransport) WriteTo(b []byte, addr string) (time.Time, error) {
	if t.rec.packet(addr, "", b) {
		return time.Now(), nil
	}
	return t.NetTransport.WriteTo(b, addr)
}
func (t *theirsRecTransport) WriteToAddress(b []byte, a theirs.Address) (time.Time, error) {
	if t.rec.packet(a.Addr, a.Name, b) {
		return time.Now(), nil
	}
	return t.NetTransport.WriteToAddress(b, a)
}
func (t *theirsRecTransport) DialTimeout(addr string, d time.Duration) (net.Conn, error) {
	c, err := t.NetTransport.DialTimeout(addr, d)
	return t.rec.conn(addr, "", c, err)
}
func (t *theirsRecTransport) DialAddressTimeout(a theirs.Address, d time.Duration) (net.Conn, error) {
	c, err := t.NetTransport.DialAddressTimeout(a, d)
	return t.rec.conn(a.Addr, a.Name, c, err)
}
