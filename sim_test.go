package memberlist

// The seeded cluster simulation of STYLE.md ("Tests"): simNodes nodes on a
// fault-injecting MockNetwork run a scripted scenario over virtual time
// inside a testing/synctest bubble, and invariants are checked every
// simCheckEvery of virtual time:
//
//   - the incarnation a node holds for another never decreases while it
//     keeps the entry;
//   - in a window with no loss configured (after a settling time that lets
//     suspicions raised under loss run out), no live node is declared dead,
//     neither in a NotifyLeave event nor in a state table;
//   - after recovery from every fault (loss, partition, one-way loss) the
//     views of the live nodes converge within a stated bound;
//   - a crashed node is declared dead by every live node within a bound
//     derived from the suspicion formula, and never seen alive again;
//   - a node that left is seen as left by every live node, and once an
//     observer has seen it left it never sees it alive again.
//
// The scenario: join, steady state, delay with jitter, duplication, random
// loss, a short partition that heals on its own, a long partition healed
// by a join across it, one-way loss to one node, a crash and a graceful
// leave (runScenario). Nodes run with the TCP fallback ping off, so UDP
// loss really causes suspicions and refutations.
//
// Every failure message names the seed. The seed fixes the generators of
// the network and of every node; TestSimDeterminism checks how much of a
// run that fixes (see its comment).

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

const (
	simNodes      = 8
	simCheckEvery = 50 * time.Millisecond
)

// simSeeds are the seeds of TestSimCluster.
var simSeeds = []uint64{1, 2, 3, 4, 5}

func TestSimCluster(t *testing.T) {
	for _, seed := range simSeeds {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := newSimulation(t, seed)
				s.runScenario()
				s.report()
			})
		})
	}
}

// TestSimDeterminism runs the scenario twice with one seed and compares
// the event traces.
//
// Full equality of the traces is not reached, and the test does not ask
// for it; it logs how far the two traces agree. Inside a synctest bubble
// virtual time moves only when every goroutine is durably blocked, so what
// happens at different virtual instants is ordered, but many goroutines
// run at one instant and the Go scheduler interleaves them differently
// from run to run (in parallel with GOMAXPROCS > 1; select among ready
// cases is random even with one P). Causes of divergence found:
//
//  1. Fixed: each of a node's probe, push/pull and gossip loops drew its
//     start stagger from the node's generator in its own goroutine, so
//     which loop got which draw varied and traces differed from the first
//     gossip round (about 13 ms in). TestSimLoopStaggersSeeded guards the
//     fix (the staggers are now drawn in schedule, in order).
//  2. At one instant a node's packet listener and its packet handler race.
//     The listener pushes the parts of a compound onto the handoff queue
//     while the handler pops it newest first, so the alive messages of one
//     gossip packet are applied in either order; each insertion draws a
//     probe-order position from the node's generator and queues a
//     broadcast, and the listener's acks piggyback whatever is queued at
//     that moment. The probe order and the dissemination then differ. This
//     shows in about one run pair in ten already in the join phase (about
//     20 ms in, a join learnt by gossip 100 ms later or earlier), and in
//     most pairs once packets are lost (the first loss phase, 5-7 s in).
//     With GOMAXPROCS=1 the handler runs only once the listener blocks, and
//     the traces agreed until the partition (13 s) in 7 of 8 pairs.
//  3. The MockNetwork has one generator for all links, drawn in send
//     order, so once a scheduling difference reorders sends under loss or
//     jitter, every later fate of a packet differs.
//
// So the test asserts what the seed determines despite scheduling:
//   - the join phase, at virtual instant 0 before any timer fires (each
//     join waits for the bubble to be idle): every observer's events, in
//     delivery order, are equal;
//   - the scenario's outcome at each phase boundary (which nodes every
//     live node sees as alive, suspect, dead or left; a crashed or left
//     node that is dead, left or reaped counts as gone) is equal;
//
// and it logs the first difference of the full canonical traces.
func TestSimDeterminism(t *testing.T) {
	const seed = 11
	var runs [2]simOutcome
	for i := range runs {
		synctest.Test(t, func(t *testing.T) {
			s := newSimulation(t, seed)
			s.runScenario()
			runs[i] = s.outcome()
		})
	}
	if t.Failed() {
		return
	}
	a, b := runs[0], runs[1]
	if !slices.Equal(a.checkpoints, b.checkpoints) {
		for i := range min(len(a.checkpoints), len(b.checkpoints)) {
			if a.checkpoints[i] != b.checkpoints[i] {
				t.Errorf("seed %d: phase outcomes differ at %d:\n run 1: %s\n run 2: %s", seed, i, a.checkpoints[i], b.checkpoints[i])
				break
			}
		}
		if len(a.checkpoints) != len(b.checkpoints) {
			t.Errorf("seed %d: %d and %d checkpoints", seed, len(a.checkpoints), len(b.checkpoints))
		}
	}
	ja, jb := simPerObserver(a.events, 1), simPerObserver(b.events, 1)
	if len(ja) != simNodes {
		t.Errorf("seed %d: %d observers saw events at instant 0, want %d", seed, len(ja), simNodes)
	}
	for obs := range ja {
		if !slices.Equal(ja[obs], jb[obs]) {
			t.Errorf("seed %d: observer %s saw different join events:\n run 1: %v\n run 2: %v", seed, obs, ja[obs], jb[obs])
		}
	}
	same, first := simCommonPrefix(a.events, b.events)
	if first == "" {
		t.Logf("seed %d: full traces equal (%d events)", seed, len(a.events))
	} else {
		t.Logf("seed %d: full traces share %d of %d/%d canonical events; first difference: %s", seed, same, len(a.events), len(b.events), first)
	}
}

