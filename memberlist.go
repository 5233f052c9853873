package memberlist

import (
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const (
	// ProtocolVersionMin is the lowest protocol version understood.
	ProtocolVersionMin uint8 = 1

	// ProtocolVersion2Compatible is the default protocol version. Version 2
	// carries ports; 3 adds the TCP fallback ping, 4 nacks, 5 packet CRCs.
	ProtocolVersion2Compatible = 2

	// ProtocolVersionMax is the highest protocol version understood.
	ProtocolVersionMax = 5

	// MetaMaxSize is the largest node metadata, in bytes.
	MetaMaxSize = 512
)

// Memberlist is one node's view of the cluster. It is safe for concurrent
// use. Its zero value is not usable: build one with Create.
type Memberlist struct {
	config    *Config
	transport NodeAwareTransport
	logger    *slog.Logger
	metrics   metricSink
	labels    labelSet

	advertiseAddr net.IP
	advertisePort uint16

	sequenceNum atomic.Uint32
	numNodes    atomic.Int64 // estimated cluster size; written under mu
	incarnation atomic.Uint32
	leaving     atomic.Bool

	// mu guards the node table and the suspicion timers below. No callback
	// runs under it; events are queued in events and delivered after it is
	// released. Lock order: leaveMu or shutdownMu, then mu, then any of
	// the leaf locks (events.mu, rngMu, ackMu, writes.mu, awareness.mu, the
	// broadcast queue's); mu is never taken while a leaf lock is held.
	mu     sync.Mutex
	table  table                  // the membership state machine (table.go)
	timers map[string]*time.Timer // suspicion timers by node name

	remergeTargets remergeSet // dead members and join addresses to re-merge with

	events eventQueue
	writes writeTracker // sends carrying broadcasts, for Leave

	streamMu     sync.Mutex // leaf lock
	streamHealth streamHealth

	rngMu sync.Mutex // leaf lock
	rng   *rand.Rand

	ackMu       sync.Mutex // leaf lock
	ackHandlers map[uint32]*ackHandler

	handoff handoffQueues

	lzw        lzwPool
	awareness  *awareness
	broadcasts *TransmitLimitedQueue
	userShare  userCredit // the Delegate's unspent share of gossip packets

	pushPulls *pushPullGate // inbound push/pulls being served or waiting
	warns     warnLimiter   // rate limits of warnings about peers
	conns     connSet
	resolver  addrResolver

	leaveMu      sync.Mutex // held through Leave; taken before mu
	shutdownMu   sync.Mutex // held through Shutdown; taken before mu
	shutdown     atomic.Bool
	shutdownCh   chan struct{}
	goroutines   goroutineGroup
	scheduleOnce sync.Once
}

// options are test seams that are not part of Config.
type options struct {
	seed *[2]uint64

	// pushPullSlots and pushPullWaiters size the inbound push/pull gate
	// when pushPullSlots is positive (default maxPushPullRequests-1 and
	// maxPushPullWaiters).
	pushPullSlots, pushPullWaiters int
}

// Create validates conf, starts the transport and the protocol goroutines,
// and returns a Memberlist whose table holds only the local node. Call Join
// to contact a cluster.
func Create(conf *Config) (*Memberlist, error) {
	return create(conf, options{})
}

func create(conf *Config, opts options) (*Memberlist, error) {
	m, err := newMemberlist(conf, opts)
	if err != nil {
		return nil, err
	}
	if err := m.setAlive(); err != nil {
		m.Shutdown()
		return nil, err
	}
	m.schedule()
	return m, nil
}

func newMemberlist(conf *Config, opts options) (*Memberlist, error) {
	if err := conf.Validate(); err != nil {
		return nil, err
	}
	if err := installSecretKey(conf); err != nil {
		return nil, err
	}
	logger := conf.Slog
	if logger == nil {
		logger = newLogger(conf.LogOutput, conf.Logger)
	}
	transport, err := buildTransport(conf, logger, newMetricSink(conf.MetricSink))
	if err != nil {
		return nil, err
	}
	m := &Memberlist{
		config:      conf,
		transport:   transport,
		logger:      logger,
		metrics:     newMetricSink(conf.MetricSink),
		labels:      newLabelSet(conf.MetricLabels),
		timers:      make(map[string]*time.Timer),
		rng:         newRand(opts.seed),
		ackHandlers: make(map[uint32]*ackHandler),
		awareness:   newAwareness(conf.AwarenessMaxMultiplier),
		shutdownCh:  make(chan struct{}),
		resolver:    addrResolver{dnsConfigPath: conf.DNSConfigPath, logger: logger},
		pushPulls:   newPushPullGate(maxPushPullRequests-1, maxPushPullWaiters),
	}
	if opts.pushPullSlots > 0 {
		m.pushPulls = newPushPullGate(opts.pushPullSlots, opts.pushPullWaiters)
	}
	m.table = newTable(conf, m.rng.Uint64(), &m.incarnation, &m.numNodes, &m.leaving)
	m.handoff.init(conf.HandoffQueueDepth)
	m.broadcasts = &TransmitLimitedQueue{
		NumNodes:       m.table.estNumNodes,
		RetransmitMult: conf.RetransmitMult,
		metrics:        m.metrics,
		labels:         m.labels.base,
	}
	if err := m.resolveAdvertise(); err != nil {
		transport.Shutdown()
		return nil, err
	}
	m.goroutines.Go(m.streamListen)
	m.goroutines.Go(m.packetListen)
	m.goroutines.Go(m.packetHandler)
	if conf.QueueCheckInterval > 0 {
		m.goroutines.Go(m.checkBroadcastQueueDepth)
	}
	return m, nil
}

func newRand(seed *[2]uint64) *rand.Rand {
	if seed != nil {
		return rand.New(rand.NewPCG(seed[0], seed[1]))
	}
	return rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
}

// installSecretKey puts conf.SecretKey into conf.Keyring as its primary key.
func installSecretKey(conf *Config) error {
	if len(conf.SecretKey) == 0 {
		return nil
	}
	if conf.Keyring == nil {
		kr, err := NewKeyring(nil, conf.SecretKey)
		if err != nil {
			return err
		}
		conf.Keyring = kr
		return nil
	}
	if err := conf.Keyring.AddKey(conf.SecretKey); err != nil {
		return err
	}
	return conf.Keyring.UseKey(conf.SecretKey)
}

// buildTransport returns conf.Transport made node-aware and labelled, or a
// new NetTransport when it is nil.
func buildTransport(conf *Config, logger *slog.Logger, sink metricSink) (NodeAwareTransport, error) {
	t := conf.Transport
	if t == nil {
		nt, err := newDefaultTransport(conf, logger, sink)
		if err != nil {
			return nil, err
		}
		t = nt
	}
	nat, ok := t.(NodeAwareTransport)
	if !ok {
		logger.Debug("configured Transport is not a NodeAwareTransport and some features may not work as desired")
		nat = newShimNodeAwareTransport(t)
	}
	if conf.Label != "" {
		nat = &labelWrappedTransport{NodeAwareTransport: nat, label: conf.Label}
	}
	return nat, nil
}

// newDefaultTransport starts a NetTransport on conf.BindAddr and
// conf.BindPort, retrying on port clashes when the port is chosen by the
// kernel, and writes the chosen port back into conf.
func newDefaultTransport(conf *Config, logger *slog.Logger, sink metricSink) (*NetTransport, error) {
	ntc := &NetTransportConfig{
		BindAddrs:    []string{conf.BindAddr},
		BindPort:     conf.BindPort,
		Logger:       conf.Logger,
		MetricLabels: conf.MetricLabels,
	}
	if ntc.Logger == nil || conf.Slog != nil {
		ntc.Logger = slogToStdLogger(logger)
	}
	tries := 1
	if conf.BindPort == 0 {
		tries = 10
	}
	var lastErr error
	for i := 0; i < tries; i++ {
		nt, err := newNetTransport(ntc, sink)
		if err == nil {
			if conf.BindPort == 0 {
				port := nt.GetAutoBindPort()
				conf.BindPort = port
				conf.AdvertisePort = port
				logger.Debug("Using dynamic bind port", slog.Int("port", port))
			}
			return nt, nil
		}
		lastErr = err
		if !strings.Contains(err.Error(), "address already in use") {
			break
		}
		logger.Debug("Got bind error", logErr(err))
	}
	return nil, fmt.Errorf("could not set up network transport: failed to obtain an address: %w", lastErr)
}

// resolveAdvertise asks the transport for the address announced to peers.
func (m *Memberlist) resolveAdvertise() error {
	ip, port, err := m.transport.FinalAdvertiseAddr(m.config.AdvertiseAddr, m.config.AdvertisePort)
	if err != nil {
		return fmt.Errorf("failed to get final advertise address: %w", err)
	}
	if port < 0 || port > 65535 {
		return fmt.Errorf("failed to get final advertise address: port %d out of range", port)
	}
	m.advertiseAddr = ip
	m.advertisePort = uint16(port)
	return nil
}

// setAlive announces the local node: it enters the table (firing NotifyJoin
// for it) and an alive message about it is queued for gossip.
func (m *Memberlist) setAlive() error {
	if !m.config.EncryptionEnabled() && isPublicIP(m.advertiseAddr) {
		m.logger.Warn("Binding to public address without encryption!")
	}
	meta, err := m.localMeta()
	if err != nil {
		return err
	}
	a := alive{
		Incarnation: m.nextIncarnation(),
		Node:        m.config.Name,
		Addr:        m.advertiseAddr,
		Port:        m.advertisePort,
		Meta:        meta,
		Vsn:         m.config.BuildVsnArray(),
	}
	m.aliveNode(&a, nil, true)
	return nil
}

// localMeta returns the delegate's metadata, or an error when it is longer
// than MetaMaxSize.
func (m *Memberlist) localMeta() ([]byte, error) {
	if m.config.Delegate == nil {
		return nil, nil
	}
	var meta []byte
	m.goroutines.callback(func() { meta = m.config.Delegate.NodeMeta(MetaMaxSize) })
	if len(meta) > MetaMaxSize {
		return nil, fmt.Errorf("node meta data provided is longer than the limit (%d > %d bytes)", len(meta), MetaMaxSize)
	}
	return meta, nil
}

// maxJoinFollowUps bounds the push/pulls that follow a successful Join.
const maxJoinFollowUps = 5

// followUpJoin runs more push/pulls after a successful Join, each one to
// two probe intervals after the last, with a random alive member other than
// the seeds when there is one, until one finds both tables the same size
// (neither side learns a member), and at most maxJoinFollowUps.
//
// The seeds' tables are a snapshot: nodes that come back at the same moment
// (a mass restart under the old names) announce themselves by gossip, and a
// node that joins in the middle of it can miss an announcement for good
// until the periodic push/pull, a minute or more away; by then any other
// member's table has them. In a join storm the seed's snapshot is the
// smaller the earlier a node joined, and every node that went back to the
// seed would make it the bottleneck again; exchanging with random other
// members spreads the load and merges the snapshots, and more rounds are
// needed only while they differ. In a settled cluster the first follow-up
// finds the same table and is the only one. Nothing is done when push/pull
// is off (PushPullInterval 0).
func (m *Memberlist) followUpJoin(seeds []Address) {
	c := m.config
	if c.PushPullInterval <= 0 || c.ProbeInterval <= 0 {
		return
	}
	m.goroutines.Go(func() {
		for range maxJoinFollowUps {
			if !m.sleep(c.ProbeInterval + m.stagger(c.ProbeInterval)) {
				return
			}
			before := m.tableLen()
			remote, ok := m.pushPullAvoiding(seeds)
			if !ok || (remote == before && m.tableLen() == before) {
				return
			}
		}
	})
}

// tableLen returns the number of nodes in the table, in any state.
func (m *Memberlist) tableLen() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.table.nodes)
}

