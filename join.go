package memberlist

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"syscall"
	"time"
)

// maxParallelJoins bounds the resolutions, and then the push/pulls, a Join
// runs at once.
const maxParallelJoins = 8

// Join contacts every given address and merges state with it. An address
// is host, host:port, an IP literal or a DNS name, optionally prefixed with
// "nodename/". It returns the number of nodes successfully contacted, and
// an error naming every address that failed when none succeeded; that
// error matches ErrNoSeedReachable.
//
// Join is JoinContext with context.Background().
func (m *Memberlist) Join(existing []string) (int, error) {
	return m.JoinContext(context.Background(), existing)
}

// JoinContext is like Join, but stops when ctx is done: address resolution,
// dials and push/pull exchanges in progress are abandoned and JoinContext
// returns at once. The addresses are resolved, then contacted, in parallel,
// at most 8 at a time; each resolution and each exchange is bounded by
// Config.TCPTimeout. An exchange that the node drops without a reply, as a
// node busy with too many push/pulls does, is tried again up to three
// times, after a random wait of 50 ms to 400 ms.
//
// The error is nil when at least one node was contacted, even if ctx ended
// before the others answered. Otherwise it matches ErrNoSeedReachable, each
// address's error and, when ctx ended, ctx.Err().
func (m *Memberlist) JoinContext(ctx context.Context, existing []string) (int, error) {
	if !m.goroutines.enter() {
		return 0, ErrShutdown
	}
	defer m.goroutines.leave()
	targets, errs := m.joinTargets(ctx, existing)
	results := m.pushPullTargets(ctx, targets)
	var joined []Address
	for i, err := range results {
		if err == nil {
			joined = append(joined, targets[i])
			m.noteSeed(targets[i])
			continue
		}
		err = fmt.Errorf("failed to join %s: %w", targets[i].Addr, err)
		m.logger.Debug("Failed to join", slog.String(logKeyAddr, targets[i].Addr), logNode(targets[i].Name), logErr(err))
		errs = append(errs, err)
	}
	if len(joined) > 0 {
		m.followUpJoin(joined)
	}
	if len(joined) > 0 || len(errs) == 0 {
		return len(joined), nil
	}
	if err := ctx.Err(); err != nil {
		errs = append(errs, err)
	}
	return 0, &joinError{errs: errs}
}

// joinTargets resolves the seeds of a Join into addresses, at most
// maxParallelJoins at once, each within TCPTimeout, returning the errors of
// those that failed. The addresses and errors keep the seeds' order.
func (m *Memberlist) joinTargets(ctx context.Context, existing []string) ([]Address, []error) {
	type resolved struct {
		ips []ipPort
		err error
	}
	results := make([]resolved, len(existing))
	var wg sync.WaitGroup
	sem := make(chan struct{}, maxParallelJoins)
	for i, seed := range existing {
		wg.Add(1)
		sem <- struct{}{} // a resolution returns promptly once ctx is done
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			rctx, cancel := context.WithTimeout(ctx, joinResolveTimeout(m.config))
			defer cancel()
			results[i].ips, results[i].err = m.resolver.resolveAddr(rctx, seed, m.config.BindPort)
		}()
	}
	wg.Wait()
	var targets []Address
	var errs []error
	for i, r := range results {
		if r.err != nil {
			err := fmt.Errorf("failed to resolve %s: %w", existing[i], r.err)
			errs = append(errs, err)
			m.logger.Warn("Failed to resolve a join address", slog.String(logKeyAddr, existing[i]), logErr(err))
			continue
		}
		for _, ip := range r.ips {
			hp := joinHostPort(ip.ip.String(), ip.port)
			targets = append(targets, Address{Addr: hp, Name: ip.nodeName})
		}
	}
	return targets, errs
}

// pushPullTargets runs a joining push/pull with every target, at most
// maxParallelJoins at once, and returns their errors in order.
func (m *Memberlist) pushPullTargets(ctx context.Context, targets []Address) []error {
	results := make([]error, len(targets))
	var wg sync.WaitGroup
	sem := make(chan struct{}, maxParallelJoins)
	for i, a := range targets {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			results[i] = ctx.Err()
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if !m.goroutines.enter() {
				results[i] = ErrShutdown
				return
			}
			defer m.goroutines.leave()
			results[i] = m.joinPushPull(ctx, a)
		}()
	}
	wg.Wait()
	return results
}

// A joining push/pull that the node drops without a reply is tried up to
// joinAttempts times in all, the retries after joinRetryDelay.
const (
	joinAttempts   = 4
	joinRetryFirst = 100 * time.Millisecond
)

// joinPushPull runs the joining push/pull with a, and tries it again, after
// a jittered backoff, when a dropped it without replying: that is how a
// node of either library refuses a push/pull beyond its cap, so a busy
// seed slows a join down instead of failing it.
func (m *Memberlist) joinPushPull(ctx context.Context, a Address) error {
	for attempt := 1; ; attempt++ {
		_, err := m.pushPullNode(ctx, a, true)
		if err == nil || attempt >= joinAttempts || !joinRetryable(err) || ctx.Err() != nil {
			return err
		}
		d := joinRetryDelay(attempt)
		d = d/2 + m.stagger(d/2)
		m.logger.Debug("Retrying join", slog.String(logKeyAddr, a.Addr), logNode(a.Name), slog.Duration("after", d), logErr(err))
		if !m.sleepContext(ctx, d) {
			return err
		}
	}
}

// joinRetryDelay returns the longest wait before the retry that follows
// attempt (counted from 1): 100 ms, then doubling. The wait is drawn from
// its upper half.
func joinRetryDelay(attempt int) time.Duration {
	return joinRetryFirst << min(max(attempt-1, 0), 8)
}

// joinRetryable reports whether a joining push/pull that failed with err
// may succeed if tried again soon: the node accepted the stream, then
// closed or reset it without a reply. Dial failures, timeouts, error
// replies (another label, key or protocol version) and a refused merge are
// not retried.
func joinRetryable(err error) bool {
	return errors.Is(err, errNoReply) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, io.ErrClosedPipe)
}

// sleepContext waits d and reports whether it did: it returns false at
// once when ctx is done or m shuts down.
func (m *Memberlist) sleepContext(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-m.shutdownCh:
		return false
	}
}

func joinResolveTimeout(c *Config) time.Duration {
	if c.TCPTimeout > 0 {
		return c.TCPTimeout
	}
	return 10 * time.Second
}

// dialStreamContext is dialStream abandoned when ctx is done. The abandoned
// dial goes on in a tracked goroutine, bounded by timeout, and closes its
// connection if it gets one.
func (m *Memberlist) dialStreamContext(ctx context.Context, a Address, timeout time.Duration) (net.Conn, error) {
	if ctx.Done() == nil {
		return m.dialStream(a, timeout)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	type dialed struct {
		conn net.Conn
		err  error
	}
	ch := make(chan dialed, 1)
	if !m.goroutines.Go(func() {
		conn, err := m.dialStream(a, timeout)
		ch <- dialed{conn, err}
	}) {
		return nil, ErrShutdown
	}
	select {
	case d := <-ch:
		return d.conn, d.err
	case <-ctx.Done():
		m.goroutines.Go(func() {
			if d := <-ch; d.conn != nil {
				m.conns.remove(d.conn)
			}
		})
		return nil, ctx.Err()
	}
}
