package scoreboard

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	ours "github.com/gossip-go/memberlist"
)

func mockLoss(p float64) ours.MockLinkFaults { return ours.MockLinkFaults{Loss: p} }

// setInbound sets the faults of every link into subject.
func (w *world) setInbound(subject string, f ours.MockLinkFaults) {
	for _, name := range w.names {
		if name != subject {
			w.net.SetLink(name, subject, f)
		}
	}
}

// flipFlop is Rapid's test: one node loses all inbound packets for period,
// then none for period, and so on.
func flipFlop(s size, period time.Duration) scenario {
	n, d := s.pick(32, 16), s.dur(5*time.Minute, 2*time.Minute)
	return scenario{
		name:    fmt.Sprintf("flip-flop: inbound packets and streams dead %v on/off: %d nodes, %v", period, n, d),
		timings: lanTimings(),
		run: func(w *world) ([]figure, error) {
			names, err := w.startCluster("n", n)
			if err != nil {
				return nil, err
			}
			x := names[n-1]
			t0 := time.Now()
			var dis []float64
			for on := true; time.Since(t0) < d; on = !on {
				f := ours.MockNodeFaults{}
				if on {
					f = ours.MockNodeFaults{InLoss: 1, Streams: ours.MockStreamRefuse}
				}
				w.net.SetNode(x, f)
				dis = append(dis, w.sample(min(period, d-time.Since(t0)), time.Second, func() float64 { return w.disagreement(x) })...)
			}
			w.net.SetNode(x, ours.MockNodeFaults{})
			evs := w.events.since(t0)
			dg := lower("mean disagreement about it", "fraction of pairs", num(mean(dis)))
			dg.Series = perMinute(dis)
			return []figure{
				lower("flips of the flapping node", "events", num(float64(flips(evs, x)))),
				dg,
				lower("false deaths of healthy nodes", "", num(float64(falseDeaths(evs, map[string]bool{x: true})))),
			}, nil
		},
	}
}

// lossyMinority is Rapid's test: 80 % loss on every link of 1 % of nodes.
func lossyMinority(s size) scenario {
	n, d := s.pick(100, 32), s.dur(5*time.Minute, 2*time.Minute)
	t := lanTimings()
	t.DisableTCPPings = true
	return scenario{
		name:    fmt.Sprintf("lossy minority 80%% on 1%%, TCP fallback off: %d nodes, %v", n, d),
		timings: t,
		run: func(w *world) ([]figure, error) {
			names, err := w.startCluster("n", n)
			if err != nil {
				return nil, err
			}
			bad := names[n-max(1, n/100):]
			gone := map[string]bool{}
			for _, b := range bad {
				gone[b] = true
				w.net.SetNode(b, ours.MockNodeFaults{InLoss: 0.8, OutLoss: 0.8})
			}
			t0 := time.Now()
			dis := w.sample(d, time.Second, func() float64 {
				s := 0.0
				for _, b := range bad {
					s += w.disagreement(b)
				}
				return s / float64(len(bad))
			})
			evs := w.events.since(t0)
			fl := 0
			for _, b := range bad {
				fl += flips(evs, b)
			}
			dg := lower("mean disagreement about them", "fraction of pairs", num(mean(dis)))
			dg.Series = perMinute(dis)
			return []figure{
				lower("flips of the faulty nodes", "events", num(float64(fl))),
				lower("false deaths of healthy nodes", "", num(float64(falseDeaths(evs, gone)))),
				dg,
			}, nil
		},
	}
}

