package memberlist

import (
	"context"
	"log/slog"
	"slices"
	"time"
)

// Re-merge after a partition. SWIM never contacts a node it has declared
// dead: it is not probed, periodic push/pull picks alive nodes only, and
// gossip reaches it only for GossipToTheDeadTime. Two halves of a healed
// partition that each declared the other dead therefore stay apart
// forever (upstream #222). Every RemergeInterval a node picks one member it
// holds as dead, or one address it joined through that is no live member's,
// and runs an ordinary push/pull with it, as a Join would. One success is
// enough: each side merges the other's table and gossips what it learned.
//
// The rules are the methods of remergeSet, which take the time as an
// argument and touch no lock, clock or socket; remergeLoop is the shell.

const (
	// remergeMaxDead bounds the dead members a node keeps trying; beyond
	// it the longest-dead is forgotten.
	remergeMaxDead = 64
	// remergeMaxSeeds bounds the join addresses kept.
	remergeMaxSeeds = 16
	// remergeMaxAge is how long after its death a member is still tried.
	// Join addresses are tried for as long as the node runs.
	remergeMaxAge = 24 * time.Hour
	// remergeMaxBackoff is the largest multiple of RemergeInterval between
	// two tries of one target: of a join address, or of a member dead for
	// remergeRecent or longer.
	remergeMaxBackoff = 8
	// remergeRecentBackoff is the largest multiple for a member dead for
	// less than remergeRecent: a partition of minutes heals within two
	// intervals of the network healing, even in a small cluster where a
	// node has few targets to take turns with.
	remergeRecentBackoff = 2
	remergeRecent        = time.Hour
)

// remergeBackoff returns how long to wait before trying a target again
// after its nth try (n ≥ 1): interval, doubled on each try, at most
// maxMult intervals.
func remergeBackoff(interval time.Duration, n, maxMult int) time.Duration {
	mult := 1
	for i := 1; i < n && mult < maxMult; i++ {
		mult *= 2
	}
	return interval * time.Duration(mult)
}

// remergeTarget is a place a node tries to re-merge with.
type remergeTarget struct {
	name  string    // node name; may be empty for a join address
	addr  string    // host:port
	seed  bool      // a join address, not a dead member
	since time.Time // when the member was declared dead; zero for a seed
	tries int       // tries since it became a target
	next  time.Time // not tried before this
}

// remergeSet holds the targets of re-merge. Its zero value is empty and
// ready to use. It is not safe for concurrent use: Memberlist guards it
// with mu.
type remergeSet struct {
	dead  []remergeTarget // in the order they were declared dead
	seeds []remergeTarget
}

// addSeed records a join address; a known one is kept as it is.
func (s *remergeSet) addSeed(name, addr string) {
	for i := range s.seeds {
		if s.seeds[i].addr == addr {
			if name != "" {
				s.seeds[i].name = name
			}
			return
		}
	}
	if len(s.seeds) >= remergeMaxSeeds {
		return
	}
	s.seeds = append(s.seeds, remergeTarget{name: name, addr: addr, seed: true})
}

// observe updates the dead targets from one entry of the node table:
// a member declared dead becomes a target (again, if it died anew), and a
// member that is alive, suspect or has left stops being one. A left member
// left on purpose and is never tried.
func (s *remergeSet) observe(name, addr string, state NodeStateType, changed time.Time) {
	i := slices.IndexFunc(s.dead, func(t remergeTarget) bool { return t.name == name })
	if state != StateDead {
		if i >= 0 {
			s.dead = slices.Delete(s.dead, i, i+1)
		}
		return
	}
	if i >= 0 {
		if s.dead[i].addr == addr && s.dead[i].since.Equal(changed) {
			return
		}
		s.dead = slices.Delete(s.dead, i, i+1)
	}
	s.dead = append(s.dead, remergeTarget{name: name, addr: addr, since: changed, next: changed})
	if len(s.dead) > remergeMaxDead {
		oldest := 0
		for j := range s.dead {
			if s.dead[j].since.Before(s.dead[oldest].since) {
				oldest = j
			}
		}
		s.dead = slices.Delete(s.dead, oldest, oldest+1)
	}
}

