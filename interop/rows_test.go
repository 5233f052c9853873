package interop

import (
	"bytes"
	"fmt"
	"net"
	"slices"
	"strconv"
	"testing"
	"time"
)

// loopback returns 127.0.0.1 in the 4-byte form that an explicit IPv4
// advertise address gives on the wire.
func loopback() net.IP { return net.IP{127, 0, 0, 1} }

// vsn2 is the Vsn of a node speaking protocol 2 with no delegate versions.
func vsn2() []byte { return []byte{1, 5, 2, 0, 0, 0} }

// TestReferenceRows checks the test's own MessagePack builder against the
// hex rows of reference §2.3, so that the inputs built with it below are
// the peer's encoding. Nothing is sent.
func TestReferenceRows(t *testing.T) {
	ten := net.IP{10, 0, 0, 1}
	rows := []struct {
		name string
		got  []byte
		want string
	}{
		{"ping", msg(tPing, "Node", "a", "SeqNo", uint32(1)),
			`00 82 a4"Node" a1"a" a5"SeqNo" 01`},
		{"ping with source", msg(tPing, "Node", "node1", "SeqNo", uint32(300), "SourceAddr", ten, "SourceNode", "me", "SourcePort", uint16(7946)),
			`00 85 a4"Node" a5"node1" a5"SeqNo" cd012c aa"SourceAddr" a40a000001 aa"SourceNode" a2"me" aa"SourcePort" cd1f0a`},
		{"indirect ping", msg(tIndirect, "Nack", true, "Node", "n", "Port", uint16(7946), "SeqNo", uint32(5), "SourceAddr", ten, "SourceNode", "s", "SourcePort", uint16(1), "Target", ten),
			`01 88 a4"Nack" c3 a4"Node" a1"n" a4"Port" cd1f0a a5"SeqNo" 05 aa"SourceAddr" a40a000001 aa"SourceNode" a1"s" aa"SourcePort" 01 a6"Target" a40a000001`},
		{"ack", msg(tAck, "Payload", []byte(nil), "SeqNo", uint32(7)), `02 82 a7"Payload" c0 a5"SeqNo" 07`},
		{"ack empty payload", msg(tAck, "Payload", []byte{}, "SeqNo", uint32(7)), `02 82 a7"Payload" a0 a5"SeqNo" 07`},
		{"nack", msg(tNack, "SeqNo", uint32(70000)), `0b 81 a5"SeqNo" ce00011170`},
		{"err", msg(tErr, "Error", "boom"), `0d 81 a5"Error" a4"boom"`},
		{"suspect", msg(tSuspect, "From", "y", "Incarnation", uint32(2), "Node", "x"),
			`03 83 a4"From" a1"y" ab"Incarnation" 02 a4"Node" a1"x"`},
		{"alive", msg(tAlive, "Addr", ten, "Incarnation", uint32(1), "Meta", []byte(nil), "Node", "x", "Port", uint16(7946), "Vsn", vsn2()),
			`04 86 a4"Addr" a40a000001 ab"Incarnation" 01 a4"Meta" c0 a4"Node" a1"x" a4"Port" cd1f0a a3"Vsn" a6010502000000`},
		{"push/pull header", mpMap("Join", true, "Nodes", 200, "UserStateLen", 0),
			`83 a4"Join" c3 a5"Nodes" d100c8 ac"UserStateLen" 00`},
		{"push/pull node", pushNode(ten, 9, nil, "x", 1, 3),
			`87 a4"Addr" a40a000001 ab"Incarnation" 09 a4"Meta" c0 a4"Name" a1"x" a4"Port" 01 a5"State" 03 a3"Vsn" a6010502000000`},
		{"user header", mpMap("UserMsgLen", 40000), `81 aa"UserMsgLen" d200009c40`},
		{"compress", compressFrame([]byte("hello hello hello hello")),
			`09 82 a4"Algo" 00 a3"Buf" b2 00d19461c3e60d0881040d222c787060c180`},
		{"compress empty", compressFrame(nil), `09 82 a4"Algo" 00 a3"Buf" a3 000302`},
		{"compress a", compressFrame([]byte("a")), `09 82 a4"Algo" 00 a3"Buf" a4 00c30404`},
		{"compound", compoundFrame([]byte{1, 2}, []byte{3}), `07 02 0002 0001 0102 03`},
		{"crc", crcFrame([]byte{3, 3, 3, 3}), `0c 8393ccd2 03030303`},
	}
	for _, r := range rows {
		if want := unhex(t, r.want); !bytes.Equal(r.got, want) {
			t.Errorf("%s:\n got %x\nwant %x", r.name, r.got, want)
		}
	}
}

