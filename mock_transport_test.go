package memberlist

import (
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// mockPair returns two transports "a" and "b" on a fresh network.
func mockPair(t *testing.T) (a, b NodeAwareTransport, aAddr, bAddr Address) {
	n := &MockNetwork{}
	ta, tb := n.NewTransport("a"), n.NewTransport("b")
	return ta, tb, Address{Addr: ta.addr.String(), Name: "a"}, Address{Addr: tb.addr.String(), Name: "b"}
}

func TestMockTransport_Conformance(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		testTransportConformance(t, mockPair)
	})
}

// mockDrain returns the packets queued on tr, without waiting.
func mockDrain(tr *MockTransport) []*Packet {
	var out []*Packet
	for {
		select {
		case p := <-tr.PacketCh():
			out = append(out, p)
		default:
			return out
		}
	}
}

// mockBodies returns the bytes of each packet as a string.
func mockBodies(ps []*Packet) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = string(p.Buf)
	}
	return out
}

func TestMockTransport_Addresses(t *testing.T) {
	n := &MockNetwork{}
	for i := 1; i <= 3; i++ {
		tr := n.NewTransport(fmt.Sprintf("n%d", i))
		want := fmt.Sprintf("127.0.0.1:%d", i)
		if tr.addr.String() != want || tr.addr.Network() != "mock" {
			t.Errorf("transport %d address = %s/%s, want mock/%s", i, tr.addr.Network(), tr.addr, want)
		}
		ip, port, err := tr.FinalAdvertiseAddr("10.9.9.9", 99)
		if err != nil || !ip.Equal(net.IPv4(127, 0, 0, 1)) || port != i {
			t.Errorf("FinalAdvertiseAddr = %v, %d, %v; want 127.0.0.1, %d", ip, port, err, i)
		}
	}
	// Upstream parses the port as a signed 16-bit integer, so ports above
	// 32767 fail there; here every valid port works.
	n.lastPort = 40000
	tr := n.NewTransport("high")
	if _, port, err := tr.FinalAdvertiseAddr("", 0); err != nil || port != 40001 {
		t.Errorf("FinalAdvertiseAddr for port 40001 = %d, %v", port, err)
	}
	n.lastPort = 65535
	tr = n.NewTransport("overflow")
	if _, _, err := tr.FinalAdvertiseAddr("", 0); err == nil {
		t.Error("FinalAdvertiseAddr for port 65536 succeeded")
	}
}

func TestMockTransport_Routing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := &MockNetwork{}
		a, b, c := n.NewTransport("a"), n.NewTransport("b"), n.NewTransport("c")
		tests := []struct {
			to      Address
			want    *MockTransport
			wantErr string
		}{
			{to: Address{Addr: "127.0.0.1:2"}, want: b},
			{to: Address{Addr: "127.0.0.1:2", Name: "c"}, want: c}, // the name wins
			{to: Address{Name: "b"}, want: b},
			{to: Address{Addr: "127.0.0.1:2", Name: "zzz"}, wantErr: "no route to {127.0.0.1:2 zzz}"},
			{to: Address{Addr: "127.0.0.1:9"}, wantErr: "no route to {127.0.0.1:9 }"},
		}
		for _, tc := range tests {
			_, err := a.WriteToAddress([]byte("hi"), tc.to)
			conn, derr := a.DialAddressTimeout(tc.to, 0)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr || derr == nil || derr.Error() != tc.wantErr {
					t.Errorf("to %#v: errors %v / %v, want %q", tc.to, err, derr, tc.wantErr)
				}
				continue
			}
			if err != nil || derr != nil {
				t.Fatalf("to %#v: %v / %v", tc.to, err, derr)
			}
			conn.Close()
			if got := mockDrain(tc.want); len(got) != 1 || got[0].From.String() != "127.0.0.1:1" {
				t.Errorf("to %#v: target received %v", tc.to, mockBodies(got))
			}
			if len(tc.want.StreamCh()) != 1 {
				t.Errorf("to %#v: target has %d streams, want 1", tc.to, len(tc.want.StreamCh()))
			}
			(<-tc.want.StreamCh()).Close()
		}
	})
}

