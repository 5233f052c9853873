package memberlist

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// conformWait bounds every wait in the conformance test. Under synctest it
// is virtual time; on real sockets it only matters when a test fails.
const conformWait = 5 * time.Second

// conformUnknownAddr is an address no transport in the tests listens on:
// mock ports start at 1 and port 0 cannot be bound.
const conformUnknownAddr = "127.0.0.1:0"

// testTransportConformance checks the contract of the Transport interface
// against a pair of transports that can reach each other at aAddr and
// bAddr. newPair is called once per check; every check shuts its pair
// down, and at the end no goroutine started since the beginning may be
// left.
func testTransportConformance(t *testing.T, newPair func(t *testing.T) (a, b NodeAwareTransport, aAddr, bAddr Address)) {
	t.Helper()
	ignore := goleak.IgnoreCurrent()

	a, b, aAddr, bAddr := newPair(t)
	conformPacket(t, a, b, aAddr, bAddr)
	conformPacket(t, b, a, bAddr, aAddr)
	conformShutdownPair(t, a, b)

	a, b, aAddr, bAddr = newPair(t)
	conformStream(t, a, b, bAddr)
	conformStream(t, b, a, aAddr)
	conformShutdownPair(t, a, b)

	a, b, _, bAddr = newPair(t)
	conformUnknown(t, a, b, bAddr)
	conformShutdownPair(t, a, b)

	a, b, aAddr, bAddr = newPair(t)
	conformShutdown(t, a, b, aAddr, bAddr)

	goleak.VerifyNone(t, ignore)
}

// conformShutdownPair shuts a and b down, failing on error.
func conformShutdownPair(t *testing.T, a, b NodeAwareTransport) {
	t.Helper()
	for _, tr := range []NodeAwareTransport{a, b} {
		if err := tr.Shutdown(); err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
	}
}

// conformRecvPacket waits for a packet on tr.
func conformRecvPacket(t *testing.T, tr Transport) *Packet {
	t.Helper()
	select {
	case p := <-tr.PacketCh():
		return p
	case <-time.After(conformWait):
		t.Fatalf("no packet within %v", conformWait)
		return nil
	}
}

// conformRecvStream waits for an inbound stream on tr.
func conformRecvStream(t *testing.T, tr Transport) net.Conn {
	t.Helper()
	select {
	case c := <-tr.StreamCh():
		return c
	case <-time.After(conformWait):
		t.Fatalf("no stream within %v", conformWait)
		return nil
	}
}

// conformPacket sends packets from src to dst with both write methods and
// checks their bytes, From and Timestamp.
func conformPacket(t *testing.T, src, dst NodeAwareTransport, srcAddr, dstAddr Address) {
	t.Helper()
	send := []func(b []byte) (time.Time, error){
		func(b []byte) (time.Time, error) { return src.WriteToAddress(b, dstAddr) },
		func(b []byte) (time.Time, error) { return src.WriteTo(b, dstAddr.Addr) },
	}
	for i, write := range send {
		msg := []byte{'p', byte('0' + i), 0, 255}
		before := time.Now()
		sent, err := write(bytes.Clone(msg))
		if err != nil {
			t.Fatalf("write %d to %v: %v", i, dstAddr, err)
		}
		if sent.Before(before) {
			t.Errorf("write %d returned time %v before the call (%v)", i, sent, before)
		}
		p := conformRecvPacket(t, dst)
		if !bytes.Equal(p.Buf, msg) {
			t.Errorf("packet %d = %q, want %q", i, p.Buf, msg)
		}
		if p.From == nil || p.From.String() != srcAddr.Addr {
			t.Errorf("packet %d From = %v, want %s", i, p.From, srcAddr.Addr)
		}
		if p.Timestamp.Before(before) || p.Timestamp.After(time.Now()) {
			t.Errorf("packet %d Timestamp %v outside [%v, now]", i, p.Timestamp, before)
		}
	}
}

// conformStream dials dst from src with both dial methods, echoes a
// message each way, and checks that closing the dialled end is seen by the
// accepted end.
func conformStream(t *testing.T, src, dst NodeAwareTransport, dstAddr Address) {
	t.Helper()
	dial := []func() (net.Conn, error){
		func() (net.Conn, error) { return src.DialAddressTimeout(dstAddr, conformWait) },
		func() (net.Conn, error) { return src.DialTimeout(dstAddr.Addr, 0) },
	}
	for i, d := range dial {
		out, err := d()
		if err != nil {
			t.Fatalf("dial %d to %v: %v", i, dstAddr, err)
		}
		in := conformRecvStream(t, dst)
		deadline := time.Now().Add(conformWait)
		out.SetDeadline(deadline)
		in.SetDeadline(deadline)
		conformEcho(t, out, in, "ping")
		conformEcho(t, in, out, "pong")
		out.Close()
		if _, err := in.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
			t.Errorf("read after the dialler closed: %v, want EOF", err)
		}
		in.Close()
	}
}