// pushNode encodes a push/pull node state with the protocol-2 Vsn.
func pushNode(addr net.IP, inc uint32, meta []byte, name string, port uint16, state int) []byte {
	return mpMap("Addr", addr, "Incarnation", inc, "Meta", meta, "Name", name, "Port", port, "State", state, "Vsn", vsn2())
}

// TestRawPeer plays a peer by hand with bare sockets against one node of
// each kind, sending the reference rows (with 127.0.0.1 for addresses) and
// the framing layers, and checks that both kinds act on them and answer
// with the same bytes.
func TestRawPeer(t *testing.T) {
	t.Parallel()
	var runs []run
	res := make([]map[string][]byte, len(kinds()))
	t.Run("kinds", func(t *testing.T) {
		for i, k := range kinds() {
			t.Run(string(k), func(t *testing.T) {
				t.Parallel()
				res[i] = rawPeerRun(t, k)
			})
		}
	})
	if t.Failed() {
		return
	}
	for i, k := range kinds() {
		runs = append(runs, run{string(k), res[i]})
	}
	sameBytes(t, runs)
}

func rawPeerRun(t *testing.T, k kind) map[string][]byte {
	n := newNode(t, k, nodeOpts{Name: "a", Meta: []byte("meta-a"), State: []byte("state-a"),
		AckPayload: []byte("pong"), Timers: quietTimers()})
	a, b, c, d, e := newRawUDP(t), newRawUDP(t), newRawUDP(t), newRawUDP(t), newRawUDP(t)
	ports := map[int]uint16{n.Port(): 0x1111, b.port(): 0x2222, c.port(): 0x3333, d.port(): 0x4444, e.port(): 0x5555}
	got := map[string][]byte{}
	keep := func(name string, p []byte) {
		t.Helper()
		cp, err := canon(p, ports)
		if err != nil {
			t.Fatalf("%s: %v: %x", name, err, p)
		}
		got[name] = cp
	}
	wait := 10 * time.Second

	// A ping without source fields is answered to the sender, with the
	// PingDelegate payload and the node's own alive piggybacked.
	a.send(t, n.Addr(), unhex(t, `00 82 a4"Node" a1"a" a5"SeqNo" 01`))
	ack1 := msg(tAck, "Payload", []byte("pong"), "SeqNo", uint32(1))
	keep("udp ping reply", a.recv(t, wait, "ack 1", hasLeaf(leafIs(ack1))))

	// With source fields the ack goes to SourceAddr:SourcePort.
	a.send(t, n.Addr(), msg(tPing, "Node", "a", "SeqNo", uint32(300), "SourceAddr", loopback(), "SourceNode", "me", "SourcePort", uint16(b.port())))
	ack300 := msg(tAck, "Payload", []byte("pong"), "SeqNo", uint32(300))
	keep("udp ping reply to source", b.recv(t, wait, "ack 300", hasLeaf(leafIs(ack300))))

	// A TCP ping is answered on the stream with no payload.
	reply := mustExchange(t, n.Addr(), unhex(t, `00 82 a4"Node" a1"a" a5"SeqNo" 01`))
	if want := msg(tAck, "Payload", []byte(nil), "SeqNo", uint32(1)); !bytes.Equal(reply, want) {
		t.Errorf("tcp ping reply = %x, want %x", reply, want)
	}
	keep("tcp ping reply", reply)

	rawIndirect(t, n, a, b, c, keep)
	rawUserMessages(t, n, a)
	rawStreams(t, n, e, keep)
	rawStateChanges(t, n, a, d)
	return got
}

