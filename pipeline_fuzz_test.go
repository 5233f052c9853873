package memberlist

// Fuzz targets for the packet and stream pipelines of a real Memberlist
// (FuzzIngestPacket, FuzzHandleStream, FuzzPushPullStream), seeded from the
// reference's hex rows (§2.3) and its robustness list (§5.2), and one table
// test per item of that list (TestRobust_*), which read the log written to
// Config.LogOutput.

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// ---------------------------------------------------------------- fixtures

const pfLabel = "fuzz-label"

func pfKey() []byte { return []byte("0123456789abcdef") }

// pfRow parses the reference's hex notation: pairs of hex digits, spaces,
// and "quoted" runs of ASCII, as in `00 82 a4"Node" a1"a"`.
func pfRow(s string) []byte {
	var out []byte
	for i := 0; i < len(s); {
		switch s[i] {
		case ' ', '\n', '\t':
			i++
		case '"':
			j := strings.IndexByte(s[i+1:], '"')
			out = append(out, s[i+1:i+1+j]...)
			i += j + 2
		default:
			b, err := strconv.ParseUint(s[i:i+2], 16, 8)
			if err != nil {
				panic(fmt.Sprintf("pfRow %q at %d: %v", s, i, err))
			}
			out = append(out, byte(b))
			i += 2
		}
	}
	return out
}

// pfReferenceRows are the hex vectors of the reference (§2.3). The node
// state row has no type byte; it is given as it follows a push/pull
// header.
func pfReferenceRows() [][]byte {
	return [][]byte{
		pfRow(`00 82 a4"Node" a1"a" a5"SeqNo" 01`),
		pfRow(`00 85 a4"Node" a5"node1" a5"SeqNo" cd012c aa"SourceAddr" a40a000001 aa"SourceNode" a2"me" aa"SourcePort" cd1f0a`),
		pfRow(`01 88 a4"Nack" c3 a4"Node" a1"n" a4"Port" cd1f0a a5"SeqNo" 05 aa"SourceAddr" a40a000001
			aa"SourceNode" a1"s" aa"SourcePort" 01 a6"Target" a40a000001`),
		pfRow(`02 82 a7"Payload" c0 a5"SeqNo" 07`),
		pfRow(`02 82 a7"Payload" a0 a5"SeqNo" 07`),
		pfRow(`0b 81 a5"SeqNo" ce00011170`),
		pfRow(`0d 81 a5"Error" a4"boom"`),
		pfRow(`03 83 a4"From" a1"y" ab"Incarnation" 02 a4"Node" a1"x"`),
		pfRow(`04 86 a4"Addr" a40a000001 ab"Incarnation" 01 a4"Meta" c0 a4"Node" a1"x" a4"Port" cd1f0a a3"Vsn" a6010502000000`),
		pfRow(`06 83 a4"Join" c3 a5"Nodes" d100c8 ac"UserStateLen" 00`),
		pfRow(`87 a4"Addr" a40a000001 ab"Incarnation" 09 a4"Meta" c0 a4"Name" a1"x" a4"Port" 01 a5"State" 03 a3"Vsn" a6010502000000`),
		pfRow(`08 81 aa"UserMsgLen" d200009c40`),
		pfRow(`09 82 a4"Algo" 00 a3"Buf" b2 00d19461c3e60d0881040d222c787060c180`),
		pfRow(`09 82 a4"Algo" 00 a3"Buf" a3 000302`),
		pfRow(`09 82 a4"Algo" 00 a3"Buf" a4 00c30404`),
		pfRow(`07 02 0002 0001 0102 03`),
	}
}

// pfEmptyCompress is the compress wrapper of "" (§5.2 item 4).
func pfEmptyCompress() []byte { return pfRow(`09 82 a4"Algo" 00 a3"Buf" a3 000302`) }

