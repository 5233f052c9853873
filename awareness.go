package memberlist

import (
	"sync"
	"time"
)

// awareness is Lifeguard's local health multiplier (Lifeguard §IV-A): a
// score that rises when this node misses probe replies or must refute
// suspicions, and falls when probes succeed. Timeouts are scaled by it, so a
// struggling node slows down instead of accusing healthy peers.
//
// An awareness is made by newAwareness; it is safe for concurrent use.
type awareness struct {
	mu sync.Mutex
	// max is one more than the highest score.
	max int
	// score is the current health score; 0 is healthy.
	score int
}

// newAwareness returns an awareness with score 0 whose score stays below
// max. A max below 1 counts as 1, which keeps the score at 0.
func newAwareness(max int) *awareness {
	if max < 1 {
		max = 1
	}
	return &awareness{max: max}
}

// ApplyDelta adds delta to the score, clamped to [0, max−1], and returns the
// new score and whether it changed.
func (a *awareness) ApplyDelta(delta int) (score int, changed bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	old := a.score
	a.score = awarenessClamp(old+delta, a.max)
	return a.score, a.score != old
}

// awarenessClamp limits score to [0, limit−1].
func awarenessClamp(score, limit int) int {
	return min(max(score, 0), limit-1)
}

// GetHealthScore returns the current score; 0 is healthy.
func (a *awareness) GetHealthScore() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.score
}

// ScaleTimeout returns t multiplied by score+1.
func (a *awareness) ScaleTimeout(t time.Duration) time.Duration {
	return t * time.Duration(a.GetHealthScore()+1)
}