func TestMockTransport_NameTakeover(t *testing.T) {
	n := &MockNetwork{}
	a := n.NewTransport("a")
	old := n.NewTransport("b")
	old.Shutdown()
	restarted := n.NewTransport("b")
	if _, err := a.WriteToAddress([]byte("hi"), Address{Name: "b"}); err != nil {
		t.Fatal(err)
	}
	if len(restarted.PacketCh()) != 1 || len(old.PacketCh()) != 0 {
		t.Errorf("restarted has %d packets, old %d; want 1, 0", len(restarted.PacketCh()), len(old.PacketCh()))
	}
	if _, err := a.WriteToAddress([]byte("hi"), Address{Addr: "127.0.0.1:2"}); err != nil {
		t.Errorf("write to the old address of a shut-down transport: %v, want a silent drop", err)
	}
}

func TestMockTransport_Ingest(t *testing.T) {
	n := &MockNetwork{}
	tr := n.NewTransport("a")
	from := &net.UDPAddr{IP: net.IPv4(10, 0, 0, 1), Port: 7946}
	now := time.Unix(100, 0)

	r, w := net.Pipe()
	w.Close()
	err := tr.IngestPacket(r, from, now, true)
	if err == nil || err.Error() != "packet too short (0 bytes) from=10.0.0.1:7946" {
		t.Errorf("IngestPacket(empty) = %v", err)
	}

	r, w = net.Pipe()
	go func() {
		w.Write([]byte("hello"))
		w.Close()
	}()
	if err := tr.IngestPacket(r, from, now, true); err != nil {
		t.Fatal(err)
	}
	p := <-tr.PacketCh()
	if string(p.Buf) != "hello" || p.From != from || !p.Timestamp.Equal(now) {
		t.Errorf("ingested packet = %q from %v at %v", p.Buf, p.From, p.Timestamp)
	}
	if _, err := r.Read(make([]byte, 1)); !errors.Is(err, io.ErrClosedPipe) {
		t.Errorf("conn not closed by IngestPacket: %v", err)
	}

	c1, c2 := net.Pipe()
	defer c2.Close()
	if err := tr.IngestStream(c1); err != nil || <-tr.StreamCh() != c1 {
		t.Errorf("IngestStream = %v", err)
	}
	c1.Close()

	tr.Shutdown()
	if err := tr.IngestStream(c1); err == nil {
		t.Error("IngestStream after Shutdown succeeded")
	}
	r, w = net.Pipe()
	go func() {
		w.Write([]byte("late"))
		w.Close()
	}()
	if err := tr.IngestPacket(r, from, now, true); err == nil {
		t.Error("IngestPacket after Shutdown succeeded")
	}
}

