package memberlist

// Leak checks on real goroutines, outside any synctest bubble: a bubble
// waits for its own goroutines when its function returns, so a leak check
// inside one cannot fail. Each case counts goroutines (and for NetTransport
// file descriptors) before the nodes exist and right after Shutdown
// returns, allowing only a short settle for goroutines that have finished
// their work and are exiting.

import (
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// leakSettle bounds the wait for the goroutine and fd counts to come back
// after Shutdown. A goroutine Shutdown waited for has returned from its
// work by then and only needs to be descheduled; it must stay well below
// the hanging dial's timeout in TestShutdownLeaks, or a Shutdown that does
// not wait would pass.
const leakSettle = time.Second

// leakCounts is a snapshot of the resources a node holds.
type leakCounts struct {
	goroutines int
	fds        int // -1 when /proc/self/fd cannot be read
}

func takeLeakCounts() leakCounts {
	return leakCounts{goroutines: runtime.NumGoroutine(), fds: countFDs()}
}

// countFDs returns the number of open file descriptors of the process, or
// -1 when /proc/self/fd is not available.
func countFDs() int {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(entries)
}

// waitBack waits up to leakSettle for the goroutine count, and the fd count
// when fds is set, to be back at or below base, and fails the test with
// the goroutine dump otherwise.
func (base leakCounts) waitBack(t *testing.T, what string, fds bool) {
	t.Helper()
	deadline := time.Now().Add(leakSettle)
	for {
		now := takeLeakCounts()
		gOK := now.goroutines <= base.goroutines
		fOK := !fds || base.fds < 0 || now.fds <= base.fds
		if gOK && fOK {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Fatalf("%s: %d goroutines and %d fds %v after Shutdown returned, %d and %d before\n%s",
				what, now.goroutines, now.fds, leakSettle, base.goroutines, base.fds, buf)
		}
		<-time.After(2 * time.Millisecond)
	}
}

// leakRig builds nodes on one kind of transport for the leak checks.
type leakRig struct {
	name    string
	fds     bool // whether the transport holds file descriptors
	newNode func(t *testing.T, name string) *Memberlist
	// joinAddr returns the address another node joins m with.
	joinAddr func(m *Memberlist) string
	// deadAddr returns an address a Join fails on at once.
	deadAddr func(t *testing.T) string
	// hangingAddr returns an address a Join to blocks until the stream
	// times out, and a check that the Join is blocked there.
	hangingAddr func(t *testing.T) (string, func() bool)
}

func leakRigs() []leakRig {
	nw := &MockNetwork{}
	dialing := &atomic.Bool{}
	return []leakRig{
		{
			name: "NetTransport", fds: true,
			newNode:     func(t *testing.T, name string) *Memberlist { return newLoopbackNode(t, name) },
			joinAddr:    func(m *Memberlist) string { return m.LocalNode().Address() },
			deadAddr:    closedLoopbackAddr,
			hangingAddr: hangingLoopbackAddr,
		},
		{
			name: "MockTransport",
			newNode: func(t *testing.T, name string) *Memberlist {
				conf := leakConfig(name)
				conf.Transport = &stubbornDialTransport{MockTransport: nw.NewTransport(name), dialing: dialing}
				return leakCreate(t, conf)
			},
			joinAddr: func(m *Memberlist) string {
				return m.config.Name + "/" + m.config.Transport.(*stubbornDialTransport).addr.String()
			},
			deadAddr: func(*testing.T) string { return "nobody/" + conformUnknownAddr },
			hangingAddr: func(t *testing.T) (string, func() bool) {
				return stubbornName + "/" + conformUnknownAddr, dialing.Load
			},
		},
	}
}

// stubbornName is the node a stubbornDialTransport's dial hangs for.
const stubbornName = "stubborn"

// stubbornDialTransport is a user Transport on the mock network whose dials
// to the node named stubbornName take their whole timeout and ignore
// Shutdown, as a transport built on a plain net.Dialer does. Shutdown
// cannot interrupt such a dial, so it must wait for it.
type stubbornDialTransport struct {
	*MockTransport
	dialing *atomic.Bool
}

func (s *stubbornDialTransport) DialAddressTimeout(a Address, timeout time.Duration) (net.Conn, error) {
	if a.Name != stubbornName {
		return s.MockTransport.DialAddressTimeout(a, timeout)
	}
	s.dialing.Store(true)
	<-time.After(timeout)
	return nil, fmt.Errorf("dial %s: i/o timeout", a.Addr)
}

// leakConfig is a fast local config whose streams time out after 3 s.
func leakConfig(name string) *Config {
	conf := DefaultLocalConfig()
	conf.Name = name
	conf.LogOutput = io.Discard
	conf.ProbeInterval = 100 * time.Millisecond
	conf.ProbeTimeout = 50 * time.Millisecond
	conf.GossipInterval = 20 * time.Millisecond
	conf.PushPullInterval = 500 * time.Millisecond
	conf.TCPTimeout = 3 * time.Second
	return conf
}

func leakCreate(t testing.TB, conf *Config) *Memberlist {
	t.Helper()
	m, err := Create(conf)
	if err != nil {
		t.Fatalf("Create %s: %v", conf.Name, err)
	}
	return m
}

// newLoopbackNode creates a node on a NetTransport bound to 127.0.0.1 with
// a kernel-chosen port; mods adjust its config first.
func newLoopbackNode(t testing.TB, name string, mods ...func(*Config)) *Memberlist {
	t.Helper()
	conf := leakConfig(name)
	conf.BindAddr = "127.0.0.1"
	conf.BindPort = 0
	for _, mod := range mods {
		mod(conf)
	}
	return leakCreate(t, conf)
}

// closedLoopbackAddr returns a loopback address nothing listens on.
func closedLoopbackAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// hangingLoopbackAddr returns the address of a loopback TCP listener whose
// accept queue is full, so the kernel drops further SYNs and a dial to it
// hangs until its timeout; and a check that a dial is hanging there.
func hangingLoopbackAddr(t *testing.T) (string, func() bool) {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", sa.(*syscall.SockaddrInet4).Port)
	// A backlog of 0 queues one connection; this one fills the queue.
	filler, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { filler.Close() })
	probe, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err == nil {
		probe.Close()
		t.Skip("the kernel accepted a connection beyond a full backlog; cannot make a dial hang")
	}
	return addr, func() bool { return stackContains("(*NetTransport).DialAddressTimeout") }
}