// partition splits the cluster 60/40 long enough for each side to declare
// the other dead, heals it, and waits for every view to be whole again.
func partition(s size) scenario {
	n, hold, capd := s.pick(40, 16), s.dur(2*time.Minute, time.Minute), s.dur(10*time.Minute, 3*time.Minute)
	return scenario{
		name:    fmt.Sprintf("partition %d/%d for %v, healed", n*6/10, n-n*6/10, hold),
		timings: lanTimings(),
		run: func(w *world) ([]figure, error) {
			names, err := w.startCluster("n", n)
			if err != nil {
				return nil, err
			}
			w.net.Partition(names[:n*6/10], names[n*6/10:])
			time.Sleep(hold)
			before := w.wrongPairs(names, names)
			w.net.Heal()
			heal := w.timeUntilConverged(names, time.Second, capd)
			return []figure{
				lower("wrong pairs before the heal", "", num(float64(before))),
				lower("time until all views whole", "s", heal),
				lower(fmt.Sprintf("wrong pairs %v after the heal", capd), "", num(float64(w.wrongPairs(names, names)))),
			}, nil
		},
	}
}

// raiseIncarnations has every named node call UpdateNode rounds times, all
// nodes at once.
func (w *world) raiseIncarnations(names []string, rounds int) {
	var wg sync.WaitGroup
	for _, name := range names {
		n := w.nodes[name]
		wg.Go(func() {
			for range rounds {
				n.updateNode(5 * time.Second)
			}
		})
	}
	wg.Wait()
}

// massRestart raises every incarnation, kills half the nodes, waits until
// the survivors have declared them dead, and restarts them with the same
// names, on new addresses (sameAddr false) or their old ones. With after
// > 0 the restart waits that long after the deaths: past
// GossipToTheDeadTime, some survivors have reaped the dead nodes and others
// still hold them dead at their raised incarnations, so a restarted node
// that joins a survivor which reaped it is accepted there at incarnation 1,
// and its alive is stale everywhere else (upstream #311).
func massRestart(s size, sameAddr bool, reclaim, after time.Duration) scenario {
	n := s.pick(40, 16)
	t := lanTimings()
	t.DeadNodeReclaimTime, t.ReclaimTimeSet = reclaim, true
	where := map[bool]string{true: "same addresses", false: "new addresses"}[sameAddr]
	if after > 0 {
		where += fmt.Sprintf(", %v after their deaths", after)
	}
	return scenario{
		name:    fmt.Sprintf("mass restart of %d/%d on %s, DeadNodeReclaimTime %v", n/2, n, where, reclaim),
		timings: t,
		run: func(w *world) ([]figure, error) {
			names, err := w.startCluster("n", n)
			if err != nil {
				return nil, err
			}
			w.raiseIncarnations(names, 20)
			half, rest := names[n/2:], names[:n/2]
			for _, v := range half {
				w.kill(v)
			}
			if _, ok := w.waitUntil(func() bool { return w.wrongPairs(rest, rest) == 0 }, 100*time.Millisecond, 2*time.Minute); !ok {
				return nil, fmt.Errorf("survivors did not declare the killed half dead")
			}
			time.Sleep(after)
			for i, v := range half {
				if err := w.restart(v, sameAddr); err != nil {
					return nil, err
				}
				w.nodes[v].join([]string{w.addr(rest[i%len(rest)])})
			}
			v := w.timeUntilConverged(names, 100*time.Millisecond, 5*time.Minute)
			return []figure{
				lower("time until every view is correct", "s", v),
				lower("wrong pairs at the end", "", num(float64(w.wrongPairs(names, names)))),
			}, nil
		},
	}
}

// restart starts a stopped node again under the same name: on its old
// address when sameAddr, else on a new one.
func (w *world) restart(name string, sameAddr bool) error {
	if sameAddr {
		return w.restartSameAddr(name)
	}
	return w.startNode(name)
}

// leaveThenShutdown: a node calls Leave and Shutdown right after, many
// times; does any observer see a failure instead of a leave?
func leaveThenShutdown(s size) scenario {
	n, reps := 8, s.pick(20, 5)
	return scenario{
		name:    fmt.Sprintf("leave then shutdown: %d repetitions, %d nodes", reps, n),
		timings: lanTimings(),
		run: func(w *world) ([]figure, error) {
			names, err := w.startCluster("n", n-1)
			if err != nil {
				return nil, err
			}
			failed := 0
			for i := range reps {
				x := fmt.Sprintf("leaver%02d", i)
				if err := w.startNode(x); err != nil {
					return nil, err
				}
				w.nodes[x].join([]string{w.addr(names[0])})
				all := append(append([]string(nil), names...), x)
				if _, ok := w.waitUntil(func() bool { return w.converged(all) }, 100*time.Millisecond, time.Minute); !ok {
					return nil, fmt.Errorf("%s did not join", x)
				}
				w.nodes[x].leave(time.Second)
				w.kill(x)
				time.Sleep(20 * time.Second)
				if w.logs.failures(x) > 0 || w.lists(x) > 0 {
					failed++
				}
			}
			return []figure{lower("repetitions seen as a failure", "of "+fmt.Sprint(reps), num(float64(failed)))}, nil
		},
	}
}

