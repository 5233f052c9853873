package memberlist

// A soak on real loopback sockets (issue 13, item 4): 20 nodes, ten of
// them stable and ten churning, with user broadcasts and SendReliable
// traffic. It runs only when MEMBERLIST_SOAK is set to a duration (".ci/run"
// sets 5m), so that a developer's go test ./... stays fast.

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const (
	soakStable   = 10
	soakChurning = 10
	soakSample   = 10 * time.Second
	soakChurn    = 3 * time.Second
)

// soakBroadcast is a user broadcast that never replaces another.
type soakBroadcast []byte

func (b soakBroadcast) Invalidates(Broadcast) bool { return false }
func (b soakBroadcast) Message() []byte            { return b }
func (b soakBroadcast) Finished()                  {}
func (b soakBroadcast) UniqueBroadcast()           {}

// soakBits is a set of sequence numbers.
type soakBits []byte

func (s soakBits) has(i int) bool { return i/8 < len(s) && s[i/8]&(1<<(i%8)) != 0 }

// add adds i and reports whether it was new.
func (s *soakBits) add(i int) bool {
	if s.has(i) {
		return false
	}
	for len(*s) <= i/8 {
		*s = append(*s, 0)
	}
	(*s)[i/8] |= 1 << (i % 8)
	return true
}

// soakNode is one node and its delegate. User messages are 'b' (a
// broadcast) or 'r' (a reliable message) and a 4-byte sequence number. A
// broadcast is gossiped once more on its first receipt, and the set of
// broadcasts seen is the push/pull state, as an application such as serf
// does; the node counts which path brought each broadcast first.
type soakNode struct {
	m     *Memberlist
	queue *TransmitLimitedQueue
	self  atomic.Pointer[Memberlist] // m, for the queue, which runs before Create returns

	mu          sync.Mutex
	bcasts      soakBits
	reliable    soakBits
	viaGossip   int
	viaPushPull int
}

func soakMsg(kind byte, seq int) []byte {
	return binary.BigEndian.AppendUint32([]byte{kind}, uint32(seq))
}

func (n *soakNode) NodeMeta(int) []byte { return nil }

func (n *soakNode) NotifyMsg(b []byte) {
	if len(b) != 5 {
		return
	}
	seq := int(binary.BigEndian.Uint32(b[1:]))
	n.mu.Lock()
	first := false
	switch b[0] {
	case 'r':
		n.reliable.add(seq)
	case 'b':
		if first = n.bcasts.add(seq); first {
			n.viaGossip++
		}
	}
	n.mu.Unlock()
	if first {
		n.queue.QueueBroadcast(soakBroadcast(bytes.Clone(b)))
	}
}

// originate starts broadcast seq from this node.
func (n *soakNode) originate(seq int) {
	n.mu.Lock()
	n.bcasts.add(seq)
	n.mu.Unlock()
	n.queue.QueueBroadcast(soakBroadcast(soakMsg('b', seq)))
}

func (n *soakNode) GetBroadcasts(overhead, limit int) [][]byte {
	return n.queue.GetBroadcasts(overhead, limit)
}

func (n *soakNode) LocalState(bool) []byte {
	n.mu.Lock()
	defer n.mu.Unlock()
	return bytes.Clone(n.bcasts)
}

func (n *soakNode) MergeRemoteState(buf []byte, _ bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for i := range len(buf) * 8 {
		if soakBits(buf).has(i) && n.bcasts.add(i) {
			n.viaPushPull++
		}
	}
}

// has reports whether the node has broadcast seq, or reliable message seq.
func (n *soakNode) has(kind byte, seq int) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if kind == 'r' {
		return n.reliable.has(seq)
	}
	return n.bcasts.has(seq)
}

