package memberlist

import (
	"bytes"
	"net"
	"testing"
	"testing/synctest"
	"time"

	metrics "github.com/hashicorp/go-metrics"
)

// dropCounters are the counters of silently dropped messages.
var dropCounters = []string{
	"memberlist.label.mismatch",
	"memberlist.udp.crc_invalid",
	"memberlist.handoff.dropped",
	"memberlist.udp.decrypt_failed",
	"memberlist.udp.decode_failed",
	"memberlist.tcp.decrypt_failed",
	"memberlist.tcp.decode_failed",
	"memberlist.tcp.pushpull_refused",
	"memberlist.queue.evicted",
	"memberlist.udp.reply_failed",
}

// dropDelta returns how the drop counters in sink changed since before,
// leaving out those that did not.
func dropDelta(sink *metrics.InmemSink, before map[string]float64) map[string]float64 {
	now := inmemCounters(sink)
	d := map[string]float64{}
	for _, k := range dropCounters {
		if v := now[k] - before[k]; v != 0 {
			d[k] = v
		}
	}
	return d
}

// nestCompound wraps msg in depth compound messages.
func nestCompound(msg []byte, depth int) []byte {
	for range depth {
		msg = makeCompoundMessage([][]byte{msg})
	}
	return msg
}

// TestDropCountersPackets sends a packet for every way the packet path
// drops one and checks that exactly the matching counter grows.
func TestDropCountersPackets(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 93)
		sink := newInmem()
		a := c.add("a", withLabel("prod"), withKey(bytes.Repeat([]byte{1}, 16), true, true), func(conf *Config) {
			conf.MetricSink = sink
		})
		labelled := func(b []byte) []byte { p, _ := AddLabelHeaderToPacket(b, "prod"); return p }
		sealed := func(b []byte) []byte {
			p, err := a.config.Keyring.encryptPayload(1, b, []byte("prod"))
			if err != nil {
				t.Fatal(err)
			}
			return labelled(p)
		}
		const (
			decode  = "memberlist.udp.decode_failed"
			decrypt = "memberlist.udp.decrypt_failed"
		)
		for _, tc := range []struct {
			name string
			pkt  []byte
			want map[string]float64
		}{
			{"truncated label", []byte{244}, map[string]float64{decode: 1}},
			{"other label", pfRow(`f4 04 "test" 00`), map[string]float64{"memberlist.label.mismatch": 1}},
			{"not encrypted", labelled([]byte("not sealed")), map[string]float64{decrypt: 1}},
			{"bad checksum", sealed(pfRow(`0c 00000000 00`)), map[string]float64{"memberlist.udp.crc_invalid": 1}},
			{"no type byte", sealed(nil), map[string]float64{decode: 1}},
			{"unknown type", sealed([]byte{200}), map[string]float64{decode: 1}},
			{"bad compound", sealed(pfRow(`07 80`)), map[string]float64{decode: 1}},
			{"truncated compound parts", sealed(pfRow(`07 03 0006 00ff 00ff 08"hello" 08"x"`)), map[string]float64{decode: 2}},
			{"nested too deeply", sealed(nestCompound([]byte{byte(userMsg)}, maxNestingDepth+1)), map[string]float64{decode: 1}},
			{"bad compress wrapper", sealed(pfRow(`09 ff`)), map[string]float64{decode: 1}},
			{"bad ping", sealed(pfRow(`00 ff`)), map[string]float64{decode: 1}},
			{"bad indirect ping", sealed(pfRow(`01 ff`)), map[string]float64{decode: 1}},
			{"bad ack", sealed(pfRow(`02 ff`)), map[string]float64{decode: 1}},
			{"bad nack", sealed(pfRow(`0b ff`)), map[string]float64{decode: 1}},
			{"bad alive", sealed(pfRow(`04 ff`)), map[string]float64{decode: 1}},
			{"bad suspect", sealed(pfRow(`03 ff`)), map[string]float64{decode: 1}},
		} {
			before := inmemCounters(sink)
			a.ingestPacket(tc.pkt, &net.UDPAddr{IP: net.IPv4(10, 0, 0, 9), Port: 7946}, time.Now())
			synctest.Wait() // gossip is decoded by the handler goroutine
			if got := dropDelta(sink, before); !floatMapsEqual(got, tc.want) {
				t.Errorf("%s: drop counters grew by %v, want %v", tc.name, got, tc.want)
			}
		}
	})
}

