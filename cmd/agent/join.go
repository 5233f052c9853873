package main

import (
	"context"
	"log/slog"
	"time"
)

// backoff is the schedule of join retries: the first retry waits min, each
// next one twice as long, up to max. jitter, when not nil, turns each delay
// d into the delay actually waited (for example a random one in [d/2, d]),
// so that agents started together do not retry in step.
type backoff struct {
	min, max time.Duration
	jitter   func(time.Duration) time.Duration
}

// next returns the delay after d (0 before the first retry).
func (b backoff) next(d time.Duration) time.Duration {
	if d <= 0 {
		return b.min
	}
	return min(2*d, b.max)
}

// joinLoop calls join with seeds until it reaches at least one of them or
// ctx is done, waiting between attempts as b says. It reports whether the
// join succeeded. A join in progress is not interrupted: it ends when
// join returns.
func joinLoop(ctx context.Context, join func([]string) (int, error), seeds []string, b backoff, logger *slog.Logger) bool {
	var delay time.Duration
	for attempt := 1; ; attempt++ {
		n, err := join(seeds)
		if n > 0 {
			if err != nil {
				logger.Warn("joined, some seeds unreachable", "contacted", n, "attempt", attempt, "err", err)
			} else {
				logger.Info("joined", "contacted", n, "attempt", attempt)
			}
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		delay = b.next(delay)
		wait := delay
		if b.jitter != nil {
			wait = b.jitter(delay)
		}
		logger.Warn("join failed, retrying", "seeds", seeds, "attempt", attempt, "retry_in", wait, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return false
		case <-t.C:
		}
	}
}