// TestSimLoopStaggersSeeded checks that the seed of a node fixes when its
// probe loop first fires, which TestSimDeterminism relies on.
//
// It exposed a library bug and failed until the fix: the probe, push/pull
// and gossip loops each drew their start stagger from the node's one
// generator inside their own goroutine, after schedule had started them,
// so which loop received which of the three draws depended on goroutine
// scheduling, and over 40 runs of one seed the first probe came at three
// different times (108.96, 148.76 and 149.48 ms). schedule now draws the
// three staggers in a fixed order before starting the goroutines.
func TestSimLoopStaggersSeeded(t *testing.T) {
	const runs = 40
	seen := make(map[time.Duration]int)
	for range runs {
		synctest.Test(t, func(t *testing.T) {
			c := newTestCluster(t, 5)
			p := &simPingClock{start: time.Now()}
			c.add("a", func(conf *Config) { conf.Ping = p })
			c.add("b")
			c.joinAll()
			advance(3 * c.nodes[0].config.ProbeInterval)
			p.mu.Lock()
			defer p.mu.Unlock()
			if p.first == 0 {
				t.Fatal("no probe completed")
			}
			seen[p.first]++
		})
	}
	if len(seen) != 1 {
		t.Errorf("with one seed, the first probe came at %d different times over %d runs: %v", len(seen), runs, seen)
	}
}

// simPingClock records when the first probe of a node completed.
type simPingClock struct {
	mu    sync.Mutex
	start time.Time
	first time.Duration // 0 until the first probe
}

func (p *simPingClock) AckPayload() []byte { return nil }

func (p *simPingClock) NotifyPingComplete(*Node, time.Duration, []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.first == 0 {
		p.first = time.Since(p.start)
	}
}

// simStatus is what the scenario has done to a node.
type simStatus uint8

const (
	simLive simStatus = iota
	simCrashed
	simLeft
)

// simEvent is one EventDelegate call.
type simEvent struct {
	At       time.Duration // virtual time since the start of the run
	Observer string
	Kind     string // join, leave or update
	Node     string
	State    NodeStateType
}

func (e simEvent) String() string {
	return fmt.Sprintf("%v %s %s %s/%s", e.At, e.Observer, e.Kind, e.Node, simStateName(e.State))
}

// simRecorder collects the events of every node, in delivery order.
type simRecorder struct {
	mu     sync.Mutex
	start  time.Time
	events []simEvent
}

func (r *simRecorder) add(observer, kind string, n *Node) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, simEvent{At: time.Since(r.start), Observer: observer, Kind: kind, Node: n.Name, State: n.State})
}