// pfRobustSeeds are the hostile inputs of the robustness list (§5.2).
func pfRobustSeeds() [][]byte {
	inner := pfCompress(pfCompress(append([]byte{byte(userMsg)}, "nested"...)))
	return [][]byte{
		pfRow(`07 80`),           // compound count 0x80, no lengths
		pfRow(`07 ff 0001 0002`), // compound count 255, partial lengths
		pfEmptyCompress(),
		pfRow(`0a 01400001 00000000`), // encrypted frame of 20 MiB + 1
		pfRow(`08 81 aa"UserMsgLen" d201c9c380`),
		pfRow(`08 81 aa"UserMsgLen" ff`),
		pfRow(`06 83 a4"Join" c2 a5"Nodes" d200989680 ac"UserStateLen" 00`),
		pfRow(`06 83 a4"Join" c2 a5"Nodes" 00 ac"UserStateLen" d201c9c380`),
		pfRow(`06 83 a4"Join" c2 a5"Nodes" ff ac"UserStateLen" ff`),
		inner, // compress in compress
		pfRow(`f4`), pfRow(`f4 00`), pfRow(`f4 05 "ab"`),
		pfRow(`0c 00000000`), // CRC of an empty payload
		{},
	}
}

// pfCompress returns msg in a compress wrapper.
func pfCompress(msg []byte) []byte {
	buf, err := lzwCompress(msg)
	if err != nil {
		panic(err)
	}
	return encodeMessage(compressMsg, &compress{Algo: lzwAlgo, Buf: buf})
}

// pfRun is n copies of the byte c.
type pfRun struct {
	c byte
	n int
}

// pfCompressRuns returns the runs LZW-compressed (LSB, 8-bit literals) in
// a compress wrapper. It writes the codes directly, as a run needs no
// search: after a clear code and the literal c, code k (from 258) stands
// for k-256 copies of c, and once the table is full code 4095 stands for
// 3,839. So a 40 MiB bomb is built in microseconds instead of compressing
// 40 MiB.
func pfCompressRuns(runs ...pfRun) []byte {
	var w pfLZWWriter
	for _, r := range runs {
		w.run(r.c, r.n)
	}
	w.code(257) // end of stream
	if w.nbits > 0 {
		w.out = append(w.out, byte(w.acc))
	}
	return encodeMessage(compressMsg, &compress{Algo: lzwAlgo, Buf: w.out})
}

// pfLZWWriter emits LZW codes, tracking the code width as Go's decoder
// does.
type pfLZWWriter struct {
	out             []byte
	acc             uint64
	nbits           uint
	width, hi, over int
}

func (w *pfLZWWriter) code(c int) {
	if w.width == 0 { // the decoder starts as after a clear code
		w.width, w.hi, w.over = 9, 257, 512
	}
	w.acc |= uint64(c) << w.nbits
	for w.nbits += uint(w.width); w.nbits >= 8; w.nbits -= 8 {
		w.out = append(w.out, byte(w.acc))
		w.acc >>= 8
	}
	if c == 256 {
		w.width, w.hi, w.over = 9, 257, 512
		return
	}
	if w.hi++; w.hi >= w.over {
		if w.width == 12 {
			w.hi--
		} else {
			w.width++
			w.over <<= 1
		}
	}
}

func (w *pfLZWWriter) run(c byte, n int) {
	if n <= 0 {
		return
	}
	w.code(256)
	w.code(int(c))
	for k, left := 258, n-1; left > 0; {
		switch {
		case left == 1:
			w.code(int(c))
			left--
		case k <= 4095 && k-256 <= left:
			w.code(k)
			left -= k - 256
			k++
		case k > 4095 && left >= 3839:
			w.code(4095)
			left -= 3839
		default:
			w.code(256 + left) // an existing shorter run
			left = 0
		}
	}
}

// pfLog is a Config.LogOutput that keeps what is written. It is safe for
// concurrent use.
type pfLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *pfLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *pfLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *pfLog) Reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Reset()
}

// pfTransport is a NodeAwareTransport that counts and drops writes, never
// delivers anything and refuses dials, for driving a Memberlist's
// pipeline by direct calls.
type pfTransport struct {
	packets chan *Packet
	streams chan net.Conn
	writes  atomic.Int64
}

