package memberlist

import (
	"bytes"
	"errors"
	"log"
	"log/slog"
	"net"
	"regexp"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

func TestWarnLimitNext(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	type step struct {
		at         time.Duration // since t0
		log        bool
		suppressed int
	}
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"first is logged", []step{{0, true, 0}}},
		{"repeats within the interval are held back", []step{{0, true, 0}, {time.Second, false, 0}, {59 * time.Second, false, 0}}},
		{"next after the interval carries the count", []step{{0, true, 0}, {1, false, 0}, {2, false, 0}, {time.Minute, true, 2}}},
		{"count restarts after a logged warning", []step{{0, true, 0}, {1, false, 0}, {time.Minute, true, 1}, {time.Minute + 1, false, 0}, {2 * time.Minute, true, 1}}},
		{"quiet periods log every time", []step{{0, true, 0}, {time.Hour, true, 0}, {2 * time.Hour, true, 0}}},
		{"interval measured from the last logged", []step{{0, true, 0}, {50 * time.Second, false, 0}, {70 * time.Second, true, 1}, {100 * time.Second, false, 0}}},
	} {
		var w warnLimit
		for i, s := range tc.steps {
			var ok bool
			var n int
			w, ok, n = w.next(t0.Add(s.at), time.Minute)
			if ok != s.log || n != s.suppressed {
				t.Errorf("%s: step %d at %v: got log=%v suppressed=%d, want %v %d", tc.name, i, s.at, ok, n, s.log, s.suppressed)
			}
		}
	}
}

// countRecords returns how many records of h have msg, in all and at WARN
// or above.
func countRecords(h *recordingHandler, msg string) (all, loud int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, r := range h.records {
		if r.Message == msg {
			all++
			if r.Level >= slog.LevelWarn {
				loud++
			}
		}
	}
	return all, loud
}

// checkFlood checks that a flood of n problems logged as msg left n
// records, at most one of them at WARN or above, and grew counter by n.
func checkFlood(t *testing.T, h *recordingHandler, msg string, n int, delta map[string]float64, counter string) {
	t.Helper()
	all, loud := countRecords(h, msg)
	if all != n || loud > 1 {
		t.Errorf("%q: %d records, %d at WARN or above; want %d, at most 1", msg, all, loud, n)
	}
	if counter != "" && delta[counter] != float64(n) {
		t.Errorf("%q: %s grew by %v, want %d", msg, counter, delta[counter], n)
	}
}

// TestQuietStreamFloods sends floods of refused streams, of every kind a
// peer can send over and over, and checks that each yields at most one
// warning and is counted once per stream.
func TestQuietStreamFloods(t *testing.T) {
	const n = 25
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 97)
		h, sink := &recordingHandler{}, newInmem()
		quiet := func(conf *Config) { conf.Slog, conf.MetricSink = slog.New(h), sink }
		a := c.add("a", withLabel("prod"), quiet)
		k := c.add("k", withKey(bytes.Repeat([]byte{1}, 16), true, true), quiet)
		x := c.add("x")
		send := func(to *Memberlist, b []byte) {
			conn, err := mockTransportOf(x).DialAddressTimeout(Address{Addr: mockTransportOf(to).addr.String(), Name: to.config.Name}, time.Second)
			if err != nil {
				t.Fatal(err)
			}
			conn.Write(b)
			conn.Close()
			synctest.Wait()
		}
		labelled := func(b []byte) []byte { return append([]byte{byte(hasLabelMsg), 4, 'p', 'r', 'o', 'd'}, b...) }
		for _, f := range []struct {
			msg, counter string
			to           *Memberlist
			stream       []byte
		}{
			{"discarding stream with unacceptable label", "memberlist.label.mismatch", a, pfRow(`f4 04 "test" 00`)},
			{"failed to receive", "memberlist.tcp.decrypt_failed", k, []byte{byte(pushPullMsg)}},
			{"Received invalid msgType", "memberlist.tcp.decode_failed", a, labelled([]byte{200})},
			{"Failed to decode ping", "memberlist.tcp.decode_failed", a, labelled(pfRow(`00 ff`))},
			{"Failed to read remote state", "memberlist.tcp.decode_failed", a, labelled(pfRow(`06 ff`))},
		} {
			before := inmemCounters(sink)
			for range n {
				send(f.to, f.stream)
			}
			checkFlood(t, h, f.msg, n, dropDelta(sink, before), f.counter)
		}

		// The push/pull cap: the warning comes back a minute later with
		// the count of the ones held back.
		before := inmemCounters(sink)
		client, server := net.Pipe()
		defer client.Close()
		defer server.Close()
		a.pushPulls = newPushPullGate(0, 0) // at its cap, with no room to wait
		for range n {
			a.servePushPull(server, nil, "prod")
		}
		const capMsg = "Too many pending push/pull requests"
		checkFlood(t, h, capMsg, n, dropDelta(sink, before), "memberlist.tcp.pushpull_refused")
		advance(warnEvery)
		a.servePushPull(server, nil, "prod")
		if _, loud := countRecords(h, capMsg); loud != 2 {
			t.Errorf("%d push/pull cap warnings a minute later, want 2", loud)
		}
		if _, attrs, _ := h.findLast(capMsg); attrs["suppressed"] != itoa(n-1) {
			t.Errorf("second push/pull cap warning has suppressed=%q, want %d", attrs["suppressed"], n-1)
		}
	})
}