func (r *simRecorder) since(i int) []simEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events[i:])
}

// simObserver is the EventDelegate of one node.
type simObserver struct {
	rec  *simRecorder
	name string
}

func (o simObserver) NotifyJoin(n *Node)   { o.rec.add(o.name, "join", n) }
func (o simObserver) NotifyLeave(n *Node)  { o.rec.add(o.name, "leave", n) }
func (o simObserver) NotifyUpdate(n *Node) { o.rec.add(o.name, "update", n) }

// simKey names what observer holds about node.
type simKey struct{ observer, node string }

// simEntry is one row of a node table.
type simEntry struct {
	st      *nodeState // identity: a reaped and re-learned entry is a new one
	state   NodeStateType
	inc     uint32
	changed time.Time // when the state was entered
}

// simTable snapshots the node table of m.
func simTable(m *Memberlist) map[string]simEntry {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]simEntry, len(m.table.nodes))
	for _, st := range m.table.nodes {
		out[st.Name] = simEntry{st: st, state: st.State, inc: st.Incarnation, changed: st.StateChange}
	}
	return out
}

// simInterval is a window of virtual time, [from, to).
type simInterval struct{ from, to time.Duration }

// simulation is one run of the scenario.
type simulation struct {
	t     *testing.T
	seed  uint64
	c     *testCluster
	rec   *simRecorder
	names []string
	index map[string]int

	status   []simStatus
	statusAt []time.Duration // when the status was set

	// Windows with no loss configured, in which no live node may die.
	// open is the start of the current window, or -1 while loss is on.
	clean []simInterval
	open  time.Duration

	entry     map[simKey]*nodeState
	inc       map[simKey]uint32
	gone      map[simKey]bool // observer saw a left node left or a crashed node dead
	reported  map[string]bool // violations already reported
	processed int             // events already checked

	checkpoints []string // views at each phase boundary
	notes       []string // measured times, for -v
	reaped      int      // incarnations lower after a reap (allowed)
}

// newSimulation builds the cluster; mods adjust every node's config.
func newSimulation(t *testing.T, seed uint64, mods ...func(*Config)) *simulation {
	s := &simulation{
		t:     t,
		seed:  seed,
		c:     newTestCluster(t, seed),
		rec:   &simRecorder{start: time.Now()},
		index: make(map[string]int),
		entry: make(map[simKey]*nodeState),
		inc:   make(map[simKey]uint32),
		gone:  make(map[simKey]bool),

		reported: make(map[string]bool),
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("simulation failed with seed %d; rerun with that seed to reproduce the network decisions", seed)
		}
	})
	for i := range simNodes {
		name := fmt.Sprintf("n%d", i)
		s.names = append(s.names, name)
		s.index[name] = i
		s.status = append(s.status, simLive)
		s.statusAt = append(s.statusAt, 0)
		s.c.add(name, func(conf *Config) {
			conf.Events = simObserver{rec: s.rec, name: name}
			// Without the TCP fallback ping, UDP loss really causes
			// suspicions and refutations instead of being masked.
			conf.DisableTcpPings = true
			for _, mod := range mods {
				mod(conf)
			}
		})
	}
	return s
}

// conf returns the (shared) settings of the nodes.
func (s *simulation) conf() *Config { return s.c.nodes[0].config }

func (s *simulation) now() time.Duration { return time.Since(s.rec.start) }

// violation reports a broken invariant once per kind and pair of nodes,
// and stops the run after simMaxViolations of them.
func (s *simulation) violation(kind string, k simKey, format string, args ...any) {
	s.t.Helper()
	id := kind + " " + k.observer + " " + k.node
	if s.reported[id] {
		return
	}
	s.reported[id] = true
	s.failf(format, args...)
	if len(s.reported) >= simMaxViolations {
		s.fatalf("too many violations; views: %s", s.views())
	}
}

const simMaxViolations = 10

func (s *simulation) failf(format string, args ...any) {
	s.t.Helper()
	s.t.Errorf("seed %d, t=%v: %s", s.seed, s.now(), fmt.Sprintf(format, args...))
}

