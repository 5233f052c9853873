package scoreboard

import (
	"net"
	"sync/atomic"
	"time"

	metrics "github.com/hashicorp/go-metrics"

	ours "github.com/gossip-go/memberlist"
	theirs "github.com/hashicorp/memberlist"
)

// lib is the seam every scenario is written against: how to start a node of
// one memberlist implementation on a MockNetwork transport. oursLib and
// theirsLib differ only in which package's types they name.
type lib interface {
	name() string
	start(tr *ours.MockTransport, o nodeOptions) (node, error)
}

// libs are the two implementations, in the order each scenario runs them.
var libs = []lib{oursLib{}, theirsLib{}}

// nodeOptions is the part of a node's configuration a scenario chooses. The
// same values are given to both libraries.
type nodeOptions struct {
	name     string
	timings  timings
	events   *recorder
	runLabel string // the value of the sb_run metric label
	logs     *logCounter
	user     *userLog // when not nil, the node gets a userDelegate logging into it
}

// timings are the Config fields the scenarios vary. A zero field keeps the
// library's DefaultLANConfig value.
type timings struct {
	ProbeInterval       time.Duration
	ProbeTimeout        time.Duration
	GossipInterval      time.Duration
	PushPullInterval    time.Duration
	SuspicionMult       int
	SuspicionMaxMult    int
	GossipToTheDeadTime time.Duration
	DeadNodeReclaimTime time.Duration
	DisableTCPPings     bool
	ReclaimTimeSet      bool // DeadNodeReclaimTime applies even when zero
	RetransmitMult      int
	IndirectChecks      int
	AwarenessMaxMult    int
	TCPTimeout          time.Duration
	GossipNodes         int
	QueueCheckInterval  time.Duration
}

// node is one running memberlist.
type node interface {
	join(addrs []string) (int, error)
	leave(timeout time.Duration) error
	shutdown() error
	members() []member
	numMembers() int
	health() int
	updateNode(timeout time.Duration) error
	// streamFailures names the members this node reports as reachable
	// over packets only; hashicorp/memberlist has no such report.
	streamFailures() []string
	// broadcast queues a user message on the node's delegate, which must
	// have been started with nodeOptions.user.
	broadcast(msg []byte)
}

// member is one entry of a node's Members(): alive or suspect.
type member struct {
	name string
	addr string // host:port
}

type oursLib struct{}

func (oursLib) name() string { return "ours" }

func (oursLib) start(tr *ours.MockTransport, o nodeOptions) (node, error) {
	c := ours.DefaultLANConfig()
	c.Name = o.name
	c.Transport = tr
	c.LogOutput = o.logs
	c.Events = eventsOf[ours.Node]{o.events, o.name, func(n *ours.Node) string { return n.Name }}
	c.MetricLabels = []metrics.Label{{Name: runLabelName, Value: o.runLabel}}
	t := o.timings
	setTimings(&c.ProbeInterval, &c.ProbeTimeout, &c.GossipInterval, &c.PushPullInterval,
		&c.SuspicionMult, &c.SuspicionMaxTimeoutMult, &c.GossipToTheDeadTime,
		&c.DeadNodeReclaimTime, &c.DisableTcpPings, &c.RetransmitMult, &c.IndirectChecks,
		&c.AwarenessMaxMultiplier, &c.TCPTimeout, &c.GossipNodes, t)
	setD(&c.QueueCheckInterval, t.QueueCheckInterval)
	var self atomic.Pointer[ours.Memberlist]
	var ud *userDelegate
	if o.user != nil {
		q := &ours.TransmitLimitedQueue{RetransmitMult: c.RetransmitMult, NumNodes: func() int {
			if m := self.Load(); m != nil {
				return m.NumMembers()
			}
			return 1
		}}
		ud = newUserDelegate(o.user, o.name, func(b []byte) { q.QueueBroadcast(oursUserMsg(b)) }, q.GetBroadcasts)
		c.Delegate = ud
	}
	ml, err := ours.Create(c)
	if err != nil {
		return nil, err
	}
	self.Store(ml)
	return oursNode{ml, ud}, nil
}

type oursNode struct {
	ml   *ours.Memberlist
	user *userDelegate
}

