package memberlist

import (
	"fmt"
	"testing"
	"time"
)

func TestSuspicionTimeout(t *testing.T) {
	cases := []struct {
		mult     int
		n        int
		interval time.Duration
		want     time.Duration
	}{
		// SuspicionMult 3, interval 1 s: min/3 = 1000, 1000, 1698, 2000, 2698, 3000 ms.
		{3, 5, time.Second, 3 * 1000 * time.Millisecond},
		{3, 10, time.Second, 3 * 1000 * time.Millisecond},
		{3, 50, time.Second, 3 * 1698 * time.Millisecond},
		{3, 100, time.Second, 3 * 2000 * time.Millisecond},
		{3, 500, time.Second, 3 * 2698 * time.Millisecond},
		{3, 1000, time.Second, 3 * 3000 * time.Millisecond},
		// Fewer than one node counts as one.
		{3, 0, time.Second, 3 * time.Second},
		{3, -5, time.Second, 3 * time.Second},
		// LAN: SuspicionMult 4, interval 1 s.
		{4, 1, time.Second, 4 * time.Second},
		{4, 10, time.Second, 4 * time.Second},
		{4, 100, time.Second, 8 * time.Second},
		// WAN: SuspicionMult 6, interval 5 s.
		{6, 1000, 5 * time.Second, 90 * time.Second},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("mult=%d,n=%d,interval=%v", tc.mult, tc.n, tc.interval), func(t *testing.T) {
			if got := suspicionTimeout(tc.mult, tc.n, tc.interval); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// TestSuspicionDogpile combines the two suspicion formulas the way the
// node-state code does, for SuspicionMult 5, SuspicionMaxTimeoutMult 2 and a
// 100 ms probe interval.
func TestSuspicionDogpile(t *testing.T) {
	const (
		suspicionMult  = 5
		maxTimeoutMult = 2
		probeInterval  = 100 * time.Millisecond
		millisecond    = time.Millisecond
	)
	cases := []struct {
		n, confirmations int
		want             time.Duration
	}{
		{1, 0, 500 * millisecond},
		{2, 0, 500 * millisecond},
		{3, 0, 500 * millisecond},
		{4, 0, 500 * millisecond},
		{5, 0, 1000 * millisecond},
		{5, 1, 750 * millisecond},
		// floor(1000 − 500 × ln 3 / ln 4) = floor(603.76); upstream's test
		// expects about 604 ms within its tolerance.
		{5, 2, 603 * millisecond},
		{5, 3, 500 * millisecond},
		{5, 4, 500 * millisecond},
		{10, 3, 500 * millisecond},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("n=%d,c=%d", tc.n, tc.confirmations), func(t *testing.T) {
			k := suspicionMult - 2
			if tc.n-2 < k {
				k = 0
			}
			min := suspicionTimeout(suspicionMult, tc.n, probeInterval)
			max := maxTimeoutMult * min
			if got := remainingSuspicionTime(tc.confirmations, k, 0, min, max); got != tc.want {
				t.Errorf("got %v, want %v (k=%d, min=%v, max=%v)", got, tc.want, k, min, max)
			}
		})
	}
}

func TestRetransmitLimit(t *testing.T) {
	cases := []struct{ mult, n, want int }{
		{3, 0, 0},
		{3, 1, 3},
		{3, 99, 6},
		{4, 1, 4},
		{4, 9, 4},
		{4, 10, 8},
		{4, 99, 8},
		{4, 100, 12},
		{1, 10, 2},
		{3, 10, 6},
		{4, 999, 12},
		{4, 1000, 16},
		{0, 1000, 0},
		{3, -1, 0},
		{3, -100, 0},
	}
	for _, tc := range cases {
		if got := retransmitLimit(tc.mult, tc.n); got != tc.want {
			t.Errorf("retransmitLimit(%d, %d) = %d, want %d", tc.mult, tc.n, got, tc.want)
		}
	}
}

func TestPushPullScale(t *testing.T) {
	const interval = 30 * time.Second
	cases := []struct {
		n    int
		want time.Duration
	}{
		{-1, interval},
		{0, interval},
		{1, interval},
		{32, interval},
		{33, 2 * interval},
		{64, 2 * interval},
		{65, 3 * interval},
		{128, 3 * interval},
		{129, 4 * interval},
		{1000, 3 * time.Minute},
	}
	for _, tc := range cases {
		if got := pushPullScale(interval, tc.n); got != tc.want {
			t.Errorf("pushPullScale(%v, %d) = %v, want %v", interval, tc.n, got, tc.want)
		}
	}
}