func (p *pfTransport) FinalAdvertiseAddr(string, int) (net.IP, int, error) {
	return net.IPv4(127, 0, 0, 1).To4(), 7946, nil
}
func (p *pfTransport) WriteTo(b []byte, addr string) (time.Time, error) {
	return p.WriteToAddress(b, Address{Addr: addr})
}
func (p *pfTransport) WriteToAddress([]byte, Address) (time.Time, error) {
	p.writes.Add(1)
	return time.Now(), nil
}
func (p *pfTransport) PacketCh() <-chan *Packet { return p.packets }
func (p *pfTransport) DialTimeout(addr string, d time.Duration) (net.Conn, error) {
	return p.DialAddressTimeout(Address{Addr: addr}, d)
}
func (p *pfTransport) DialAddressTimeout(Address, time.Duration) (net.Conn, error) {
	return nil, errors.New("pfTransport does not dial")
}
func (p *pfTransport) StreamCh() <-chan net.Conn { return p.streams }
func (p *pfTransport) Shutdown() error           { return nil }

// pfNode is a Memberlist on a pfTransport with its periodic loops off.
type pfNode struct {
	m   *Memberlist
	tr  *pfTransport
	log *pfLog
}

func newPFNode(tb testing.TB, mods ...func(*Config)) *pfNode {
	tb.Helper()
	n := &pfNode{tr: &pfTransport{packets: make(chan *Packet), streams: make(chan net.Conn)}, log: &pfLog{}}
	conf := DefaultLocalConfig()
	conf.Name = "fuzz"
	conf.Transport = n.tr
	conf.LogOutput = n.log
	conf.ProbeInterval, conf.GossipInterval, conf.PushPullInterval, conf.QueueCheckInterval = 0, 0, 0, 0
	conf.TCPTimeout = time.Second
	for _, mod := range mods {
		mod(conf)
	}
	seed := [2]uint64{1, 2}
	m, err := create(conf, options{seed: &seed})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { m.Shutdown() })
	n.m = m
	return n
}

func pfWithLabel(c *Config) { c.Label = pfLabel }
func pfWithKey(c *Config)   { c.SecretKey = pfKey() }
func pfWithMerge(c *Config) { c.Merge = pfMerge{} }
func pfWithAlive(c *Config) { c.Alive = pfAlive{} }
func pfPlain(c *Config)     {}
func pfFrom() net.Addr      { return &net.UDPAddr{IP: net.IPv4(10, 0, 0, 2), Port: 7946} }
func pfSkipLabel(c *Config) { c.Label, c.SkipInboundLabelCheck = pfLabel, true }

// pfMerge and pfAlive are delegates that read every field they are given.
type pfMerge struct{}

func (pfMerge) NotifyMerge(peers []*Node) error {
	for _, p := range peers {
		_ = fmt.Sprint(p.Name, p.Addr, p.Port, p.Meta, p.State, p.PMin, p.PMax, p.PCur, p.DMin, p.DMax, p.DCur)
	}
	return nil
}

type pfAlive struct{}

func (pfAlive) NotifyAlive(p *Node) error {
	_ = fmt.Sprint(p.Name, p.Addr, p.Port, p.Meta, p.PMin, p.PMax, p.PCur, p.DMin, p.DMax, p.DCur)
	return nil
}

// pfReset empties the node table but for the local node, and the
// broadcast queue, so state from one fuzz input does not pile up.
func pfReset(m *Memberlist) {
	m.mu.Lock()
	self := m.table.nodeMap[m.config.Name]
	m.table.nodes = nil
	clear(m.table.nodeMap)
	if self != nil {
		m.table.nodes = append(m.table.nodes, self)
		m.table.nodeMap[self.Name] = self
	}
	m.table.probeIndex = 0
	m.numNodes.Store(int64(len(m.table.nodes)))
	clear(m.table.suspicions)
	m.table.graves = graveyard{}
	for name, t := range m.timers {
		t.Stop()
		delete(m.timers, name)
	}
	m.mu.Unlock()
	m.broadcasts.Reset()
}

// pfTrim is pfReset once the table has grown past a few hundred nodes.
func pfTrim(m *Memberlist) {
	m.mu.Lock()
	big := len(m.table.nodes) > 256
	m.mu.Unlock()
	if big || m.broadcasts.NumQueued() > 1024 {
		pfReset(m)
	}
}

// pfAllocated returns the bytes allocated on the heap while f ran.
func pfAllocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// pfAllocBound is the most an input of n bytes may cost. LZW expands at
// most about 2,600 times (a 12-bit code stands for up to 3,839 bytes), and
// the decompressor's first guess is 4 times its input; nothing may be
// allocated because of a declared length.
func pfAllocBound(n int) uint64 { return 2<<20 + 8192*uint64(n) }

