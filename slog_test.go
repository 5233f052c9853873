package memberlist

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"regexp"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// recordingHandler is a slog.Handler that keeps every record. onRecord,
// when set, runs inside Handle.
type recordingHandler struct {
	mu       sync.Mutex
	records  []slog.Record
	onRecord func(slog.Record)
}

func (h *recordingHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *recordingHandler) Handle(_ context.Context, r slog.Record) error {
	if h.onRecord != nil {
		h.onRecord(r)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.records = append(h.records, r.Clone())
	return nil
}

func (h *recordingHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *recordingHandler) WithGroup(string) slog.Handler      { return h }

// find returns the attributes of the first record with msg, and whether
// there is one.
func (h *recordingHandler) find(msg string) (slog.Level, map[string]string, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, r := range h.records {
		if r.Message != msg {
			continue
		}
		return r.Level, recordAttrs(r), true
	}
	return 0, nil, false
}

// recordAttrs returns r's attributes as strings by key.
func recordAttrs(r slog.Record) map[string]string {
	attrs := map[string]string{}
	r.Attrs(func(a slog.Attr) bool {
		attrs[a.Key] = a.Value.String()
		return true
	})
	return attrs
}

// above returns the messages of records at level or above.
func (h *recordingHandler) above(level slog.Level) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var msgs []string
	for _, r := range h.records {
		if r.Level >= level {
			msgs = append(msgs, r.Message)
		}
	}
	return msgs
}

// refuteSuspicion makes m refute a suspicion about itself, which it logs
// while holding its node lock.
func refuteSuspicion(m *Memberlist) uint32 {
	inc := m.incarnation.Load()
	m.suspectNode(&suspect{Incarnation: inc, Node: m.config.Name, From: "gossiper"})
	return inc
}

func TestSlogReceivesStructuredRecords(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 81)
		h := &recordingHandler{}
		var legacy bytes.Buffer
		a := c.add("a", func(conf *Config) {
			conf.Slog = slog.New(h)
			conf.LogOutput = &legacy // ignored: Slog is preferred
		})
		inc := refuteSuspicion(a)
		level, attrs, ok := h.find("Refuting a suspect message")
		if !ok {
			t.Fatalf("no refutation record; have %v", h.above(slog.LevelDebug))
		}
		want := map[string]string{"node": "a", "from": "gossiper", "inc": itoa(inc)}
		if level != slog.LevelWarn || !mapsEqual(attrs, want) {
			t.Errorf("refutation record = %v %v, want WARN %v", level, attrs, want)
		}
		from := &net.UDPAddr{IP: net.IPv4(10, 0, 0, 9), Port: 7946}
		a.ingestPacket([]byte{200}, from, time.Now())
		level, attrs, ok = h.find("msg type not supported")
		if !ok || level != slog.LevelDebug || attrs["addr"] != "10.0.0.9:7946" || attrs["type"] != "200" {
			t.Errorf("unsupported packet record = %v %v %v", ok, level, attrs)
		}
		if legacy.Len() != 0 {
			t.Errorf("LogOutput was written although Slog is set:\n%s", legacy.String())
		}
	})
}

// TestSlogPerPacketProblemsAreQuiet sends packets that are dropped for
// every reason the packet path has and checks that none is logged at INFO
// or above.
func TestSlogPerPacketProblemsAreQuiet(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 82)
		h := &recordingHandler{}
		a := c.add("a", withLabel("prod"), withKey(bytes.Repeat([]byte{1}, 16), true, true), func(conf *Config) {
			conf.Slog = slog.New(h)
		})
		from := &net.UDPAddr{IP: net.IPv4(10, 0, 0, 9), Port: 7946}
		labelled := func(b []byte) []byte { p, _ := AddLabelHeaderToPacket(b, "prod"); return p }
		sealed := func(b []byte) []byte {
			p, err := a.config.Keyring.encryptPayload(1, b, []byte("prod"))
			if err != nil {
				t.Fatal(err)
			}
			return labelled(p)
		}
		for _, pkt := range [][]byte{
			{244},                           // truncated label
			pfRow(`f4 04 "test" 00`),        // another label
			labelled([]byte("not sealed")),  // decrypt failure
			sealed(pfRow(`0c 00000000 00`)), // CRC mismatch
			sealed(nil),                     // no message type
			sealed([]byte{200}),             // unknown type
			sealed(pfRow(`07 80`)),          // bad compound
			sealed(pfRow(`00 ff`)),          // bad ping
			sealed(pfRow(`02 ff`)),          // bad ack
			sealed(pfRow(`09 ff`)),          // bad compress wrapper
		} {
			a.ingestPacket(pkt, from, time.Now())
		}
		if loud := h.above(slog.LevelInfo); len(loud) > 0 {
			t.Errorf("per-packet problems logged at INFO or above: %q", loud)
		}
		if n := len(h.above(slog.LevelDebug)); n < 10 {
			t.Errorf("%d debug records for 10 bad packets", n)
		}
	})
}

// TestSlogHandlerMayCallBack checks that no log record is handled under
// the node lock: a handler that reads the membership does not deadlock.
// It runs outside a synctest bubble, where a goroutine blocked on a mutex
// would hang the bubble instead of failing.
func TestSlogHandlerMayCallBack(t *testing.T) {
	n := &MockNetwork{}
	h := &recordingHandler{}
	conf := DefaultLocalConfig()
	conf.Name = "a"
	conf.Transport = n.NewTransport("a")
	conf.Slog = slog.New(h)
	m, err := Create(conf)
	if err != nil {
		t.Fatal(err)
	}
	h.onRecord = func(slog.Record) { m.NumMembers() }
	done := make(chan struct{})
	go func() {
		defer close(done)
		refuteSuspicion(m)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		// The node is deadlocked; Shutdown would hang too.
		t.Fatal("a log handler calling NumMembers deadlocked the node")
	}
	defer m.Shutdown()
	if _, _, ok := h.find("Refuting a suspect message"); !ok {
		t.Errorf("no refutation record")
	}
}

// TestLegacyLoggerLines checks the "[LEVEL] memberlist: message k=v" lines
// written through LogOutput.
func TestLegacyLoggerLines(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 83)
		var buf syncBuffer
		a := c.add("a", func(conf *Config) { conf.LogOutput = &buf })
		inc := refuteSuspicion(a)
		a.ingestPacket([]byte{200}, &net.UDPAddr{IP: net.IPv4(10, 0, 0, 9), Port: 7946}, time.Now())
		for _, re := range []string{
			`(?m)^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[WARN\] memberlist: Refuting a suspect message node=a from=gossiper inc=` + itoa(inc) + `$`,
			`(?m)^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[DEBUG\] memberlist: msg type not supported type=200 addr=10.0.0.9:7946$`,
		} {
			if !regexp.MustCompile(re).MatchString(buf.String()) {
				t.Errorf("log lacks a line matching %s:\n%s", re, buf.String())
			}
		}
	})
}

// syncBuffer is a bytes.Buffer safe for concurrent writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

var _ io.Writer = (*syncBuffer)(nil)

func itoa(u uint32) string { return slog.Uint64Value(uint64(u)).String() }

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	keys := make([]string, 0, len(a))
	for k := range a {
		keys = append(keys, k)
	}
	return !slices.ContainsFunc(keys, func(k string) bool { return a[k] != b[k] })
}