// rawIndirect asks the node to probe raw socket c for requester b, once
// with c answering (the node relays the ack) and once without (it nacks).
func rawIndirect(t *testing.T, n node, a, b, c *rawUDP, keep func(string, []byte)) {
	wait := 10 * time.Second
	ind := func(seq uint32) []byte {
		return msg(tIndirect, "Nack", true, "Node", "n", "Port", uint16(c.port()), "SeqNo", seq,
			"SourceAddr", loopback(), "SourceNode", "s", "SourcePort", uint16(b.port()), "Target", loopback())
	}
	isPingForN := func(m []byte) bool { return len(m) > 0 && m[0] == tPing && field(m, "Node") == "n" }

	a.send(t, n.Addr(), ind(5))
	p := c.recv(t, wait, "relayed ping", hasLeaf(isPingForN))
	keep("indirect: relayed ping", p)
	ms, _ := leafMessages(p)
	i := slices.IndexFunc(ms, isPingForN)
	seq, err := strconv.ParseUint(field(ms[i], "SeqNo"), 10, 32)
	if err != nil {
		t.Fatalf("relayed ping has no SeqNo: %x", ms[i])
	}
	if field(ms[i], "SourceNode") != "a" || field(ms[i], "SourcePort") != strconv.Itoa(n.Port()) {
		t.Errorf("relayed ping source fields wrong: %x", ms[i])
	}
	c.send(t, n.Addr(), msg(tAck, "Payload", []byte(nil), "SeqNo", uint32(seq)))
	ack5 := msg(tAck, "Payload", []byte(nil), "SeqNo", uint32(5))
	keep("indirect: relayed ack", b.recv(t, wait, "relayed ack 5", hasLeaf(leafIs(ack5))))

	a.send(t, n.Addr(), ind(6))
	c.recv(t, wait, "second relayed ping", hasLeaf(isPingForN))
	nack6 := msg(tNack, "SeqNo", uint32(6))
	keep("indirect: nack", b.recv(t, wait, "nack 6", hasLeaf(leafIs(nack6))))
}

// rawUserMessages sends user messages through every packet layer, and a
// few that must be dropped.
func rawUserMessages(t *testing.T, n node, a *rawUDP) {
	user := func(s string) []byte { return append([]byte{tUser}, s...) }
	badCRC := crcFrame(user("crc-bad"))
	badCRC[1] ^= 0xff
	sends := [][]byte{
		user("plain"),
		compoundFrame(user("compound-1"), user("compound-2")),
		crcFrame(user("crc-good")),
		badCRC,
		compressFrame(user("compressed")),
		crcFrame(compressFrame(compoundFrame(user("zip-1"), user("zip-2")))),
		labelFrame("lbl", user("labelled")),
		// Reference rows whose payloads are not valid messages: the node
		// must shrug them off.
		unhex(t, `07 02 0002 0001 0102 03`),
		unhex(t, `0c 8393ccd2 03030303`),
		unhex(t, `09 82 a4"Algo" 00 a3"Buf" b2 00d19461c3e60d0881040d222c787060c180`),
		{0x80},
		user("sentinel"),
	}
	for _, p := range sends {
		a.send(t, n.Addr(), p)
	}
	want := []string{"plain", "compound-1", "compound-2", "crc-good", "compressed", "zip-1", "zip-2", "sentinel"}
	waitFor(t, 10*time.Second, "user messages", func() error {
		for _, w := range want {
			if !n.Del().got([]byte(w)) {
				return fmt.Errorf("%q not delivered", w)
			}
		}
		return nil
	})
	// The sentinel came last; what was dropped before it stays dropped.
	for _, w := range []string{"crc-bad", "labelled"} {
		if n.Del().got([]byte(w)) {
			t.Errorf("%q was delivered, want dropped", w)
		}
	}
}

// rawStreams exercises the stream messages: a large user message, a
// join push/pull from a made-up node pp at raw socket e, and an encrypted
// frame the node cannot read.
func rawStreams(t *testing.T, n node, e *rawUDP, keep func(string, []byte)) {
	big := bytes.Repeat([]byte("0123456789"), 4000)
	req := append(append([]byte{tUser}, mpMap("UserMsgLen", len(big))...), big...)
	if reply := mustExchange(t, n.Addr(), req); len(reply) != 0 {
		t.Errorf("stream user message got a reply: %x", reply)
	}
	waitFor(t, 10*time.Second, "40000-byte stream user message", func() error {
		if !n.Del().got(big) {
			return fmt.Errorf("not delivered")
		}
		return nil
	})

	req = append([]byte{tPushPull}, mpMap("Join", true, "Nodes", 1, "UserStateLen", 5)...)
	req = append(req, pushNode(loopback(), 9, []byte("mx"), "pp", uint16(e.port()), 0)...)
	req = append(req, "hello"...)
	reply := mustExchange(t, n.Addr(), req)
	want := append([]byte{tPushPull}, mpMap("Join", true, "Nodes", 1, "UserStateLen", 7)...)
	want = append(want, pushNode(loopback(), 1, []byte("meta-a"), "a", uint16(n.Port()), 0)...)
	want = append(want, "state-a"...)
	if !bytes.Equal(reply, want) {
		t.Errorf("push/pull reply:\n got %x\nwant %x", reply, want)
	}
	keep("push/pull reply", reply)
	waitFor(t, 10*time.Second, "push/pull merge", func() error {
		m, ok := findMember(n.Members(), "pp")
		if !ok || string(m.Meta) != "mx" || int(m.Port) != e.port() || m.PCur != 2 {
			return fmt.Errorf("members %+v", n.Members())
		}
		if !n.Del().merged("hello", true) {
			return fmt.Errorf("MergeRemoteState(hello, true) not called")
		}
		return nil
	})

	// The reply is checked here; whether the stream then closes cleanly is
	// TestStreamErrorReplyCloses's concern.
	reply, _ = tcpExchange(t, n.Addr(), encryptedFrame())
	if len(reply) == 0 || reply[0] != tErr {
		t.Errorf("encrypted frame to a plain node: reply %x, want an errMsg", reply)
	}
	keep("err reply to encrypted frame", reply)
}

