package memberlist

import (
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"
)

// NodeStateType is the state of a node as the local node believes it.
type NodeStateType int

const (
	// StateAlive is a node that answers probes.
	StateAlive NodeStateType = iota
	// StateSuspect is a node that failed a probe and may be declared dead.
	StateSuspect
	// StateDead is a node declared failed.
	StateDead
	// StateLeft is a node that left the cluster on purpose.
	StateLeft
)

// String returns the state's lower-case name: alive, suspect, dead or left,
// and unhandled-value-N for any other value N. The node_state label of the
// memberlist.node.instances metric uses the same names.
func (s NodeStateType) String() string {
	switch s {
	case StateAlive:
		return "alive"
	case StateSuspect:
		return "suspect"
	case StateDead:
		return "dead"
	case StateLeft:
		return "left"
	}
	return "unhandled-value-" + strconv.Itoa(int(s))
}

// Node is a member of the cluster.
type Node struct {
	Name  string
	Addr  net.IP
	Port  uint16
	Meta  []byte        // metadata from the node's Delegate
	State NodeStateType // state when the Node was copied out of the table
	PMin  uint8         // lowest protocol version understood
	PMax  uint8         // highest protocol version understood
	PCur  uint8         // protocol version spoken
	DMin  uint8         // lowest delegate protocol version understood
	DMax  uint8         // highest delegate protocol version understood
	DCur  uint8         // delegate protocol version spoken
}

// Address returns the node's host:port.
func (n *Node) Address() string {
	return joinHostPort(n.Addr.String(), n.Port)
}

// FullAddress returns the node's address and name.
func (n *Node) FullAddress() Address {
	return Address{Addr: joinHostPort(n.Addr.String(), n.Port), Name: n.Name}
}

// String returns the node's name.
func (n *Node) String() string {
	return n.Name
}

// vsn returns the node's six version bytes.
func (n *Node) vsn() []uint8 {
	return n.appendVsn(make([]uint8, 0, 6))
}

// appendVsn appends the node's six version bytes to dst.
func (n *Node) appendVsn(dst []uint8) []uint8 {
	return append(dst, n.PMin, n.PMax, n.PCur, n.DMin, n.DMax, n.DCur)
}

// setVsn copies the version bytes from v when it has all six.
func (n *Node) setVsn(v []uint8) {
	if len(v) < 6 {
		return
	}
	n.PMin, n.PMax, n.PCur = v[0], v[1], v[2]
	n.DMin, n.DMax, n.DCur = v[3], v[4], v[5]
}

// NoPingResponseError is returned by Ping when the node does not answer.
type NoPingResponseError struct {
	node string
}

func (f NoPingResponseError) Error() string {
	return fmt.Sprintf("No response from node %s", f.node)
}

// nodeState is one entry of the node table.
type nodeState struct {
	Node
	Incarnation uint32
	StateChange time.Time
	told        time.Time // when the node was last told of an accusation (rate limit)
	// suspectRaised reports that Incarnation was last raised by a suspect
	// while the node was dead or left (raiseStored).
	suspectRaised bool
	// cameBack is when the node last returned to alive from suspect or
	// dead with a higher incarnation: a refutation, or a return after a
	// death (flapping, see troubled).
	cameBack time.Time
}

// node returns a copy of the entry's Node, safe to hand to callers.
func (s *nodeState) node() Node {
	n := s.Node
	n.Addr = append(net.IP(nil), s.Addr...)
	n.Meta = cloneBytes(s.Meta)
	return n
}

// aliveAt returns the alive message that announces the entry at
// incarnation inc.
func (s *nodeState) aliveAt(inc uint32) *alive {
	return &alive{Incarnation: inc, Node: s.Name, Addr: s.Addr, Port: s.Port, Meta: s.Meta, Vsn: s.vsn()}
}

// DeadOrLeft reports whether the node is dead or has left.
func (s *nodeState) DeadOrLeft() bool {
	return s.State == StateDead || s.State == StateLeft
}

func cloneBytes(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append(make([]byte, 0, len(b)), b...)
}

// event is one delegate call waiting to be delivered.
type event struct {
	kind  eventKind
	node  Node
	other Node // the conflicting node, for conflictEvent
}

type eventKind uint8

const (
	joinEvent eventKind = iota
	leaveEvent
	updateEvent
	conflictEvent
)

// eventQueue delivers delegate calls in the order they were queued, one at
// a time, outside the membership lock. Whichever goroutine finds the queue
// idle delivers everything queued until it is empty; others return at once,
// so a delegate that triggers new events from inside a callback does not
// deadlock. The zero value is ready to use.
type eventQueue struct {
	mu         sync.Mutex // leaf lock; taken under Memberlist.mu by push
	pending    []event
	delivering bool
}

func (q *eventQueue) push(e event) {
	q.mu.Lock()
	q.pending = append(q.pending, e)
	q.mu.Unlock()
}

// take returns the pending events and marks the queue as delivering, or
// nil when it is empty or another goroutine is delivering.
func (q *eventQueue) take(owner bool) []event {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.delivering && !owner {
		return nil
	}
	if len(q.pending) == 0 {
		q.delivering = false
		return nil
	}
	q.delivering = true
	batch := q.pending
	q.pending = nil
	return batch
}

// deliverEvents calls the delegates for every queued event. It must be
// called without Memberlist.mu held.
func (m *Memberlist) deliverEvents() {
	owner := false
	for {
		batch := m.events.take(owner)
		if batch == nil {
			return
		}
		owner = true
		m.goroutines.callback(func() {
			for i := range batch {
				m.deliver(&batch[i])
			}
		})
	}
}

func (m *Memberlist) deliver(e *event) {
	switch e.kind {
	case conflictEvent:
		if m.config.Conflict != nil {
			m.config.Conflict.NotifyConflict(&e.node, &e.other)
		}
		return
	}
	if m.config.Events == nil {
		return
	}
	switch e.kind {
	case joinEvent:
		m.config.Events.NotifyJoin(&e.node)
	case leaveEvent:
		m.config.Events.NotifyLeave(&e.node)
	case updateEvent:
		m.config.Events.NotifyUpdate(&e.node)
	}
}

// queueEvent records an event for st; the caller holds mu.
func (m *Memberlist) queueEventLocked(kind eventKind, st *nodeState) {
	if kind != conflictEvent && m.config.Events == nil {
		return
	}
	m.events.push(event{kind: kind, node: st.node()})
}
