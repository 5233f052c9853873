package scoreboard

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	metrics "github.com/hashicorp/go-metrics"

	ours "github.com/gossip-go/memberlist"
)

// runLabelName is the metric label that tells runs apart in the shared
// go-metrics global: both libraries add Config.MetricLabels to every metric.
const runLabelName = "sb_run"

// evKind is the kind of a membership event.
type evKind int

const (
	evJoin evKind = iota
	evLeave
)

// event is one NotifyJoin or NotifyLeave seen by observer about subject.
type event struct {
	at       time.Time
	observer string
	subject  string
	kind     evKind
}

// recorder collects the events of every node of a run. It is safe for
// concurrent use.
type recorder struct {
	mu     sync.Mutex
	events []event
}

func (r *recorder) add(observer, subject string, k evKind) {
	if observer == subject {
		return
	}
	r.mu.Lock()
	r.events = append(r.events, event{time.Now(), observer, subject, k})
	r.mu.Unlock()
}

// since returns a copy of the events at or after t.
func (r *recorder) since(t time.Time) []event {
	r.mu.Lock()
	defer r.mu.Unlock()
	i, _ := slices.BinarySearchFunc(r.events, t, func(e event, t time.Time) int { return e.at.Compare(t) })
	return slices.Clone(r.events[i:])
}

// logCounter is the LogOutput of every node of a run: it counts refutations
// (both libraries log "Refuting ..." at WARN) and discards the rest.
type logCounter struct {
	refutes atomic.Int64
	warns   atomic.Int64

	mu     sync.Mutex
	failed map[string]int // "Marking NAME as failed" lines by NAME
}

func (l *logCounter) Write(b []byte) (int, error) {
	if bytes.Contains(b, []byte("Refuting")) {
		l.refutes.Add(1)
	}
	if bytes.Contains(b, []byte("[WARN]")) || bytes.Contains(b, []byte("[ERR]")) {
		l.warns.Add(1)
	}
	if name, ok := failedName(b); ok {
		l.mu.Lock()
		if l.failed == nil {
			l.failed = map[string]int{}
		}
		l.failed[name]++
		l.mu.Unlock()
	}
	return len(b), nil
}

// failedName finds the node named in a "suspect timeout" log line: theirs
// writes "Marking NAME as failed, ...", ours "Marking as failed, ...
// node=NAME ...".
func failedName(line []byte) (string, bool) {
	_, rest, ok := bytes.Cut(line, []byte("Marking "))
	if !ok || !bytes.Contains(rest, []byte("as failed")) {
		return "", false
	}
	if _, attr, ok := bytes.Cut(rest, []byte(" node=")); ok {
		name, _, _ := bytes.Cut(attr, []byte(" "))
		return string(bytes.TrimSpace(name)), true
	}
	name, _, ok := bytes.Cut(rest, []byte(" as failed"))
	return string(name), ok
}

// failures returns how many "Marking NAME as failed" lines named name.
func (l *logCounter) failures(name string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.failed[name]
}

// sink is the go-metrics global sink of the scoreboard. It sums counters
// and tracks gauge maxima per run label, so runs in parallel do not mix.
type sink struct {
	metrics.BlackholeSink
	mu       sync.Mutex
	counters map[string]float64 // run + "|" + key: sum of values
	calls    map[string]float64 // run + "|" + key: number of calls
	gaugeMax map[string]float32
	samples  map[string][]float32 // run + "|" + key: every sample
}

func newSink() *sink {
	return &sink{counters: map[string]float64{}, calls: map[string]float64{}, gaugeMax: map[string]float32{},
		samples: map[string][]float32{}}
}

func runOf(labels []metrics.Label) string {
	for _, l := range labels {
		if l.Name == runLabelName {
			return l.Value
		}
	}
	return ""
}

func (s *sink) IncrCounterWithLabels(key []string, v float32, labels []metrics.Label) {
	k := runOf(labels) + "|" + strings.Join(key, ".")
	s.mu.Lock()
	s.counters[k] += float64(v)
	s.calls[k]++
	s.mu.Unlock()
}

func (s *sink) SetGaugeWithLabels(key []string, v float32, labels []metrics.Label) {
	k := runOf(labels) + "|" + strings.Join(key, ".")
	s.mu.Lock()
	if v > s.gaugeMax[k] {
		s.gaugeMax[k] = v
	}
	s.mu.Unlock()
}

