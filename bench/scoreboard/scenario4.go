package scoreboard

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"time"
)

// userChurnPlan is the shape of the user-broadcast scenario.
type userChurnPlan struct {
	nodes    int           // cluster size before the churn
	settle   time.Duration // quiet time between the formation and the churn
	issueFor time.Duration // user broadcasts are issued for this long
	warmup   time.Duration // churn before the first broadcast
	capd     time.Duration // how long each broadcast is given to reach every node
	step     time.Duration // one churn action every step: join, kill, join, leave
	every    int           // a user broadcast every this many steps
	metaSize int           // bytes of NodeMeta of every node
	msgSizes []int         // bytes of the user messages, used in turn
}

// userChurn (upstream #299): while nodes keep joining, leaving and dying,
// which keeps membership broadcasts queued, random nodes issue user
// broadcasts through their Delegate's TransmitLimitedQueue. How long until
// every running node has each one?
func userChurn(s size) scenario {
	p := userChurnPlan{
		nodes: s.pick(300, 48), settle: s.dur(time.Minute, 20*time.Second), warmup: 5 * time.Second, issueFor: 30 * time.Second, capd: 20 * time.Second,
		step: s.dur(125*time.Millisecond, time.Second), every: s.pick(12, 2), metaSize: 128, msgSizes: []int{64, 512},
	}
	t := lanTimings()
	t.QueueCheckInterval = time.Second
	return scenario{
		name: fmt.Sprintf("user broadcasts under churn: %d nodes, a join, leave or kill every %v, a broadcast every %v for %v",
			p.nodes, p.step, time.Duration(p.every)*p.step, p.issueFor),
		timings: t,
		note: fmt.Sprintf("user broadcasts under churn: the cluster is formed by joins one after the other (at most 1 min for every "+
			"view to be whole) and left quiet for %v, so that every node has gossiped what it learnt while the cluster formed (an alive message per member: at 300 nodes they take about 40 s to go out) and the libraries start the churn alike; the first quarter of its nodes are stable: they issue the broadcasts and are the joiners' seeds, and "+
			"the churn kills or stops the others and new nodes. Every node advertises %d bytes of NodeMeta; the user messages are of %v bytes in turn, "+
			"queued on the issuing node's TransmitLimitedQueue (RetransmitMult 4) and queued again by each node that receives it; "+
			"a broadcast has reached every node when every node running at its issue has it, except nodes stopped without it "+
			"within %v. Ours runs with its default UserBroadcastShare (0.25 of the gossip packets reserved for the Delegate while "+
			"membership messages would fill them, the unspent share of a packet saved up to one packet); hashicorp/memberlist gives the Delegate what its own messages leave. "+
			"The queue samples are every node's memberlist.queue.broadcasts, every second, from the start of the churn.",
			p.settle, p.metaSize, p.msgSizes, p.capd),
		run: func(w *world) ([]figure, error) { return runUserChurn(w, p) },
	}
}

// churner drives the churn of a userChurn run: it starts, joins, kills
// and stops nodes, never one of the stable ones.
type churner struct {
	w       *world
	rng     *rand.Rand
	stable  []string
	stopped map[string]time.Time
	joins   int
	failed  int // Join calls that failed
	seq     int
}

// act performs churn action i: a join, a kill, a join, a leave, in turn.
func (c *churner) act(i int) error {
	switch i % 4 {
	case 0, 2:
		name := fmt.Sprintf("j%04d", c.seq)
		c.seq++
		if err := c.w.startNode(name); err != nil {
			return err
		}
		c.joins++
		if _, err := c.w.nodes[name].join([]string{c.w.addr(c.pick(c.stable))}); err != nil {
			c.failed++
		}
	case 1, 3:
		victim := c.pick(c.churnable())
		if i%4 == 3 {
			c.w.nodes[victim].leave(time.Second)
		}
		c.w.kill(victim)
		c.stopped[victim] = time.Now()
	}
	return nil
}

// churnable returns the running nodes that are not stable.
func (c *churner) churnable() []string {
	var out []string
	for _, name := range c.w.running() {
		if !slices.Contains(c.stable, name) {
			out = append(out, name)
		}
	}
	return out
}

func (c *churner) pick(names []string) string { return names[c.rng.IntN(len(names))] }

