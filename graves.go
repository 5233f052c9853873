package memberlist

import "time"

// grave is what the node table remembers about a name it holds no entry
// for: a node it reaped after it died or left, or a name it heard accused
// without knowing it. It keeps an alive that is not newer than the death
// from bringing the node back (upstream #312), and lets an accusation about
// an unknown name be passed on once instead of being dropped (upstream
// #311), so it reaches the accused.
type grave struct {
	inc   uint32
	state NodeStateType // StateDead, StateLeft or StateSuspect
	when  time.Time     // when it was dug or last raised
	told  time.Time     // when the node was last told of it (rate limit)
	// bySuspect reports that inc was raised by a suspect (raiseStored).
	bySuspect bool
}

// graveRef is a grave's place in the eviction order.
type graveRef struct {
	name string
	when time.Time
}

// graveyard holds the graves of a node table, at most limit of them, each
// for its lifetime: the oldest is evicted first when the yard is full. It
// reads no clock and takes no lock; its owner passes now and holds the
// table's lock. The zero value is an empty yard.
type graveyard struct {
	graves map[string]*grave
	order  []graveRef // oldest first; refs whose grave was raised since are stale
}

// graveLifetime is how long a grave is kept: three push/pull intervals at
// the current cluster size, and at least GossipToTheDeadTime. State about a
// dead node keeps circulating only through nodes that still list it alive;
// each of them pushes its table to a random peer every push/pull interval,
// and the first push that meets a grave makes that peer re-gossip the
// accusation, which corrects the holder. Three intervals give every holder
// several such pushes, and cover a node that rejoins after a partition of a
// few intervals. With push/pull off only gossip carries stale state, which
// lives for seconds.
func graveLifetime(pushPull, gossipToTheDead time.Duration, n int) time.Duration {
	return max(3*pushPullScale(pushPull, n), gossipToTheDead)
}

// graveLimit is the most graves kept for a table of n nodes: twice the
// table, and at least 1024, so a cluster that loses half its nodes at once
// remembers them all. A grave costs about 150 bytes with a short name.
func graveLimit(n int) int {
	return max(1024, 2*n)
}

// find returns the live grave of name, dropping it when it is older than
// lifetime.
func (y *graveyard) find(name string, now time.Time, lifetime time.Duration) *grave {
	g, ok := y.graves[name]
	if !ok {
		return nil
	}
	if now.Sub(g.when) > lifetime {
		delete(y.graves, name)
		return nil
	}
	return g
}

// dig records the grave of name, or raises it to a newer incarnation, and
// returns it. A grave never goes down, and one at the same incarnation is
// left as it is, lifetime included.
func (y *graveyard) dig(name string, inc uint32, state NodeStateType, now time.Time, limit int) *grave {
	if y.graves == nil {
		y.graves = make(map[string]*grave)
	}
	g, ok := y.graves[name]
	if ok && inc <= g.inc {
		return g
	}
	if !ok {
		g = &grave{}
		y.graves[name] = g
	}
	g.inc, g.state, g.when = inc, state, now
	y.order = append(y.order, graveRef{name: name, when: now})
	for len(y.graves) > limit && len(y.order) > 0 {
		y.evictOldest()
	}
	y.compact()
	return g
}

// bury removes the grave of name: the node is back in the table.
func (y *graveyard) bury(name string) {
	delete(y.graves, name)
}

// expire drops the graves older than lifetime, oldest first.
func (y *graveyard) expire(now time.Time, lifetime time.Duration) {
	for len(y.order) > 0 && now.Sub(y.order[0].when) > lifetime {
		y.evictOldest()
	}
	y.compact()
}

// evictOldest drops the first ref of the order, and its grave when the ref
// is current.
func (y *graveyard) evictOldest() {
	ref := y.order[0]
	y.order = y.order[1:]
	if g, ok := y.graves[ref.name]; ok && g.when.Equal(ref.when) {
		delete(y.graves, ref.name)
	}
}

// compact drops stale refs once they outnumber the graves, so the order
// stays within twice the yard.
func (y *graveyard) compact() {
	if len(y.order) <= 2*len(y.graves)+16 {
		return
	}
	kept := make([]graveRef, 0, len(y.graves))
	for _, ref := range y.order {
		if g, ok := y.graves[ref.name]; ok && g.when.Equal(ref.when) {
			kept = append(kept, ref)
		}
	}
	y.order = kept
}

// len returns the number of graves held, expired ones included until they
// are found or expired.
func (y *graveyard) len() int { return len(y.graves) }