// findLast is find for the last record with msg.
func (h *recordingHandler) findLast(msg string) (slog.Level, map[string]string, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for i := len(h.records) - 1; i >= 0; i-- {
		r := h.records[i]
		if r.Message != msg {
			continue
		}
		return r.Level, recordAttrs(r), true
	}
	return 0, nil, false
}

// TestQuietReplyFailures floods a node with pings and indirect pings whose
// replies cannot be sent (their source address is nowhere): each failure
// is counted and logged at debug.
func TestQuietReplyFailures(t *testing.T) {
	const n = 20
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 98)
		h, sink := &recordingHandler{}, newInmem()
		a := c.add("a", func(conf *Config) { conf.Slog, conf.MetricSink = slog.New(h), sink })
		nowhere := net.IPv4(10, 9, 9, 9).To4()
		from := &net.UDPAddr{IP: net.IPv4(10, 0, 0, 9), Port: 7946}
		ping := encodeMessage(pingMsg, &ping{SeqNo: 1, Node: "a", SourceAddr: nowhere, SourcePort: 1, SourceNode: "ghost"})
		ind := encodeMessage(indirectPingMsg, &indirectPingReq{SeqNo: 1, Target: nowhere, Port: 1, Node: "t", SourceAddr: nowhere, SourcePort: 1, SourceNode: "ghost", Nack: true})
		for range n {
			a.ingestPacket(ping, from, time.Now())
			a.ingestPacket(ind, from, time.Now())
		}
		advance(2 * a.config.ProbeTimeout) // the nacks are due
		synctest.Wait()
		if loud := h.above(slog.LevelWarn); len(loud) > 0 {
			t.Errorf("reply failures logged at WARN or above: %q", loud)
		}
		for _, msg := range []string{"Failed to send ack", "Failed to send indirect ping", "Failed to send nack"} {
			if all, _ := countRecords(h, msg); all != n {
				t.Errorf("%q: %d records, want %d", msg, all, n)
			}
		}
		if got := inmemCounters(sink)["memberlist.udp.reply_failed"]; got != 3*n {
			t.Errorf("memberlist.udp.reply_failed = %v, want %d", got, 3*n)
		}
	})
}

// TestNetTransportEmptyPacketsAreQuiet sends empty datagrams to a
// NetTransport: each is counted as a decode failure and logged at debug.
func TestNetTransportEmptyPacketsAreQuiet(t *testing.T) {
	const n = 20
	var buf syncBuffer
	sink := newInmem()
	nt, err := newNetTransport(&NetTransportConfig{
		BindAddrs: []string{"127.0.0.1"},
		Logger:    log.New(&buf, "", 0),
	}, newMetricSink(sink))
	if err != nil {
		t.Fatal(err)
	}
	defer nt.Shutdown()
	conn, err := net.Dial("udp", net.JoinHostPort("127.0.0.1", itoa(uint32(nt.GetAutoBindPort()))))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for range n {
		if _, err := conn.Write(nil); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 10*time.Second, "the empty packets counted", func() bool {
		return inmemCounters(sink)["memberlist.udp.decode_failed"] >= n
	})
	out := buf.String()
	if strings.Contains(out, "[ERR]") || strings.Contains(out, "[WARN]") {
		t.Errorf("empty packets logged at ERR or WARN:\n%s", out)
	}
	re := regexp.MustCompile(`(?m)^\[DEBUG\] memberlist: UDP packet too short \(0 bytes\) from=127\.0\.0\.1:\d+$`)
	if got := len(re.FindAllString(out, -1)); got != n {
		t.Errorf("%d debug lines for %d empty packets:\n%s", got, n, out)
	}
}