// runUserChurn forms the cluster, runs the churn with its broadcasts, and
// returns the figures: per message size, then the queue, the traffic and
// the joins.
func runUserChurn(w *world, p userChurnPlan) ([]figure, error) {
	w.user = newUserLog(p.metaSize)
	names, failed, err := w.formCluster("n", p.nodes, time.Minute)
	if err != nil {
		return nil, err
	}
	wrong := w.wrongPairs(names, names)
	time.Sleep(p.settle)
	c := &churner{w: w, rng: rand.New(rand.NewPCG(w.seed, 299)), stable: names[:p.nodes/4], stopped: map[string]time.Time{}, failed: failed}
	q0 := w.sink.sampleCount(w.run, queueKey)
	p0, b0, t0 := w.callCount("memberlist.udp.sent"), w.counter("memberlist.udp.sent"), time.Now()
	bs, err := c.churnAndBroadcast(p)
	if err != nil {
		return nil, err
	}
	queued := w.sink.sampleValues(w.run, queueKey, q0)
	ns := float64(p.nodes) * time.Since(t0).Seconds()
	var figs []figure
	for k, size := range p.msgSizes {
		var of []userBcast
		for i := k; i < len(bs); i += len(p.msgSizes) {
			of = append(of, bs[i])
		}
		figs = append(figs, userFigures(fmt.Sprintf("%d-byte user broadcasts", size), of, w.user, c.stopped, p.capd)...)
	}
	qm, q9 := quantile(queued, 0.5), quantile(queued, 0.9)
	return append(figs,
		lower("membership messages queued at a node: median of 1 s samples", "", qm),
		lower("membership messages queued at a node: 90th percentile of 1 s samples", "", q9),
		lower("packets sent per node-second", "", num((w.callCount("memberlist.udp.sent")-p0)/ns)),
		lower("UDP bytes sent per node-second", "B", num((w.counter("memberlist.udp.sent")-b0)/ns)),
		lower("wrong pairs when the churn began", "", num(float64(wrong))),
		lower("Join calls that failed", fmt.Sprintf("of %d", p.nodes-1+c.joins), num(float64(c.failed))),
	), nil
}

// formCluster starts n nodes named prefix00, prefix01, ... and joins each
// to the first, one after the other, then waits at most wait for every view
// to be whole. Unlike startCluster it goes on when one is not: at a few
// hundred nodes an alive message that missed a node is repaired only by a
// push/pull, whose interval grows with the cluster, so waiting for the
// last view can take minutes of virtual time. It returns the names and how
// many Join calls failed.
func (w *world) formCluster(prefix string, n int, wait time.Duration) ([]string, int, error) {
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("%s%02d", prefix, i)
		if err := w.startNode(names[i]); err != nil {
			return nil, 0, err
		}
	}
	failed := 0
	seed := w.addr(names[0])
	for _, name := range names[1:] {
		if _, err := w.nodes[name].join([]string{seed}); err != nil {
			failed++
		}
	}
	w.waitUntil(func() bool { return w.converged(names) }, 100*time.Millisecond, wait)
	return names, failed, nil
}

// churnAndBroadcast runs the churn, one action every p.step, and issues a
// user broadcast every p.every steps after the warm-up, of each size of
// p.msgSizes in turn, from a random stable node. After the last one it
// churns on until no broadcast younger than p.capd is missing at a running
// node. It returns the broadcasts.
func (c *churner) churnAndBroadcast(p userChurnPlan) ([]userBcast, error) {
	w := c.w
	var bs []userBcast
	t0 := time.Now()
	for i := 0; ; i++ {
		since := time.Since(t0)
		if since >= p.warmup+p.issueFor && !pending(bs, w.user.received, c.stopped, p.capd) {
			return bs, nil
		}
		if i%p.every == 0 && since >= p.warmup && since < p.warmup+p.issueFor {
			size := p.msgSizes[len(bs)%len(p.msgSizes)]
			b := userBcast{msg: userMessage(len(bs), size), at: time.Now(), targets: w.running()}
			w.nodes[c.pick(c.stable)].broadcast([]byte(b.msg))
			bs = append(bs, b)
		}
		if err := c.act(i); err != nil {
			return nil, err
		}
		time.Sleep(time.Until(t0.Add(time.Duration(i+1) * p.step)))
	}
}

// userFigures returns the delivery figures of the broadcasts bs, named
// after what.
func userFigures(what string, bs []userBcast, u *userLog, stopped map[string]time.Time, capd time.Duration) []figure {
	ds, missing := deliveryTimes(bs, u.received, stopped, capd)
	undelivered := 0
	var series []float64
	for _, d := range ds {
		if d < 0 {
			undelivered++
		} else {
			series = append(series, d.Seconds())
		}
	}
	med, longest := deliveryFigures(ds)
	mf := lower(what+": median time until at every running node", "s", med)
	mf.Series = series
	return []figure{
		mf,
		lower(what+": longest time until at every running node", "s", longest),
		lower(fmt.Sprintf("%s: not at every running node within %v", what, capd), fmt.Sprintf("of %d", len(bs)), num(float64(undelivered))),
		lower(what+": (broadcast, node) pairs missing at the cap", "", num(float64(missing))),
	}
}

// queueKey is the sample of the broadcast queue's length both libraries
// take every Config.QueueCheckInterval.
const queueKey = "memberlist.queue.broadcasts"

// quantile returns the q-quantile of xs (the nearest rank), or n/a when xs
// is empty.
func quantile(xs []float32, q float64) value {
	if len(xs) == 0 {
		return na
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return num(float64(s[int(q*float64(len(s)-1))]))
}

// pending reports whether a broadcast of bs may still reach a node that
// lacks it: one issued less than capd ago that some running target lacks.
func pending(bs []userBcast, got func(msg, node string) (time.Time, bool), stopped map[string]time.Time, capd time.Duration) bool {
	for _, b := range bs {
		if time.Since(b.at) >= capd {
			continue
		}
		for _, x := range b.targets {
			if _, ok := got(b.msg, x); !ok && stopped[x].IsZero() {
				return true
			}
		}
	}
	return false
}

// userMessage returns user message number i, padded to size bytes.
func userMessage(i, size int) string {
	m := fmt.Sprintf("user-%04d ", i)
	for len(m) < size {
		m += "."
	}
	return m
}