func (s *sink) AddSampleWithLabels(key []string, v float32, labels []metrics.Label) {
	k := runOf(labels) + "|" + strings.Join(key, ".")
	s.mu.Lock()
	s.samples[k] = append(s.samples[k], v)
	s.mu.Unlock()
}

// sampleCount returns how many values a sample of a run has had.
func (s *sink) sampleCount(run, key string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.samples[run+"|"+key])
}

// sampleValues returns a copy of a sample's values from the from-th on.
func (s *sink) sampleValues(run, key string, from int) []float32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.samples[run+"|"+key][from:])
}

func (s *sink) counter(run, key string) float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counters[run+"|"+key]
}

func (s *sink) count(run, key string) float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[run+"|"+key]
}

func (s *sink) gauge(run, key string) float32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gaugeMax[run+"|"+key]
}

// globalSink is installed once as go-metrics' global by installSink.
var (
	sinkOnce   sync.Once
	globalSink *sink
)

func installSink() *sink {
	sinkOnce.Do(func() {
		globalSink = newSink()
		c := metrics.DefaultConfig("")
		c.EnableHostname = false
		c.EnableRuntimeMetrics = false
		c.EnableServiceLabel = false
		c.EnableTypePrefix = false
		metrics.NewGlobal(c, globalSink)
	})
	return globalSink
}

// runSeq numbers runs for their metric label.
var runSeq atomic.Int64

// world is one run of one library: a MockNetwork and the nodes on it. All
// of it lives in one synctest bubble.
type world struct {
	lib     lib
	net     *ours.MockNetwork
	timings timings
	events  *recorder
	logs    *logCounter
	run     string
	sink    *sink
	seed    uint64
	user    *userLog // given to every node started when not nil

	names []string                       // every node ever started, in order
	nodes map[string]node                // running nodes by name
	trs   map[string]*ours.MockTransport // current transport by name
	start time.Time

	// offsets draws the random parts of the waits before faults
	// (sleepOffGrid); it is seeded from the run's seed alone, so both
	// libraries wait the same.
	offsets *rand.Rand
}

func newWorld(l lib, seed uint64, t timings) *world {
	n := &ours.MockNetwork{}
	n.SetSeed(seed)
	return &world{
		lib: l, net: n, timings: t,
		events: &recorder{}, logs: &logCounter{},
		run:  fmt.Sprintf("r%d", runSeq.Add(1)),
		sink: installSink(), seed: seed,
		nodes: map[string]node{}, trs: map[string]*ours.MockTransport{},
		start:   time.Now(),
		offsets: rand.New(rand.NewPCG(seed, 0x6f6666)),
	}
}

// sleepOffGrid sleeps d plus a random part of the probe interval. A fault
// injected a fixed time after the nodes were created meets the probe
// loops at the same point of their round in every run: hashicorp's loops
// tick on the grid of Create (all its nodes probe in step), ours are
// staggered, so a fixed delay would measure where the fault lands on one
// library's grid rather than its detection.
func (w *world) sleepOffGrid(d time.Duration) {
	time.Sleep(d + time.Duration(w.offsets.Int64N(int64(w.timings.ProbeInterval))))
}

// startNode starts a node named name on a new transport (a new address).
func (w *world) startNode(name string) error {
	return w.startOn(name, w.net.NewTransport(name))
}

// startOn starts the named node on tr and records both.
func (w *world) startOn(name string, tr *ours.MockTransport) error {
	n, err := w.lib.start(tr, nodeOptions{name: name, timings: w.timings, events: w.events, runLabel: w.run, logs: w.logs, user: w.user})
	if err != nil {
		return fmt.Errorf("%s: start %s: %w", w.lib.name(), name, err)
	}
	if _, ok := w.trs[name]; !ok {
		w.names = append(w.names, name)
	}
	w.nodes[name] = n
	w.trs[name] = tr
	return nil
}

// addr returns the current address of the named node.
func (w *world) addr(name string) string {
	ip, port, _ := w.trs[name].FinalAdvertiseAddr("", 0)
	return net.JoinHostPort(ip.String(), strconv.Itoa(port))
}

// kill shuts the named node down without a goodbye.
func (w *world) kill(name string) {
	if n, ok := w.nodes[name]; ok {
		n.shutdown()
		delete(w.nodes, name)
	}
}