func newSoakNode(t *testing.T, name string) *soakNode {
	t.Helper()
	n := &soakNode{}
	n.queue = &TransmitLimitedQueue{NumNodes: func() int {
		if m := n.self.Load(); m != nil {
			return m.NumMembers()
		}
		return 1
	}, RetransmitMult: 4}
	conf := DefaultLocalConfig()
	conf.Name = name
	conf.BindAddr = "127.0.0.1"
	conf.BindPort = 0
	conf.LogOutput = io.Discard
	conf.Delegate = n
	conf.PushPullInterval = 5 * time.Second
	n.m = leakCreate(t, conf)
	n.self.Store(n.m)
	return n
}

// soakSampleRow is one sample of the process's resources.
type soakSampleRow struct {
	at         time.Duration
	heap       float64 // MiB in use after a GC
	goroutines float64
	fds        float64
}

func takeSoakSample(at time.Duration) soakSampleRow {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return soakSampleRow{at: at, heap: float64(ms.HeapAlloc) / mib, goroutines: float64(runtime.NumGoroutine()), fds: float64(countFDs())}
}

// slopePerMinute fits y = a + b*x by least squares over the rows and
// returns b per minute.
func slopePerMinute(rows []soakSampleRow, y func(soakSampleRow) float64) float64 {
	var sx, sy, sxx, sxy float64
	for _, r := range rows {
		x := r.at.Minutes()
		sx += x
		sy += y(r)
		sxx += x * x
		sxy += x * y(r)
	}
	n := float64(len(rows))
	den := n*sxx - sx*sx
	if den == 0 {
		return 0
	}
	return (n*sxy - sx*sy) / den
}

// soakSent is a reliable message and its destination.
type soakSent struct {
	seq int
	to  *soakNode
}

// soakCluster is the running soak.
type soakCluster struct {
	t        *testing.T
	rng      *rand.Rand
	stable   []*soakNode
	churning []*soakNode
	born     int
	sent     []int      // broadcasts by stable nodes
	reliable []soakSent // SendReliable messages between stable nodes
	relErrs  atomic.Int64
	churns   int
}

func (c *soakCluster) join(n *soakNode) {
	c.t.Helper()
	seed := c.stable[c.rng.IntN(len(c.stable))]
	if seed == n {
		seed = c.stable[0] // n is not stable-0, which joins nobody
	}
	if _, err := n.m.Join([]string{seed.m.LocalNode().Address()}); err != nil {
		c.t.Fatalf("%s joining: %v", n.m.config.Name, err)
	}
}

// churn replaces a random churning node: half the time it leaves, half the
// time it is killed (Shutdown without Leave).
func (c *soakCluster) churn() {
	i := c.rng.IntN(len(c.churning))
	old := c.churning[i]
	if c.rng.IntN(2) == 0 {
		old.m.Leave(time.Second)
	}
	old.m.Shutdown()
	c.born++
	n := newSoakNode(c.t, fmt.Sprintf("churn-%d", c.born))
	c.join(n)
	c.churning[i] = n
	c.churns++
}

// traffic starts one broadcast from a random stable node and sends one
// reliable message between two stable nodes.
func (c *soakCluster) traffic(seq int) {
	from := c.stable[c.rng.IntN(len(c.stable))]
	from.originate(seq)
	c.sent = append(c.sent, seq)
	to := c.stable[c.rng.IntN(len(c.stable))]
	if err := from.m.SendReliable(to.m.LocalNode(), soakMsg('r', seq)); err != nil {
		c.relErrs.Add(1)
		c.t.Logf("SendReliable %s -> %s: %v", from.m.config.Name, to.m.config.Name, err)
		return
	}
	c.reliable = append(c.reliable, soakSent{seq, to})
}

