package memberlist

import (
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"slices"
	"testing"
	"testing/synctest"
	"time"
)

// TestMockTransport_TimestampContract checks upstream's contract: the time
// WriteTo and WriteToAddress return is the Timestamp of every delivered
// copy, with and without delay.
func TestMockTransport_TimestampContract(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := &MockNetwork{}
		a, b := n.NewTransport("a"), n.NewTransport("b")
		writes := map[string]func() (time.Time, error){
			"WriteTo":        func() (time.Time, error) { return a.WriteTo([]byte("x"), "127.0.0.1:2") },
			"WriteToAddress": func() (time.Time, error) { return a.WriteToAddress([]byte("x"), Address{Name: "b"}) },
		}
		for _, delay := range []time.Duration{0, 40 * time.Millisecond} {
			n.SetLink("a", "b", MockLinkFaults{Delay: delay, Jitter: delay / 2, Duplicate: 1})
			for _, name := range []string{"WriteTo", "WriteToAddress"} {
				advance(time.Millisecond) // so that send and arrival times differ
				sent, err := writes[name]()
				if err != nil {
					t.Fatal(err)
				}
				for i := range 2 {
					p := <-b.PacketCh()
					if !p.Timestamp.Equal(sent) {
						t.Errorf("%s, delay %v, copy %d: Timestamp %v, returned %v", name, delay, i, p.Timestamp, sent)
					}
					if got := time.Since(sent); got < delay {
						t.Errorf("%s, delay %v, copy %d: arrived after %v", name, delay, i, got)
					}
				}
			}
		}
	})
}

func TestMockStreamFault_String(t *testing.T) {
	for f, want := range map[MockStreamFault]string{
		MockStreamOK: "ok", MockStreamRefuse: "refuse", MockStreamHang: "hang",
		MockStreamReset: "reset", MockStreamStall: "stall", 9: "MockStreamFault(9)",
	} {
		if got := f.String(); got != want {
			t.Errorf("MockStreamFault(%d).String() = %q, want %q", int(f), got, want)
		}
	}
}

// mockDial dials dst from src by name and, on success, accepts the stream.
func mockDial(src, dst *MockTransport, timeout time.Duration) (out, in net.Conn, err error) {
	out, err = src.DialAddressTimeout(Address{Name: dst.name}, timeout)
	if err != nil {
		return nil, nil, err
	}
	return out, <-dst.StreamCh(), nil
}

func TestMockNetwork_StreamRefuse(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := &MockNetwork{}
		a, b := n.NewTransport("a"), n.NewTransport("b")
		n.SetLink("a", "b", MockLinkFaults{Stream: MockStreamRefuse})
		start := time.Now()
		_, _, err := mockDial(a, b, time.Second)
		if err == nil || err.Error() != `mock: connection from "a" to "b" refused: stream fault` {
			t.Errorf("dial a→b = %v", err)
		}
		if time.Since(start) != 0 {
			t.Errorf("refused dial took %v", time.Since(start))
		}
		// The fault belongs to the direction a→b only; packets still flow.
		out, in, err := mockDial(b, a, time.Second)
		if err != nil {
			t.Fatalf("dial b→a: %v", err)
		}
		out.Close()
		in.Close()
		if p, _ := mockReach(t, a, b); !p {
			t.Error("a stream fault dropped a packet")
		}
		if s := n.LinkStats("a", "b"); s.StreamsRefused != 2 || s.StreamsOpened != 0 { // mockReach dials too
			t.Errorf("a→b stats %+v", s)
		}
		if s := n.LinkStats("b", "a"); s.StreamsOpened != 1 || s.StreamsRefused != 0 {
			t.Errorf("b→a stats %+v", s)
		}
	})
}