// TestMockTransport_StreamBacklog checks that a dial to a full backlog
// waits for room up to its timeout, or until the peer shuts down, and
// that Shutdown closes the streams left in the backlog.
func TestMockTransport_StreamBacklog(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := &MockNetwork{}
		a, b := n.NewTransport("a"), n.NewTransport("b")
		var conns []net.Conn
		for range mockBacklogSize {
			c, err := a.DialTimeout("127.0.0.1:2", time.Second)
			if err != nil {
				t.Fatal(err)
			}
			conns = append(conns, c)
		}
		start := time.Now()
		if _, err := a.DialTimeout("127.0.0.1:2", time.Second); err == nil || !strings.Contains(err.Error(), "backlog is full") {
			t.Errorf("dial to a full backlog: %v", err)
		}
		if took := time.Since(start); took != time.Second {
			t.Errorf("dial to a full backlog failed after %v, want its timeout (1s)", took)
		}
		time.AfterFunc(100*time.Millisecond, func() { (<-b.StreamCh()).Close() }) // b accepts one
		start = time.Now()
		c, err := a.DialTimeout("127.0.0.1:2", time.Second)
		if err != nil || time.Since(start) != 100*time.Millisecond {
			t.Errorf("dial to a backlog with room after 100ms = %v after %v", err, time.Since(start))
		} else {
			conns = append(conns, c)
		}
		if err := b.IngestStream(&net.TCPConn{}); err == nil || !strings.Contains(err.Error(), "backlog is full") {
			t.Errorf("IngestStream to a full backlog: %v", err)
		}
		start = time.Now()
		if _, err := a.DialTimeout("127.0.0.1:2", 0); err == nil || time.Since(start) != 0 {
			t.Errorf("dial without a timeout to a full backlog = %v after %v, want an error at once", err, time.Since(start))
		}
		time.AfterFunc(100*time.Millisecond, func() { b.Shutdown() })
		if _, err := a.DialTimeout("127.0.0.1:2", time.Second); err == nil || time.Since(start) != 100*time.Millisecond {
			t.Errorf("dial to a full backlog = %v after %v, want an error at the peer's Shutdown (100ms)", err, time.Since(start))
		}
		for i, c := range conns {
			if _, err := c.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
				t.Errorf("conn %d: read after the peer's Shutdown = %v, want EOF", i, err)
			}
			c.Close()
		}
	})
}

func TestMockTransport_FloodWithoutReaders(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := &MockNetwork{}
		a, b := n.NewTransport("a"), n.NewTransport("b")
		const count = mockInboxSize + 1000
		var wg sync.WaitGroup
		for _, pair := range [][2]*MockTransport{{a, b}, {b, a}} {
			wg.Go(func() {
				for i := range count {
					if _, err := pair[0].WriteTo([]byte{byte(i)}, pair[1].addr.String()); err != nil {
						t.Errorf("write %d: %v", i, err)
						return
					}
				}
			})
		}
		wg.Wait()
		for _, tr := range []*MockTransport{a, b} {
			if len(tr.PacketCh()) != mockInboxSize || tr.DroppedPackets() != count-mockInboxSize {
				t.Errorf("%s: %d queued, %d dropped", tr.name, len(tr.PacketCh()), tr.DroppedPackets())
			}
		}
		want := MockLinkStats{PacketsSent: count, BytesSent: count, PacketsDelivered: mockInboxSize, PacketsOverflow: count - mockInboxSize}
		if got := n.LinkStats("a", "b"); got != want {
			t.Errorf("a→b stats %+v, want %+v", got, want)
		}
	})
}

func TestMockTransport_Concurrent(t *testing.T) {
	n := &MockNetwork{}
	const senders, creators, count = 4, 4, 200
	var wg sync.WaitGroup
	var first []*MockTransport
	for i := range senders {
		first = append(first, n.NewTransport(fmt.Sprintf("s%d", i)))
	}
	for i, tr := range first {
		wg.Go(func() {
			for j := range count {
				to := Address{Name: fmt.Sprintf("s%d", (i+1)%senders)}
				if j%2 == 1 {
					to = Address{Name: fmt.Sprintf("c%d-%d", j%creators, j/2)}
				}
				tr.WriteToAddress([]byte("x"), to) // may not exist yet
				if j%10 == 0 {
					n.SetLink(tr.name, to.Name, MockLinkFaults{Loss: 0.1})
				}
			}
		})
		wg.Go(func() {
			for range count {
				select {
				case <-tr.PacketCh():
				case c := <-tr.StreamCh():
					c.Close()
				default:
				}
			}
		})
	}
	for i := range creators {
		wg.Go(func() {
			for j := range count / 2 {
				c := n.NewTransport(fmt.Sprintf("c%d-%d", i, j))
				if conn, err := c.DialAddressTimeout(Address{Name: "s0"}, 0); err == nil {
					conn.Close()
				}
				c.Shutdown()
			}
		})
	}
	wg.Wait()
	for _, tr := range first {
		tr.Shutdown()
	}
}

