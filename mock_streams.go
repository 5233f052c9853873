package memberlist

import (
	"fmt"
	"net"
	"sync"
	"syscall"
)

// errMockStreamReset is returned by reads and writes on a stream that a
// MockStreamReset fault has reset.
// It wraps syscall.ECONNRESET, as a reset TCP connection's errors do.
var errMockStreamReset = fmt.Errorf("mock: %w", syscall.ECONNRESET)

// mockStreamPair returns the dialler's and the acceptor's ends of a new
// stream from the transport named from to the one named to, shaped by
// plan.
func mockStreamPair(from, to string, plan mockStreamPlan, stats *mockCounters) (local, remote net.Conn) {
	switch plan.fault {
	case MockStreamStall:
		// Each end is a pipe whose other end nobody uses: reads and
		// writes block until a deadline or Close, and nothing crosses.
		local, _ = net.Pipe()
		remote, _ = net.Pipe()
		return local, remote
	case MockStreamReset:
		a, b := net.Pipe()
		s := &mockResetStream{left: plan.resetAfter, ends: [2]net.Conn{a, b}, stats: stats, from: from, to: to}
		return &mockResetConn{Conn: a, s: s}, &mockResetConn{Conn: b, s: s}
	}
	return net.Pipe()
}

// mockResetStream is the state shared by both ends of a stream that a
// MockStreamReset fault resets after a byte budget.
type mockResetStream struct {
	from, to string
	ends     [2]net.Conn
	stats    *mockCounters

	mu    sync.Mutex
	left  int  // bytes that may still cross; guarded by mu
	reset bool // guarded by mu
}

// reserve takes up to size bytes from the budget. It returns how many may
// be written and whether they exhaust the budget, or an error once the
// stream is reset.
func (s *mockResetStream) reserve(size int) (n int, last bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.reset {
		return 0, false, s.errLocked()
	}
	n = min(size, max(s.left, 0))
	s.left -= n
	return n, s.left <= 0, nil
}

// trip resets the stream: both ends are closed and every later read or
// write fails with errMockStreamReset. It counts the reset once.
func (s *mockResetStream) trip() {
	s.mu.Lock()
	already := s.reset
	s.reset = true
	s.mu.Unlock()
	if already {
		return
	}
	s.stats.streamsReset.Add(1)
	for _, c := range s.ends {
		c.Close()
	}
}

// wrap turns the error of an operation on a raw end into errMockStreamReset
// when the stream has been reset.
func (s *mockResetStream) wrap(err error) error {
	if err == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.reset {
		return s.errLocked()
	}
	return err
}

func (s *mockResetStream) errLocked() error {
	return fmt.Errorf("mock: stream between %q and %q: %w", s.from, s.to, errMockStreamReset)
}

// mockResetConn is one end of a stream with a MockStreamReset fault.
type mockResetConn struct {
	net.Conn
	s *mockResetStream
}

// Read reads from the stream; once it is reset, Read fails.
func (c *mockResetConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	return n, c.s.wrap(err)
}

// Write writes to the stream as much of p as its byte budget allows,
// resetting it when the budget runs out.
func (c *mockResetConn) Write(p []byte) (int, error) {
	n, last, err := c.s.reserve(len(p))
	if err != nil {
		return 0, err
	}
	var w int
	if n > 0 {
		w, err = c.Conn.Write(p[:n])
	}
	if last && err == nil {
		c.s.trip()
	}
	if err != nil {
		return w, c.s.wrap(err)
	}
	if w < len(p) {
		return w, c.s.wrap(net.ErrClosed)
	}
	return w, nil
}