func TestMockNetwork_StreamHang(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := &MockNetwork{}
		a, b := n.NewTransport("a"), n.NewTransport("b")
		n.SetLink("a", "b", MockLinkFaults{Stream: MockStreamHang})
		start := time.Now()
		_, _, err := mockDial(a, b, 3*time.Second)
		if waited := time.Since(start); waited != 3*time.Second {
			t.Errorf("hanging dial returned after %v, want its 3s timeout", waited)
		}
		var ne net.Error
		if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &ne) || !ne.Timeout() {
			t.Errorf("hanging dial = %v, want a timeout error", err)
		}
		if len(b.StreamCh()) != 0 {
			t.Error("a hanging dial queued a stream")
		}

		// Without a timeout the dial waits for the dialler's Shutdown.
		done := make(chan error)
		go func() {
			_, err := a.DialAddressTimeout(Address{Name: "b"}, 0)
			done <- err
		}()
		advance(time.Hour)
		synctest.Wait()
		select {
		case err := <-done:
			t.Fatalf("dial without timeout returned %v before Shutdown", err)
		default:
		}
		a.Shutdown()
		if err := <-done; !errors.Is(err, errMockTransportShutdown) {
			t.Errorf("dial interrupted by Shutdown = %v", err)
		}
		if s := n.LinkStats("a", "b"); s.StreamsRefused != 2 {
			t.Errorf("stats %+v, want 2 refused", s)
		}
	})
}

func TestMockNetwork_StreamReset(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := &MockNetwork{}
		a, b := n.NewTransport("a"), n.NewTransport("b")
		n.SetLink("a", "b", MockLinkFaults{Stream: MockStreamReset, StreamResetAfter: 10})
		out, in, err := mockDial(a, b, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer out.Close()
		defer in.Close()
		go out.Write([]byte("123456"))
		buf := make([]byte, 6)
		if _, err := io.ReadFull(in, buf); err != nil || string(buf) != "123456" {
			t.Fatalf("read %q, %v", buf, err)
		}
		// 4 bytes of budget are left: the reply is cut after "abcd".
		readErr := make(chan error)
		var got []byte
		go func() {
			b, err := io.ReadAll(out)
			got = b
			readErr <- err
		}()
		w, err := in.Write([]byte("abcdef"))
		if w != 4 || !errors.Is(err, errMockStreamReset) {
			t.Errorf("write over the budget = %d, %v; want 4, reset", w, err)
		}
		if err := <-readErr; string(got) != "abcd" || !errors.Is(err, errMockStreamReset) {
			t.Errorf("dialler read %q, %v; want abcd, reset", got, err)
		}
		for name, c := range map[string]net.Conn{"dialler": out, "acceptor": in} {
			if _, err := c.Write([]byte("x")); !errors.Is(err, errMockStreamReset) {
				t.Errorf("%s write after reset = %v", name, err)
			}
		}
		if s := n.LinkStats("a", "b"); s.StreamsReset != 1 || s.StreamsOpened != 1 {
			t.Errorf("stats %+v", s)
		}
	})
}

func TestMockNetwork_StreamStall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := &MockNetwork{}
		a, b := n.NewTransport("a"), n.NewTransport("b")
		n.SetLink("a", "b", MockLinkFaults{Stream: MockStreamStall})
		out, in, err := mockDial(a, b, time.Second)
		if err != nil {
			t.Fatalf("stalled dial failed: %v", err)
		}
		start := time.Now()
		out.SetDeadline(start.Add(2 * time.Second))
		in.SetDeadline(start.Add(5 * time.Second))
		if _, err := out.Write([]byte("hello")); !errors.Is(err, os.ErrDeadlineExceeded) || time.Since(start) != 2*time.Second {
			t.Errorf("write on a stalled stream = %v after %v, want a timeout at 2s", err, time.Since(start))
		}
		if _, err := in.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) || time.Since(start) != 5*time.Second {
			t.Errorf("read on a stalled stream = %v after %v, want a timeout at 5s", err, time.Since(start))
		}
		// Close frees a blocked read at once.
		in.SetDeadline(time.Time{})
		done := make(chan error)
		go func() {
			_, err := in.Read(make([]byte, 1))
			done <- err
		}()
		synctest.Wait()
		in.Close()
		if err := <-done; !errors.Is(err, io.ErrClosedPipe) {
			t.Errorf("read after Close = %v", err)
		}
		out.Close()
	})
}

