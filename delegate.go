package memberlist

import "time"

// Delegate is the interface a user implements to hook into the gossip layer.
// Its methods are called from memberlist's own goroutines, never while the
// membership lock is held, so they may call back into the Memberlist.
// Implementations must be safe for concurrent use and should not block.
type Delegate interface {
	// NodeMeta returns the metadata of the local node, at most limit bytes.
	// It is called when the local node is announced (Create and UpdateNode).
	NodeMeta(limit int) []byte

	// NotifyMsg is called with the body of every user message received.
	// The slice may be reused after the call returns: copy it to keep it.
	NotifyMsg([]byte)

	// GetBroadcasts returns user messages to piggyback on outgoing packets.
	// Each message costs overhead bytes plus its length, and the total must
	// not exceed limit.
	GetBroadcasts(overhead, limit int) [][]byte

	// LocalState returns the user state sent in a push/pull exchange. join
	// reports whether the exchange is part of a Join.
	LocalState(join bool) []byte

	// MergeRemoteState receives the user state of a remote node from a
	// push/pull exchange. join reports whether it is part of a Join.
	MergeRemoteState(buf []byte, join bool)
}

// EventDelegate receives membership changes. Calls are made one at a time,
// in the order the changes happened, and never while the membership lock is
// held.
type EventDelegate interface {
	// NotifyJoin is called when a node joins, including the local node at
	// Create. The *Node is a copy the delegate may keep.
	NotifyJoin(*Node)

	// NotifyLeave is called when a node leaves or is declared dead.
	NotifyLeave(*Node)

	// NotifyUpdate is called when a node's metadata changes.
	NotifyUpdate(*Node)
}

// ConflictDelegate is notified when a node name is announced from an
// address other than the one known for it.
type ConflictDelegate interface {
	NotifyConflict(existing, other *Node)
}

// MergeDelegate may veto the merge of a remote node list during a Join.
// A non-nil error cancels the join.
type MergeDelegate interface {
	NotifyMerge(peers []*Node) error
}

// AliveDelegate may veto an alive message before it changes the node table.
// A non-nil error drops the message.
type AliveDelegate interface {
	NotifyAlive(peer *Node) error
}

// PingDelegate attaches a payload to acks and observes round-trip times.
type PingDelegate interface {
	// AckPayload returns the payload sent with acks to direct UDP pings.
	AckPayload() []byte

	// NotifyPingComplete is called after a successful direct probe with the
	// probed node, the round-trip time and the payload of its ack.
	NotifyPingComplete(other *Node, rtt time.Duration, payload []byte)
}

// NodeEventType is the kind of a NodeEvent.
type NodeEventType int

const (
	// NodeJoin is a node joining the cluster.
	NodeJoin NodeEventType = iota
	// NodeLeave is a node leaving or failing.
	NodeLeave
	// NodeUpdate is a change of a node's metadata.
	NodeUpdate
)

// NodeEvent is a membership change delivered by ChannelEventDelegate.
type NodeEvent struct {
	Event NodeEventType
	Node  *Node
}

// ChannelEventDelegate is an EventDelegate that sends every event on Ch.
// The send blocks until the event is received, so Ch should be read
// promptly; a blocked send delays later events but holds no lock.
type ChannelEventDelegate struct {
	Ch chan<- NodeEvent
}

// NotifyJoin sends a NodeJoin event with a copy of n.
func (c *ChannelEventDelegate) NotifyJoin(n *Node) { c.send(NodeJoin, n) }

// NotifyLeave sends a NodeLeave event with a copy of n.
func (c *ChannelEventDelegate) NotifyLeave(n *Node) { c.send(NodeLeave, n) }

// NotifyUpdate sends a NodeUpdate event with a copy of n.
func (c *ChannelEventDelegate) NotifyUpdate(n *Node) { c.send(NodeUpdate, n) }

func (c *ChannelEventDelegate) send(t NodeEventType, n *Node) {
	node := *n
	c.Ch <- NodeEvent{Event: t, Node: &node}
}
