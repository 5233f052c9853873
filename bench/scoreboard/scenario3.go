package scoreboard

import (
	"fmt"
	"slices"
	"time"

	ours "github.com/gossip-go/memberlist"
)

// pause freezes one node at a time for 8 s (a long GC pause or a stopped
// VM), reps times, a different node each time. 8 s is near the suspicion
// timeout, so a single pause is a coin flip; the repetitions make a rate.
func pause(s size) scenario {
	n, hold, reps := s.pick(32, 16), 8*time.Second, s.pick(10, 3)
	return scenario{
		name:    fmt.Sprintf("pause: 1 of %d frozen for %v, %d times", n, hold, reps),
		timings: lanTimings(),
		run: func(w *world) ([]figure, error) {
			names, err := w.startCluster("n", n)
			if err != nil {
				return nil, err
			}
			t0 := time.Now()
			dead, worst := 0, value{}
			observers := 0
			for i := range reps {
				x := names[(i*7+1)%n]
				ti := time.Now()
				w.net.Pause(x)
				time.Sleep(hold)
				w.net.Resume(x)
				if v := w.timeUntilConverged(names, 100*time.Millisecond, 2*time.Minute); v.Never || (!worst.Never && v.V > worst.V) {
					worst = v
				}
				c := 0
				for _, e := range w.events.since(ti) {
					if e.subject == x && e.kind == evLeave {
						c++
					}
				}
				if c > 0 {
					dead++
				}
				observers += c
				time.Sleep(20 * time.Second)
			}
			others := 0
			for _, e := range w.events.since(t0) {
				if e.kind == evLeave && !isPaused(e.subject, names, reps, n) && !isPaused(e.observer, names, reps, n) {
					others++
				}
			}
			return []figure{
				lower(fmt.Sprintf("pauses that ended in a death (of %d)", reps), "", num(float64(dead))),
				lower("observers declaring the paused node dead, per pause", "", num(float64(observers)/float64(reps))),
				lower("false deaths of others, seen by nodes never paused", "", num(float64(others))),
				lower("longest time after resume until every view is whole", "s", worst),
			}, nil
		},
	}
}

// isPaused reports whether name is one of the nodes pause paused. A paused
// node's own timers run on (MockNetwork.Pause cannot freeze goroutines), so
// what it concludes about others is not counted.
func isPaused(name string, names []string, reps, n int) bool {
	for i := range reps {
		if name == names[(i*7+1)%n] {
			return true
		}
	}
	return false
}

// tcpDead: one node's streams all fail while its packets flow.
func tcpDead(s size) scenario {
	n, d := s.pick(16, 8), s.dur(60*time.Second, 60*time.Second)
	return scenario{
		name:    fmt.Sprintf("TCP dead: 1 of %d refuses every stream for %v, UDP fine", n, d),
		timings: lanTimings(),
		run: func(w *world) ([]figure, error) {
			names, err := w.startCluster("n", n)
			if err != nil {
				return nil, err
			}
			x := names[n/2]
			t0 := time.Now()
			s0, w0 := w.counter("memberlist.msg.suspect"), w.logs.warns.Load()
			w.net.ResetStats()
			w.net.SetNode(x, ours.MockNodeFaults{Streams: ours.MockStreamRefuse})
			firstRefused, firstReport := time.Duration(-1), time.Duration(-1)
			mostReporting := 0.0
			health := w.sample(d, time.Second, func() float64 {
				if firstRefused < 0 && w.net.TotalStats().StreamsRefused > 0 {
					firstRefused = time.Since(t0)
				}
				r := w.reporting(names, x)
				if r > 0 && firstReport < 0 {
					firstReport = time.Since(t0)
				}
				mostReporting = max(mostReporting, float64(r))
				return float64(w.nodes[x].health())
			})
			reported := secs(firstReport - firstRefused)
			if firstReport < 0 {
				reported = never
			}
			refused := w.net.TotalStats().StreamsRefused
			w.net.SetNode(x, ours.MockNodeFaults{})
			maxH := 0.0
			for _, h := range health {
				maxH = max(maxH, h)
			}
			evs := w.events.since(t0)
			return []figure{
				higher("suspect state changes, all observers", "", num(w.counter("memberlist.msg.suspect")-s0)),
				lower("false deaths", "", num(float64(falseDeaths(evs, nil)))),
				higher("its max health score", "", num(maxH)),
				higher("warnings and errors logged", "", num(float64(w.logs.warns.Load()-w0))),
				lower("streams refused", "", num(float64(refused))),
				lower("from the first refused stream to the first report (StreamFailures)", "s", reported),
				higher("nodes reporting it, or it reporting a peer, most at once", "", num(mostReporting)),
			}, nil
		},
	}
}

// reporting returns how many of the named nodes report x as reachable
// over packets only, counting x itself when it reports any peer (its own
// streams fail, so it fails to reach everyone).
func (w *world) reporting(names []string, x string) int {
	n := 0
	for _, name := range names {
		nd, ok := w.nodes[name]
		if !ok {
			continue
		}
		if f := nd.streamFailures(); slices.Contains(f, x) || (name == x && len(f) > 0) {
			n++
		}
	}
	return n
}