func (n oursNode) join(a []string) (int, error)     { return n.ml.Join(a) }
func (n oursNode) leave(d time.Duration) error      { return n.ml.Leave(d) }
func (n oursNode) shutdown() error                  { return n.ml.Shutdown() }
func (n oursNode) health() int                      { return n.ml.GetHealthScore() }
func (n oursNode) numMembers() int                  { return n.ml.NumMembers() }
func (n oursNode) updateNode(d time.Duration) error { return n.ml.UpdateNode(d) }
func (n oursNode) members() []member                { return membersOf(n.ml.Members(), addrOfOurs) }
func (n oursNode) broadcast(msg []byte)             { n.user.broadcast(msg) }

func (n oursNode) streamFailures() []string {
	var out []string
	for _, f := range n.ml.StreamFailures() {
		out = append(out, f.Node)
	}
	return out
}
func addrOfOurs(m *ours.Node) (string, string)     { return m.Name, m.Address() }
func addrOfTheirs(m *theirs.Node) (string, string) { return m.Name, m.Address() }
func membersOf[N any](ns []*N, f func(*N) (string, string)) []member {
	out := make([]member, len(ns))
	for i, n := range ns {
		out[i].name, out[i].addr = f(n)
	}
	return out
}

type theirsLib struct{}

func (theirsLib) name() string { return "theirs" }

func (theirsLib) start(tr *ours.MockTransport, o nodeOptions) (node, error) {
	c := theirs.DefaultLANConfig()
	c.Name = o.name
	c.Transport = newTheirsTransport(tr)
	c.LogOutput = o.logs
	c.Events = eventsOf[theirs.Node]{o.events, o.name, func(n *theirs.Node) string { return n.Name }}
	c.MetricLabels = []metrics.Label{{Name: runLabelName, Value: o.runLabel}}
	t := o.timings
	setTimings(&c.ProbeInterval, &c.ProbeTimeout, &c.GossipInterval, &c.PushPullInterval,
		&c.SuspicionMult, &c.SuspicionMaxTimeoutMult, &c.GossipToTheDeadTime,
		&c.DeadNodeReclaimTime, &c.DisableTcpPings, &c.RetransmitMult, &c.IndirectChecks,
		&c.AwarenessMaxMultiplier, &c.TCPTimeout, &c.GossipNodes, t)
	setD(&c.QueueCheckInterval, t.QueueCheckInterval)
	var self atomic.Pointer[theirs.Memberlist]
	var ud *userDelegate
	if o.user != nil {
		q := &theirs.TransmitLimitedQueue{RetransmitMult: c.RetransmitMult, NumNodes: func() int {
			if m := self.Load(); m != nil {
				return m.NumMembers()
			}
			return 1
		}}
		ud = newUserDelegate(o.user, o.name, func(b []byte) { q.QueueBroadcast(theirsUserMsg(b)) }, q.GetBroadcasts)
		c.Delegate = ud
	}
	ml, err := theirs.Create(c)
	if err != nil {
		return nil, err
	}
	self.Store(ml)
	return theirsNode{ml, ud}, nil
}

type theirsNode struct {
	ml   *theirs.Memberlist
	user *userDelegate
}

func (n theirsNode) join(a []string) (int, error)     { return n.ml.Join(a) }
func (n theirsNode) leave(d time.Duration) error      { return n.ml.Leave(d) }
func (n theirsNode) shutdown() error                  { return n.ml.Shutdown() }
func (n theirsNode) health() int                      { return n.ml.GetHealthScore() }
func (n theirsNode) numMembers() int                  { return n.ml.NumMembers() }
func (n theirsNode) updateNode(d time.Duration) error { return n.ml.UpdateNode(d) }
func (n theirsNode) members() []member                { return membersOf(n.ml.Members(), addrOfTheirs) }
func (n theirsNode) streamFailures() []string         { return nil }
func (n theirsNode) broadcast(msg []byte)             { n.user.broadcast(msg) }

