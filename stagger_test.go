package memberlist

import (
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// packetKinds returns the message types in a plain (unencrypted,
// uncompressed) packet: the parts of a compound, after a CRC prefix.
func packetKinds(b []byte) []messageType {
	if len(b) > 5 && messageType(b[0]) == hasCrcMsg {
		b = b[5:]
	}
	if len(b) == 0 {
		return nil
	}
	if messageType(b[0]) != compoundMsg {
		return []messageType{messageType(b[0])}
	}
	_, parts, err := decodeCompoundMessage(b[1:])
	if err != nil {
		return nil
	}
	var out []messageType
	for _, p := range parts {
		if len(p) > 0 {
			out = append(out, messageType(p[0]))
		}
	}
	return out
}

// alwaysBroadcasting is a Delegate with a user broadcast always queued, so
// every gossip round sends a packet.
type alwaysBroadcasting struct{ recordingDelegate }

func (d *alwaysBroadcasting) GetBroadcasts(overhead, limit int) [][]byte {
	return [][]byte{[]byte("tick")}
}

// TestLoopsAreStaggered starts eight nodes at one instant and records the
// phase, within its interval, of every probe ping and every gossip packet
// each node sends. Each loop keeps one phase, and the nodes' phases differ:
// they are the seeded offsets. Before the fix every ticker started at
// Create, before the offset was waited, so all eight nodes probed at phase
// 0 and gossiped at phase 0, in lockstep, and the test failed.
func TestLoopsAreStaggered(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 102)
		start := time.Now()
		var mu sync.Mutex
		probe := map[string]map[time.Duration]bool{}  // node → phases of its pings
		gossip := map[string]map[time.Duration]bool{} // node → phases of its gossip
		const probeEvery, gossipEvery = 100 * time.Millisecond, 10 * time.Millisecond
		record := func(into map[string]map[time.Duration]bool, from string, phase time.Duration) {
			if into[from] == nil {
				into[from] = map[time.Duration]bool{}
			}
			into[from][phase] = true
		}
		for i := range 8 {
			c.add(string(rune('a'+i)), func(conf *Config) {
				conf.EnableCompression = false
				conf.Delegate = &alwaysBroadcasting{}
			})
		}
		c.joinAll()
		advance(time.Second) // let the join settle
		watchFrom := time.Now()
		c.net.SetCapture(func(from, to string, b []byte) {
			kinds := packetKinds(b)
			if len(kinds) == 0 {
				return
			}
			since := time.Since(start)
			mu.Lock()
			defer mu.Unlock()
			switch kinds[0] {
			case pingMsg:
				record(probe, from, since%probeEvery)
			case userMsg:
				record(gossip, from, since%gossipEvery)
			}
		})
		for time.Since(watchFrom) < 2*time.Second {
			advance(time.Millisecond)
		}
		c.net.SetCapture(nil)
		mu.Lock()
		defer mu.Unlock()
		for _, loop := range []struct {
			name   string
			phases map[string]map[time.Duration]bool
		}{{"probe", probe}, {"gossip", gossip}} {
			distinct := map[time.Duration]bool{}
			for _, m := range c.nodes {
				ph := loop.phases[m.config.Name]
				if len(ph) != 1 {
					t.Errorf("%s: node %s sent at %d phases %v, want one", loop.name, m.config.Name, len(ph), ph)
				}
				for p := range ph {
					distinct[p] = true
				}
			}
			if len(distinct) < len(c.nodes) {
				t.Errorf("%s: the %d nodes tick at only %d distinct phases %v, want one each", loop.name, len(c.nodes), len(distinct), distinct)
			}
		}
	})
}

// TestFirstGossipWithinOneInterval: a node's first gossip round after its
// join comes within one GossipInterval, at its stagger, never later than an
// unstaggered ticker's first tick would. A Join right after Create queues a
// refutation or an alive that a peer may be waiting for (serf's
// TestSerf_update allows about 10 ms). Before, the first round came one
// whole interval after the stagger, up to two intervals after Create.
func TestFirstGossipWithinOneInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const every = 10 * time.Millisecond
		c := newTestCluster(t, 111)
		var mu sync.Mutex
		first := map[string]time.Duration{}
		start := time.Now()
		c.net.SetCapture(func(from, to string, b []byte) {
			mu.Lock()
			defer mu.Unlock()
			if _, ok := first[from]; !ok && slices.Contains(packetKinds(b), userMsg) {
				first[from] = time.Since(start)
			}
		})
		for i := range 6 {
			c.add(string(rune('a'+i)), func(conf *Config) {
				conf.EnableCompression = false
				conf.Delegate = &alwaysBroadcasting{}
				conf.GossipInterval, conf.ProbeInterval, conf.PushPullInterval = every, time.Hour, 0
			})
		}
		joined := map[string]time.Duration{}
		for _, m := range c.nodes[1:] {
			if _, err := m.Join([]string{seedAddr(c.nodes[0])}); err != nil {
				t.Fatal(err)
			}
			joined[m.config.Name] = time.Since(start)
			if _, ok := joined["a"]; !ok {
				joined["a"] = time.Since(start)
			}
		}
		advance(3 * every)
		mu.Lock()
		defer mu.Unlock()
		for _, m := range c.nodes {
			name := m.config.Name
			if d, ok := first[name]; !ok || d-joined[name] >= every {
				t.Errorf("%s: joined %v after Create, first gossip at %v (sent: %v), want within %v of the join", name, joined[name], d, ok, every)
			}
		}
	})
}