func TestMockNetwork_LossAll(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := &MockNetwork{}
		a, b := n.NewTransport("a"), n.NewTransport("b")
		n.SetAllLinks(MockLinkFaults{Loss: 1})
		for i := range 100 {
			if _, err := a.WriteTo([]byte{byte(i)}, "127.0.0.1:2"); err != nil {
				t.Fatal(err)
			}
		}
		synctest.Wait()
		if got := mockDrain(b); len(got) != 0 {
			t.Errorf("received %d packets with loss 1", len(got))
		}
		n.SetAllLinks(MockLinkFaults{})
		a.WriteTo([]byte("ok"), "127.0.0.1:2")
		if got := mockBodies(mockDrain(b)); !slices.Equal(got, []string{"ok"}) {
			t.Errorf("after restoring perfect links received %q", got)
		}
	})
}

// mockLossRun sends 200 numbered packets over a link with 50% loss and
// returns the numbers that arrived.
func mockLossRun(seed uint64) []int {
	n := &MockNetwork{}
	n.SetSeed(seed)
	a, b := n.NewTransport("a"), n.NewTransport("b")
	n.SetLink("a", "b", MockLinkFaults{Loss: 0.5})
	for i := range 200 {
		a.WriteTo([]byte{byte(i)}, "127.0.0.1:2")
	}
	var got []int
	for _, p := range mockDrain(b) {
		got = append(got, int(p.Buf[0]))
	}
	return got
}

func TestMockNetwork_LossSeeded(t *testing.T) {
	first, second := mockLossRun(42), mockLossRun(42)
	if !slices.Equal(first, second) {
		t.Fatalf("same seed, different deliveries:\n%v\n%v", first, second)
	}
	if len(first) < 60 || len(first) > 140 {
		t.Errorf("loss 0.5 delivered %d of 200", len(first))
	}
	if other := mockLossRun(43); slices.Equal(first, other) {
		t.Error("seeds 42 and 43 delivered the same packets")
	}
}

func TestMockNetwork_Delay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := &MockNetwork{}
		a, b := n.NewTransport("a"), n.NewTransport("b")
		n.SetLink("a", "b", MockLinkFaults{Delay: 50 * time.Millisecond})
		start := time.Now()
		sent, err := a.WriteTo([]byte("late"), "127.0.0.1:2")
		if err != nil || !sent.Equal(start) {
			t.Fatalf("WriteTo = %v, %v", sent, err)
		}
		synctest.Wait()
		if len(b.PacketCh()) != 0 {
			t.Fatal("delayed packet delivered at once")
		}
		p := <-b.PacketCh()
		if d := time.Since(start); d != 50*time.Millisecond {
			t.Errorf("delivered after %v, want 50ms", d)
		}
		if !p.Timestamp.Equal(sent) {
			t.Errorf("Timestamp %v, want the send time %v", p.Timestamp, sent)
		}
		// The reverse link has no delay.
		b.WriteTo([]byte("fast"), "127.0.0.1:1")
		if len(a.PacketCh()) != 1 {
			t.Error("packet on the undelayed reverse link not delivered at once")
		}
	})
}

func TestMockNetwork_JitterReorders(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := &MockNetwork{}
		n.SetSeed(7)
		a, b := n.NewTransport("a"), n.NewTransport("b")
		const delay, jitter = 10 * time.Millisecond, 20 * time.Millisecond
		n.SetAllLinks(MockLinkFaults{Delay: delay, Jitter: jitter})
		start := time.Now()
		for i := range 50 {
			a.WriteTo([]byte{byte(i)}, "127.0.0.1:2")
		}
		var order []int
		for range 50 {
			p := <-b.PacketCh()
			if d := time.Since(start); d < delay || d >= delay+jitter {
				t.Errorf("packet %d arrived after %v, outside [%v, %v)", p.Buf[0], d, delay, delay+jitter)
			}
			order = append(order, int(p.Buf[0]))
		}
		if slices.IsSorted(order) {
			t.Error("jitter did not reorder any packet")
		}
	})
}

