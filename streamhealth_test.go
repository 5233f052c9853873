package memberlist

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	metrics "github.com/hashicorp/go-metrics"
)

func TestClassifyStreamError(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want streamCause
	}{
		{&net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}, causeRefused},
		{errors.New(`mock: connection from "a" to "c" refused: node fault`), causeRefused},
		{fmt.Errorf("dial timed out: %w", os.ErrDeadlineExceeded), causeTimeout},
		{&net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}, causeReset},
		{errMockStreamReset, causeReset},
		{fmt.Errorf("%w: %w", errNoReply, io.EOF), causeReset},
		{io.ErrUnexpectedEOF, causeReset},
		{errors.New("remote error: merge refused by delegate"), causeRefused}, // the text decides
		{errors.New("received invalid msgType"), causeOther},
	} {
		if got := classifyStreamError(tc.err); got != tc.want {
			t.Errorf("classifyStreamError(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

func TestStreamCheckDelay(t *testing.T) {
	const p = time.Second
	for failures, want := range []time.Duration{p, p, p, p, 2 * p, 4 * p, 8 * p, 16 * p, 16 * p, 16 * p} {
		if got := streamCheckDelay(p, failures); got != want {
			t.Errorf("streamCheckDelay(%v, %d) = %v, want %v", p, failures, got, want)
		}
	}
}

// TestStreamHealthStory walks one member through failures, a report, a
// recovery, a relapse and a quiet flapping phase, checking every effect.
func TestStreamHealthStory(t *testing.T) {
	const p = time.Second
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	refused := errors.New("connection refused")
	type step struct {
		at   time.Duration
		err  error
		want streamEffect
		due  string // want due(now) after the step ("" for none)
		list int    // want this many reported
	}
	fail := streamEffect{failed: true, cause: causeRefused}
	report := streamEffect{failed: true, cause: causeRefused, reported: true, warn: true}
	quietReport := streamEffect{failed: true, cause: causeRefused, reported: true}
	steps := []step{
		{0, nil, streamEffect{}, "", 0},                    // a success to a healthy member: nothing
		{0, refused, fail, "x", 0},                         // first failure: checked in one probe interval
		{p, refused, fail, "x", 0},                         // second
		{2 * p, nil, streamEffect{}, "", 0},                // a success before the report clears it
		{3 * p, refused, fail, "x", 0},                     // counting again from one
		{4 * p, refused, fail, "x", 0},                     //
		{5 * p, refused, report, "x", 1},                   // third in a row: reported, warned
		{6 * p, refused, fail, "", 1},                      // checks back off: next at 8 s
		{8 * p, nil, streamEffect{}, "", 1},                // one success is not enough
		{9 * p, nil, streamEffect{recovered: true}, "", 0}, // two are
		{10 * p, refused, fail, "x", 0},                    // relapse
		{11 * p, refused, fail, "x", 0},                    //
		{12 * p, refused, quietReport, "x", 1},             // reported again, but warned 7 s ago: no warning
		{13 * p, nil, streamEffect{}, "", 1},               //
		{14 * p, nil, streamEffect{recovered: true}, "", 0},
		{70 * p, refused, fail, "x", 0},
		{71 * p, refused, fail, "x", 0},
		{72 * p, refused, report, "x", 1}, // a minute after the last warning: warned again
	}
	var h streamHealth
	for i, s := range steps {
		now := t0.Add(s.at)
		if got := h.result("x", s.err, now, p); got != s.want {
			t.Fatalf("step %d (t0+%v, err %v): effect %+v, want %+v", i, s.at, s.err, got, s.want)
		}
		next := now.Add(p) // the next probe tick
		if i+1 < len(steps) {
			next = t0.Add(steps[i+1].at)
		}
		if name, _ := h.due(next); name != s.due && s.due != "" {
			t.Errorf("step %d: due at t0+%v = %q, want %q", i, next.Sub(t0), name, s.due)
		}
		if n := len(h.reportedList()); n != s.list || h.numReported() != n {
			t.Errorf("step %d: %d reported (numReported %d), want %d", i, n, h.numReported(), s.list)
		}
	}
	if !h.forget("x") || h.forget("x") {
		t.Error("forget did not report x as reported once")
	}
	// A healthy record is kept while its last warning is recent (the
	// rate limit needs it), then dropped.
	h.result("y", refused, t0, p)
	h.result("y", refused, t0, p)
	h.result("y", refused, t0, p) // reported, warned at t0
	h.result("y", nil, t0, p)
	h.result("y", nil, t0, p) // recovered
	h.due(t0.Add(streamWarnEvery - 1))
	if h.peers["y"] == nil {
		t.Fatal("a record warned about less than streamWarnEvery ago was dropped")
	}
	h.due(t0.Add(streamWarnEvery))
	if len(h.peers) != 0 {
		t.Errorf("records left after streamWarnEvery: %v", h.peers)
	}
}

// inmemCounter returns the sum of the counter k (flattened with its
// labels, as InmemSink keys it) over every interval of inm.
func inmemCounter(inm *metrics.InmemSink, k string) float64 {
	sum := 0.0
	for _, iv := range inm.Data() {
		iv.RLock()
		if c, ok := iv.Counters[k]; ok {
			sum += c.Sum
		}
		iv.RUnlock()
	}
	return sum
}

// inmemGauge returns the latest value of the gauge k in inm.
func inmemGauge(inm *metrics.InmemSink, k string) float32 {
	var v float32
	for _, iv := range inm.Data() {
		iv.RLock()
		if g, ok := iv.Gauges[k]; ok {
			v = g.Value
		}
		iv.RUnlock()
	}
	return v
}

// TestMockCluster_TCPOnlyFailureReported: c's streams are refused while
// its packets flow. One failed SendReliable from a makes a check c every
// probe interval; within three probe intervals c is listed by
// StreamFailures, counted by cause, warned about once, and still alive in
// every view. Once c's streams work again it leaves the list.
func TestMockCluster_TCPOnlyFailureReported(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 120)
		sink, logs := metrics.NewInmemSink(time.Hour, time.Hour), &syncBuffer{}
		a := c.add("a", func(conf *Config) { conf.LogOutput, conf.MetricSink = logs, sink })
		b := c.add("b")
		c.add("c")
		c.add("d")
		c.joinAll()
		waitFor(t, 5*time.Second, "join", func() bool { return allViewsWhole(c) })
		c.net.SetNode("c", MockNodeFaults{Streams: MockStreamRefuse})
		probe := a.config.ProbeInterval
		cNode := memberNamed(a, "c")
		start := time.Now()
		if err := a.SendReliable(cNode, []byte("hello")); err == nil {
			t.Fatal("SendReliable to a node refusing streams succeeded")
		}
		waitFor(t, 3*probe, "c listed by StreamFailures", func() bool { return len(a.StreamFailures()) == 1 })
		got := a.StreamFailures()[0]
		if got.Node != "c" || got.Cause != "refused" || got.Failures != streamFailThreshold || !got.Since.Equal(start) {
			t.Errorf("StreamFailures()[0] = %+v, want c refused %d times since %v", got, streamFailThreshold, start)
		}
		if n := inmemCounter(sink, "memberlist.tcp.failed;cause=refused"); n < streamFailThreshold {
			t.Errorf("memberlist.tcp.failed{cause=refused} = %v, want at least %d", n, streamFailThreshold)
		}
		waitFor(t, probe, "memberlist.tcp.unreachable = 1", func() bool { return inmemGauge(sink, "memberlist.tcp.unreachable") == 1 })
		if bad := mockWatch(20*time.Second, []*Memberlist{a, b}, "c", func(st NodeStateType) bool { return st == StateAlive }); bad != "" {
			t.Fatalf("with c's streams refused: %s", bad)
		}
		if n := strings.Count(logs.String(), "Streams keep failing to a node that answers probes: push/pull and reliable messages to it fail node=c"); n != 1 {
			t.Errorf("%d warnings about c in 20s, want 1", n)
		}
		c.net.SetNode("c", MockNodeFaults{})
		waitFor(t, (streamMaxCheckBackoff+2)*probe, "c leaves StreamFailures", func() bool { return a.StreamFailures() == nil })
		waitFor(t, probe, "memberlist.tcp.unreachable = 0 after recovery", func() bool { return inmemGauge(sink, "memberlist.tcp.unreachable") == 0 })
	})
}

