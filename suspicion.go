package memberlist

import (
	"math"
	"sync"
	"time"
)

// suspicion is the Lifeguard suspicion timer of one suspected node
// (Lifeguard §IV-B). It starts at a maximum timeout and shrinks towards a
// minimum as independent peers confirm the suspicion; when it runs out, the
// node is declared dead by the timeout function.
//
// A suspicion is made by newSuspicion; it is safe for concurrent use. The
// timeout function runs at most once, in its own goroutine.
type suspicion struct {
	mu sync.Mutex
	// n is the number of independent confirmations so far, at most k.
	n int
	// k is the number of confirmations after which the timeout is min.
	k int
	// min and max bound the timeout.
	min, max time.Duration
	// start is when the suspicion began; timeouts count from it.
	start time.Time
	// timer runs fire when the suspicion times out.
	timer *time.Timer
	// confirmations holds the names of the nodes that have suspected the
	// node, including the first suspector, which is not counted in n.
	confirmations map[string]struct{}
	// timeoutFn is called with the number of confirmations when the timer
	// fires.
	timeoutFn func(confirmations int)
}

// newSuspicion starts a suspicion raised by from, which wants k independent
// confirmations to reach the min timeout. The timer is armed for max if
// k ≥ 1, and for min otherwise (no confirmations are expected). When it
// fires, fn is called in its own goroutine with the number of confirmations
// received. from is counted as already known and can never confirm.
func newSuspicion(from string, k int, min, max time.Duration, fn func(confirmations int)) *suspicion {
	s := &suspicion{
		k:             k,
		min:           min,
		max:           max,
		confirmations: map[string]struct{}{from: {}},
		timeoutFn:     fn,
	}
	timeout := max
	if k < 1 {
		timeout = min
	}
	s.start = time.Now()
	s.timer = time.AfterFunc(timeout, s.fire)
	return s
}

// fire calls the timeout function with the current number of confirmations.
func (s *suspicion) fire() {
	s.mu.Lock()
	n := s.n
	s.mu.Unlock()
	s.timeoutFn(n)
}

// Confirm records that from also suspects the node, and reports whether
// that was new information: it is false when k confirmations are already
// in, or when from has suspected the node before (or raised the suspicion).
// New information shortens the timer to the remaining time of
// remainingSuspicionTime, firing at once when none is left. Once the timer
// has fired or been stopped, a confirmation changes nothing more, though it
// may still report true.
func (s *suspicion) Confirm(from string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.n >= s.k {
		return false
	}
	if _, ok := s.confirmations[from]; ok {
		return false
	}
	s.confirmations[from] = struct{}{}
	s.n++

	remaining := remainingSuspicionTime(s.n, s.k, time.Since(s.start), s.min, s.max)
	if !s.timer.Stop() {
		return true // already fired or stopped
	}
	if remaining > 0 {
		s.timer.Reset(remaining)
	} else {
		go s.fire()
	}
	return true
}

// Stop stops the timer, so that the timeout function is not called unless
// it is already running. Stop is for a suspicion that is cleared (the node
// refuted it or was declared otherwise) and for shutdown.
func (s *suspicion) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.timer.Stop()
}

// remainingSuspicionTime returns how long a suspicion that has n of its k
// wanted confirmations still has to run, elapsed after it started. The
// timeout falls from max with no confirmations to min with k of them, on
// the curve max − (max − min) × ln(n+1)/ln(k+1) (Lifeguard §IV-B), rounded
// down to a whole millisecond and never below min. The result is negative
// when the timeout has already passed. With k < 1 the timeout is min.
func remainingSuspicionTime(n, k int, elapsed, min, max time.Duration) time.Duration {
	timeout := min
	if k >= 1 {
		if n < 0 {
			n = 0
		}
		frac := math.Log(float64(n)+1.0) / math.Log(float64(k)+1.0)
		raw := max.Seconds() - frac*(max.Seconds()-min.Seconds())
		timeout = time.Duration(math.Floor(1000.0*raw)) * time.Millisecond
		if timeout < min {
			timeout = min
		}
	}
	return timeout - elapsed
}