func TestMockNetwork_CutRefusesStreams(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := &MockNetwork{}
		a, b, c := n.NewTransport("a"), n.NewTransport("b"), n.NewTransport("c")
		n.Block("a", "b")
		n.Partition([]string{"a", "b"}, []string{"c"})
		tests := []struct {
			src, dst *MockTransport
			want     string
		}{
			{a, b, `mock: connection from "a" to "b" refused: the link from "a" to "b" is blocked`},
			{b, a, `mock: connection from "b" to "a" refused: the link from "a" to "b" is blocked`},
			{a, c, `mock: connection from "a" to "c" refused: "a" and "c" are in different partition groups`},
		}
		for _, tc := range tests {
			if _, _, err := mockDial(tc.src, tc.dst, time.Second); err == nil || err.Error() != tc.want {
				t.Errorf("dial %s→%s = %v, want %q", tc.src.name, tc.dst.name, err, tc.want)
			}
		}
		if got := n.TotalStats(); got.StreamsRefused != 3 {
			t.Errorf("total stats %+v, want 3 refused", got)
		}
	})
}

func TestMockNetwork_NodeLoss(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := &MockNetwork{}
		a, b, c := n.NewTransport("a"), n.NewTransport("b"), n.NewTransport("c")
		check := func(what string, want map[[2]*MockTransport]bool) {
			t.Helper()
			for pair, ok := range want {
				if p, _ := mockReach(t, pair[0], pair[1]); p != ok {
					t.Errorf("%s: packet %s→%s delivered %v, want %v", what, pair[0].name, pair[1].name, p, ok)
				}
			}
		}
		n.SetNode("b", MockNodeFaults{InLoss: 1})
		check("b deaf", map[[2]*MockTransport]bool{{a, b}: false, {c, b}: false, {b, a}: true, {a, c}: true})
		n.SetNode("b", MockNodeFaults{OutLoss: 1})
		check("b mute", map[[2]*MockTransport]bool{{a, b}: true, {b, a}: false, {b, c}: false, {c, a}: true})
		n.SetNode("b", MockNodeFaults{})
		check("b healed", map[[2]*MockTransport]bool{{a, b}: true, {b, a}: true})
		if s := n.LinkStats("a", "b"); s.PacketsLost != 1 || s.PacketsSent != 3 || s.PacketsDelivered != 2 {
			t.Errorf("a→b stats %+v", s)
		}
	})
}

func TestMockNetwork_TCPOnlyAndUDPOnlyFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := &MockNetwork{}
		a, b := n.NewTransport("a"), n.NewTransport("b")
		n.SetNode("b", MockNodeFaults{Streams: MockStreamRefuse})
		for _, pair := range [][2]*MockTransport{{a, b}, {b, a}} {
			if p, s := mockReach(t, pair[0], pair[1]); !p || s {
				t.Errorf("TCP-only failure %s→%s: packet %v, stream %v; want packets only", pair[0].name, pair[1].name, p, s)
			}
		}
		n.SetNode("b", MockNodeFaults{InLoss: 1, OutLoss: 1})
		for _, pair := range [][2]*MockTransport{{a, b}, {b, a}} {
			if p, s := mockReach(t, pair[0], pair[1]); p || !s {
				t.Errorf("UDP-only failure %s→%s: packet %v, stream %v; want streams only", pair[0].name, pair[1].name, p, s)
			}
		}
	})
}