func (s *simulation) fatalf(format string, args ...any) {
	s.t.Helper()
	s.t.Fatalf("seed %d, t=%v: %s", s.seed, s.now(), fmt.Sprintf(format, args...))
}

func (s *simulation) note(format string, args ...any) {
	s.notes = append(s.notes, fmt.Sprintf("t=%v: ", s.now())+fmt.Sprintf(format, args...))
}

func (s *simulation) report() {
	for _, n := range s.notes {
		s.t.Log(n)
	}
	if s.reaped > 0 {
		s.t.Logf("%d entries came back with a lower incarnation after being reaped", s.reaped)
	}
}

// Timing bounds, from the nodes' settings.

// suspicionMax is the longest a suspicion can run (Lifeguard §IV-B).
func (s *simulation) suspicionMax() time.Duration {
	c := s.conf()
	return time.Duration(c.SuspicionMaxTimeoutMult) * suspicionTimeout(c.SuspicionMult, simNodes, c.ProbeInterval)
}

// settle is how long after loss stops a live node may still be declared
// dead: a suspicion raised under loss may run its full course, and a dead
// message queued under loss may still be gossiped (a suspicion raised
// after the loss is refuted, the network being clean).
func (s *simulation) settle() time.Duration {
	return s.suspicionMax() + 2*s.conf().ProbeInterval
}

// detectBound is how long every live node may take to declare a crashed
// node dead: two probe rounds (the victim may be last in one shuffled
// round and is probed in the next), the probe itself, the longest
// suspicion, and a push/pull interval for the news to reach everyone. The
// probe interval is scaled by the worst health score (Lifeguard §IV-A).
func (s *simulation) detectBound() time.Duration {
	c := s.conf()
	worst := 0
	for i, m := range s.c.nodes {
		if s.status[i] == simLive {
			worst = max(worst, m.GetHealthScore())
		}
	}
	probe := c.ProbeInterval * time.Duration(worst+1)
	return time.Duration(2*(simNodes-1)+1)*probe + s.suspicionMax() + c.PushPullInterval
}

// convergeBound is how long the views may take to agree after a fault
// ends: a suspicion raised just before may run its course before the
// refutation or the death is known, and a push/pull round spreads it.
func (s *simulation) convergeBound() time.Duration {
	return s.detectBound() + s.conf().PushPullInterval
}

// Fault bookkeeping.

// lossOn marks the start of a fault that loses packets.
func (s *simulation) lossOn() {
	s.check()
	if s.open >= 0 {
		s.clean = append(s.clean, simInterval{s.open, s.now()})
	}
	s.open = -1
}

// lossOff marks the end of a lossy fault; the no-false-death rule applies
// again after the settling time.
func (s *simulation) lossOff() {
	s.check()
	s.open = s.now() + s.settle()
}

func (s *simulation) inClean(at time.Duration) bool {
	if s.open >= 0 && at >= s.open {
		return true
	}
	for _, w := range s.clean {
		if at >= w.from && at < w.to {
			return true
		}
	}
	return false
}

// statusAtTime returns the status of node i at virtual time at.
func (s *simulation) statusAtTime(i int, at time.Duration) simStatus {
	if s.status[i] != simLive && at >= s.statusAt[i] {
		return s.status[i]
	}
	return simLive
}

func (s *simulation) setStatus(i int, st simStatus) {
	s.check()
	s.status[i], s.statusAt[i] = st, s.now()
}

// Invariants.

// step lets d of virtual time pass, checking the invariants every
// simCheckEvery.
func (s *simulation) step(d time.Duration) {
	s.t.Helper()
	for end := s.now() + d; s.now() < end; {
		advance(min(simCheckEvery, end-s.now()))
		s.check()
	}
}

// check waits until the bubble is idle at the current instant, then checks
// every invariant against the state tables and the new events.
func (s *simulation) check() {
	s.t.Helper()
	synctest.Wait()
	for i, m := range s.c.nodes {
		if s.status[i] == simCrashed {
			continue
		}
		for name, e := range simTable(m) {
			s.checkEntry(i, name, e)
		}
	}
	s.checkEvents()
}