// rawStateChanges announces node x (at raw socket d) alive, then suspect,
// then dead, and checks the node's view and the broadcasts it piggybacks.
func rawStateChanges(t *testing.T, n node, a, d *rawUDP) {
	a.send(t, n.Addr(), msg(tAlive, "Addr", loopback(), "Incarnation", uint32(1), "Meta", []byte(nil), "Node", "x", "Port", uint16(d.port()), "Vsn", vsn2()))
	waitFor(t, 10*time.Second, "x alive", func() error {
		m, ok := findMember(n.Members(), "x")
		if !ok || int(m.Port) != d.port() || m.Addr != "127.0.0.1" || m.PCur != 2 || m.PMax != 5 || len(m.Meta) != 0 {
			return fmt.Errorf("members %+v", n.Members())
		}
		if !n.Events().has("join", "x") {
			return fmt.Errorf("no NotifyJoin(x)")
		}
		return nil
	})

	suspect := unhex(t, `03 83 a4"From" a1"y" ab"Incarnation" 02 a4"Node" a1"x"`)
	a.send(t, n.Addr(), suspect)
	piggybacked(t, n, a, 10, suspect)
	if _, ok := findMember(n.Members(), "x"); !ok {
		t.Errorf("suspect x missing from Members")
	}

	dead := msg(tDead, "From", "y", "Incarnation", uint32(2), "Node", "x")
	a.send(t, n.Addr(), dead)
	waitFor(t, 10*time.Second, "x dead", func() error {
		if _, ok := findMember(n.Members(), "x"); ok {
			return fmt.Errorf("x still a member")
		}
		if !n.Events().has("leave", "x") {
			return fmt.Errorf("no NotifyLeave(x)")
		}
		return nil
	})
	piggybacked(t, n, a, 100, dead)
}

// piggybacked pings the node from a, with sequence numbers from seq on,
// until an ack carries the broadcast want.
func piggybacked(t *testing.T, n node, a *rawUDP, seq uint32, want []byte) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for ; time.Now().Before(deadline); seq++ {
		a.send(t, n.Addr(), msg(tPing, "Node", "a", "SeqNo", seq))
		ack := msg(tAck, "Payload", []byte("pong"), "SeqNo", seq)
		p := a.recv(t, 10*time.Second, "ack", hasLeaf(leafIs(ack)))
		if hasLeaf(leafIs(want))(p) {
			return
		}
	}
	t.Errorf("no ack carried %x", want)
}

// encryptedFrame returns a stream frame that claims to be encrypted: the
// smallest version-1 payload, all zeros.
func encryptedFrame() []byte { return append([]byte{tEncrypt, 0, 0, 0, 29}, make([]byte, 29)...) }

// TestStreamErrorReplyCloses sends an encrypted frame to a node without
// encryption. The node answers with an errMsg and must then close the
// stream cleanly: closing with the request still unread makes the kernel
// reset the connection, and a dialer still writing (a large push/pull)
// sees "connection reset by peer" instead of the remote error.
func TestStreamErrorReplyCloses(t *testing.T) {
	t.Parallel()
	for _, k := range kinds() {
		t.Run(string(k), func(t *testing.T) {
			t.Parallel()
			n := newNode(t, k, nodeOpts{Name: "a", Timers: quietTimers()})
			reply, err := tcpExchange(t, n.Addr(), encryptedFrame())
			want := msg(tErr, "Error", "remote state is encrypted and encryption is not configured")
			if !bytes.Equal(reply, want) {
				t.Errorf("reply %x, want %x", reply, want)
			}
			if err != nil {
				t.Errorf("stream did not close cleanly after the error reply: %v", err)
			}
		})
	}
}