// setTimings copies the non-zero fields of t into a library's Config fields.
func setTimings(probe, probeTimeout, gossip, pushPull *time.Duration, suspMult, suspMax *int,
	toDead, reclaim *time.Duration, noTCPPing *bool, retrans, indirect, awareness *int,
	tcpTimeout *time.Duration, gossipNodes *int, t timings) {
	setD(probe, t.ProbeInterval)
	setD(probeTimeout, t.ProbeTimeout)
	setD(gossip, t.GossipInterval)
	setD(pushPull, t.PushPullInterval)
	setD(toDead, t.GossipToTheDeadTime)
	setD(tcpTimeout, t.TCPTimeout)
	setI(suspMult, t.SuspicionMult)
	setI(suspMax, t.SuspicionMaxMult)
	setI(retrans, t.RetransmitMult)
	setI(indirect, t.IndirectChecks)
	setI(awareness, t.AwarenessMaxMult)
	setI(gossipNodes, t.GossipNodes)
	if t.DeadNodeReclaimTime > 0 || t.ReclaimTimeSet {
		*reclaim = t.DeadNodeReclaimTime
	}
	*noTCPPing = t.DisableTCPPings
}

func setD(dst *time.Duration, v time.Duration) {
	if v != 0 {
		*dst = v
	}
}

func setI(dst *int, v int) {
	if v != 0 {
		*dst = v
	}
}

// eventsOf is an EventDelegate for library node type N that records every
// event in a recorder, as seen by the node named self.
type eventsOf[N any] struct {
	r    *recorder
	self string
	name func(*N) string
}

func (e eventsOf[N]) NotifyJoin(n *N)   { e.r.add(e.self, e.name(n), evJoin) }
func (e eventsOf[N]) NotifyLeave(n *N)  { e.r.add(e.self, e.name(n), evLeave) }
func (e eventsOf[N]) NotifyUpdate(n *N) {}

// theirsTransport presents a MockTransport as hashicorp/memberlist's
// NodeAwareTransport: the two libraries' Packet and Address types have the
// same fields but are distinct types, so packets are converted by one
// goroutine that ends at Shutdown.
type theirsTransport struct {
	tr      *ours.MockTransport
	packets chan *theirs.Packet
	done    chan struct{}
	stopped chan struct{}
}

var _ theirs.NodeAwareTransport = (*theirsTransport)(nil)

func newTheirsTransport(tr *ours.MockTransport) *theirsTransport {
	t := &theirsTransport{
		tr:      tr,
		packets: make(chan *theirs.Packet),
		done:    make(chan struct{}),
		stopped: make(chan struct{}),
	}
	go t.convert()
	return t
}

func (t *theirsTransport) convert() {
	defer close(t.stopped)
	for {
		select {
		case p := <-t.tr.PacketCh():
			select {
			case t.packets <- &theirs.Packet{Buf: p.Buf, From: p.From, Timestamp: p.Timestamp}:
			case <-t.done:
				return
			}
		case <-t.done:
			return
		}
	}
}

func (t *theirsTransport) FinalAdvertiseAddr(ip string, port int) (net.IP, int, error) {
	return t.tr.FinalAdvertiseAddr(ip, port)
}
func (t *theirsTransport) WriteTo(b []byte, addr string) (time.Time, error) {
	return t.tr.WriteTo(b, addr)
}
func (t *theirsTransport) WriteToAddress(b []byte, a theirs.Address) (time.Time, error) {
	return t.tr.WriteToAddress(b, ours.Address{Addr: a.Addr, Name: a.Name})
}
func (t *theirsTransport) DialTimeout(addr string, d time.Duration) (net.Conn, error) {
	return t.tr.DialTimeout(addr, d)
}
func (t *theirsTransport) DialAddressTimeout(a theirs.Address, d time.Duration) (net.Conn, error) {
	return t.tr.DialAddressTimeout(ours.Address{Addr: a.Addr, Name: a.Name}, d)
}
func (t *theirsTransport) PacketCh() <-chan *theirs.Packet { return t.packets }
func (t *theirsTransport) StreamCh() <-chan net.Conn       { return t.tr.StreamCh() }

// Shutdown stops the converter and the underlying transport.
func (t *theirsTransport) Shutdown() error {
	select {
	case <-t.done:
	default:
		close(t.done)
	}
	<-t.stopped
	return t.tr.Shutdown()
}