func (s *simulation) checkEntry(i int, name string, e simEntry) {
	s.t.Helper()
	obs := s.names[i]
	k := simKey{obs, name}
	if prev, ok := s.inc[k]; ok && e.inc < prev {
		if s.entry[k] == e.st {
			s.violation("incarnation", k, "%s holds incarnation %d for %s, after %d", obs, e.inc, name, prev)
		} else {
			s.reaped++
		}
	}
	s.entry[k], s.inc[k] = e.st, e.inc
	j, ok := s.index[name]
	if !ok {
		s.violation("unknown", k, "%s knows an unknown node %q", obs, name)
		return
	}
	switch s.status[j] {
	case simLeft:
		if e.state == StateLeft {
			s.gone[k] = true
		} else if s.gone[k] {
			s.violation("left", k, "%s sees %s as %s after it saw it leave", obs, name, simStateName(e.state))
		}
	case simCrashed:
		if e.state == StateDead {
			s.gone[k] = true
		} else if s.gone[k] {
			s.violation("crashed", k, "%s sees crashed %s as %s after it saw it dead", obs, name, simStateName(e.state))
		}
	case simLive:
		// A death from before the window (under loss) may linger until
		// the node refutes it; one from inside the window is a violation.
		if s.status[i] == simLive && e.state == StateDead && s.inClean(e.changed.Sub(s.rec.start)) {
			s.violation("dead", k, "%s holds live %s as dead since %v, with no loss configured", obs, name, e.changed.Sub(s.rec.start))
		}
	}
}

func (s *simulation) checkEvents() {
	s.t.Helper()
	events := s.rec.since(s.processed)
	s.processed += len(events)
	for _, e := range events {
		j := s.index[e.Node]
		k := simKey{e.Observer, e.Node}
		switch e.Kind {
		case "leave":
			if e.State == StateDead && s.statusAtTime(j, e.At) == simLive && s.inClean(e.At) {
				s.violation("dead", k, "%s declared live %s dead at %v with no loss configured", e.Observer, e.Node, e.At)
			}
			if e.State == StateLeft && s.statusAtTime(j, e.At) != simLeft {
				s.violation("left event", k, "%s saw %s leave at %v, but it never left", e.Observer, e.Node, e.At)
			}
		case "join":
			if s.statusAtTime(j, e.At) != simLive && s.gone[k] {
				s.violation("rejoin", k, "%s saw %s join at %v after it had gone", e.Observer, e.Node, e.At)
			}
		}
	}
}

// views describes what every live node believes, for error messages:
// "n0[AAD-...]", one letter per node (A alive, S suspect, D dead, L left,
// - unknown).
func (s *simulation) views() string { return s.describe(false) }

// describe is views; with gone set, a crashed or left node that is dead,
// left or forgotten shows as x, since when it is reaped is not part of the
// outcome.
func (s *simulation) describe(gone bool) string {
	var b strings.Builder
	for i, m := range s.c.nodes {
		if s.status[i] != simLive {
			continue
		}
		table := simTable(m)
		fmt.Fprintf(&b, "%s[", s.names[i])
		for j, name := range s.names {
			e, ok := table[name]
			switch {
			case gone && s.status[j] != simLive && (!ok || e.state == StateDead || e.state == StateLeft):
				b.WriteString("x")
			case !ok:
				b.WriteString("-")
			default:
				b.WriteString(simStateLetter(e.state))
			}
		}
		b.WriteString("] ")
	}
	return strings.TrimSpace(b.String())
}

func simStateName(st NodeStateType) string {
	return map[NodeStateType]string{StateAlive: "alive", StateSuspect: "suspect", StateDead: "dead", StateLeft: "left"}[st]
}

func simStateLetter(st NodeStateType) string {
	switch st {
	case StateAlive:
		return "A"
	case StateSuspect:
		return "S"
	case StateDead:
		return "D"
	case StateLeft:
		return "L"
	}
	return "?"
}

