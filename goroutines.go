package memberlist

import (
	"net"
	"sync"
)

// goroutineGroup tracks the goroutines a Memberlist starts and the API calls
// in progress, so Shutdown can wait for them. A tracked goroutine that is
// inside a user callback is not waited for: the callback may be blocked on
// a lock the caller of Shutdown holds (serf does exactly that), and waiting
// would deadlock. Such a goroutine returns as soon as its callback does.
// After closeAndWait has begun, Go and enter refuse to start anything new.
// The zero value is ready to use and it is safe for concurrent use.
type goroutineGroup struct {
	mu         sync.Mutex
	idle       sync.Cond // signalled when running or inCallback drops
	closed     bool
	running    int // tracked goroutines and calls
	inCallback int // user callbacks in progress
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

// enter registers the calling goroutine (one the group did not start: a
// timer's, or a caller of an exported method) and reports whether it may
// proceed. A true result must be paired with leave.
func (g *goroutineGroup) enter() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return false
	}
	g.running++
	return true
}

func (g *goroutineGroup) leave() {
	g.mu.Lock()
	g.running--
	g.signalLocked()
	g.mu.Unlock()
}

// callback runs a user callback, during which closeAndWait does not wait
// for the calling goroutine.
func (g *goroutineGroup) callback(f func()) {
	g.mu.Lock()
	g.inCallback++
	g.signalLocked()
	g.mu.Unlock()
	defer func() {
		g.mu.Lock()
		g.inCallback--
		g.signalLocked()
		g.mu.Unlock()
	}()
	f()
}

func (g *goroutineGroup) signalLocked() {
	if g.idle.L != nil {
		g.idle.Broadcast()
	}
}

// closeAndWait refuses new goroutines and waits until every tracked one has
// returned or is inside a user callback.
func (g *goroutineGroup) closeAndWait() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.closed = true
	if g.idle.L == nil {
		g.idle.L = &g.mu
	}
	for g.running > g.inCallback {
		g.idle.Wait()
	}
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