// LocalNode returns a copy of the local node as others see it.
func (m *Memberlist) LocalNode() *Node {
	m.mu.Lock()
	defer m.mu.Unlock()
	st, ok := m.table.nodeMap[m.config.Name]
	if !ok {
		return &Node{Name: m.config.Name, Addr: m.advertiseAddr, Port: m.advertisePort}
	}
	n := st.node()
	return &n
}

// UpdateNode re-reads the local metadata from the Delegate and announces
// it, waiting up to timeout for the announcement to be gossiped when other
// nodes are alive. A timeout of 0 or less waits without limit.
func (m *Memberlist) UpdateNode(timeout time.Duration) error {
	if !m.goroutines.enter() {
		return ErrShutdown
	}
	defer m.goroutines.leave()
	meta, err := m.localMeta()
	if err != nil {
		return err
	}
	m.mu.Lock()
	st := m.table.nodeMap[m.config.Name]
	var addr []byte
	var port uint16
	if st != nil {
		addr, port = st.Addr, st.Port
	} else {
		addr, port = m.advertiseAddr, m.advertisePort
	}
	m.mu.Unlock()
	a := alive{
		Incarnation: m.nextIncarnation(),
		Node:        m.config.Name,
		Addr:        addr,
		Port:        port,
		Meta:        meta,
		Vsn:         m.config.BuildVsnArray(),
	}
	notify := make(chan struct{})
	m.aliveNode(&a, notify, true)
	if m.anyAlive() {
		return m.waitNotify(notify, timeout, "timeout waiting for update broadcast")
	}
	return nil
}