// pfEncryptPacket encrypts a packet for a node with the fuzz key and label.
func pfEncryptPacket(tb testing.TB, vsn encryptionVersion, plain []byte, label string) []byte {
	kr, err := NewKeyring(nil, pfKey())
	if err != nil {
		tb.Fatal(err)
	}
	out, err := kr.encryptPayload(vsn, plain, []byte(label))
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// pfEncryptStream frames plain as an encrypted stream message,
// [10][length][version, nonce, ciphertext], authenticated with the header
// and the label.
func pfEncryptStream(tb testing.TB, plain []byte, label string) []byte {
	header := make([]byte, 5, 5+len(label))
	header[0] = byte(encryptMsg)
	binary.BigEndian.PutUint32(header[1:], uint32(encryptedLength(1, len(plain))))
	kr, err := NewKeyring(nil, pfKey())
	if err != nil {
		tb.Fatal(err)
	}
	enc, err := kr.encryptPayload(1, plain, append(header, label...))
	if err != nil {
		tb.Fatal(err)
	}
	return append(header[:5:5], enc...)
}

func pfLabelled(b []byte) []byte {
	out, err := AddLabelHeaderToPacket(b, pfLabel)
	if err != nil {
		panic(err)
	}
	return out
}

// ---------------------------------------------------------------- packets

// pfIngest feeds buf to m's packet pipeline and handles the gossip it
// hands off at once, on the calling goroutine, as the handler would.
// The node has been shut down, so no handler goroutine competes for the
// queue; a panic is raised by the input that caused it.
func pfIngest(m *Memberlist, buf []byte) {
	m.ingestPacket(buf, pfFrom(), time.Now())
	for {
		h, ok := m.handoff.pop()
		if !ok {
			break
		}
		m.handleGossip(&h)
	}
	pfTrim(m)
}

// pfPacketMode is one way of delivering a fuzz input as a packet.
type pfPacketMode struct {
	node    int  // index into the nodes of FuzzIngestPacket
	label   bool // prefix the label header
	encrypt int  // encrypt with this version first; -1 for no
}

func FuzzIngestPacket(f *testing.F) {
	configs := [][]func(*Config){{pfPlain}, {pfWithLabel}, {pfWithKey}, {pfWithLabel, pfWithKey}}
	modes := []pfPacketMode{
		{0, false, -1}, // plain node, raw input
		{1, true, -1},  // labelled node, labelled input
		{1, false, -1}, // labelled node, raw input
		{2, false, -1}, // encrypted node, raw input
		{2, false, 1},  // encrypted node, input encrypted (version 1)
		{2, false, 0},  // encrypted node, input encrypted (version 0)
		{3, true, 1},   // labelled encrypted node, input encrypted and labelled
	}
	var nodes []*pfNode
	for _, mods := range configs {
		n := newPFNode(f, mods...)
		n.m.Shutdown()
		pfCheckIngest(f, n)
		nodes = append(nodes, n)
	}
	for _, row := range append(pfReferenceRows(), pfRobustSeeds()...) {
		for mode := range modes {
			f.Add(row, uint8(mode))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, mode uint8) {
		md := modes[int(mode)%len(modes)]
		n := nodes[md.node]
		pkt := data
		if md.encrypt >= 0 {
			label := ""
			if md.label {
				label = pfLabel
			}
			pkt = pfEncryptPacket(t, encryptionVersion(md.encrypt), pkt, label)
		}
		if md.label {
			pkt = pfLabelled(pkt)
		}
		n.log.Reset()
		if got, bound := pfAllocated(func() { pfIngest(n.m, pkt) }), pfAllocBound(len(pkt)); got > bound {
			t.Fatalf("a %d-byte packet allocated %d bytes (bound %d)", len(pkt), got, bound)
		}
	})
}

// pfCheckIngest makes sure pfIngest reaches the handlers: a ping is
// answered and an alive adds a node. It guards the fuzz target against
// silently testing nothing.
func pfCheckIngest(tb testing.TB, n *pfNode) {
	tb.Helper()
	frame := func(b []byte) []byte {
		if n.m.config.EncryptionEnabled() {
			b = pfEncryptPacket(tb, 1, b, n.m.config.Label)
		}
		if n.m.config.Label != "" {
			b = pfLabelled(b)
		}
		return b
	}
	before := n.tr.writes.Load()
	pfIngest(n.m, frame(encodeMessage(pingMsg, &ping{SeqNo: 1, Node: "fuzz"})))
	if n.tr.writes.Load() == before {
		tb.Fatalf("a ping was not answered; log:\n%s", n.log)
	}
	a := alive{Incarnation: 1, Node: "sanity", Addr: []byte{10, 0, 0, 9}, Port: 1, Vsn: []uint8{1, 5, 2, 0, 0, 0}}
	pfIngest(n.m, frame(encodeMessage(aliveMsg, &a)))
	if st, ok := stateOf(n.m, "sanity"); !ok || st != StateAlive {
		tb.Fatalf("an alive was not applied; log:\n%s", n.log)
	}
	pfReset(n.m)
}

// ---------------------------------------------------------------- streams

// pfStreamWait bounds how long one inbound stream may be served: the
// stream deadline (TCPTimeout) and some slack.
const pfStreamWait = 5 * time.Second

// pfServe serves data as an inbound stream of m through a net.Pipe, the
// dialer writing data, closing, and reading whatever is answered. It fails
// tb unless handleConn returns and leaves the stream closed.
func pfServe(tb testing.TB, m *Memberlist, data []byte) {
	tb.Helper()
	client, server := net.Pipe()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		io.Copy(io.Discard, client)
	}()
	go func() {
		defer wg.Done()
		client.Write(data)
		client.Close()
	}()
	done := make(chan struct{})
	go func() {
		defer close(done)
		m.handleConn(server)
	}()
	timer := time.NewTimer(pfStreamWait)
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
		tb.Fatalf("handleConn did not return within %v", pfStreamWait)
	}
	if _, err := server.Write([]byte{0}); !errors.Is(err, io.ErrClosedPipe) {
		tb.Fatalf("handleConn returned with the stream open (write: %v)", err)
	}
	client.Close()
	wg.Wait()
}

