package memberlist

import (
	"bytes"
	"fmt"
	"math"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

func TestUserBudget(t *testing.T) {
	for _, tc := range []struct {
		limit, pending int
		share          float64
		want           int
	}{
		{1000, 5000, 0, 0},       // upstream: memberlist fills the packet
		{1000, 5000, 0.25, 250},  // a long queue leaves the reserve
		{1000, 5000, 1, 1000},    // everything reserved
		{1000, 300, 0.25, 700},   // a short queue leaves more than the reserve
		{1000, 0, 0.25, 1000},    // nothing pending: all of it
		{1000, 800, 0.25, 250},   // the reserve wins over what is left
		{1000, 700, 0.25, 300},   //
		{999, 5000, 0.25, 249},   // rounded down
		{0, 5000, 0.25, 0},       // no budget
		{-5, 5000, 0.25, 0},      //
		{1000, 5000, 0.001, 1},   //
		{1000, 1000, 0.5, 500},   //
		{1000, 1001, 0.999, 999}, //
	} {
		var c userCredit
		if got, _ := c.budget(tc.limit, tc.pending, tc.share); got != tc.want {
			t.Errorf("first budget(%d, %d, %v) = %d, want %d", tc.limit, tc.pending, tc.share, got, tc.want)
		}
	}
}

// TestUserBroadcastShare fills memberlist's queue with 100-byte messages
// and the Delegate's with 100-byte messages, and takes one packet's worth
// (upstream #299). With no share the Delegate's are starved; with a share
// they get it and memberlist's fill the rest; with an empty Delegate or a
// short memberlist queue no space is wasted.
func TestUserBroadcastShare(t *testing.T) {
	const limit, size = 1398, 100
	for _, tc := range []struct {
		name         string
		share        float64
		queued, user int // messages in each queue
		wantOwn      int
		wantUser     int
	}{
		{"no share: user starved", 0, 50, 10, 13, 0},
		{"a quarter", 0.25, 50, 10, 10, 3},
		{"a quarter, nothing from the user", 0.25, 50, 0, 13, 0},
		{"a quarter, short queue", 0.25, 2, 20, 2, 11},
		{"a quarter, little from the user", 0.25, 50, 1, 12, 1},
		{"all", 1, 50, 20, 0, 13},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := &recordingDelegate{}
			for range tc.user {
				d.broadcasts = append(d.broadcasts, bytes.Repeat([]byte{'u'}, size))
			}
			m := &Memberlist{config: &Config{Delegate: d, UserBroadcastShare: tc.share}}
			m.broadcasts = &TransmitLimitedQueue{NumNodes: func() int { return 1000 }, RetransmitMult: 4}
			for i := range tc.queued {
				m.broadcasts.QueueBroadcast(&memberlistBroadcast{node: fmt.Sprint("n", i), msg: bytes.Repeat([]byte{byte(aliveMsg)}, size)})
			}
			msgs := m.getBroadcasts(compoundOverhead, limit)
			own, user, used := 0, 0, 0
			for _, msg := range msgs {
				used += compoundOverhead + len(msg)
				if messageType(msg[0]) == userMsg {
					user++
				} else {
					own++
				}
			}
			if own != tc.wantOwn || user != tc.wantUser || used > limit {
				t.Errorf("packet holds %d of memberlist's and %d user messages in %d bytes, want %d and %d in at most %d",
					own, user, used, tc.wantOwn, tc.wantUser, limit)
			}
		})
	}
}

// TestUserCreditSendsLargeMessages keeps memberlist's queue fuller than a
// packet and gives the Delegate 512-byte messages, more than a quarter of
// a 1,398-byte packet. The Delegate's unspent share adds up over packets,
// so its messages go out, one every second or third packet, and over 60
// packets it gets its quarter of the bytes, give or take one message.
func TestUserCreditSendsLargeMessages(t *testing.T) {
	const limit, size, packets = 1398, 512, 60
	d := &recordingDelegate{}
	for range packets {
		d.broadcasts = append(d.broadcasts, bytes.Repeat([]byte{'u'}, size))
	}
	m := &Memberlist{config: &Config{Delegate: d, UserBroadcastShare: 0.25}}
	m.broadcasts = &TransmitLimitedQueue{NumNodes: func() int { return 1000 }, RetransmitMult: 4}
	userBytes, lastUser, longestGap := 0, -1, 0
	for p := range packets {
		for i := range 20 {
			m.broadcasts.QueueBroadcast(&memberlistBroadcast{node: fmt.Sprint("n", p, "-", i), msg: bytes.Repeat([]byte{byte(aliveMsg)}, 100)})
		}
		used := 0
		for _, msg := range m.getBroadcasts(compoundOverhead, limit) {
			used += compoundOverhead + len(msg)
			if messageType(msg[0]) == userMsg {
				userBytes += compoundOverhead + len(msg)
				longestGap, lastUser = max(longestGap, p-lastUser), p
			}
		}
		if used > limit {
			t.Fatalf("packet %d: %d bytes, limit %d", p, used, limit)
		}
	}
	share := float64(userBytes) / float64(packets*limit)
	t.Logf("user share %.3f of the bytes, longest gap %d packets", share, longestGap)
	if longestGap > 3 {
		t.Errorf("a 512-byte user message waited %d packets, want at most 3", longestGap)
	}
	if one := float64(size+compoundOverhead+1) / float64(packets*limit); share > 0.25+one || share < 0.25-one {
		t.Errorf("user messages took %.3f of the bytes, want 0.25 ± %.3f", share, one)
	}
}