func (m *Memberlist) waitNotify(notify chan struct{}, timeout time.Duration, msg string) error {
	var timeoutCh <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		timeoutCh = t.C
	}
	select {
	case <-notify:
		return nil
	case <-timeoutCh:
		return errors.New(msg)
	case <-m.shutdownCh:
		return fmt.Errorf("%s: %w", msg, ErrShutdown)
	}
}

// SendTo sends a user message to an address over UDP, without piggybacked
// gossip.
//
// Deprecated: use SendToAddress.
func (m *Memberlist) SendTo(to net.Addr, msg []byte) error {
	return m.SendToAddress(Address{Addr: to.String()}, msg)
}

// SendToAddress sends a user message to an address over UDP, without
// piggybacked gossip. The message is best effort: it may be lost.
func (m *Memberlist) SendToAddress(a Address, msg []byte) error {
	return m.rawSendMsgPacket(a, nil, userMessage(msg))
}

// SendToUDP is SendBestEffort.
//
// Deprecated: use SendBestEffort.
func (m *Memberlist) SendToUDP(to *Node, msg []byte) error {
	return m.SendBestEffort(to, msg)
}

// SendToTCP is SendReliable.
//
// Deprecated: use SendReliable.
func (m *Memberlist) SendToTCP(to *Node, msg []byte) error {
	return m.SendReliable(to, msg)
}

