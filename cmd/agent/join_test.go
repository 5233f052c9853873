package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"testing"
	"testing/synctest"
	"time"
)

var discardLogger = slog.New(slog.NewTextHandler(io.Discard, nil))

func TestBackoffNext(t *testing.T) {
	b := backoff{min: time.Second, max: 5 * time.Second}
	var got []time.Duration
	for d := time.Duration(0); len(got) < 5; {
		d = b.next(d)
		got = append(got, d)
	}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second}
	if !slices.Equal(got, want) {
		t.Fatalf("delays %v, want %v", got, want)
	}
}

// TestJoinLoopRetries runs in a synctest bubble: the delays between
// attempts are measured on its virtual clock.
func TestJoinLoopRetries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		var at []time.Duration
		join := func(seeds []string) (int, error) {
			at = append(at, time.Since(start))
			if len(at) < 4 {
				return 0, errors.New("refused")
			}
			return 1, nil
		}
		b := backoff{min: time.Second, max: 3 * time.Second, jitter: func(d time.Duration) time.Duration { return d / 2 }}
		if !joinLoop(context.Background(), join, []string{"s"}, b, discardLogger) {
			t.Fatal("joinLoop reported failure")
		}
		want := []time.Duration{0, 500 * time.Millisecond, 1500 * time.Millisecond, 3 * time.Second}
		if !slices.Equal(at, want) {
			t.Fatalf("attempts at %v, want %v", at, want)
		}
	})
}

func TestJoinLoopStops(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		attempts := 0
		join := func([]string) (int, error) { attempts++; return 0, errors.New("refused") }
		done := make(chan bool)
		go func() {
			done <- joinLoop(ctx, join, []string{"s"}, backoff{min: time.Minute, max: time.Hour}, discardLogger)
		}()
		synctest.Wait() // the loop waits for its first retry
		cancel()
		if <-done {
			t.Fatal("joinLoop reported success")
		}
		if attempts != 1 {
			t.Fatalf("%d attempts, want 1", attempts)
		}
	})
}

func TestJitterWithinBounds(t *testing.T) {
	j := newJitter()
	for range 1000 {
		if d := j(time.Second); d < time.Second/2 || d > time.Second {
			t.Fatalf("jitter(1s) = %v", d)
		}
	}
}