func TestMockNetwork_Duplicate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := &MockNetwork{}
		a, b := n.NewTransport("a"), n.NewTransport("b")
		n.SetLink("a", "b", MockLinkFaults{Duplicate: 1})
		a.WriteTo([]byte("twice"), "127.0.0.1:2")
		got := mockDrain(b)
		if !slices.Equal(mockBodies(got), []string{"twice", "twice"}) {
			t.Fatalf("received %q", mockBodies(got))
		}
		got[0].Buf[0] = 'X'
		if string(got[1].Buf) != "twice" {
			t.Error("duplicates share their buffer")
		}
	})
}

// mockReach reports whether a packet from src reaches dst and whether a
// stream can be dialled from src to dst.
func mockReach(t *testing.T, src, dst *MockTransport) (packet, stream bool) {
	t.Helper()
	if _, err := src.WriteToAddress([]byte("probe"), Address{Name: dst.name}); err != nil {
		t.Fatal(err)
	}
	synctest.Wait()
	packet = len(mockDrain(dst)) > 0
	conn, err := src.DialAddressTimeout(Address{Name: dst.name}, time.Second)
	if err == nil {
		conn.Close()
		(<-dst.StreamCh()).Close()
	}
	return packet, err == nil
}

func TestMockNetwork_PartitionHeal(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := &MockNetwork{}
		a, b, c, d := n.NewTransport("a"), n.NewTransport("b"), n.NewTransport("c"), n.NewTransport("d")
		n.Partition([]string{"a", "b"}, []string{"c"})
		tests := []struct {
			src, dst *MockTransport
			want     bool
		}{
			{a, b, true}, {b, a, true}, {a, c, false}, {c, b, false},
			{a, d, false}, {d, c, false}, {d, d, true}, // d is unlisted
		}
		for _, tc := range tests {
			if p, s := mockReach(t, tc.src, tc.dst); p != tc.want || s != tc.want {
				t.Errorf("partitioned %s→%s: packet %v, stream %v; want %v", tc.src.name, tc.dst.name, p, s, tc.want)
			}
		}
		n.Heal()
		for _, tc := range tests {
			if p, s := mockReach(t, tc.src, tc.dst); !p || !s {
				t.Errorf("healed %s→%s: packet %v, stream %v", tc.src.name, tc.dst.name, p, s)
			}
		}
	})
}

func TestMockNetwork_OneWayBlock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := &MockNetwork{}
		a, b := n.NewTransport("a"), n.NewTransport("b")
		n.Block("a", "b")
		if p, s := mockReach(t, a, b); p || s {
			t.Errorf("blocked a→b: packet %v, stream %v", p, s)
		}
		if p, s := mockReach(t, b, a); !p || s {
			t.Errorf("reverse b→a: packet %v, stream %v; want packets only", p, s)
		}
		n.Unblock("a", "b")
		if p, s := mockReach(t, a, b); !p || !s {
			t.Errorf("unblocked a→b: packet %v, stream %v", p, s)
		}
	})
}

func TestMockNetwork_Capture(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := &MockNetwork{}
		a, _ := n.NewTransport("a"), n.NewTransport("b")
		var trace []string
		n.SetCapture(func(from, to string, b []byte) {
			trace = append(trace, fmt.Sprintf("%s>%s:%s", from, to, b))
		})
		a.WriteTo([]byte("one"), "127.0.0.1:2")
		n.Block("a", "b")
		a.WriteTo([]byte("two"), "127.0.0.1:2")
		a.WriteTo([]byte("nowhere"), "127.0.0.1:9")
		n.SetCapture(nil)
		a.WriteTo([]byte("three"), "127.0.0.1:2")
		if want := []string{"a>b:one", "a>b:two"}; !slices.Equal(trace, want) {
			t.Errorf("trace %q, want %q", trace, want)
		}
	})
}