func TestMockNetwork_StreamFaultPrecedence(t *testing.T) {
	n := &MockNetwork{}
	tests := []struct {
		link     MockLinkFaults
		from, to MockNodeFaults
		want     mockStreamPlan
	}{
		{want: mockStreamPlan{}},
		{link: MockLinkFaults{Stream: MockStreamReset, StreamResetAfter: 9}, want: mockStreamPlan{MockStreamReset, 9}},
		{
			link: MockLinkFaults{Stream: MockStreamReset, StreamResetAfter: 9},
			to:   MockNodeFaults{Streams: MockStreamReset, StreamResetAfter: 3},
			want: mockStreamPlan{MockStreamReset, 3},
		},
		{
			link: MockLinkFaults{Stream: MockStreamReset},
			from: MockNodeFaults{Streams: MockStreamStall},
			want: mockStreamPlan{MockStreamStall, 0},
		},
		{
			link: MockLinkFaults{Stream: MockStreamStall},
			to:   MockNodeFaults{Streams: MockStreamHang},
			want: mockStreamPlan{MockStreamHang, 0},
		},
		{
			link: MockLinkFaults{Stream: MockStreamHang},
			from: MockNodeFaults{Streams: MockStreamRefuse},
			to:   MockNodeFaults{Streams: 42},
			want: mockStreamPlan{MockStreamRefuse, 0},
		},
	}
	for i, tc := range tests {
		n.SetLink("a", "b", tc.link)
		n.SetNode("a", tc.from)
		n.SetNode("b", tc.to)
		n.mu.Lock()
		got := n.streamPlanLocked("a", "b")
		n.mu.Unlock()
		if got != tc.want {
			t.Errorf("case %d: plan %+v, want %+v", i, got, tc.want)
		}
	}
}

func TestMockNetwork_PauseHoldsPackets(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := &MockNetwork{}
		a, b := n.NewTransport("a"), n.NewTransport("b")
		n.SetLink("a", "b", MockLinkFaults{Delay: time.Second})
		a.WriteTo([]byte("in flight"), "127.0.0.1:2")
		n.Pause("b")
		n.Pause("b") // a second Pause changes nothing
		n.SetLink("a", "b", MockLinkFaults{})
		var want []string
		for i := range mockInboxSize - 1 {
			msg := []byte{byte(i), byte(i >> 8)}
			a.WriteTo(msg, "127.0.0.1:2")
			want = append(want, string(msg))
		}
		advance(2 * time.Second) // the delayed packet fills the backlog
		for range 11 {
			a.WriteTo([]byte("overflow"), "127.0.0.1:2")
		}
		synctest.Wait()
		if len(b.PacketCh()) != 0 {
			t.Fatalf("paused transport has %d readable packets", len(b.PacketCh()))
		}
		// The paused node's own packets are dropped.
		if _, err := b.WriteTo([]byte("from b"), "127.0.0.1:1"); err != nil {
			t.Fatal(err)
		}
		if len(a.PacketCh()) != 0 {
			t.Error("a paused transport sent a packet")
		}
		n.Resume("b")
		n.Resume("b") // resuming a running transport does nothing
		got := mockBodies(mockDrain(b))
		if len(got) != mockInboxSize {
			t.Fatalf("delivered %d packets on Resume, want %d", len(got), mockInboxSize)
		}
		if !slices.Equal(got[:mockInboxSize-1], want) || got[mockInboxSize-1] != "in flight" {
			t.Errorf("backlog out of order: first %q, last %q", got[:3], got[len(got)-3:])
		}
		s := n.LinkStats("a", "b")
		if s.PacketsOverflow != 11 || s.PacketsDelivered != mockInboxSize || b.DroppedPackets() != 11 {
			t.Errorf("a→b stats %+v, dropped %d; want 11 overflowed", s, b.DroppedPackets())
		}
		if s := n.LinkStats("b", "a"); s.PacketsPaused != 1 || s.PacketsSent != 1 {
			t.Errorf("b→a stats %+v, want 1 paused", s)
		}
		if p, _ := mockReach(t, a, b); !p {
			t.Error("no packet delivered after Resume")
		}
	})
}