// TestMockCluster_TCPFlappingStaysCalm: c's streams fail and work in turn
// every 500 ms for 30 s while a sends it a reliable message every 100 ms.
// c is reported and cleared again and again, but stays alive in every
// view, and a warns about it once.
func TestMockCluster_TCPFlappingStaysCalm(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 121)
		logs := &syncBuffer{}
		a := c.add("a", func(conf *Config) { conf.LogOutput = logs })
		b := c.add("b")
		c.add("c")
		c.joinAll()
		waitFor(t, 5*time.Second, "join", func() bool { return allViewsWhole(c) })
		cNode := memberNamed(a, "c")
		reports := 0
		deadline := time.Now().Add(30 * time.Second)
		for i := 0; time.Now().Before(deadline); i++ {
			f := MockNodeFaults{}
			if i%2 == 0 {
				f.Streams = MockStreamRefuse
			}
			c.net.SetNode("c", f)
			for range 5 {
				a.SendReliable(cNode, []byte("hello"))
				if bad := mockWatch(100*time.Millisecond, []*Memberlist{a, b}, "c", func(st NodeStateType) bool { return st == StateAlive }); bad != "" {
					t.Fatalf("with c's streams flapping: %s", bad)
				}
			}
			if len(a.StreamFailures()) > 0 {
				reports++
			}
		}
		if reports < 10 {
			t.Errorf("c was listed at the end of %d phases of 60, want it listed after most refusing phases", reports)
		}
		if n := strings.Count(logs.String(), "Streams keep failing to a node that answers probes: push/pull and reliable messages to it fail node=c"); n != 1 {
			t.Errorf("%d warnings about c in 30s, want 1", n)
		}
	})
}

