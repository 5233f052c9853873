package scoreboard

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// scenario is one fault story, run once per library with the same seed
// and the same timings.
type scenario struct {
	name     string
	serial   bool   // run the libraries one after the other (memory figures)
	oursOnly bool   // hashicorp/memberlist is not run (too slow at this size)
	note     string // printed under the table
	timings  timings
	run      func(w *world) ([]figure, error)
}

// size holds the sizes and durations of the board: full or quick.
type size struct {
	quick bool
	scale float64 // multiplies virtual durations of the long phases
}

func (s size) pick(full, quick int) int {
	if s.quick {
		return quick
	}
	return full
}

func (s size) dur(full, quick time.Duration) time.Duration {
	if s.quick {
		return quick
	}
	return full
}

func lower(name, unit string, v value) figure {
	return figure{Name: name, Unit: unit, Better: "lower", Value: v}
}
func higher(name, unit string, v value) figure {
	return figure{Name: name, Unit: unit, Better: "higher", Value: v}
}

// secs returns d in seconds as a value.
func secs(d time.Duration) value { return num(d.Seconds()) }

// falseDeaths counts NotifyLeave events in evs about subjects not in gone.
func falseDeaths(evs []event, gone map[string]bool) int {
	c := 0
	for _, e := range evs {
		if e.kind == evLeave && !gone[e.subject] {
			c++
		}
	}
	return c
}

// flips counts the join and leave events in evs about subject.
func flips(evs []event, subject string) int {
	c := 0
	for _, e := range evs {
		if e.subject == subject {
			c++
		}
	}
	return c
}

// disagreement returns the fraction of pairs of running observers (other
// than subject) that disagree on whether subject is a member.
func (w *world) disagreement(subject string) float64 {
	k := w.lists(subject)
	m := len(w.running()) - 1
	if m < 2 {
		return 0
	}
	return float64(k*(m-k)) / float64(m*(m-1)/2)
}

// sampler runs fn every period of virtual time for d, between calls of
// step (which may change faults), and returns fn's values.
func (w *world) sample(d, period time.Duration, fn func() float64) []float64 {
	var out []float64
	for end := time.Now().Add(d); time.Now().Before(end); {
		time.Sleep(period)
		out = append(out, fn())
	}
	return out
}