// stackContains reports whether any goroutine's stack contains s.
func stackContains(s string) bool {
	buf := make([]byte, 1<<20)
	return strings.Contains(string(buf[:runtime.Stack(buf, true)]), s)
}

// TestShutdownLeaks checks, on both transports, that no goroutine and no
// file descriptor is left once Shutdown returns: after a plain Shutdown,
// after Leave, after a failed Join and after a Shutdown during a Join.
//
// The last case on MockTransport is the one that shows Shutdown waits: the
// Join is blocked in a user Transport's dial that ignores Shutdown, so a
// Shutdown that returned without waiting would leave the Join running for
// up to TCPTimeout (3 s), longer than leakSettle. With
// `go m.goroutines.closeAndWait()` in Shutdown it fails. On NetTransport,
// Shutdown cancels the dial (to a listener whose accept queue is full), so
// that case only checks that nothing leaks.
func TestShutdownLeaks(t *testing.T) {
	for _, rig := range leakRigs() {
		t.Run(rig.name+"/Shutdown", func(t *testing.T) {
			base := takeLeakCounts()
			a, b := rig.newNode(t, "a"), rig.newNode(t, "b")
			if _, err := b.Join([]string{rig.joinAddr(a)}); err != nil {
				t.Fatalf("Join: %v", err)
			}
			waitFor(t, 5*time.Second, "join", func() bool { return a.NumMembers() == 2 })
			a.Shutdown()
			b.Shutdown()
			base.waitBack(t, "Shutdown", rig.fds)
		})
		t.Run(rig.name+"/LeaveShutdown", func(t *testing.T) {
			base := takeLeakCounts()
			a, b := rig.newNode(t, "a"), rig.newNode(t, "b")
			if _, err := b.Join([]string{rig.joinAddr(a)}); err != nil {
				t.Fatalf("Join: %v", err)
			}
			waitFor(t, 5*time.Second, "join", func() bool { return a.NumMembers() == 2 })
			if err := b.Leave(time.Second); err != nil {
				t.Fatalf("Leave: %v", err)
			}
			b.Shutdown()
			waitFor(t, 5*time.Second, "leave seen", func() bool { return a.NumMembers() == 1 })
			a.Shutdown()
			base.waitBack(t, "Leave and Shutdown", rig.fds)
		})
		t.Run(rig.name+"/FailedJoin", func(t *testing.T) {
			dead := rig.deadAddr(t)
			base := takeLeakCounts()
			a := rig.newNode(t, "a")
			if n, err := a.Join([]string{dead}); err == nil {
				t.Fatalf("Join of %s contacted %d nodes, want an error", dead, n)
			}
			a.Shutdown()
			base.waitBack(t, "failed Join", rig.fds)
		})
		t.Run(rig.name+"/ShutdownDuringJoin", func(t *testing.T) {
			addr, blocked := rig.hangingAddr(t)
			base := takeLeakCounts()
			a := rig.newNode(t, "a")
			joined := make(chan error, 1)
			go func() {
				_, err := a.Join([]string{addr})
				joined <- err
			}()
			waitFor(t, 2*time.Second, "Join to block", blocked)
			start := time.Now()
			a.Shutdown()
			t.Logf("Shutdown during a blocked Join took %v", time.Since(start))
			base.waitBack(t, "Shutdown during Join", rig.fds)
			if err := <-joined; err == nil {
				t.Error("Join interrupted by Shutdown reported success")
			}
		})
	}
}
