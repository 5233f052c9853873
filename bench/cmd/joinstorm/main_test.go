package main

import (
	"runtime"
	"testing"
	"time"
)

// TestStorm runs a small storm of each library on loopback: every node
// must list all, no Join may fail, and after ours's run the goroutine count
// must come back (hashicorp/memberlist leaves goroutines running after
// Shutdown, so its run is not checked for that). Theirs's 4 nodes converge
// in about 0.1 s, but about one run in ten waits for a push/pull (15 s in
// its local config), so -short skips it and the wait is generous.
func TestStorm(t *testing.T) {
	for _, l := range libs {
		t.Run(l.name, func(t *testing.T) {
			if testing.Short() && l.name != "ours" {
				t.Skip("may wait 15 s for a push/pull")
			}
			before := runtime.NumGoroutine()
			res, err := storm(l, 4, 2*time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			if res.converged == 0 || res.failed != 0 {
				t.Fatalf("converged %v, %d Join failures", show(res.converged), res.failed)
			}
			if l.name != "ours" {
				return
			}
			deadline := time.Now().Add(10 * time.Second)
			for runtime.NumGoroutine() > before {
				if time.Now().After(deadline) {
					t.Fatalf("%d goroutines after the run, %d before", runtime.NumGoroutine(), before)
				}
				time.Sleep(time.Millisecond) // poll the condition
			}
		})
	}
}

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []time.Duration
		want time.Duration
	}{
		{[]time.Duration{3, 1, 2}, 2},
		{[]time.Duration{0, 1, 2}, 2},
		{[]time.Duration{0, 0, 2}, 0},
		{[]time.Duration{4, 1}, 1},
	} {
		if got := median(c.in); got != c.want {
			t.Errorf("median(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}