// shutdownAll stops every running node.
func (w *world) shutdownAll() {
	for _, name := range w.names {
		w.kill(name)
	}
}

// counter returns a go-metrics counter of this run.
func (w *world) counter(key string) float64 { return w.sink.counter(w.run, key) }

// callCount returns how many times a go-metrics counter of this run was
// incremented.
func (w *world) callCount(key string) float64 { return w.sink.count(w.run, key) }

// gaugeMax returns the largest value a go-metrics gauge of this run took.
func (w *world) gaugeMax(key string) float64 { return float64(w.sink.gauge(w.run, key)) }

// startCluster starts n nodes named prefix00, prefix01, ... and joins each
// to the first, one after the other, then waits until every view is
// complete. It returns the names.
func (w *world) startCluster(prefix string, n int) ([]string, error) {
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("%s%02d", prefix, i)
		if err := w.startNode(names[i]); err != nil {
			return nil, err
		}
	}
	seed := w.addr(names[0])
	for _, name := range names[1:] {
		if _, err := w.nodes[name].join([]string{seed}); err != nil {
			return nil, fmt.Errorf("%s: join %s: %w", w.lib.name(), name, err)
		}
	}
	if _, ok := w.waitUntil(func() bool { return w.converged(names) }, 100*time.Millisecond, 5*time.Minute); !ok {
		return nil, fmt.Errorf("%s: %d nodes did not converge", w.lib.name(), n)
	}
	return names, nil
}

// waitUntil polls cond every step of virtual time, for at most max. It
// returns how long it waited and whether cond came true.
func (w *world) waitUntil(cond func() bool, step, max time.Duration) (time.Duration, bool) {
	start := time.Now()
	for {
		if cond() {
			return time.Since(start), true
		}
		if time.Since(start) >= max {
			return time.Since(start), false
		}
		time.Sleep(step)
	}
}

// timeUntilConverged waits, polling every step, until every node of names
// lists exactly names (see converged), and returns how long that took, or
// never when it did not happen within max.
func (w *world) timeUntilConverged(names []string, step, max time.Duration) value {
	took, ok := w.waitUntil(func() bool { return w.converged(names) }, step, max)
	if !ok {
		return never
	}
	return secs(took)
}

// wrongPairs counts the (observer, subject) pairs, for every running
// observer in observers and every subject in expect, where the observer's
// Members() lacks the subject or lists it at another address than its
// current one, plus the members listed that expect does not name.
func (w *world) wrongPairs(observers, expect []string) int {
	want := make(map[string]string, len(expect))
	for _, s := range expect {
		want[s] = w.addr(s)
	}
	wrong := 0
	for _, o := range observers {
		n, ok := w.nodes[o]
		if !ok {
			continue
		}
		seen := 0
		for _, m := range n.members() {
			if a, ok := want[m.name]; ok && a == m.addr {
				seen++
			} else {
				wrong++
			}
		}
		wrong += len(want) - seen
	}
	return wrong
}

// converged reports whether every running node of names lists exactly
// names, at their current addresses. It counts members first, which is
// cheap, and compares views only when every count is right.
func (w *world) converged(names []string) bool {
	for _, o := range names {
		if n, ok := w.nodes[o]; ok && n.numMembers() != len(names) {
			return false
		}
	}
	return w.wrongPairs(names, names) == 0
}

// lists reports how many running observers list subject in Members().
func (w *world) lists(subject string) int {
	c := 0
	for _, name := range w.names {
		n, ok := w.nodes[name]
		if !ok || name == subject {
			continue
		}
		for _, m := range n.members() {
			if m.name == subject {
				c++
				break
			}
		}
	}
	return c
}

// finish shuts every node down, then lets virtual time run on so that
// goroutines hashicorp/memberlist leaves behind after Shutdown (probes
// still waiting for their timeout) end before the bubble does.
func (w *world) finish() {
	w.shutdownAll()
	time.Sleep(time.Minute)
}

// running returns the names of the running nodes, in start order.
func (w *world) running() []string {
	var out []string
	for _, name := range w.names {
		if _, ok := w.nodes[name]; ok {
			out = append(out, name)
		}
	}
	return out
}

// restartSameAddr restarts the named node, which must have been killed,
// on its old address.
func (w *world) restartSameAddr(name string) error {
	tr, err := w.net.Restart(w.trs[name])
	if err != nil {
		return err
	}
	return w.startOn(name, tr)
}
