package interop

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"
)

// TestMixedCluster runs three nodes of ours and three of theirs, joined
// through a seed of either kind, through the life of a cluster: join,
// user broadcasts, reliable and best-effort messages, LocalState crossing
// on join and push/pull, meta updates, failure without Leave, and Leave.
func TestMixedCluster(t *testing.T) {
	t.Parallel()
	for _, seed := range kinds() {
		t.Run("seed="+string(seed), func(t *testing.T) {
			t.Parallel()
			mixedCluster(t, seed)
		})
	}
}

// cluster is perKind nodes of each kind: o1, o2, ... ours and h1, h2, ...
// theirs, each with meta "meta-<name>", LocalState "state-<name>" and
// relaying user messages, and one of them the seed.
type cluster struct {
	all        []node
	o, h       []node
	seed, rest []node
}

// newCluster starts the nodes of a cluster whose seed is o1 or h1; opts,
// if not nil, changes the options of each node (i counts from 0 within a
// kind).
func newCluster(t *testing.T, seed kind, perKind int, opts func(o nodeOpts, i int) nodeOpts) *cluster {
	c := &cluster{}
	for i := 0; i < perKind; i++ {
		for _, k := range kinds() {
			name := fmt.Sprintf("o%d", i+1)
			if k == kindTheirs {
				name = fmt.Sprintf("h%d", i+1)
			}
			o := nodeOpts{Name: name, Meta: []byte("meta-" + name), State: []byte("state-" + name), Relay: true}
			if opts != nil {
				o = opts(o, i)
			}
			n := newNode(t, k, o)
			c.all = append(c.all, n)
			if k == kindOurs {
				c.o = append(c.o, n)
			} else {
				c.h = append(c.h, n)
			}
		}
	}
	s := c.o[0]
	if seed == kindTheirs {
		s = c.h[0]
	}
	c.seed = []node{s}
	for _, n := range c.all {
		if n != s {
			c.rest = append(c.rest, n)
		}
	}
	return c
}

// join joins every other node to the seed, giving the seed's address in
// both forms, and waits until every node lists every node.
func (c *cluster) join(t *testing.T) {
	t.Helper()
	s := c.seed[0]
	for i, n := range c.rest {
		addr := s.Addr()
		if i%2 == 1 {
			addr = s.Name() + "/" + addr // both address forms
		}
		if got, err := n.Join(addr); got != 1 || err != nil {
			t.Fatalf("%s/%s join %s: %d, %v", n.Kind(), n.Name(), addr, got, err)
		}
	}
	all := nodeNames(c.all)
	waitFor(t, 20*time.Second, fmt.Sprintf("%d members everywhere", len(all)), func() error { return allSee(c.all, all) })
}

func mixedCluster(t *testing.T, seed kind) {
	c := newCluster(t, seed, 3, nil)
	start := time.Now()
	phase := func(what string) { t.Logf("%6.2fs %s", time.Since(start).Seconds(), what) }
	c.join(t)
	phase("joined")
	checkMembers(t, c.all)
	checkJoinState(t, c)

	clusterMessages(t, c)
	phase("messages delivered")
	checkPushPullState(t, c)
	phase("push/pull state crossed")
	clusterUpdates(t, c)
	phase("meta updated")

	// Failure: o2 and h2 stop without leaving.
	failed := []node{c.o[1], c.h[1]}
	live := []node{c.o[0], c.h[0], c.o[2], c.h[2]}
	for _, n := range failed {
		n.Shutdown()
	}
	waitGone(t, live, failed, "failed")
	phase("failed nodes gone")

	// Leave: o3 and h3 leave but keep running, so only their leave
	// message (not a failed probe) can remove them.
	leavers := []node{c.o[2], c.h[2]}
	live = []node{c.o[0], c.h[0]}
	for _, n := range leavers {
		if err := n.Leave(10 * time.Second); err != nil {
			t.Errorf("%s/%s Leave: %v", n.Kind(), n.Name(), err)
		}
	}
	phase("left")
	waitGone(t, live, leavers, "left")
	phase("left nodes gone")
	for _, n := range leavers {
		if slices.Contains(names(n.Members()), n.Name()) {
			t.Errorf("%s/%s lists itself after leaving", n.Kind(), n.Name())
		}
	}
}

// checkMembers checks what every node reports about every other: address,
// port, meta and versions.
func checkMembers(t *testing.T, ns []node) {
	t.Helper()
	for _, o := range ns {
		for _, n := range ns {
			m, _ := findMember(o.Members(), n.Name())
			want := member{Name: n.Name(), Addr: "127.0.0.1", Port: uint16(n.Port()), Meta: []byte("meta-" + n.Name()),
				PMin: 1, PMax: 5, PCur: 2}
			if fmt.Sprint(m) != fmt.Sprint(want) {
				t.Errorf("%s/%s sees %+v, want %+v", o.Kind(), o.Name(), m, want)
			}
		}
	}
}

// checkJoinState waits until LocalState has crossed on every join, both
// ways. (The seed merges after it has replied, so Join may return first.)
func checkJoinState(t *testing.T, c *cluster) {
	t.Helper()
	s := c.seed[0]
	waitFor(t, 20*time.Second, "LocalState crossing on join", func() error {
		var errs []error
		for _, n := range c.rest {
			if !n.Del().merged("state-"+s.Name(), true) {
				errs = append(errs, fmt.Errorf("%s/%s did not merge the seed's state on join: %v", n.Kind(), n.Name(), n.Del().mergeList()))
			}
			if !s.Del().merged("state-"+n.Name(), true) {
				errs = append(errs, fmt.Errorf("seed %s/%s did not merge %s's state on join", s.Kind(), s.Name(), n.Name()))
			}
		}
		return errors.Join(errs...)
	})
}

