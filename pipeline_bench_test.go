package memberlist

import (
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// discardTransport is a NodeAwareTransport that counts and drops writes.
type discardTransport struct {
	packets chan *Packet
	streams chan net.Conn
	writes  atomic.Int64
}

func newDiscardTransport() *discardTransport {
	return &discardTransport{packets: make(chan *Packet), streams: make(chan net.Conn)}
}

func (d *discardTransport) FinalAdvertiseAddr(string, int) (net.IP, int, error) {
	return net.IPv4(127, 0, 0, 1).To4(), 7946, nil
}
func (d *discardTransport) WriteTo(b []byte, addr string) (time.Time, error) {
	d.writes.Add(1)
	return time.Now(), nil
}
func (d *discardTransport) WriteToAddress(b []byte, a Address) (time.Time, error) {
	d.writes.Add(1)
	return time.Now(), nil
}
func (d *discardTransport) PacketCh() <-chan *Packet { return d.packets }
func (d *discardTransport) DialTimeout(string, time.Duration) (net.Conn, error) {
	return nil, io.ErrClosedPipe
}
func (d *discardTransport) DialAddressTimeout(Address, time.Duration) (net.Conn, error) {
	return nil, io.ErrClosedPipe
}
func (d *discardTransport) StreamCh() <-chan net.Conn { return d.streams }
func (d *discardTransport) Shutdown() error           { return nil }

func benchNode(b *testing.B, mods ...func(*Config)) (*Memberlist, *discardTransport) {
	conf := DefaultLANConfig()
	conf.Name = "bench"
	tr := newDiscardTransport()
	conf.Transport = tr
	conf.LogOutput = io.Discard
	conf.ProbeInterval, conf.GossipInterval, conf.PushPullInterval = 0, 0, 0
	for _, mod := range mods {
		mod(conf)
	}
	m, err := Create(conf)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { m.Shutdown() })
	return m, tr
}

// BenchmarkIngestPing measures one inbound ping answered with an ack, the
// most frequent packet of a cluster.
func BenchmarkIngestPing(b *testing.B) {
	for _, tc := range []struct {
		name string
		mod  func(*Config)
	}{
		{"plain", func(c *Config) { c.EnableCompression = false }},
		{"compressed", func(c *Config) {}},
		{"encrypted", func(c *Config) { c.SecretKey = make([]byte, 16) }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			m, tr := benchNode(b, tc.mod)
			pkt := encodeMessage(pingMsg, &ping{SeqNo: 7, Node: "bench", SourceAddr: []byte{10, 0, 0, 2}, SourcePort: 7946, SourceNode: "peer"})
			if m.config.EncryptionEnabled() {
				pkt, _ = m.config.Keyring.encryptPayload(1, pkt, nil)
			}
			from := &net.UDPAddr{IP: net.IPv4(10, 0, 0, 2), Port: 7946}
			now := time.Now()
			b.ReportAllocs()
			for b.Loop() {
				buf := append([]byte(nil), pkt...)
				m.ingestPacket(buf, from, now)
			}
			if tr.writes.Load() == 0 {
				b.Fatal("no ack written")
			}
		})
	}
}

// BenchmarkIngestAliveGossip measures an alive message about a known node
// arriving again (the steady state of gossip).
func BenchmarkIngestAliveGossip(b *testing.B) {
	m, _ := benchNode(b, func(c *Config) { c.EnableCompression = false })
	a := alive{Incarnation: 1, Node: "peer", Addr: []byte{10, 0, 0, 2}, Port: 7946, Meta: make([]byte, 64), Vsn: []uint8{1, 5, 2, 0, 0, 0}}
	m.aliveNode(&a, nil, false)
	body := encodeMessage(aliveMsg, &a)[1:]
	b.ReportAllocs()
	for b.Loop() {
		var got alive
		decodeMessage(body, &got)
		m.aliveNode(&got, nil, false)
	}
}

// BenchmarkCompressPing measures the LZW wrapper of one ping, which every
// outbound packet pays when EnableCompression is set.
func BenchmarkCompressPing(b *testing.B) {
	m := &Memberlist{}
	msg := encodeMessage(pingMsg, &ping{SeqNo: 12345, Node: "node-12", SourceAddr: []byte{10, 0, 0, 1}, SourcePort: 7946, SourceNode: "node-3"})
	b.ReportAllocs()
	for b.Loop() {
		m.compressMessage(msg)
	}
}