// SendBestEffort sends a user message to a node over UDP. It may be lost.
// The message must fit in one packet of UDPBufferSize bytes with its
// framing (a type byte, and a checksum, encryption and label when
// configured, after compression when enabled); a larger one is refused
// with an error matching ErrMessageTooLarge and nothing is sent.
func (m *Memberlist) SendBestEffort(to *Node, msg []byte) error {
	a := to.FullAddress()
	pkt, err := m.encodePacket(a, to, userMessage(msg))
	if err != nil {
		return err
	}
	if err := m.checkPacketSize(to.Name, len(msg), pkt); err != nil {
		return err
	}
	return m.writePacket(a, pkt)
}

// checkPacketSize returns an error when pkt, an encoded user message of n
// bytes to node, with the label header would exceed UDPBufferSize. A zero
// UDPBufferSize sets no limit.
func (m *Memberlist) checkPacketSize(node string, n int, pkt []byte) error {
	size := len(pkt) + labelOverhead(m.config.Label)
	if limit := m.config.UDPBufferSize; limit > 0 && size > limit {
		return withText(ErrMessageTooLarge, fmt.Sprintf("message of %d bytes to %s is too large for one packet: %d bytes with its framing, UDPBufferSize is %d", n, node, size, limit))
	}
	return nil
}

// SendReliable sends a user message to a node over a TCP stream.
func (m *Memberlist) SendReliable(to *Node, msg []byte) error {
	err := m.sendUserMsg(to.FullAddress(), msg)
	m.noteStream(to.Name, err)
	return err
}

func userMessage(msg []byte) []byte {
	buf := make([]byte, 1+len(msg))
	buf[0] = byte(userMsg)
	copy(buf[1:], msg)
	return buf
}

// Members returns copies of the nodes that are alive or suspect, the local
// node included unless it has left.
func (m *Memberlist) Members() []*Node {
	m.mu.Lock()
	defer m.mu.Unlock()
	nodes := make([]*Node, 0, len(m.table.nodes))
	for _, st := range m.table.nodes {
		if st.DeadOrLeft() {
			continue
		}
		n := st.node()
		nodes = append(nodes, &n)
	}
	return nodes
}

// NumMembers returns the number of nodes Members would return.
func (m *Memberlist) NumMembers() (alive int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, st := range m.table.nodes {
		if !st.DeadOrLeft() {
			alive++
		}
	}
	return alive
}

