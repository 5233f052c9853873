package scoreboard

import (
	"fmt"
	"slices"
	"time"

	ours "github.com/gossip-go/memberlist"
)

// pause freezes one node for 8 s (a long GC pause or a stopped VM).
func pause(s size) scenario {
	n, hold := s.pick(32, 16), 8*time.Second
	return scenario{
		name:    fmt.Sprintf("pause: 1 of %d frozen for %v", n, hold),
		timings: lanTimings(),
		run: func(w *world) ([]figure, error) {
			names, err := w.startCluster("n", n)
			if err != nil {
				return nil, err
			}
			x := names[n/2]
			t0 := time.Now()
			w.net.Pause(x)
			time.Sleep(hold)
			w.net.Resume(x)
			took, ok := w.waitUntil(func() bool { return w.converged(names) }, 100*time.Millisecond, 3*time.Minute)
			back := secs(took)
			if !ok {
				back = never
			}
			evs := w.events.since(t0)
			deaths := 0
			for _, e := range evs {
				if e.subject == x && e.kind == evLeave {
					deaths++
				}
			}
			return []figure{
				lower("observers that declared it dead", "", num(float64(deaths))),
				lower("false deaths of others", "", num(float64(falseDeaths(evs, map[string]bool{x: true})))),
				lower("time after resume until every view is whole", "s", back),
			}, nil
		},
	}
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