// converged reports whether every live node sees every live node alive,
// every crashed node dead (or has forgotten it) and every left node left
// (or has forgotten it).
func (s *simulation) converged() bool {
	for i, m := range s.c.nodes {
		if s.status[i] != simLive {
			continue
		}
		table := simTable(m)
		for j, name := range s.names {
			e, ok := table[name]
			switch s.status[j] {
			case simLive:
				if !ok || e.state != StateAlive {
					return false
				}
			case simCrashed:
				if ok && e.state != StateDead {
					return false
				}
			case simLeft:
				if ok && e.state != StateLeft {
					return false
				}
			}
		}
	}
	return true
}

// await steps until cond holds, failing the run after bound.
func (s *simulation) await(what string, bound time.Duration, cond func() bool) {
	s.t.Helper()
	start := s.now()
	for !cond() {
		if s.now()-start > bound {
			s.fatalf("%s did not happen within %v; views: %s", what, bound, s.views())
		}
		s.step(simCheckEvery)
	}
	s.note("%s after %v (bound %v)", what, s.now()-start, bound)
}

func (s *simulation) converge(what string) {
	s.t.Helper()
	s.await(what, s.convergeBound(), s.converged)
}

// checkpoint records the views at a phase boundary.
func (s *simulation) checkpoint(phase string) {
	s.check()
	s.checkpoints = append(s.checkpoints, phase+": "+s.describe(true))
}

// The scenario.

// simFault is how long each fault phase lasts.
const simFault = 2 * time.Second

func (s *simulation) runScenario() {
	s.t.Helper()
	net := s.c.net
	half := [2][]string{s.names[:simNodes/2], s.names[simNodes/2:]}

	// Join and steady state on a perfect network. Each join waits for the
	// bubble to be idle, so the seed node's merge of one joiner does not
	// race with the next join.
	for _, m := range s.c.nodes[1:] {
		if _, err := m.Join([]string{seedAddr(s.c.nodes[0])}); err != nil {
			s.fatalf("join %s: %v", m.config.Name, err)
		}
		synctest.Wait()
	}
	s.checkpoint("join")
	s.converge("join converged")
	s.step(time.Second)
	s.checkpoint("steady")

	// Delay, jitter and reordering, then duplication: no loss.
	net.SetAllLinks(MockLinkFaults{Delay: 2 * time.Millisecond, Jitter: 8 * time.Millisecond})
	s.step(simFault * 3 / 4)
	net.SetAllLinks(MockLinkFaults{Duplicate: 0.3, Jitter: 3 * time.Millisecond})
	s.step(simFault * 3 / 4)
	s.checkpoint("delay and duplication")

	// Random loss with jitter.
	s.lossOn()
	net.SetAllLinks(MockLinkFaults{Loss: 0.15, Jitter: 3 * time.Millisecond})
	s.step(simFault)
	net.SetAllLinks(MockLinkFaults{})
	s.recover("loss")

	// A short partition into two halves: suspicions, maybe a few deaths,
	// then a heal that SWIM must repair on its own (refutation, gossip to
	// the recently dead, push/pull).
	s.lossOn()
	net.Partition(half[0], half[1])
	s.step(simFault / 5)
	net.Heal()
	s.recover("short partition")

	// A partition into two halves long enough for each to declare the
	// other dead, then heal.
	s.lossOn()
	net.Partition(half[0], half[1])
	s.step(simFault + simFault/4)
	net.Heal()
	s.lossOff()
	s.healPartition(half)
	s.hold("partition")

	// One-way loss: most packets to one node are lost, its own go out.
	victim := s.names[simNodes/2+1]
	s.lossOn()
	for _, from := range s.names {
		if from != victim {
			net.SetLink(from, victim, MockLinkFaults{Loss: 0.7})
		}
	}
	s.step(simFault)
	net.SetAllLinks(MockLinkFaults{})
	s.recover("one-way loss")

	// A crash, then a graceful leave. The node that left keeps running
	// past the time its entry is reaped everywhere, and must stay gone.
	s.crash(simNodes - 2)
	s.leave(simNodes - 1)
	s.step(s.conf().GossipToTheDeadTime + time.Second)
	s.checkpoint("end")
}

// recover ends a lossy fault whose links have been repaired: the views
// must converge, and then hold.
func (s *simulation) recover(what string) {
	s.t.Helper()
	s.lossOff()
	s.converge("recovered from " + what)
	s.hold(what)
}

