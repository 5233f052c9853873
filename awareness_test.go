package memberlist

import (
	"sync"
	"testing"
	"time"
)

func TestAwareness(t *testing.T) {
	cases := []struct {
		delta   int
		score   int
		changed bool
		timeout time.Duration
	}{
		{0, 0, false, 1 * time.Second},
		{-1, 0, false, 1 * time.Second},
		{-10, 0, false, 1 * time.Second},
		{1, 1, true, 2 * time.Second},
		{-1, 0, true, 1 * time.Second},
		{10, 7, true, 8 * time.Second},
		{1, 7, false, 8 * time.Second},
		{-1, 6, true, 7 * time.Second},
		{-1, 5, true, 6 * time.Second},
		{-1, 4, true, 5 * time.Second},
		{-1, 3, true, 4 * time.Second},
		{-1, 2, true, 3 * time.Second},
		{-1, 1, true, 2 * time.Second},
		{-1, 0, true, 1 * time.Second},
		{-1, 0, false, 1 * time.Second},
	}
	a := newAwareness(8)
	for i, tc := range cases {
		score, changed := a.ApplyDelta(tc.delta)
		if score != tc.score || changed != tc.changed {
			t.Fatalf("step %d: ApplyDelta(%d) = %d, %v; want %d, %v", i, tc.delta, score, changed, tc.score, tc.changed)
		}
		if got := a.GetHealthScore(); got != tc.score {
			t.Fatalf("step %d: GetHealthScore = %d, want %d", i, got, tc.score)
		}
		if got := a.ScaleTimeout(time.Second); got != tc.timeout {
			t.Fatalf("step %d: ScaleTimeout(1s) = %v, want %v", i, got, tc.timeout)
		}
	}
}

func TestAwarenessSmallMax(t *testing.T) {
	for _, max := range []int{-1, 0, 1} {
		a := newAwareness(max)
		if score, changed := a.ApplyDelta(5); score != 0 || changed {
			t.Errorf("max %d: ApplyDelta(5) = %d, %v; want 0, false", max, score, changed)
		}
	}
}

func TestAwarenessConcurrent(t *testing.T) {
	a := newAwareness(8)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for range 100 {
				a.ApplyDelta(1 - 2*(i%2))
				a.ScaleTimeout(time.Second)
			}
		})
	}
	wg.Wait()
	if s := a.GetHealthScore(); s < 0 || s > 7 {
		t.Fatalf("score %d out of range", s)
	}
}
