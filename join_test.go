package memberlist

import (
	"context"
	"errors"
	"net"
	"testing"
	"testing/synctest"
	"time"
)

// hangingDialTransport is a MockTransport whose dials hang for their whole
// timeout and then fail, like a dial to a host that drops SYNs.
type hangingDialTransport struct {
	*MockTransport
}

func (h hangingDialTransport) DialAddressTimeout(a Address, timeout time.Duration) (net.Conn, error) {
	<-time.After(timeout)
	return nil, errors.New("dial timeout")
}

// joinCancelledAfter runs JoinContext from m to seeds, cancelling it after
// d, and returns its results and how long it took.
func joinCancelledAfter(m *Memberlist, seeds []string, d time.Duration) (int, error, time.Duration) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	time.AfterFunc(d, cancel)
	start := time.Now()
	n, err := m.JoinContext(ctx, seeds)
	return n, err, time.Since(start)
}

// TestJoinContextCancelsAHangingDial checks that JoinContext returns when
// its context is cancelled, not when the dial's TCPTimeout expires.
func TestJoinContextCancelsAHangingDial(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 71)
		a := c.add("a", func(conf *Config) {
			conf.TCPTimeout = 10 * time.Second
			conf.Transport = hangingDialTransport{conf.Transport.(*MockTransport)}
		})
		n, err, took := joinCancelledAfter(a, []string{"seed/127.0.0.1:7946"}, 100*time.Millisecond)
		if n != 0 || !errors.Is(err, context.Canceled) || !errors.Is(err, ErrNoSeedReachable) {
			t.Errorf("JoinContext = %d, %v; want context.Canceled and ErrNoSeedReachable", n, err)
		}
		if took != 100*time.Millisecond {
			t.Errorf("JoinContext returned after %v, want at the cancel (100ms), not at TCPTimeout", took)
		}
	})
}

// TestJoinContextCancelsAHangingPushPull checks the same for a seed that
// accepts the stream but never answers.
func TestJoinContextCancelsAHangingPushPull(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 72)
		a := c.add("a", func(conf *Config) { conf.TCPTimeout = 10 * time.Second })
		mute := c.net.NewTransport("mute") // no Memberlist reads its streams
		defer mute.Shutdown()
		b := c.add("b")
		seeds := []string{"mute/" + mute.addr.String(), seedAddr(b)}
		n, err, took := joinCancelledAfter(a, seeds, 250*time.Millisecond)
		if n != 1 || err != nil {
			t.Errorf("JoinContext with one live seed = %d, %v; want 1, nil", n, err)
		}
		if took != 250*time.Millisecond {
			t.Errorf("JoinContext returned after %v, want at the cancel (250ms)", took)
		}
		n, err, took = joinCancelledAfter(a, seeds[:1], 300*time.Millisecond)
		if n != 0 || !errors.Is(err, context.Canceled) || took != 300*time.Millisecond {
			t.Errorf("JoinContext to a mute seed = %d, %v after %v; want context.Canceled after 300ms", n, err, took)
		}
	})
}

func TestJoinContextAlreadyCancelled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 73)
		a := c.add("a")
		b := c.add("b")
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		n, err := a.JoinContext(ctx, []string{seedAddr(b)})
		if n != 0 || !errors.Is(err, context.Canceled) {
			t.Errorf("JoinContext with a cancelled context = %d, %v", n, err)
		}
		if b.NumMembers() != 1 {
			t.Errorf("a cancelled JoinContext reached the seed")
		}
	})
}

// TestJoinContextDeadline checks that a deadline on the context bounds a
// Join like a cancel does.
func TestJoinContextDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 74)
		a := c.add("a", func(conf *Config) {
			conf.TCPTimeout = 10 * time.Second
			conf.Transport = hangingDialTransport{conf.Transport.(*MockTransport)}
		})
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		start := time.Now()
		_, err := a.JoinContext(ctx, []string{"x/127.0.0.1:1", "y/127.0.0.1:2"})
		if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) != time.Second {
			t.Errorf("JoinContext = %v after %v; want DeadlineExceeded after 1s", err, time.Since(start))
		}
	})
}

// hangingLookup is a resolver fallback that answers only when its context
// ends.
func hangingLookup(ctx context.Context, host string) ([]net.IP, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

// TestJoinContextCancelsAHangingLookup checks that a DNS lookup that never
// answers is abandoned at the cancel.
func TestJoinContextCancelsAHangingLookup(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 75)
		a := c.add("a", func(conf *Config) {
			conf.TCPTimeout = 10 * time.Second
			conf.DNSConfigPath = "" // no TCP step: only the hanging fallback
		})
		a.resolver.lookupIP = hangingLookup
		n, err, took := joinCancelledAfter(a, []string{"seed.example.test"}, 100*time.Millisecond)
		if n != 0 || !errors.Is(err, context.Canceled) || took != 100*time.Millisecond {
			t.Errorf("JoinContext = %d, %v after %v; want context.Canceled after 100ms", n, err, took)
		}
	})
}

// TestJoinResolvesSeedsInParallel checks that seeds whose lookups hang
// cost one TCPTimeout together, not one each, and that the reachable seed
// is still joined.
func TestJoinResolvesSeedsInParallel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 76)
		a := c.add("a", func(conf *Config) {
			conf.TCPTimeout = time.Second
			conf.DNSConfigPath = "" // no TCP step: only the hanging fallback
		})
		b := c.add("b")
		a.resolver.lookupIP = hangingLookup
		start := time.Now()
		n, err := a.Join([]string{"x.example.test", "y.example.test", seedAddr(b), "z.example.test"})
		if n != 1 || err != nil {
			t.Errorf("Join = %d, %v; want 1, nil", n, err)
		}
		if took := time.Since(start); took != time.Second {
			t.Errorf("Join took %v, want one TCPTimeout (1s)", took)
		}
	})
}