func TestMockNetwork_PauseHoldsStreams(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := &MockNetwork{}
		a, b := n.NewTransport("a"), n.NewTransport("b")
		n.Pause("b")
		out, err := a.DialAddressTimeout(Address{Name: "b"}, time.Second)
		if err != nil {
			t.Fatalf("dial to a paused transport: %v", err)
		}
		defer out.Close()
		if len(b.StreamCh()) != 0 {
			t.Error("a paused transport sees a new stream")
		}
		if _, err := b.DialAddressTimeout(Address{Name: "a"}, time.Second); err == nil ||
			err.Error() != `mock: connection from "b" to "a" refused: "b" is paused` {
			t.Errorf("dial from a paused transport = %v", err)
		}
		n.Resume("b")
		in := <-b.StreamCh()
		defer in.Close()
		go out.Write([]byte("hi"))
		buf := make([]byte, 2)
		if _, err := io.ReadFull(in, buf); err != nil || string(buf) != "hi" {
			t.Errorf("held stream read %q, %v", buf, err)
		}
		if s := n.LinkStats("a", "b"); s.StreamsOpened != 1 {
			t.Errorf("a→b stats %+v", s)
		}
		if s := n.LinkStats("b", "a"); s.StreamsRefused != 1 {
			t.Errorf("b→a stats %+v", s)
		}
	})
}

func TestMockNetwork_ShutdownWhilePaused(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := &MockNetwork{}
		a, b := n.NewTransport("a"), n.NewTransport("b")
		n.Pause("b")
		a.WriteTo([]byte("held"), "127.0.0.1:2")
		out, err := a.DialAddressTimeout(Address{Name: "b"}, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		b.Shutdown()
		if _, err := out.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
			t.Errorf("held stream after the peer's Shutdown: %v, want EOF", err)
		}
		n.Resume("b")
		if len(b.PacketCh()) != 0 || len(b.StreamCh()) != 0 {
			t.Error("a shut-down transport delivered its backlog")
		}
	})
}

func TestMockNetwork_Stats(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := &MockNetwork{}
		a, b, c := n.NewTransport("a"), n.NewTransport("b"), n.NewTransport("c")
		n.SetLink("a", "b", MockLinkFaults{Duplicate: 1})
		a.WriteTo([]byte("12345"), "127.0.0.1:2")
		n.Block("a", "c")
		a.WriteTo([]byte("123"), "127.0.0.1:3")
		a.WriteTo([]byte("nowhere"), "127.0.0.1:9") // no route: not counted
		out, in, err := mockDial(c, b, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		out.Close()
		in.Close()
		wantAB := MockLinkStats{PacketsSent: 1, BytesSent: 5, PacketsDelivered: 2}
		wantAC := MockLinkStats{PacketsSent: 1, BytesSent: 3, PacketsCut: 1}
		wantCB := MockLinkStats{StreamsOpened: 1}
		if got := n.LinkStats("a", "b"); got != wantAB {
			t.Errorf("a→b %+v, want %+v", got, wantAB)
		}
		if got := n.LinkStats("a", "c"); got != wantAC {
			t.Errorf("a→c %+v, want %+v", got, wantAC)
		}
		if got := n.LinkStats("c", "b"); got != wantCB {
			t.Errorf("c→b %+v, want %+v", got, wantCB)
		}
		if got := n.LinkStats("b", "a"); got != (MockLinkStats{}) {
			t.Errorf("unused link b→a %+v", got)
		}
		want := MockLinkStats{PacketsSent: 2, BytesSent: 8, PacketsDelivered: 2, PacketsCut: 1, StreamsOpened: 1}
		if got := n.TotalStats(); got != want {
			t.Errorf("total %+v, want %+v", got, want)
		}
		n.ResetStats()
		if got := n.TotalStats(); got != (MockLinkStats{}) {
			t.Errorf("total after ResetStats %+v", got)
		}
		a.WriteTo([]byte("x"), "127.0.0.1:2")
		if got := n.LinkStats("a", "b"); got.PacketsSent != 1 || got.PacketsDelivered != 2 {
			t.Errorf("a→b after reset %+v", got)
		}
	})
}

// mockNodeLossRun sends 200 numbered packets from a to b, with b losing
// half of what it receives, and returns the numbers that arrived.
func mockNodeLossRun(seed uint64) []int {
	n := &MockNetwork{}
	n.SetSeed(seed)
	a, b, c := n.NewTransport("a"), n.NewTransport("b"), n.NewTransport("c")
	n.SetNode("b", MockNodeFaults{InLoss: 0.5})
	var got []int
	for i := range 200 {
		a.WriteTo([]byte{byte(i)}, "127.0.0.1:2")
		if i%3 == 0 {
			c.WriteTo([]byte{byte(i)}, "127.0.0.1:2") // another link's draws
		}
	}
	for _, p := range mockDrain(b) {
		if p.From.String() == "127.0.0.1:1" {
			got = append(got, int(p.Buf[0]))
		}
	}
	return got
}