// TestRateLimitedWarningNamesItsLine checks that a rate-limited warning,
// through a Logger with Lshortfile, names the line that logged it.
func TestRateLimitedWarningNamesItsLine(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 99)
		var buf syncBuffer
		a := c.add("a", func(conf *Config) { conf.LogOutput, conf.Logger = nil, log.New(&buf, "", log.Lshortfile) })
		client, server := net.Pipe()
		defer client.Close()
		defer server.Close()
		a.pushPulls = newPushPullGate(0, 0) // at its cap, with no room to wait
		a.servePushPull(server, nil, "")
		re := regexp.MustCompile(`(?m)^stream\.go:\d+: \[WARN\] memberlist: Too many pending push/pull requests addr=pipe$`)
		if !re.MatchString(buf.String()) {
			t.Errorf("log lacks a line matching %s:\n%s", re, buf.String())
		}
	})
}

// failingPacketConn is a net.PacketConn whose reads fail n times with
// errRead, then with net.ErrClosed.
type failingPacketConn struct {
	net.PacketConn
	n int
}

var errRead = errors.New("read: connection refused")

func (c *failingPacketConn) ReadFrom([]byte) (int, net.Addr, error) {
	if c.n == 0 {
		return 0, nil, net.ErrClosed
	}
	c.n--
	return 0, nil, errRead
}

// TestNetTransportReadErrorsAreRateLimited feeds the UDP read loop a burst
// of read errors: one [ERR] line, the rest at [DEBUG].
func TestNetTransportReadErrorsAreRateLimited(t *testing.T) {
	const n = 30
	var buf bytes.Buffer
	tr := &NetTransport{logger: log.New(&buf, "", 0), metricSink: newMetricSink(newInmem()), shutdownCh: make(chan struct{})}
	tr.readLoop(&failingPacketConn{n: n})
	out := buf.String()
	errLines := strings.Count(out, "[ERR] memberlist: Error reading UDP packet: "+errRead.Error())
	debugLines := strings.Count(out, "[DEBUG] memberlist: Error reading UDP packet: "+errRead.Error())
	if errLines != 1 || debugLines != n-1 {
		t.Errorf("%d ERR and %d DEBUG lines for %d read errors, want 1 and %d:\n%s", errLines, debugLines, n, n-1, out)
	}
}

// TestQuietAliveFloods sends floods of alive messages that a peer can
// repeat at will — from a refused address, claiming a known name at
// another address, without valid versions — and checks that each yields
// at most one loud record, and that the next one a minute later carries
// the number held back.
func TestQuietAliveFloods(t *testing.T) {
	const n = 25
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 98)
		h := &recordingHandler{}
		a := c.add("a", func(conf *Config) {
			conf.Slog = slog.New(h)
			conf.CIDRsAllowed, _ = ParseCIDRs([]string{"127.0.0.0/8"})
		})
		b := c.add("b")
		c.joinAll()
		waitFor(t, time.Second, "a lists b", func() bool { return len(a.Members()) == 2 && b != nil })
		vsn := []uint8{1, 5, 2, 2, 5, 4}
		floods := []struct {
			msg string
			a   alive
		}{
			{"Rejected node", alive{Incarnation: 1, Node: "x", Addr: net.IPv4(10, 0, 0, 1).To4(), Port: 7946, Vsn: vsn}},
			{"Conflicting address", alive{Incarnation: 9, Node: "b", Addr: net.IPv4(127, 0, 0, 99).To4(), Port: 7946, Vsn: vsn}},
			{"ignoring alive message: invalid protocol versions", alive{Incarnation: 1, Node: "y", Addr: net.IPv4(127, 0, 0, 98).To4(), Port: 7946, Vsn: []uint8{0, 0, 0, 0, 0, 0}}},
		}
		for _, f := range floods {
			for range n {
				msg := f.a
				a.aliveNode(&msg, nil, false)
			}
			checkFlood(t, h, f.msg, n, nil, "")
		}
		advance(warnEvery)
		msg := floods[1].a
		a.aliveNode(&msg, nil, false)
		if _, loud := countRecords(h, floods[1].msg); loud != 2 {
			t.Errorf("%d conflict records at ERROR a minute later, want 2", loud)
		}
		if _, attrs, _ := h.findLast(floods[1].msg); attrs["suppressed"] != itoa(n-1) {
			t.Errorf("second conflict record has suppressed=%q, want %d", attrs["suppressed"], n-1)
		}
	})
}
