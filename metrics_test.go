package memberlist

import (
	"io"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	metrics "github.com/hashicorp/go-metrics"
)

// inmemCounters returns the sums of the counters and the sample counts in
// sink, by flattened key.
func inmemCounters(sink *metrics.InmemSink) map[string]float64 {
	got := map[string]float64{}
	for _, iv := range sink.Data() {
		iv.RLock()
		for k, c := range iv.Counters {
			got[k] += c.Sum
		}
		for k, s := range iv.Samples {
			got[k] += float64(s.Count)
		}
		iv.RUnlock()
	}
	return got
}

func newInmem() *metrics.InmemSink { return metrics.NewInmemSink(time.Hour, time.Hour) }

// TestMetricSinkPerInstance checks that two nodes in one process emit to
// their own sinks, and that a bare sink receives timers as samples.
func TestMetricSinkPerInstance(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 91)
		sa, sb := newInmem(), newInmem()
		a := c.add("a", func(conf *Config) { conf.MetricSink = sa })
		b := c.add("b", func(conf *Config) { conf.MetricSink = sb })
		if _, err := b.Join([]string{seedAddr(a)}); err != nil {
			t.Fatal(err)
		}
		ga, gb := inmemCounters(sa), inmemCounters(sb)
		if ga["memberlist.tcp.accept"] != 1 || ga["memberlist.tcp.connect"] != 0 {
			t.Errorf("seed's sink: accept %v, connect %v; want 1, 0", ga["memberlist.tcp.accept"], ga["memberlist.tcp.connect"])
		}
		if gb["memberlist.tcp.connect"] != 1 || gb["memberlist.tcp.accept"] != 0 {
			t.Errorf("joiner's sink: connect %v, accept %v; want 1, 0", gb["memberlist.tcp.connect"], gb["memberlist.tcp.accept"])
		}
		if gb["memberlist.pushPullNode"] != 1 {
			t.Errorf("joiner's sink has %v pushPullNode timer samples, want 1", gb["memberlist.pushPullNode"])
		}
	})
}

// TestMetricSinkDefaultIsGlobal checks that without a MetricSink a node
// emits to the go-metrics global instance, as upstream does.
func TestMetricSinkDefaultIsGlobal(t *testing.T) {
	inm := newInmem()
	cfg := metrics.DefaultConfig("globaltest")
	cfg.EnableHostname = false
	cfg.EnableRuntimeMetrics = false
	if _, err := metrics.NewGlobal(cfg, inm); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { metrics.NewGlobal(cfg, &metrics.BlackholeSink{}) })
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 92)
		a := c.add("a")
		b := c.add("b")
		if _, err := b.Join([]string{seedAddr(a)}); err != nil {
			t.Fatal(err)
		}
		// Read inside the bubble: the sink's intervals were made in it.
		if got := inmemCounters(inm); got["globaltest.memberlist.tcp.accept"] < 1 {
			t.Errorf("global sink has no memberlist.tcp.accept: %v", got)
		}
	})
}

// callbackSink is an InmemSink whose counters call onCounter first.
type callbackSink struct {
	*metrics.InmemSink
	onCounter atomic.Pointer[func()]
}

func (s *callbackSink) IncrCounterWithLabels(key []string, val float32, labels []metrics.Label) {
	if f := s.onCounter.Load(); f != nil {
		(*f)()
	}
	s.InmemSink.IncrCounterWithLabels(key, val, labels)
}

// TestMetricSinkMayCallBack checks that no counter is emitted under the
// node lock: a sink that reads the membership does not deadlock. It runs
// outside a synctest bubble, where a goroutine blocked on a mutex would
// hang the bubble instead of failing.
func TestMetricSinkMayCallBack(t *testing.T) {
	n := &MockNetwork{}
	start := func(name string, sink metrics.MetricSink, events EventDelegate) *Memberlist {
		conf := DefaultLocalConfig()
		conf.Name = name
		conf.Transport = n.NewTransport(name)
		conf.LogOutput = io.Discard
		conf.MetricSink = sink
		conf.Events = events
		m, err := Create(conf)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	sink := &callbackSink{InmemSink: newInmem()}
	joins := make(chan NodeEvent, 4)
	a := start("a", sink, &ChannelEventDelegate{Ch: joins})
	b := start("b", nil, nil)
	<-joins // a itself
	readMembers := func() { a.NumMembers() }
	sink.onCounter.Store(&readMembers)
	if _, err := b.Join([]string{"a/" + a.LocalNode().Address()}); err != nil {
		t.Fatal(err)
	}
	// a merges b's state after answering the Join.
	select {
	case e := <-joins:
		if e.Node.Name != "b" {
			t.Fatalf("unexpected event %v", e)
		}
	case <-time.After(10 * time.Second):
		// a is deadlocked; Shutdown would hang too.
		t.Fatal("a metric sink calling NumMembers deadlocked the node")
	}
	b.Shutdown()
	a.Shutdown()
	if inmemCounters(sink.InmemSink)["memberlist.msg.alive"] < 1 {
		t.Errorf("no memberlist.msg.alive counted")
	}
}