func FuzzHandleStream(f *testing.F) {
	configs := [][]func(*Config){{pfPlain}, {pfWithLabel}, {pfWithKey}, {pfWithLabel, pfWithKey}}
	type mode struct {
		node           int
		label, encrypt bool
	}
	modes := []mode{{0, false, false}, {1, true, false}, {1, false, false}, {2, false, false}, {2, false, true}, {3, true, true}}
	var nodes []*pfNode
	for _, mods := range configs {
		nodes = append(nodes, newPFNode(f, mods...))
	}
	seeds := append(pfReferenceRows(), pfRobustSeeds()...)
	seeds = append(seeds, pfPushPull(pfPushPullCase{nodes: 2, entries: 2, vsn: []byte{1, 5, 2, 0, 0, 0}, user: []byte("us"), userLen: 2}))
	seeds = append(seeds, append(pfRow(`08 81 aa"UserMsgLen" 05`), "hello"...))
	for _, row := range seeds {
		for md := range modes {
			f.Add(row, uint8(md))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, md uint8) {
		mo := modes[int(md)%len(modes)]
		n := nodes[mo.node]
		stream := data
		if mo.encrypt {
			label := ""
			if mo.label {
				label = pfLabel
			}
			stream = pfEncryptStream(t, stream, label)
		}
		if mo.label {
			stream = pfLabelled(stream)
		}
		n.log.Reset()
		if got, bound := pfAllocated(func() { pfServe(t, n.m, stream) }), pfAllocBound(len(stream)); got > bound {
			t.Fatalf("a %d-byte stream allocated %d bytes (bound %d)", len(stream), got, bound)
		}
		pfTrim(n.m)
	})
}

// pfPushPullCase describes a push/pull stream built by pfPushPull.
type pfPushPullCase struct {
	nodes, userLen int // the header's claims
	join           bool
	entries        int    // node states actually written
	vsn            []byte // every entry's Vsn
	state          NodeStateType
	meta, user     []byte
	compress       bool
}