func TestMockNetwork_NodeLossSeeded(t *testing.T) {
	first, second := mockNodeLossRun(5), mockNodeLossRun(5)
	if !slices.Equal(first, second) {
		t.Fatalf("same seed, different deliveries:\n%v\n%v", first, second)
	}
	if len(first) < 60 || len(first) > 140 {
		t.Errorf("InLoss 0.5 delivered %d of 200", len(first))
	}
}

func TestMockNetwork_StreamResetAtFirstWrite(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := &MockNetwork{}
		a, b := n.NewTransport("a"), n.NewTransport("b")
		// A node fault applies to streams dialled to the node as well.
		n.SetNode("b", MockNodeFaults{Streams: MockStreamReset})
		out, in, err := mockDial(a, b, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer out.Close()
		done := make(chan error)
		go func() {
			_, err := in.Read(make([]byte, 1))
			done <- err
		}()
		if w, err := out.Write([]byte("x")); w != 0 || !errors.Is(err, errMockStreamReset) {
			t.Errorf("first write = %d, %v; want 0, reset", w, err)
		}
		if err := <-done; !errors.Is(err, errMockStreamReset) {
			t.Errorf("peer's blocked read = %v, want reset", err)
		}
		in.Close()
		if s := n.LinkStats("a", "b"); s.StreamsReset != 1 {
			t.Errorf("stats %+v", s)
		}
	})
}

// mockWaitHeld spins until at least count packets are held for t or stop
// is closed.
func mockWaitHeld(t *MockTransport, count int, stop <-chan struct{}) {
	for {
		t.mu.Lock()
		held := len(t.heldPackets)
		t.mu.Unlock()
		if held >= count {
			return
		}
		select {
		case <-stop:
			return
		default:
			runtime.Gosched()
		}
	}
}

// TestMockNetwork_PauseConcurrent pauses and resumes a receiver while a
// sender writes to it: with no other fault every packet arrives, in the
// order sent, and the counters agree.
func TestMockNetwork_PauseConcurrent(t *testing.T) {
	n := &MockNetwork{}
	a, b := n.NewTransport("a"), n.NewTransport("b")
	const count = 3000 // below both bounds: nothing may be dropped
	stop := make(chan struct{})
	toggled := make(chan struct{})
	go func() {
		defer close(toggled)
		for {
			select {
			case <-stop:
				n.Resume("b")
				return
			default:
				n.Pause("b")
				mockWaitHeld(b, 20, stop)
				n.Resume("b")
			}
		}
	}()
	for i := range count {
		a.WriteTo([]byte{byte(i), byte(i >> 8)}, "127.0.0.1:2")
	}
	close(stop)
	<-toggled
	got := mockDrain(b)
	if len(got) != count {
		t.Fatalf("received %d of %d packets", len(got), count)
	}
	for i, p := range got {
		if v := int(p.Buf[0]) | int(p.Buf[1])<<8; v != i {
			t.Fatalf("packet %d is number %d: out of order", i, v)
		}
	}
	if s := n.LinkStats("a", "b"); s.PacketsSent != count || s.PacketsDelivered != count {
		t.Errorf("stats %+v", s)
	}
}

func TestMockNetwork_NodeFaultsFollowTheName(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := &MockNetwork{}
		a := n.NewTransport("a")
		old := n.NewTransport("b")
		n.SetNode("b", MockNodeFaults{InLoss: 1})
		n.Pause("nobody") // no such transport: nothing happens
		n.Resume("nobody")
		old.Shutdown()
		restarted := n.NewTransport("b")
		if p, s := mockReach(t, a, restarted); p || !s {
			t.Errorf("restarted b: packet %v, stream %v; want the node's faults to follow its name", p, s)
		}
	})
}