// checkPushPullState waits until every node has merged, in a periodic
// push/pull, the state of a node of the other kind.
func checkPushPullState(t *testing.T, c *cluster) {
	waitFor(t, 20*time.Second, "periodic push/pull across kinds", func() error {
		var errs []error
		for _, n := range c.all {
			others := c.h
			if n.Kind() == kindTheirs {
				others = c.o
			}
			if !slices.ContainsFunc(others, func(o node) bool { return n.Del().merged("state-"+o.Name(), false) }) {
				errs = append(errs, fmt.Errorf("%s/%s has no push/pull state from the other kind", n.Kind(), n.Name()))
			}
		}
		return errors.Join(errs...)
	})
}

// clusterMessages sends a user broadcast from one node of each kind and
// reliable and best-effort messages across kinds, both ways.
func clusterMessages(t *testing.T, c *cluster) {
	broadcastsReachAll(t, "broadcast", []node{c.o[0], c.h[0]}, c.all)
	directMessages(t, [][2]node{{c.o[1], c.h[1]}, {c.h[1], c.o[1]}, {c.o[2], c.h[2]}, {c.h[2], c.o[2]}})
}

// broadcastsReachAll queues the user broadcast "<tag>-from-<name>" at
// each origin and waits until every other node in all has received it.
func broadcastsReachAll(t *testing.T, tag string, origins, all []node) {
	t.Helper()
	for _, n := range origins {
		n.Broadcast([]byte(tag + "-from-" + n.Name()))
	}
	waitFor(t, 20*time.Second, "broadcasts everywhere", func() error {
		var errs []error
		for _, o := range origins {
			m := []byte(tag + "-from-" + o.Name())
			missing := false
			for _, n := range all {
				if n != o && !n.Del().got(m) {
					missing = true
					errs = append(errs, fmt.Errorf("%s/%s lacks %s", n.Kind(), n.Name(), m))
				}
			}
			// Gossip picks targets at random; once the origin's queue has
			// drained, queue the message again, as an application would.
			if missing && o.NumQueued() == 0 {
				o.Broadcast(m)
			}
		}
		return errors.Join(errs...)
	})
}

// directMessages sends "reliable-<from>" and "best-effort-<from>" along
// each pair (from, to) and waits until each has arrived.
func directMessages(t *testing.T, pairs [][2]node) {
	t.Helper()
	sent := make([]bool, len(pairs)) // SendReliable returned nil
	waitFor(t, 20*time.Second, "best-effort and reliable messages", func() error {
		var errs []error
		for i, p := range pairs {
			rel, udp := []byte("reliable-"+p[0].Name()), []byte("best-effort-"+p[0].Name())
			if !sent[i] {
				// A sender that has, under load, wrongly declared the
				// receiver dead has no address for it until it is back.
				err := p[0].SendReliable(p[1].Name(), rel)
				if err != nil {
					errs = append(errs, fmt.Errorf("%s/%s SendReliable to %s: %w", p[0].Kind(), p[0].Name(), p[1].Name(), err))
					continue
				}
				sent[i] = true
			}
			if !p[1].Del().got(rel) {
				errs = append(errs, fmt.Errorf("%s lacks %s", p[1].Name(), rel))
			}
			if !p[1].Del().got(udp) {
				// UDP may drop under load: send again until it arrives.
				if err := p[0].SendBestEffort(p[1].Name(), udp); err != nil {
					errs = append(errs, fmt.Errorf("%s/%s SendBestEffort to %s: %w", p[0].Kind(), p[0].Name(), p[1].Name(), err))
					continue
				}
				errs = append(errs, fmt.Errorf("%s lacks %s", p[1].Name(), udp))
			}
		}
		return errors.Join(errs...)
	})
}

// clusterUpdates changes the meta of one node of each kind and waits for
// everyone to see it, with NotifyUpdate.
func clusterUpdates(t *testing.T, c *cluster) {
	updated := []node{c.o[2], c.h[2]}
	for _, n := range updated {
		n.Del().setMeta([]byte("meta2-" + n.Name()))
		if err := n.UpdateNode(10 * time.Second); err != nil {
			t.Errorf("%s/%s UpdateNode: %v", n.Kind(), n.Name(), err)
		}
	}
	waitFor(t, 20*time.Second, "updated meta everywhere", func() error {
		var errs []error
		for _, o := range c.all {
			for _, n := range updated {
				m, _ := findMember(o.Members(), n.Name())
				if string(m.Meta) != "meta2-"+n.Name() {
					errs = append(errs, fmt.Errorf("%s/%s sees %s meta %q", o.Kind(), o.Name(), n.Name(), m.Meta))
				}
				if o != n && !o.Events().announced(n.Name(), "meta2-"+n.Name()) {
					errs = append(errs, fmt.Errorf("%s/%s had no NotifyUpdate(%s) with the new meta", o.Kind(), o.Name(), n.Name()))
				}
			}
		}
		return errors.Join(errs...)
	})
}

// waitGone waits until no node in live lists any node in gone, and each
// had NotifyLeave for them.
func waitGone(t *testing.T, live, gone []node, how string) {
	t.Helper()
	want := nodeNames(live)
	waitFor(t, 20*time.Second, how+" nodes gone", func() error {
		errs := []error{allSee(live, want)}
		for _, o := range live {
			for _, g := range gone {
				if !o.Events().has("leave", g.Name()) {
					errs = append(errs, fmt.Errorf("%s/%s had no NotifyLeave(%s)", o.Kind(), o.Name(), g.Name()))
				}
			}
		}
		return errors.Join(errs...)
	})
}