// Leave announces that the local node is leaving and waits up to timeout
// for the announcement to be gossiped when other nodes are alive. A timeout
// of 0 or less waits without limit. The node keeps running until Shutdown.
// Leave after Shutdown returns an error.
func (m *Memberlist) Leave(timeout time.Duration) error {
	m.leaveMu.Lock()
	defer m.leaveMu.Unlock()
	if m.shutdown.Load() || !m.goroutines.enter() {
		return withText(ErrShutdown, "leave after shutdown")
	}
	defer m.goroutines.leave()
	if m.leaving.Swap(true) {
		return nil
	}
	m.mu.Lock()
	st, ok := m.table.nodeMap[m.config.Name]
	var inc uint32
	if ok {
		inc = st.Incarnation
	}
	m.mu.Unlock()
	if !ok {
		m.logger.Warn("Leave but we're not in the node map.")
		return nil
	}
	d := dead{Incarnation: inc, Node: m.config.Name, From: m.config.Name}
	m.deadNode(&d)
	if !m.anyAlive() {
		return nil
	}
	var deadline time.Time
	if timeout > 0 {
		deadline = time.Now().Add(timeout)
	}
	if err := m.waitNotify(m.table.leaveNotify, timeout, "timeout waiting for leave broadcast"); err != nil {
		return err
	}
	// The last hand-out of the broadcast closed leaveNotify before its
	// packet was written: wait for that write, so that a Shutdown right
	// after Leave cannot close the transport first.
	if !m.waitWritten(deadline) {
		return errors.New("timeout waiting for leave broadcast")
	}
	return nil
}

// anyAlive reports whether a node other than the local one is alive or
// suspect.
func (m *Memberlist) anyAlive() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, st := range m.table.nodes {
		if !st.DeadOrLeft() && st.Name != m.config.Name {
			return true
		}
	}
	return false
}

// GetHealthScore returns the local health score: 0 is healthy, higher
// values mean the node is probing and timing out more slowly.
func (m *Memberlist) GetHealthScore() int {
	return m.awareness.GetHealthScore()
}

// ProtocolVersion returns the protocol version spoken.
func (m *Memberlist) ProtocolVersion() uint8 {
	return m.config.ProtocolVersion
}

// Shutdown stops the node without telling others: peers detect it as
// failed. Call Leave first for a graceful exit. It returns after every
// goroutine the Memberlist started has exited, and is idempotent.
func (m *Memberlist) Shutdown() error {
	m.shutdownMu.Lock()
	defer m.shutdownMu.Unlock()
	if m.shutdown.Load() {
		return nil
	}
	m.shutdown.Store(true)
	close(m.shutdownCh)
	err := m.transport.Shutdown()
	if err != nil {
		m.logger.Error("Failed to shutdown transport", logErr(err))
	}
	m.conns.closeAll()
	m.stopTimers()
	m.goroutines.closeAndWait()
	return nil
}

// stopTimers stops the suspicion and ack timers.
func (m *Memberlist) stopTimers() {
	m.mu.Lock()
	for name, t := range m.timers {
		t.Stop()
		delete(m.timers, name)
	}
	m.mu.Unlock()
	m.ackMu.Lock()
	for seq, h := range m.ackHandlers {
		h.timer.Stop()
		delete(m.ackHandlers, seq)
	}
	m.ackMu.Unlock()
}

// checkBroadcastQueueDepth samples the broadcast queue length.
func (m *Memberlist) checkBroadcastQueueDepth() {
	t := time.NewTicker(m.config.QueueCheckInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			m.metrics.AddSampleWithLabels(keyQueueBroadcasts, float32(m.broadcasts.NumQueued()), m.labels.base)
		case <-m.shutdownCh:
			return
		}
	}
}

func (m *Memberlist) nextSeqNo() uint32 { return m.sequenceNum.Add(1) }

// nextIncarnation returns a new local incarnation above the last one, or
// the maximum when it is reached: it never wraps round to a small number.
func (m *Memberlist) nextIncarnation() uint32 { return raiseIncarnation(&m.incarnation, 0) }

// randIntN returns a random int in [0, n), or 0 when n <= 0.
func (m *Memberlist) randIntN(n int) int {
	if n <= 0 {
		return 0
	}
	m.rngMu.Lock()
	defer m.rngMu.Unlock()
	return m.rng.IntN(n)
}

// stagger returns a random duration in [0, d).
func (m *Memberlist) stagger(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	m.rngMu.Lock()
	defer m.rngMu.Unlock()
	return time.Duration(m.rng.Int64N(int64(d)))
}
