package memberlist

import (
	"fmt"
	"testing"
	"testing/synctest"
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

// suspicionFiring is one call of a suspicion's timeout function.
type suspicionFiring struct {
	at            time.Duration // since the suspicion started
	confirmations int
}

// startTestSuspicion starts a suspicion raised by "first" whose timeout
// function reports on the returned channel.
func startTestSuspicion(k int, min, max time.Duration) (*suspicion, <-chan suspicionFiring) {
	fired := make(chan suspicionFiring, 4)
	start := time.Now()
	s := newSuspicion("first", k, min, max, func(n int) {
		fired <- suspicionFiring{at: time.Since(start), confirmations: n}
	})
	return s, fired
}

// expectNoFiring fails if fired delivers anything within d.
func expectNoFiring(t *testing.T, fired <-chan suspicionFiring, d time.Duration) {
	t.Helper()
	select {
	case f := <-fired:
		t.Fatalf("unexpected firing %+v", f)
	case <-time.After(d):
	}
}

func TestSuspicion_Timer(t *testing.T) {
	const (
		k   = 3
		min = 500 * time.Millisecond
		max = 2 * time.Second
	)
	cases := []struct {
		name     string
		confirms []string
		want     []bool // Confirm's results
		wantAt   time.Duration
		wantN    int
	}{
		{"none", nil, nil, max, 0},
		{"one", []string{"foo"}, []bool{true}, 1250 * time.Millisecond, 1},
		{"one with duplicates", []string{"foo", "foo", "foo"}, []bool{true, false, false}, 1250 * time.Millisecond, 1},
		{"first suspector ignored", []string{"first", "foo"}, []bool{false, true}, 1250 * time.Millisecond, 1},
		{"two", []string{"foo", "bar"}, []bool{true, true}, 811 * time.Millisecond, 2},
		{"three", []string{"foo", "bar", "baz"}, []bool{true, true, true}, min, 3},
		{"past k", []string{"foo", "bar", "baz", "zoo"}, []bool{true, true, true, false}, min, 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s, fired := startTestSuspicion(k, min, max)
				defer s.Stop()
				for i, from := range tc.confirms {
					if got := s.Confirm(from); got != tc.want[i] {
						t.Fatalf("Confirm(%q) #%d = %v, want %v", from, i, got, tc.want[i])
					}
				}
				f := <-fired
				if f.at != tc.wantAt || f.confirmations != tc.wantN {
					t.Fatalf("fired at %v with %d confirmations, want %v with %d", f.at, f.confirmations, tc.wantAt, tc.wantN)
				}
				// A late confirmation is new information but must not re-fire.
				if got := s.Confirm("late"); got != (tc.wantN < k) {
					t.Fatalf("late Confirm = %v, want %v", got, tc.wantN < k)
				}
				expectNoFiring(t, fired, 2*max)
			})
		})
	}
}

func TestSuspicion_TimerConfirmLater(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, fired := startTestSuspicion(3, 500*time.Millisecond, 2*time.Second)
		defer s.Stop()
		<-time.After(100 * time.Millisecond)
		s.Confirm("foo") // 1250 ms from the start, not from now
		<-time.After(300 * time.Millisecond)
		s.Confirm("bar") // 811 ms from the start
		f := <-fired
		if f.at != 811*time.Millisecond || f.confirmations != 2 {
			t.Fatalf("fired at %v with %d confirmations, want 811ms with 2", f.at, f.confirmations)
		}
	})
}

func TestSuspicion_TimerZeroK(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, fired := startTestSuspicion(0, 25*time.Millisecond, 30*time.Second)
		defer s.Stop()
		if s.Confirm("foo") {
			t.Fatal("Confirm with k = 0 reported new information")
		}
		f := <-fired
		if f.at != 25*time.Millisecond || f.confirmations != 0 {
			t.Fatalf("fired at %v with %d confirmations, want 25ms with 0", f.at, f.confirmations)
		}
		expectNoFiring(t, fired, time.Minute)
	})
}

func TestSuspicion_TimerImmediate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, fired := startTestSuspicion(1, 100*time.Millisecond, 30*time.Second)
		defer s.Stop()
		<-time.After(200 * time.Millisecond)
		// The timeout with one of one confirmations is min, already past.
		if !s.Confirm("foo") {
			t.Fatal("Confirm reported no new information")
		}
		f := <-fired
		if f.at != 200*time.Millisecond || f.confirmations != 1 {
			t.Fatalf("fired at %v with %d confirmations, want 200ms with 1", f.at, f.confirmations)
		}
		expectNoFiring(t, fired, time.Minute)
	})
}

func TestSuspicion_TimerImmediateAfterPartialConfirms(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, fired := startTestSuspicion(3, 500*time.Millisecond, 2*time.Second)
		defer s.Stop()
		<-time.After(600 * time.Millisecond)
		s.Confirm("foo") // 650 ms left
		s.Confirm("bar") // 211 ms left
		s.Confirm("baz") // 100 ms overdue: fires now
		f := <-fired
		if f.at != 600*time.Millisecond || f.confirmations != 3 {
			t.Fatalf("fired at %v with %d confirmations, want 600ms with 3", f.at, f.confirmations)
		}
		expectNoFiring(t, fired, time.Minute)
	})
}

func TestSuspicion_Stop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, fired := startTestSuspicion(3, 500*time.Millisecond, 2*time.Second)
		s.Confirm("foo")
		s.Stop()
		// Confirmations after Stop must not re-arm the timer.
		s.Confirm("bar")
		s.Confirm("baz")
		expectNoFiring(t, fired, time.Minute)
	})
}

func TestSuspicion_ConcurrentConfirm(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, fired := startTestSuspicion(5, time.Second, 10*time.Second)
		defer s.Stop()
		results := make(chan bool, 20)
		for i := range 20 {
			go func() { results <- s.Confirm(fmt.Sprintf("n%d", i%8)) }()
		}
		news := 0
		for range 20 {
			if <-results {
				news++
			}
		}
		if news != 5 {
			t.Fatalf("%d confirmations were new, want 5", news)
		}
		f := <-fired
		if f.at != time.Second || f.confirmations != 5 {
			t.Fatalf("fired at %v with %d confirmations, want 1s with 5", f.at, f.confirmations)
		}
	})
}