func mean(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// perMinute averages xs, sampled every second, over each minute.
func perMinute(xs []float64) []float64 {
	var out []float64
	for i := 0; i < len(xs); i += 60 {
		out = append(out, mean(xs[i:min(i+60, len(xs))]))
	}
	return out
}

// suspicionBounds returns the Lifeguard suspicion timeout range for n nodes
// (reference §3.2): min = mult × max(1, log10(n)) × interval, max = maxMult × min.
func suspicionBounds(t timings, n int) (time.Duration, time.Duration) {
	scale := math.Max(1, math.Log10(math.Max(1, float64(n))))
	lo := time.Duration(float64(t.SuspicionMult) * scale * float64(t.ProbeInterval))
	return lo, time.Duration(t.SuspicionMaxMult) * lo
}

// lanTimings are DefaultLANConfig's values, written out so that the board
// can compute its reference bounds; both libraries use the same.
func lanTimings() timings {
	return timings{
		ProbeInterval: time.Second, ProbeTimeout: 500 * time.Millisecond,
		GossipInterval: 200 * time.Millisecond, PushPullInterval: 30 * time.Second,
		SuspicionMult: 4, SuspicionMaxMult: 6, GossipToTheDeadTime: 30 * time.Second,
		RetransmitMult: 4, IndirectChecks: 3, AwarenessMaxMult: 8, TCPTimeout: 10 * time.Second,
		GossipNodes: 3,
	}
}

// scenarios returns the board's scenarios at size s.
func scenarios(s size) []scenario {
	var out []scenario
	out = append(out, steady(s))
	for _, loss := range []float64{0.1, 0.2, 0.3} {
		for _, fallback := range []bool{true, false} {
			out = append(out, lossy(s, loss, fallback))
		}
	}
	out = append(out, kill(s))
	out = append(out, flipFlop(s, 20*time.Second), flipFlop(s, 4*time.Second))
	out = append(out, lossyMinority(s), partition(s))
	out = append(out, massRestart(s, true, 0, 0), massRestart(s, true, 0, 35*time.Second))
	out = append(out, massRestart(s, false, 0, 0), massRestart(s, false, 5*time.Second, 0))
	out = append(out, pause(s), tcpDead(s))
	out = append(out, leaveThenShutdown(s), joinStorm(s, s.pick(128, 32), false))
	if !s.quick {
		out = append(out, joinStorm(s, 1000, true))
	}
	out = append(out, resurrection(s), userChurn(s))
	return out
}

func steady(s size) scenario {
	n, d := s.pick(50, 16), s.dur(5*time.Minute, time.Minute)
	return scenario{
		name:    fmt.Sprintf("steady: %d nodes, %v", n, d),
		timings: lanTimings(),
		run: func(w *world) ([]figure, error) {
			names, err := w.startCluster("n", n)
			if err != nil {
				return nil, err
			}
			t0 := time.Now()
			p0, b0 := w.callCount("memberlist.udp.sent"), w.counter("memberlist.udp.sent")
			s0, tb0 := w.counter("memberlist.msg.suspect"), w.counter("memberlist.tcp.sent")
			time.Sleep(d)
			ns := float64(len(names)) * d.Seconds()
			return []figure{
				lower("suspect state changes, all observers", "", num(w.counter("memberlist.msg.suspect")-s0)),
				lower("false deaths", "", num(float64(falseDeaths(w.events.since(t0), nil)))),
				lower("packets per node-second", "", num((w.callCount("memberlist.udp.sent")-p0)/ns)),
				lower("UDP bytes per node-second", "B", num((w.counter("memberlist.udp.sent")-b0)/ns)),
				lower("TCP bytes per node-second", "B", num((w.counter("memberlist.tcp.sent")-tb0)/ns)),
			}, nil
		},
	}
}

func lossy(s size, loss float64, fallback bool) scenario {
	n, d := s.pick(32, 16), s.dur(10*time.Minute, 90*time.Second)
	t := lanTimings()
	t.DisableTCPPings = !fallback
	onoff := map[bool]string{true: "on", false: "off"}[fallback]
	return scenario{
		name:    fmt.Sprintf("loss %.0f%%, TCP fallback %s: %d nodes, %v", loss*100, onoff, n, d),
		timings: t,
		run: func(w *world) ([]figure, error) {
			if _, err := w.startCluster("n", n); err != nil {
				return nil, err
			}
			t0 := time.Now()
			s0, r0 := w.counter("memberlist.msg.suspect"), w.logs.refutes.Load()
			w.net.SetAllLinks(mockLoss(loss))
			time.Sleep(d)
			w.net.SetAllLinks(mockLoss(0))
			return []figure{
				lower("suspect state changes, all observers", "", num(w.counter("memberlist.msg.suspect")-s0)),
				lower("false deaths", "", num(float64(falseDeaths(w.events.since(t0), nil)))),
				lower("refutations", "", num(float64(w.logs.refutes.Load()-r0))),
				lower("max health score", "", num(w.gaugeMax("memberlist.health.score"))),
			}, nil
		},
	}
}

func kill(s size) scenario {
	n, reps := s.pick(64, 24), s.pick(5, 3)
	many := max(1, n/10)
	t := lanTimings()
	lo, hi := suspicionBounds(t, n)
	swim := time.Duration(math.E / (math.E - 1) * float64(t.ProbeInterval))
	return scenario{
		name:    fmt.Sprintf("kill: %d nodes, 1 (%d times) then %d at once (3 times)", n, reps, many),
		timings: t,
		note: fmt.Sprintf("kill: SWIM expects the first probe of a dead node after about e/(e-1) = 1.58 probe periods (%v); "+
			"the suspicion timeout of §3.2 for %d nodes is %v with enough confirmations and %v without, so the first "+
			"detection is expected between %v and %v. Each kill comes 10 s after the previous detection plus a seeded random "+
			"part of the probe interval (the same for both libraries): hashicorp's probe rounds keep the phase of Create, and "+
			"a kill at a fixed delay would land on the same point of them in every run. The figures are means over the "+
			"repetitions (one victim, or %d, each time): one kill varies by about a probe interval.",
			swim.Round(10*time.Millisecond), n, lo.Round(10*time.Millisecond), hi.Round(10*time.Millisecond),
			(swim + lo).Round(10*time.Millisecond), (swim + hi).Round(10*time.Millisecond), many),
		run: func(w *world) ([]figure, error) {
			names, err := w.startCluster("n", n)
			if err != nil {
				return nil, err
			}
			figs := w.killRounds("1 killed", reps, func(i int) []string { return names[n/2+i : n/2+i+1] })
			figs = append(figs, w.killRounds(fmt.Sprintf("%d killed at once", many), 3, func(int) []string {
				rest := w.running()
				return rest[len(rest)-many:]
			})...)
			return figs, nil
		},
	}
}

// killRounds kills victims(i) in round i of rounds, each round 10 s plus a
// random part of the probe interval after the previous one's detection, and
// returns the mean over the rounds of the first and of the last detection,
// with every delay as the series. The last detection is never when a round
// was not detected by every running node.
func (w *world) killRounds(what string, rounds int, victims func(i int) []string) []figure {
	var firsts, lasts, all []float64
	ok := true
	for i := range rounds {
		w.sleepOffGrid(10 * time.Second)
		delays, done := w.detect(victims(i))
		all = append(all, delays...)
		if !done || len(delays) == 0 {
			ok = false
			continue
		}
		firsts, lasts = append(firsts, delays[0]), append(lasts, delays[len(delays)-1])
	}
	first, last := na, never
	if len(firsts) > 0 {
		first = num(mean(firsts))
	}
	if ok {
		last = num(mean(lasts))
	}
	what = fmt.Sprintf("%s, mean of %d", what, rounds)
	f := lower(what+": first detection", "s", first)
	l := lower(what+": last detection", "s", last)
	slices.Sort(all)
	f.Series, l.Series = all, all
	return []figure{f, l}
}

// detect kills victims at once and waits, for at most 3 minutes, until
// every other running node has seen each of them leave. It returns every
// (observer, victim) detection delay, sorted, and whether all came.
func (w *world) detect(victims []string) ([]float64, bool) {
	t0 := time.Now()
	gone := map[string]bool{}
	for _, v := range victims {
		gone[v] = true
		w.kill(v)
	}
	want := len(victims) * len(w.running())
	var delays []float64
	_, ok := w.waitUntil(func() bool {
		delays = delays[:0]
		seen := map[[2]string]bool{}
		for _, e := range w.events.since(t0) {
			k := [2]string{e.observer, e.subject}
			if e.kind == evLeave && gone[e.subject] && !seen[k] {
				seen[k] = true
				delays = append(delays, e.at.Sub(t0).Seconds())
			}
		}
		return len(delays) >= want
	}, 100*time.Millisecond, 3*time.Minute)
	slices.Sort(delays)
	return delays, ok
}
