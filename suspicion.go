package memberlist

import (
	"math"
	"time"
)

// suspicionRecord is the Lifeguard suspicion of one suspected node
// (Lifeguard §IV-B): its timeout starts at max and shrinks towards min as
// independent peers confirm the suspicion. It is data only: the table keeps
// it and computes the timeouts, and the Memberlist shell arms the timer.
// It is not safe for concurrent use; the table's lock guards it.
type suspicionRecord struct {
	// n is the number of independent confirmations so far, at most k.
	n int
	// k is the number of confirmations after which the timeout is min.
	k int
	// min and max bound the timeout.
	min, max time.Duration
	// start is when the suspicion began; timeouts count from it.
	start time.Time
	// seen holds the nodes that have suspected the node, including the
	// first suspector, which is not counted in n.
	seen map[string]struct{}
	// renewed is set once the suspicion has been renewed for want of
	// confirmations (table.renew).
	renewed bool
}

// newSuspicionRecord starts a suspicion raised by from at start, which
// wants k independent confirmations to reach the min timeout. from is
// counted as already known and can never confirm.
func newSuspicionRecord(from string, k int, min, max time.Duration, start time.Time) *suspicionRecord {
	return &suspicionRecord{k: k, min: min, max: max, start: start, seen: map[string]struct{}{from: {}}}
}

// timeout returns the first timeout: max if confirmations are wanted, min
// otherwise.
func (s *suspicionRecord) timeout() time.Duration {
	if s.k < 1 {
		return s.min
	}
	return s.max
}

// confirm records at now that from also suspects the node, and reports
// whether that was new information: it is false when k confirmations are
// already in, or when from has suspected the node before (or raised the
// suspicion). With new information it also returns the time the timer
// still has to run (remainingSuspicionTime), zero or less when it is over.
func (s *suspicionRecord) confirm(from string, now time.Time) (fresh bool, remaining time.Duration) {
	if s.n >= s.k {
		return false, 0
	}
	if _, ok := s.seen[from]; ok {
		return false, 0
	}
	s.seen[from] = struct{}{}
	s.n++
	return true, remainingSuspicionTime(s.n, s.k, now.Sub(s.start), s.min, s.max)
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