// pick returns the target to try at now: of those due (their next try is
// not after now) and whose address is not a live member's (live reports
// it), the one due the longest, a dead member if any is due, else a join
// address: the members lost are what a partition took, join addresses the
// fallback once they have been forgotten. It forgets members dead longer
// than remergeMaxAge first, and resets the backoff of targets whose
// address is a live member's.
func (s *remergeSet) pick(now time.Time, live func(addr string) bool) (remergeTarget, bool) {
	s.dead = slices.DeleteFunc(s.dead, func(t remergeTarget) bool { return now.Sub(t.since) > remergeMaxAge })
	for _, list := range [][]remergeTarget{s.dead, s.seeds} {
		var best *remergeTarget
		for i := range list {
			t := &list[i]
			if live(t.addr) {
				t.tries, t.next = 0, time.Time{} // a member again: due once it is not
				continue
			}
			if !t.next.After(now) && (best == nil || t.next.Before(best.next)) {
				best = t
			}
		}
		if best != nil {
			return *best, true
		}
	}
	return remergeTarget{}, false
}

// tried records a try of the target at addr, successful or not, at now:
// its next try waits remergeBackoff, at most 2 intervals for a member dead
// less than an hour, 8 for others. A success backs off too: a join
// address that is no member's (behind a load balancer, say) answers every
// time, and a dead member that answered is alive again once its refutation
// arrives, so trying it at once would cost without helping.
func (s *remergeSet) tried(addr string, seed bool, now time.Time, interval time.Duration) {
	list := s.dead
	if seed {
		list = s.seeds
	}
	for i := range list {
		if list[i].addr == addr {
			t := &list[i]
			t.tries++
			maxMult := remergeMaxBackoff
			if !seed && now.Sub(t.since) < remergeRecent {
				maxMult = remergeRecentBackoff
			}
			t.next = now.Add(remergeBackoff(interval, t.tries, maxMult))
		}
	}
}

// startRemerge starts the re-merge loop when RemergeInterval is set. The
// loop waits a random offset first, like the other loops.
func (m *Memberlist) startRemerge() {
	if m.config.RemergeInterval <= 0 {
		return
	}
	stagger := m.stagger(m.config.RemergeInterval)
	m.goroutines.Go(func() { m.remergeLoop(stagger) })
}

// remergeLoop tries one re-merge target every RemergeInterval until
// shutdown.
func (m *Memberlist) remergeLoop(stagger time.Duration) {
	if !m.sleep(stagger) {
		return
	}
	for m.sleep(m.config.RemergeInterval) {
		m.remerge()
	}
}

// remerge runs one round: it refreshes the targets from the node table,
// picks one and pushes/pulls with it as a join would, so that the
// MergeDelegate may refuse a cluster that is not ours.
func (m *Memberlist) remerge() {
	if m.leaving.Load() {
		return
	}
	t, ok := m.pickRemergeTarget(time.Now())
	if !ok {
		return
	}
	_, err := m.pushPullNode(context.Background(), Address{Addr: t.addr, Name: t.name}, true)
	m.mu.Lock()
	m.remergeTargets.tried(t.addr, t.seed, time.Now(), m.config.RemergeInterval)
	m.mu.Unlock()
	kind := slog.String("target", "dead member")
	if t.seed {
		kind = slog.String("target", "join address")
	}
	if err != nil {
		m.logger.Debug("Re-merge failed", kind, logNode(t.name), slog.String(logKeyAddr, t.addr), logErr(err))
		return
	}
	m.logger.Info("Re-merged", kind, logNode(t.name), slog.String(logKeyAddr, t.addr))
}

// pickRemergeTarget refreshes the targets from the node table and picks
// the one to try at now.
func (m *Memberlist) pickRemergeTarget(now time.Time) (remergeTarget, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	live := make(map[string]bool, len(m.table.nodes))
	for _, st := range m.table.nodes {
		addr := joinHostPort(st.Addr.String(), st.Port)
		if !st.DeadOrLeft() {
			live[addr] = true
		}
		if st.Name != m.config.Name {
			m.remergeTargets.observe(st.Name, addr, st.State, st.StateChange)
		}
	}
	return m.remergeTargets.pick(now, func(addr string) bool { return live[addr] })
}

// noteReapedLocked keeps a dead member that the table is about to forget
// as a re-merge target, so that a partition longer than
// GossipToTheDeadTime still heals. The caller holds mu.
func (m *Memberlist) noteReapedLocked(st *nodeState) {
	if m.config.RemergeInterval > 0 && st.Name != m.config.Name {
		m.remergeTargets.observe(st.Name, joinHostPort(st.Addr.String(), st.Port), st.State, st.StateChange)
	}
}

// noteSeed keeps an address Join reached as a re-merge target.
func (m *Memberlist) noteSeed(a Address) {
	if m.config.RemergeInterval <= 0 {
		return
	}
	m.mu.Lock()
	m.remergeTargets.addSeed(a.Name, a.Addr)
	m.mu.Unlock()
}