// memberNamed returns m's member called name, or nil.
func memberNamed(m *Memberlist, name string) *Node {
	for _, n := range m.Members() {
		if n.Name == name {
			return n
		}
	}
	return nil
}

// TestMockCluster_TCPOnlyFailureNoPingsWithTCPPingsOff: with
// DisableTcpPings the node makes no stream ping of its own; c is listed
// only once three reliable messages in a row have failed.
func TestMockCluster_TCPOnlyFailureNoPingsWithTCPPingsOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 122)
		off := func(conf *Config) { conf.DisableTcpPings, conf.PushPullInterval = true, 0 }
		a := c.add("a", off)
		c.add("b", off)
		c.add("c", off)
		c.joinAll()
		waitFor(t, 5*time.Second, "join", func() bool { return allViewsWhole(c) })
		c.net.SetNode("c", MockNodeFaults{Streams: MockStreamRefuse})
		c.net.ResetStats()
		cNode := memberNamed(a, "c")
		for i := range streamFailThreshold {
			if got := len(a.StreamFailures()); got != 0 {
				t.Fatalf("c listed after %d failed sends", i)
			}
			if err := a.SendReliable(cNode, []byte("hello")); err == nil {
				t.Fatal("SendReliable to a node refusing streams succeeded")
			}
			advance(5 * a.config.ProbeInterval)
		}
		if got := a.StreamFailures(); len(got) != 1 || got[0].Node != "c" {
			t.Fatalf("after %d failed sends StreamFailures() = %+v, want c", streamFailThreshold, got)
		}
		if refused := c.net.LinkStats("a", "c").StreamsRefused; refused != streamFailThreshold {
			t.Errorf("a opened %d streams to c, want only its %d sends", refused, streamFailThreshold)
		}
	})
}
