package memberlist

import (
	"net"
	"sync"
)

// goroutineGroup starts goroutines and waits for them. After closeAndWait
// has begun, Go and enter refuse to start anything new, so a Shutdown that
// waits on the group cannot miss a late starter. The zero value is ready to
// use and it is safe for concurrent use.
type goroutineGroup struct {
	mu     sync.Mutex
	closed bool
	wg     sync.WaitGroup
}

// Go runs f in a new goroutine tracked by the group and reports whether it
// was started.
func (g *goroutineGroup) Go(f func()) bool {
	if !g.enter() {
		return false
	}
	go func() {
		defer g.leave()
		f()
	}()
	return true
}

// enter registers the calling goroutine (one the group did not start, such
// as a timer's) and reports whether it may proceed. A true result must be
// paired with leave.
func (g *goroutineGroup) enter() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return false
	}
	g.wg.Add(1)
	return true
}

func (g *goroutineGroup) leave() { g.wg.Done() }

// closeAndWait refuses new goroutines and waits for the running ones.
func (g *goroutineGroup) closeAndWait() {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
	g.wg.Wait()
}

// connSet tracks open streams so Shutdown can close them and unblock their
// readers. The zero value is ready to use; it is safe for concurrent use.
type connSet struct {
	mu     sync.Mutex
	closed bool
	conns  map[net.Conn]struct{}
}

// add tracks c and reports whether it may be used; after closeAll it closes
// c and returns false.
func (s *connSet) add(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		c.Close()
		return false
	}
	if s.conns == nil {
		s.conns = make(map[net.Conn]struct{})
	}
	s.conns[c] = struct{}{}
	return true
}

// remove stops tracking c and closes it.
func (s *connSet) remove(c net.Conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	c.Close()
}

// closeAll closes every tracked conn and every conn added later.
func (s *connSet) closeAll() {
	s.mu.Lock()
	s.closed = true
	conns := s.conns
	s.conns = nil
	s.mu.Unlock()
	for c := range conns {
		c.Close()
	}
}
