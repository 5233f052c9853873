package memberlist

import (
	"bytes"
	"fmt"
	"math"
	"time"
)

// aliveAction is what an alive message does to the node table.
type aliveAction uint8

const (
	aliveIgnore   aliveAction = iota // stale or redundant
	aliveConflict                    // the name is in use at another address
	aliveRefute                      // about us and wrong: announce a newer incarnation
	aliveApply                       // update the entry and re-gossip
)

// vsnValid reports whether v announces a usable protocol range: all six
// version bytes, with a non-zero, ordered min and max. Every peer since
// protocol version 1 sends six bytes; an entry stored without them would
// carry zero versions into every later push/pull, where the version check
// (ours and upstream's) refuses the whole merge.
func vsnValid(v []uint8) bool {
	return len(v) >= 6 && v[0] != 0 && v[1] != 0 && v[0] <= v[1]
}

// reclaimable reports whether st's name may move to another address: the
// node has left, or has been dead for longer than reclaim (0 = never).
func reclaimable(st *nodeState, now time.Time, reclaim time.Duration) bool {
	if st.State == StateLeft {
		return true
	}
	return st.State == StateDead && reclaim > 0 && now.Sub(st.StateChange) > reclaim
}

// decideAlive applies the rules of SWIM §4.2 with incarnation numbers to an
// alive message a about the entry st (a fresh Dead entry with incarnation 0
// when the name is unknown). self reports whether a is about the local node
// and bootstrap whether the local node is announcing itself. It also
// reports whether the message moves the node to a new address.
func decideAlive(st *nodeState, a *alive, self, bootstrap bool, now time.Time, reclaim time.Duration) (action aliveAction, addrUpdate bool) {
	if !bytes.Equal(st.Addr, a.Addr) || st.Port != a.Port {
		if !reclaimable(st, now, reclaim) {
			return aliveConflict, false
		}
		addrUpdate = true
	}
	switch {
	case !self && !addrUpdate && a.Incarnation <= st.Incarnation && !aliveOverridesAtMax(st, a.Incarnation):
		return aliveIgnore, addrUpdate
	case self && a.Incarnation < st.Incarnation:
		return aliveIgnore, addrUpdate
	case self && !bootstrap:
		if a.Incarnation == st.Incarnation && bytes.Equal(a.Meta, st.Meta) && vsnEqual(a.Vsn, st.vsn()) {
			return aliveIgnore, addrUpdate
		}
		return aliveRefute, addrUpdate
	}
	return aliveApply, addrUpdate
}

// refuteIncarnation returns the incarnation that answers an accusation at
// inc: inc + 1, or math.MaxUint32 when inc is already the maximum. A
// refutation never wraps round to a small number, which every peer would
// ignore (upstream #358); at the maximum the node answers with the maximum
// itself, and aliveOverridesAtMax lets that answer through.
func refuteIncarnation(inc uint32) uint32 {
	if inc == math.MaxUint32 {
		return inc
	}
	return inc + 1
}

// aliveOverridesAtMax reports whether an alive at incarnation inc clears
// the suspect or dead state of st although it is not newer: both are at
// math.MaxUint32, where a node cannot outbid an accusation any more. Only
// a node accused at the maximum ever announces it, so this is its
// refutation (upstream has no answer here: the node is evicted for good).
func aliveOverridesAtMax(st *nodeState, inc uint32) bool {
	return inc == math.MaxUint32 && st.Incarnation == math.MaxUint32 &&
		(st.State == StateSuspect || st.State == StateDead)
}

func vsnEqual(a, b []uint8) bool {
	if len(a) < 6 || len(b) < 6 {
		return false
	}
	return bytes.Equal(a[:6], b[:6])
}

// raiseStored records that an accusation at incarnation inc was seen about
// another node, although it changes nothing else: the stored incarnation
// never goes down, so an alive older than the accusation cannot revive the
// node later (upstream #312, al8n/memberlist#197). bySuspect says the
// accusation was a suspect: the node was alive at inc somewhere, which is
// all the table may claim later (it tells a suspect, not a death, to a
// stale alive). The local entry holds what the local node announced and is
// left alone.
func raiseStored(st *nodeState, inc uint32, self, bySuspect bool) {
	if self || inc <= st.Incarnation {
		return
	}
	st.Incarnation = inc
	st.suspectRaised = bySuspect
}

// heldState is the state a stale alive about st is answered with: st's
// state, or a suspicion when st's incarnation was raised by a suspect.
func heldState(st *nodeState) NodeStateType {
	if st.suspectRaised && st.State != StateAlive {
		return StateSuspect
	}
	return st.State
}