// TestDropCountersHandoffFull overflows the handoff queue.
func TestDropCountersHandoffFull(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 94)
		sink := newInmem()
		a := c.add("a", func(conf *Config) {
			conf.MetricSink = sink
			conf.HandoffQueueDepth = 1
		})
		var msgs [][]byte
		for i := range 3 {
			msgs = append(msgs, encodeMessage(suspectMsg, &suspect{Incarnation: uint32(i + 1), Node: "x", From: "y"}))
		}
		a.ingestPacket(makeCompoundMessage(msgs), &net.UDPAddr{IP: net.IPv4(10, 0, 0, 9), Port: 7946}, time.Now())
		synctest.Wait()
		if got := dropDelta(sink, nil); !floatMapsEqual(got, map[string]float64{"memberlist.handoff.dropped": 2}) {
			t.Errorf("drop counters = %v, want 2 handoff drops", got)
		}
	})
}

// TestDropCountersStreams covers a refused push/pull, a stream that does
// not decrypt and one with an unknown message type.
func TestDropCountersStreams(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 95)
		sa, sk := newInmem(), newInmem()
		a := c.add("a", func(conf *Config) { conf.MetricSink = sa })
		b := c.add("b")

		gate := a.pushPulls
		a.pushPulls = newPushPullGate(0, 0) // at its cap, with no room to wait
		if _, err := b.Join([]string{seedAddr(a)}); err == nil {
			t.Errorf("Join to a node at its push/pull cap succeeded")
		}
		a.pushPulls = gate
		if got := dropDelta(sa, nil); got["memberlist.tcp.pushpull_refused"] != joinAttempts {
			t.Errorf("after a refused push/pull, tried %d times: %v", joinAttempts, got)
		}

		before := inmemCounters(sa)
		conn, err := mockTransportOf(b).DialAddressTimeout(Address{Addr: mockTransportOf(a).addr.String(), Name: "a"}, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		conn.Write([]byte{200})
		conn.Close()
		synctest.Wait()
		if got := dropDelta(sa, before); !floatMapsEqual(got, map[string]float64{"memberlist.tcp.decode_failed": 1}) {
			t.Errorf("after a stream of unknown type: %v", got)
		}

		k := c.add("k", withKey(bytes.Repeat([]byte{1}, 16), true, true), func(conf *Config) { conf.MetricSink = sk })
		kk := c.add("kk", withKey(bytes.Repeat([]byte{2}, 16), true, true))
		if _, err := kk.Join([]string{seedAddr(k)}); err == nil {
			t.Errorf("Join with another key succeeded")
		}
		if got := dropDelta(sk, nil); !floatMapsEqual(got, map[string]float64{"memberlist.tcp.decrypt_failed": 1}) {
			t.Errorf("after a stream with another key: %v", got)
		}
	})
}

// TestDropCountersQueueEviction prunes the broadcast queue.
func TestDropCountersQueueEviction(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 96)
		sink := newInmem()
		a := c.add("a", func(conf *Config) { conf.MetricSink = sink })
		a.broadcasts.Reset()
		for _, k := range []string{"x", "y", "z"} {
			a.broadcasts.QueueBroadcast(&testBroadcast{key: k, msg: []byte(k)})
		}
		a.broadcasts.Prune(1)
		a.broadcasts.Prune(1) // nothing left to evict
		if got := dropDelta(sink, nil); !floatMapsEqual(got, map[string]float64{"memberlist.queue.evicted": 2}) {
			t.Errorf("drop counters = %v, want 2 evictions", got)
		}
	})
}

func floatMapsEqual(a, b map[string]float64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