// hold runs on a clean network until the no-false-death rule has been
// checked for simHold, and records a checkpoint.
func (s *simulation) hold(what string) {
	s.t.Helper()
	if rest := s.open + simHold - s.now(); rest > 0 {
		s.step(rest)
	}
	s.checkpoint(what)
}

// simHold is how long each clean window after a fault lasts at least.
const simHold = 750 * time.Millisecond

// healPartition waits for the two halves to merge. SWIM does not contact
// nodes it has declared dead (they are not probed, push/pull picks alive
// nodes only, and gossip reaches them only while broadcasts are queued),
// so a partition that lasted longer than the suspicion timeout is healed
// by a join across it, as Serf's reconnect does. Only if
// the halves have not merged on their own within half a push/pull interval
// is that join made.
func (s *simulation) healPartition(half [2][]string) {
	s.t.Helper()
	start := s.now()
	for s.now()-start < s.conf().PushPullInterval/2 && !s.converged() {
		s.step(simCheckEvery)
	}
	if !s.converged() {
		s.note("halves not merged %v after heal (%s); joining across", s.now()-start, s.views())
		from, to := s.c.nodes[s.index[half[1][0]]], s.c.nodes[s.index[half[0][0]]]
		if _, err := from.Join([]string{seedAddr(to)}); err != nil {
			s.fatalf("join across the healed partition: %v", err)
		}
	}
	s.converge("partition healed")
}

// crash shuts node i down without a leave, and waits for every live node
// to declare it dead.
func (s *simulation) crash(i int) {
	s.t.Helper()
	bound := s.detectBound()
	s.setStatus(i, simCrashed)
	s.c.nodes[i].Shutdown()
	s.await(s.names[i]+" declared dead by all", bound, s.converged)
}

// leave makes node i leave gracefully; it keeps running, so it still
// gossips, probes and pushes its state, and must still be seen as left.
func (s *simulation) leave(i int) {
	s.t.Helper()
	s.setStatus(i, simLeft)
	c := s.conf()
	if err := s.c.nodes[i].Leave(c.PushPullInterval); err != nil {
		s.failf("Leave: %v", err)
	}
	// Gossip of the leave may die out before it reaches everyone (each
	// node sends it retransmitLimit times, to random peers that may know
	// it already); push/pull, in which each node takes part about twice a
	// PushPullInterval, then carries it.
	s.await(s.names[i]+" seen as left by all", 2*c.PushPullInterval+10*c.GossipInterval, s.converged)
}

// simOutcome is what TestSimDeterminism compares.
type simOutcome struct {
	events      []simEvent
	checkpoints []string
}

func (s *simulation) outcome() simOutcome {
	return simOutcome{events: s.rec.since(0), checkpoints: s.checkpoints}
}

// simPerObserver returns the events before until, per observer, in
// delivery order. Delivery order within one observer is meaningful (its
// events are delivered one at a time, in order); the order between
// observers at one instant is not.
func simPerObserver(events []simEvent, until time.Duration) map[string][]string {
	out := make(map[string][]string)
	for _, e := range events {
		if e.At < until {
			out[e.Observer] = append(out[e.Observer], e.String())
		}
	}
	return out
}

// simCommonPrefix compares two traces in canonical order (by time, then
// observer, keeping each observer's delivery order) and returns how many
// events agree before the first difference, and that difference ("" when
// the traces are equal).
func simCommonPrefix(a, b []simEvent) (int, string) {
	canon := func(ev []simEvent) []simEvent {
		ev = slices.Clone(ev)
		slices.SortStableFunc(ev, func(x, y simEvent) int {
			if x.At != y.At {
				return cmp.Compare(x.At, y.At)
			}
			return strings.Compare(x.Observer, y.Observer)
		})
		return ev
	}
	a, b = canon(a), canon(b)
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i, fmt.Sprintf("event %d: %v vs %v", i, a[i], b[i])
		}
	}
	if len(a) != len(b) {
		return min(len(a), len(b)), fmt.Sprintf("lengths %d and %d", len(a), len(b))
	}
	return len(a), ""
}