func TestConfigValidateUserBroadcastShare(t *testing.T) {
	for _, v := range []float64{-0.1, 1.5, math.NaN(), math.Inf(1)} {
		c := DefaultLANConfig()
		c.Name = "a"
		c.UserBroadcastShare = v
		if err := c.Validate(); err == nil {
			t.Errorf("UserBroadcastShare %v accepted", v)
		}
	}
}

// churnDelegate gossips user messages through its own queue, passing on
// each one the first time it arrives, as serf does, and serves metadata
// that UpdateNode changes.
type churnDelegate struct {
	q    *TransmitLimitedQueue
	mu   sync.Mutex
	meta []byte
	got  map[string]time.Time
}

func (d *churnDelegate) NodeMeta(int) []byte {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.meta
}

func (d *churnDelegate) NotifyMsg(b []byte) {
	d.mu.Lock()
	_, seen := d.got[string(b)]
	if !seen {
		d.got[string(b)] = time.Now()
	}
	d.mu.Unlock()
	if !seen {
		d.q.QueueBroadcast(userBroadcast(bytes.Clone(b)))
	}
}

func (d *churnDelegate) GetBroadcasts(overhead, limit int) [][]byte {
	return d.q.GetBroadcasts(overhead, limit)
}
func (d *churnDelegate) LocalState(bool) []byte        { return nil }
func (d *churnDelegate) MergeRemoteState([]byte, bool) {}
func (d *churnDelegate) received(msg string) (time.Time, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	t, ok := d.got[msg]
	return t, ok
}

// userBroadcast is a UniqueBroadcast of a user message.
type userBroadcast []byte

func (b userBroadcast) Invalidates(Broadcast) bool { return false }
func (b userBroadcast) Message() []byte            { return b }
func (b userBroadcast) Finished()                  {}
func (b userBroadcast) UniqueBroadcast()           {}

// TestMockCluster_UserBroadcastUnderChurn (upstream #299): 24 nodes with
// 600-byte packets keep changing their 200-byte metadata, so memberlist's
// own queue always holds more than a packet and two alive messages leave
// no room for a 100-byte user message. With UserBroadcastShare 0.25 a user
// broadcast from one node still reaches every node within the bound. The
// run with 0 (upstream's order) is reported, not asserted: the
// broadcast is slowed, not stopped, at this size (in 20 runs: 110-280 ms
// with 0.25, 380-870 ms with 0). TestUserBroadcastShare pins the packet
// rule itself.
func TestMockCluster_UserBroadcastUnderChurn(t *testing.T) {
	const nodes, bound = 24, 2 * time.Second
	took := map[float64]time.Duration{}
	for _, share := range []float64{0.25, 0} {
		synctest.Test(t, func(t *testing.T) {
			c := newTestCluster(t, 140)
			var ds []*churnDelegate
			for i := range nodes {
				d := &churnDelegate{meta: bytes.Repeat([]byte{'m'}, 200), got: map[string]time.Time{}}
				d.q = &TransmitLimitedQueue{NumNodes: func() int { return nodes }, RetransmitMult: 6} // sent 12 times: missing a node is then ~1e-4
				ds = append(ds, d)
				c.add(fmt.Sprint("n", i), func(conf *Config) {
					conf.Delegate, conf.UserBroadcastShare, conf.UDPBufferSize = d, share, 600
					conf.GossipInterval = 100 * time.Millisecond
				})
			}
			c.joinAll()
			waitFor(t, 10*time.Second, "join", func() bool { return allViewsWhole(c) })
			stop := make(chan struct{})
			var wg sync.WaitGroup
			wg.Go(func() { churn(c, ds, stop) })
			defer func() { close(stop); wg.Wait() }()
			advance(2 * time.Second)
			if q := c.nodes[0].broadcasts.NumQueued(); q < nodes/2 {
				t.Fatalf("churn keeps only %d messages queued at n0", q)
			}
			hello := bytes.Repeat([]byte{'h'}, 100)
			start := time.Now()
			ds[0].NotifyMsg(hello)
			missing := func() (n int) {
				for _, d := range ds {
					if _, ok := d.received(string(hello)); !ok {
						n++
					}
				}
				return n
			}
			for missing() > 0 && time.Since(start) < bound {
				advance(10 * time.Millisecond)
			}
			took[share] = time.Since(start)
			if n := missing(); n > 0 && share > 0 {
				t.Errorf("with UserBroadcastShare %v, %d of %d nodes lack the user broadcast after %v", share, n, nodes, bound)
			}
		})
	}
	t.Logf("user broadcast to all %d nodes under churn: %v with UserBroadcastShare 0.25, %v with 0", nodes, took[0.25], took[0])
}

// churn has a node change its metadata every 5 ms, round robin, until
// stop is closed.
func churn(c *testCluster, ds []*churnDelegate, stop chan struct{}) {
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		case <-time.After(5 * time.Millisecond):
		}
		k := i % len(ds)
		ds[k].mu.Lock()
		ds[k].meta = bytes.Repeat([]byte{byte('a' + i%26)}, 200)
		ds[k].mu.Unlock()
		c.nodes[k].UpdateNode(time.Nanosecond)
	}
}