// TestSoak runs for MEMBERLIST_SOAK: a node churns every 3 s, a broadcast
// and a reliable message are sent every 200 ms, and heap (after GC),
// goroutines and fds are sampled every 10 s. Their slopes, fitted after
// the first minute's warm-up, must stay within generous bounds; every
// broadcast and reliable message among the stable nodes must arrive.
func TestSoak(t *testing.T) {
	env := os.Getenv("MEMBERLIST_SOAK")
	if env == "" {
		t.Skip("set MEMBERLIST_SOAK to a duration (e.g. 5m) to run the soak")
	}
	d, err := time.ParseDuration(env)
	if err != nil {
		t.Fatalf("MEMBERLIST_SOAK: %v", err)
	}
	c := &soakCluster{t: t, rng: rand.New(rand.NewPCG(13, 4))}
	t.Cleanup(func() {
		for _, n := range append(c.stable, c.churning...) {
			n.m.Shutdown()
		}
	})
	for i := range soakStable {
		n := newSoakNode(t, fmt.Sprintf("stable-%d", i))
		c.stable = append(c.stable, n)
		if i > 0 {
			c.join(n)
		}
	}
	for range soakChurning {
		c.born++
		n := newSoakNode(t, fmt.Sprintf("churn-%d", c.born))
		c.churning = append(c.churning, n)
		c.join(n)
	}
	start := time.Now()
	rows := []soakSampleRow{takeSoakSample(0)}
	nextSample, nextChurn := start.Add(soakSample), start.Add(soakChurn)
	for seq := 0; time.Since(start) < d; seq++ {
		c.traffic(seq)
		if now := time.Now(); now.After(nextChurn) {
			c.churn()
			nextChurn = now.Add(soakChurn)
		}
		if now := time.Now(); now.After(nextSample) {
			rows = append(rows, takeSoakSample(now.Sub(start)))
			nextSample = now.Add(soakSample)
		}
		<-time.After(200 * time.Millisecond)
	}
	c.check(rows)
}

// check waits for the stable nodes to have every message, then logs and
// bounds the slopes.
func (c *soakCluster) check(rows []soakSampleRow) {
	t := c.t
	missing := func() (string, int) {
		first, count := "", 0
		lack := func(n *soakNode, kind byte, seq int) {
			if !n.has(kind, seq) {
				if count == 0 {
					first = fmt.Sprintf("%s lacks %c%d", n.m.config.Name, kind, seq)
				}
				count++
			}
		}
		for _, n := range c.stable {
			for _, seq := range c.sent {
				lack(n, 'b', seq)
			}
		}
		for _, r := range c.reliable {
			lack(r.to, 'r', r.seq)
		}
		return first, count
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		first, count := missing()
		if count == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("%d deliveries missing among the stable nodes, first: %s", count, first)
			break
		}
		<-time.After(100 * time.Millisecond)
	}
	for _, r := range rows {
		t.Logf("figures: sample at %v: heap %.1f MiB, %v goroutines, %v fds", r.at.Round(time.Second), r.heap, r.goroutines, r.fds)
	}
	steady := rows
	for len(steady) > 0 && steady[0].at < time.Minute {
		steady = steady[1:]
	}
	hs := slopePerMinute(steady, func(r soakSampleRow) float64 { return r.heap })
	gs := slopePerMinute(steady, func(r soakSampleRow) float64 { return r.goroutines })
	fs := slopePerMinute(steady, func(r soakSampleRow) float64 { return r.fds })
	gossip, pushPull := 0, 0
	for _, n := range c.stable {
		n.mu.Lock()
		gossip, pushPull = gossip+n.viaGossip, pushPull+n.viaPushPull
		n.mu.Unlock()
	}
	t.Logf("figures: soak %d broadcasts (stable nodes got %d first by gossip, %d first by push/pull), %d reliable messages (%d failed), %d churns, %d samples; slopes after 1 min: heap %.3f MiB/min, goroutines %.2f/min, fds %.2f/min",
		len(c.sent), gossip, pushPull, len(c.reliable), c.relErrs.Load(), c.churns, len(rows), hs, gs, fs)
	if len(steady) < 3 {
		t.Logf("too few samples after the warm-up to bound the slopes")
		return
	}
	if hs > 2 || gs > 10 || fs > 10 {
		t.Errorf("resources grow: heap %.3f MiB/min (max 2), goroutines %.2f/min (max 10), fds %.2f/min (max 10)", hs, gs, fs)
	}
	if c.relErrs.Load() > 0 {
		t.Errorf("%d SendReliable calls between stable nodes failed", c.relErrs.Load())
	}
}
