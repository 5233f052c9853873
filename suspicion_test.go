package memberlist

import (
	"fmt"
	"testing"
	"time"
)

func TestRemainingSuspicionTime(t *testing.T) {
	cases := []struct {
		n, k     int
		elapsed  time.Duration
		min, max time.Duration
		want     time.Duration
	}{
		{0, 3, 0, 2 * time.Second, 30 * time.Second, 30 * time.Second},
		{1, 3, 2 * time.Second, 2 * time.Second, 30 * time.Second, 14 * time.Second},
		{2, 3, 3 * time.Second, 2 * time.Second, 30 * time.Second, 4810 * time.Millisecond},
		{3, 3, 4 * time.Second, 2 * time.Second, 30 * time.Second, -2 * time.Second},
		{4, 3, 5 * time.Second, 2 * time.Second, 30 * time.Second, -3 * time.Second},
		{5, 3, 10 * time.Second, 2 * time.Second, 30 * time.Second, -8 * time.Second},
		// The timer vectors: k = 3, min 500 ms, max 2 s. c = 2 is
		// floor(2000 − 1500 × ln 3 / ln 4) = floor(811.28) ms.
		{0, 3, 0, 500 * time.Millisecond, 2 * time.Second, 2 * time.Second},
		{1, 3, 0, 500 * time.Millisecond, 2 * time.Second, 1250 * time.Millisecond},
		{2, 3, 0, 500 * time.Millisecond, 2 * time.Second, 811 * time.Millisecond},
		{3, 3, 0, 500 * time.Millisecond, 2 * time.Second, 500 * time.Millisecond},
		// No confirmations wanted: the timeout is min.
		{0, 0, 0, 500 * time.Millisecond, 2 * time.Second, 500 * time.Millisecond},
		{0, 0, time.Second, 500 * time.Millisecond, 2 * time.Second, -500 * time.Millisecond},
		{0, -1, 0, 500 * time.Millisecond, 2 * time.Second, 500 * time.Millisecond},
		// A negative count counts as zero; sub-millisecond min is kept.
		{-1, 3, 0, 500 * time.Millisecond, 2 * time.Second, 2 * time.Second},
		{3, 3, 0, 500*time.Millisecond + 500*time.Microsecond, 2 * time.Second, 500*time.Millisecond + 500*time.Microsecond},
	}
	for _, tc := range cases {
		name := fmt.Sprintf("n=%d,k=%d,elapsed=%v,min=%v,max=%v", tc.n, tc.k, tc.elapsed, tc.min, tc.max)
		t.Run(name, func(t *testing.T) {
			if got := remainingSuspicionTime(tc.n, tc.k, tc.elapsed, tc.min, tc.max); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// TestSuspicionRecord runs the timer vectors of the reference (k = 3, min
// 500 ms, max 2 s: 2 s, then 1250, 811 and 500 ms from the start with 1, 2
// and 3 confirmations) through confirm, with refusals of repeats, of the
// first suspector and beyond k.
func TestSuspicionRecord(t *testing.T) {
	const (
		k   = 3
		min = 500 * time.Millisecond
		max = 2 * time.Second
	)
	t0 := time.Unix(100, 0)
	s := newSuspicionRecord("first", k, min, max, t0)
	if got := s.timeout(); got != max {
		t.Fatalf("first timeout %v, want %v", got, max)
	}
	steps := []struct {
		from      string
		after     time.Duration
		fresh     bool
		remaining time.Duration
	}{
		{"first", 0, false, 0},
		{"a", 0, true, 1250 * time.Millisecond},
		{"a", 0, false, 0},
		{"b", 100 * time.Millisecond, true, 711 * time.Millisecond},
		{"c", 600 * time.Millisecond, true, -100 * time.Millisecond},
		{"d", 0, false, 0},
	}
	for i, st := range steps {
		fresh, remaining := s.confirm(st.from, t0.Add(st.after))
		if fresh != st.fresh || remaining != st.remaining {
			t.Errorf("step %d confirm(%q) = %v, %v; want %v, %v", i, st.from, fresh, remaining, st.fresh, st.remaining)
		}
	}
	if s.n != k {
		t.Errorf("n = %d, want %d", s.n, k)
	}
	z := newSuspicionRecord("first", 0, min, max, t0)
	if fresh, _ := z.confirm("a", t0); fresh || z.timeout() != min {
		t.Errorf("k = 0: confirm fresh %v, timeout %v; want false, %v", fresh, z.timeout(), min)
	}
}