// pfPushPull returns the push/pull stream message of c.
func pfPushPull(c pfPushPullCase) []byte {
	buf := encodeMessage(pushPullMsg, &pushPullHeader{Nodes: c.nodes, UserStateLen: c.userLen, Join: c.join})
	for i := range c.entries {
		s := pushNodeState{
			Name:        fmt.Sprintf("pp-%d", i),
			Addr:        []byte{10, 0, 1, byte(i + 1)},
			Port:        7946,
			Meta:        c.meta,
			Incarnation: uint32(i + 1),
			State:       c.state,
			Vsn:         c.vsn,
		}
		buf = s.appendMsgpack(buf)
	}
	buf = append(buf, c.user...)
	if c.compress {
		buf = pfCompress(buf)
	}
	return buf
}

func FuzzPushPullStream(f *testing.F) {
	var nodes [4]*pfNode // bit 0: MergeDelegate, bit 1: AliveDelegate
	for i := range nodes {
		mods := []func(*Config){pfPlain}
		if i&1 != 0 {
			mods = append(mods, pfWithMerge)
		}
		if i&2 != 0 {
			mods = append(mods, pfWithAlive)
		}
		nodes[i] = newPFNode(f, mods...)
	}
	full := []byte{1, 5, 2, 0, 0, 0, 9}
	for n := 0; n <= len(full); n++ {
		for flags := range uint8(8) {
			f.Add(int64(1), int64(0), true, uint8(1), full[:n], int64(StateAlive), []byte(nil), []byte(nil), flags)
		}
	}
	for _, hostile := range [][2]int64{{10_000_000, 0}, {0, 30_000_000}, {-1, 0}, {0, -1}, {1 << 20, 0}, {1<<20 + 1, 0}, {0, 20 << 20}, {2, 20<<20 + 1}} {
		for flags := range uint8(8) {
			f.Add(hostile[0], hostile[1], flags&1 != 0, uint8(2), full[:6], int64(StateSuspect), []byte("m"), []byte("user"), flags)
		}
	}
	f.Fuzz(func(t *testing.T, nodes64, userLen64 int64, join bool, entries uint8, vsn []byte, state int64, meta, user []byte, flags uint8) {
		c := pfPushPullCase{
			nodes: int(nodes64), userLen: int(userLen64), join: join,
			entries: int(entries % 8), vsn: vsn[:min(len(vsn), 16)], state: NodeStateType(state),
			meta: meta[:min(len(meta), 600)], user: user, compress: flags&4 != 0,
		}
		n := nodes[flags&3]
		pfReset(n.m)
		n.log.Reset()
		stream := pfPushPull(c)
		if got, bound := pfAllocated(func() { pfServe(t, n.m, stream) }), pfAllocBound(len(stream)); got > bound {
			t.Fatalf("a %d-byte push/pull allocated %d bytes (bound %d)", len(stream), got, bound)
		}
		pfCheckPushPull(t, n, c)
	})
}

// pfCheckPushPull checks what the node logged and kept for c.
func pfCheckPushPull(t *testing.T, n *pfNode, c pfPushPullCase) {
	t.Helper()
	log := n.log.String()
	switch {
	case c.nodes < 0 || c.nodes > maxPushStateNodes:
		pfWantLine(t, log, fmt.Sprintf("number of nodes in header (%d) exceeds limit", c.nodes))
	case c.nodes <= c.entries && (c.userLen < 0 || c.userLen > maxPushStateBytes):
		pfWantLine(t, log, fmt.Sprintf("user state length (%d) exceeds limit", c.userLen))
	}
	if len(c.vsn) >= 6 {
		return
	}
	// An entry without its six version bytes fails verifyProtocol (its
	// current version counts as 0), so none may enter the table.
	for _, m := range n.m.Members() {
		if strings.HasPrefix(m.Name, "pp-") {
			t.Fatalf("%s entered the table with a %d-byte Vsn; log:\n%s", m.Name, len(c.vsn), log)
		}
	}
}

func pfWantLine(tb testing.TB, log, want string) {
	tb.Helper()
	if !strings.Contains(log, want) {
		tb.Fatalf("log lacks %q:\n%s", want, log)
	}
}

// ---------------------------------------------------------------- robustness table tests (§5.2)