// conformEcho writes msg on w and reads it back on r. The write runs on
// its own goroutine because net.Pipe is synchronous.
func conformEcho(t *testing.T, w, r net.Conn, msg string) {
	t.Helper()
	errc := make(chan error, 1)
	go func() {
		_, err := w.Write([]byte(msg))
		errc <- err
	}()
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(r, got); err != nil {
		t.Fatalf("read %q: %v", msg, err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("write %q: %v", msg, err)
	}
	if string(got) != msg {
		t.Fatalf("read %q, want %q", got, msg)
	}
}

// conformUnknown checks that writing to an address nobody listens on
// returns without delivering anything, that dialling it fails, and that
// the transport still works afterwards.
func conformUnknown(t *testing.T, a, b NodeAwareTransport, bAddr Address) {
	t.Helper()
	unknown := Address{Addr: conformUnknownAddr}
	a.WriteToAddress([]byte("lost"), unknown) // either an error or a silent drop
	if c, err := a.DialAddressTimeout(unknown, conformWait); err == nil {
		c.Close()
		t.Fatalf("dial to %v succeeded", unknown)
	}
	if _, err := a.WriteToAddress([]byte("after"), bAddr); err != nil {
		t.Fatalf("write after the unknown address: %v", err)
	}
	if p := conformRecvPacket(t, b); string(p.Buf) != "after" {
		t.Fatalf("b received %q, want %q", p.Buf, "after")
	}
}

// conformShutdown fills b with traffic nobody reads, checks that Shutdown
// still returns, closes the stream it never handed out, and is
// idempotent, and that a shut-down transport refuses work.
func conformShutdown(t *testing.T, a, b NodeAwareTransport, aAddr, bAddr Address) {
	t.Helper()
	for i := range 5000 {
		if _, err := a.WriteToAddress([]byte{byte(i)}, bAddr); err != nil {
			t.Fatalf("flood write %d: %v", i, err)
		}
	}
	pending, err := a.DialAddressTimeout(bAddr, conformWait)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer pending.Close()

	conformShutdownWithin(t, b)
	pending.SetDeadline(time.Now().Add(conformWait))
	if _, err := pending.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("stream never accepted by b: read = %v, want it closed by Shutdown", err)
	}
	if err := b.Shutdown(); err != nil {
		t.Errorf("second Shutdown: %v", err)
	}
	if _, err := b.WriteToAddress([]byte("x"), aAddr); err == nil {
		t.Error("write from a shut-down transport succeeded")
	}
	if c, err := a.DialAddressTimeout(bAddr, conformWait); err == nil {
		c.Close()
		t.Error("dial to a shut-down transport succeeded")
	}
	a.WriteToAddress([]byte("x"), bAddr) // must not block; UDP may not report an error
	conformShutdownWithin(t, a)
}

// conformShutdownWithin calls tr.Shutdown and fails unless it returns nil
// within conformWait.
func conformShutdownWithin(t *testing.T, tr Transport) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- tr.Shutdown() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
	case <-time.After(conformWait):
		t.Fatalf("Shutdown did not return within %v", conformWait)
	}
}

func TestAddress_String(t *testing.T) {
	tests := []struct {
		addr Address
		want string
	}{
		{Address{}, ""},
		{Address{Addr: "10.0.0.1:7946"}, "10.0.0.1:7946"},
		{Address{Addr: "10.0.0.1:7946", Name: "node-1"}, "node-1 (10.0.0.1:7946)"},
		{Address{Name: "node-1"}, "node-1 ()"},
	}
	for _, tc := range tests {
		if got := tc.addr.String(); got != tc.want {
			t.Errorf("%#v.String() = %q, want %q", tc.addr, got, tc.want)
		}
	}
}

// shimRecorder is a plain Transport that records the addresses it is
// asked to use.
type shimRecorder struct {
	Transport
	wrote, dialled string
}

func (r *shimRecorder) WriteTo(b []byte, addr string) (time.Time, error) {
	r.wrote = addr
	return time.Unix(1, 0), nil
}

func (r *shimRecorder) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	r.dialled = addr
	return nil, errors.New("dial refused")
}

func TestShimNodeAwareTransport(t *testing.T) {
	rec := &shimRecorder{}
	shim := newShimNodeAwareTransport(rec)
	a := Address{Addr: "10.0.0.1:7946", Name: "node-1"}
	ts, err := shim.WriteToAddress([]byte("x"), a)
	if err != nil || !ts.Equal(time.Unix(1, 0)) || rec.wrote != a.Addr {
		t.Errorf("WriteToAddress = %v, %v; WriteTo got %q", ts, err, rec.wrote)
	}
	if _, err := shim.DialAddressTimeout(a, time.Second); err == nil || rec.dialled != a.Addr {
		t.Errorf("DialAddressTimeout err = %v; DialTimeout got %q", err, rec.dialled)
	}
}