// joinStorm: n nodes join one seed at once.
func joinStorm(s size, n int, oursOnly bool) scenario {
	return scenario{
		name:     fmt.Sprintf("join storm: %d nodes through one seed", n),
		serial:   true,
		oursOnly: oursOnly,
		timings:  lanTimings(),
		run: func(w *world) ([]figure, error) {
			m0 := liveHeap()
			names := make([]string, n)
			for i := range names {
				names[i] = fmt.Sprintf("n%04d", i)
				if err := w.startNode(names[i]); err != nil {
					return nil, err
				}
			}
			seed := w.addr(names[0])
			var wg sync.WaitGroup
			var failed atomic.Int64
			t0 := time.Now()
			for _, name := range names[1:] {
				nd := w.nodes[name]
				wg.Go(func() {
					if _, err := nd.join([]string{seed}); err != nil {
						failed.Add(1)
					}
				})
			}
			wg.Wait()
			joined := secs(time.Since(t0))
			v := w.timeUntilConverged(names, 100*time.Millisecond, 10*time.Minute)
			m1 := liveHeap()
			return []figure{
				lower("time until every node lists all", "s", v),
				lower("time until every Join returned", "s", joined),
				lower("Join calls that failed", "", num(float64(failed.Load()))),
				lower("wrong pairs at the end", "", num(float64(w.wrongPairs(names, names)))),
				lower("heap per node", "KiB", num(float64(m1-m0)/1024/float64(n))),
				lower("warnings and errors logged", "", num(float64(w.logs.warns.Load()))),
			}, nil
		},
	}
}

// resurrection: a node refreshes its alive, then leaves; the packets that
// reach one observer in the second around the leave are delayed by a
// minute (a packet stuck in a slow path), so the stale alive arrives after
// the cluster has reaped the gone node.
func resurrection(s size) scenario {
	n := s.pick(16, 10)
	return scenario{
		name:    fmt.Sprintf("resurrection: %d nodes, a stale alive arrives after the reap", n),
		timings: lanTimings(),
		run: func(w *world) ([]figure, error) {
			names, err := w.startCluster("n", n)
			if err != nil {
				return nil, err
			}
			x, z := names[n-1], names[1]
			w.setInbound(z, ours.MockLinkFaults{Delay: 75 * time.Second})
			w.nodes[x].updateNode(time.Second)
			w.nodes[x].leave(time.Second)
			w.kill(x)
			time.Sleep(time.Second)
			w.setInbound(z, ours.MockLinkFaults{})
			t0 := time.Now()
			listing := w.sample(3*time.Minute, time.Second, func() float64 { return float64(w.lists(x)) })
			joins, maxList, obsSec := 0, 0.0, 0.0
			for _, e := range w.events.since(t0) {
				if e.subject == x && e.kind == evJoin {
					joins++
				}
			}
			for _, l := range listing[60:] {
				maxList = max(maxList, l)
				obsSec += l
			}
			f := lower("observer-seconds listing the gone node after its reap", "", num(obsSec))
			f.Series = listing
			return []figure{
				lower("NotifyJoin of the gone node", "events", num(float64(joins))),
				lower("most observers listing it at once after its reap", "", num(maxList)),
				f,
			}, nil
		},
	}
}

// liveHeap returns the bytes of live heap objects after two collections
// (the second also empties the sync.Pools the first moved to their victim
// caches).
func liveHeap() int64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}
