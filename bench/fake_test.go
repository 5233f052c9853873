package bench

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// fakeTransport is an in-memory NodeAwareTransport for one node, written
// once for both libraries: P is the library's Packet type and A its Address
// type, so fakeTransport[ours.Packet, ours.Address] implements
// ours.NodeAwareTransport and likewise for theirs.
//
// The benchmark goroutine feeds packets and streams in; every packet the
// node writes is counted and signalled on writes. Dialling always fails, so
// the node cannot reach anyone. It is safe for concurrent use.
type fakeTransport[P, A any] struct {
	packets chan *P
	streams chan net.Conn

	// writes receives a token for each packet the node writes; the send is
	// non-blocking, so a reader that falls behind loses tokens, never
	// blocks the node.
	writes chan struct{}
	nwrite atomic.Int64

	record atomic.Bool // keep copies of written packets (tests only)
	mu     sync.Mutex
	sent   [][]byte // guarded by mu
}

const fakePort = 7946

var errNoDial = errors.New("fake transport: dialling is not supported")

func newFakeTransport[P, A any]() *fakeTransport[P, A] {
	return &fakeTransport[P, A]{
		packets: make(chan *P),
		streams: make(chan net.Conn),
		writes:  make(chan struct{}, 1024),
	}
}

func (t *fakeTransport[P, A]) FinalAdvertiseAddr(string, int) (net.IP, int, error) {
	return net.IPv4(127, 0, 0, 1).To4(), fakePort, nil
}

func (t *fakeTransport[P, A]) WriteTo(b []byte, _ string) (time.Time, error) {
	t.wrote(b)
	return time.Now(), nil
}

func (t *fakeTransport[P, A]) WriteToAddress(b []byte, _ A) (time.Time, error) {
	t.wrote(b)
	return time.Now(), nil
}

func (t *fakeTransport[P, A]) wrote(b []byte) {
	t.nwrite.Add(1)
	if t.record.Load() {
		t.mu.Lock()
		t.sent = append(t.sent, append([]byte(nil), b...))
		t.mu.Unlock()
	}
	select {
	case t.writes <- struct{}{}:
	default:
	}
}

func (t *fakeTransport[P, A]) PacketCh() <-chan *P       { return t.packets }
func (t *fakeTransport[P, A]) StreamCh() <-chan net.Conn { return t.streams }
func (t *fakeTransport[P, A]) Shutdown() error           { return nil }
func (t *fakeTransport[P, A]) DialTimeout(string, time.Duration) (net.Conn, error) {
	return nil, errNoDial
}
func (t *fakeTransport[P, A]) DialAddressTimeout(A, time.Duration) (net.Conn, error) {
	return nil, errNoDial
}

// recorded returns copies of the packets written since recording started.
func (t *fakeTransport[P, A]) recorded() [][]byte {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([][]byte(nil), t.sent...)
}

func (t *fakeTransport[P, A]) startRecording() {
	t.mu.Lock()
	t.sent = nil
	t.mu.Unlock()
	t.record.Store(true)
}