// suspectAction is what a suspect message does to the node table.
type suspectAction uint8

const (
	suspectIgnore  suspectAction = iota
	suspectConfirm               // a suspicion is running: count a confirmation
	suspectRefute                // about us: announce a newer incarnation
	suspectApply                 // mark the node suspect and start the timer
)

// decideSuspect applies the suspicion rules of Lifeguard §IV-B to a suspect
// message with incarnation inc about st. running reports whether a
// suspicion timer exists for the node. A suspect newer than a running
// suspicion starts a new one: the node refuted the old one (the refutation
// has not arrived here yet) and is suspected again, and the old timer must
// not declare it dead at the new incarnation.
func decideSuspect(st *nodeState, inc uint32, self, running bool) suspectAction {
	switch {
	case inc < st.Incarnation:
		return suspectIgnore
	case running && inc > st.Incarnation:
		return suspectApply // a new suspicion, of a newer incarnation
	case running:
		return suspectConfirm
	case st.State != StateAlive:
		return suspectIgnore
	case self:
		return suspectRefute
	}
	return suspectApply
}

// deadAction is what a dead message does to the node table.
type deadAction uint8

const (
	deadIgnore deadAction = iota
	deadRefute            // about us while not leaving
	deadApply             // mark the node dead, or left when it said so itself
)

// decideDead applies the dead rules to a dead message with incarnation inc
// about st. leaving reports whether the local node is leaving.
func decideDead(st *nodeState, inc uint32, self, leaving bool) deadAction {
	switch {
	case inc < st.Incarnation:
		return deadIgnore
	case st.DeadOrLeft():
		return deadIgnore
	case self && !leaving:
		return deadRefute
	}
	return deadApply
}

// remoteAction is the message a push/pull entry is merged as.
type remoteAction uint8

const (
	remoteSkip    remoteAction = iota
	remoteAlive                // process as an alive message
	remoteLeft                 // process as a dead message from the node itself
	remoteSuspect              // a remote dead or suspect only makes us suspect
)

// mergeAction maps the state in a push/pull entry to the message merged.
func mergeAction(s NodeStateType) remoteAction {
	switch s {
	case StateAlive:
		return remoteAlive
	case StateLeft:
		return remoteLeft
	case StateDead, StateSuspect:
		return remoteSuspect
	}
	return remoteSkip
}

// versionRange is the intersection of the protocol and delegate version
// ranges of a set of nodes.
type versionRange struct {
	pmin, pmax, dmin, dmax uint8
}

func newVersionRange() versionRange {
	return versionRange{pmin: 0, pmax: 255, dmin: 0, dmax: 255}
}

// add narrows r by the ranges in v, which must hold at least five bytes.
func (r *versionRange) add(v []uint8) {
	r.pmin = max(r.pmin, v[0])
	r.pmax = min(r.pmax, v[1])
	r.dmin = max(r.dmin, v[3])
	r.dmax = min(r.dmax, v[4])
}

// check returns an error when the current versions in v (0 when v is
// shorter than six bytes) fall outside r.
func (r *versionRange) check(name string, v []uint8) error {
	var pcur, dcur uint8
	if len(v) >= 6 {
		pcur, dcur = v[2], v[5]
	}
	if pcur < r.pmin || pcur > r.pmax {
		return fmt.Errorf("Node '%s' protocol version (%d) is incompatible: [%d, %d]", name, pcur, r.pmin, r.pmax)
	}
	if dcur < r.dmin || dcur > r.dmax {
		return fmt.Errorf("Node '%s' delegate protocol version (%d) is incompatible: [%d, %d]", name, dcur, r.dmin, r.dmax)
	}
	return nil
}

// versioned is a node name, state and version bytes, local or remote.
type versioned struct {
	name  string
	state NodeStateType
	vsn   []uint8
}

// verifyProtocol checks that every node, local and remote, speaks versions
// that every alive node understands.
func verifyProtocol(local, remote []versioned) error {
	r := newVersionRange()
	for _, set := range [][]versioned{remote, local} {
		for _, n := range set {
			if n.state == StateAlive && len(n.vsn) >= 5 {
				r.add(n.vsn)
			}
		}
	}
	for _, set := range [][]versioned{remote, local} {
		for _, n := range set {
			if err := r.check(n.name, n.vsn); err != nil {
				return err
			}
		}
	}
	return nil
}