func TestMockTransport_ShutdownCancelsDelayed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := &MockNetwork{}
		a, b := n.NewTransport("a"), n.NewTransport("b")
		n.SetAllLinks(MockLinkFaults{Delay: time.Hour})
		start := time.Now()
		for range 10 {
			a.WriteTo([]byte("x"), "127.0.0.1:2")
		}
		b.Shutdown()
		if time.Since(start) != 0 {
			t.Errorf("Shutdown waited %v for delayed packets", time.Since(start))
		}
		a.WriteTo([]byte("x"), "127.0.0.1:2") // to a shut-down transport: dropped
		synctest.Wait()
		if len(b.PacketCh()) != 0 {
			t.Error("packet delivered to a shut-down transport")
		}
		a.Shutdown()
	})
}

func TestMockTransport_ShutdownDuringDelivery(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := &MockNetwork{}
		a, b := n.NewTransport("a"), n.NewTransport("b")
		n.SetAllLinks(MockLinkFaults{Delay: time.Millisecond, Jitter: time.Millisecond})
		var wg sync.WaitGroup
		wg.Go(func() {
			for range 1000 {
				a.WriteTo([]byte("x"), "127.0.0.1:2")
				<-time.After(time.Microsecond) // virtual time
			}
		})
		<-time.After(500 * time.Microsecond)
		b.Shutdown()
		wg.Wait()
		a.Shutdown()
	})
}

func TestMockNetwork_HealClearsBlocks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := &MockNetwork{}
		a, b := n.NewTransport("a"), n.NewTransport("b")
		n.Block("a", "b")
		n.SetLink("b", "a", MockLinkFaults{Loss: 1})
		n.Heal()
		if p, s := mockReach(t, a, b); !p || !s {
			t.Errorf("a→b after Heal: packet %v, stream %v", p, s)
		}
		if p, _ := mockReach(t, b, a); p {
			t.Error("Heal removed the link faults of b→a")
		}
	})
}

func BenchmarkMockTransport_WriteTo(b *testing.B) {
	for _, bc := range []struct {
		name   string
		faults MockLinkFaults
	}{
		{"perfect", MockLinkFaults{}},
		{"lossy", MockLinkFaults{Loss: 0.1, Duplicate: 0.01}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			n := &MockNetwork{}
			src, dst := n.NewTransport("a"), n.NewTransport("b")
			n.SetAllLinks(bc.faults)
			msg := make([]byte, 1400)
			to := Address{Addr: "127.0.0.1:2", Name: "b"}
			b.ReportAllocs()
			b.SetBytes(int64(len(msg)))
			for b.Loop() {
				if _, err := src.WriteToAddress(msg, to); err != nil {
					b.Fatal(err)
				}
				select {
				case <-dst.PacketCh():
				default:
				}
			}
		})
	}
}

// BenchmarkMockNetwork_WriteToMany sends packets over the 9,900 links of
// a 100-node network, so every link has its own generator and counters.
func BenchmarkMockNetwork_WriteToMany(b *testing.B) {
	n := &MockNetwork{}
	n.SetAllLinks(MockLinkFaults{Loss: 0.01})
	const nodes = 100
	var trs []*MockTransport
	for i := range nodes {
		trs = append(trs, n.NewTransport(fmt.Sprintf("node-%03d", i)))
	}
	msg := make([]byte, 200)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		src, dst := trs[i%nodes], trs[(i/nodes+i+1)%nodes]
		i++
		if src == dst {
			continue
		}
		if _, err := src.WriteToAddress(msg, Address{Name: dst.name}); err != nil {
			b.Fatal(err)
		}
		select {
		case <-dst.PacketCh():
		default:
		}
	}
}
