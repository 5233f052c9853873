package bench

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"net"
	"testing"
)

// The benchmarks feed both libraries the same bytes, built here by hand from
// the reference's wire description (§2.2 encoding rules, §2.3 bodies, §2.9
// encryption, §2.10 push/pull), so that neither library's encoder is part of
// what is measured. TestWireGolden checks the builders against the hex rows
// of §2.3.

// Message types on the wire (§2.1).
const (
	pingMsg     = 0
	ackRespMsg  = 2
	aliveMsg    = 4
	pushPullMsg = 6
	compoundMsg = 7
)

// mp appends old-spec MessagePack values, the subset memberlist uses.
type mp []byte

func (m mp) mapHeader(n int) mp { return append(m, 0x80|byte(n)) } // n < 16 only

// raw appends a string or []byte in the raw family: fixstr, then str16, str32.
func (m mp) raw(s []byte) mp {
	switch n := len(s); {
	case s == nil:
		return append(m, 0xc0)
	case n < 32:
		m = append(m, 0xa0|byte(n))
	case n < 1<<16:
		m = append(m, 0xda, byte(n>>8), byte(n))
	default:
		m = binary.BigEndian.AppendUint32(append(m, 0xdb), uint32(n))
	}
	return append(m, s...)
}

func (m mp) str(s string) mp { return m.raw([]byte(s)) }

// uint appends an unsigned integer in its smallest form.
func (m mp) uint(v uint64) mp {
	switch {
	case v <= 0x7f:
		return append(m, byte(v))
	case v <= 0xff:
		return append(m, 0xcc, byte(v))
	case v <= 0xffff:
		return append(m, 0xcd, byte(v>>8), byte(v))
	case v <= 0xffffffff:
		return binary.BigEndian.AppendUint32(append(m, 0xce), uint32(v))
	}
	return binary.BigEndian.AppendUint64(append(m, 0xcf), v)
}

// int appends a non-negative signed Go int: fixint, then int16, int32 (never
// the uint family, §2.2).
func (m mp) int(v int) mp {
	switch {
	case v < 0:
		panic("negative ints are not needed here")
	case v <= 0x7f:
		return append(m, byte(v))
	case v <= 0x7fff:
		return append(m, 0xd1, byte(v>>8), byte(v))
	}
	return binary.BigEndian.AppendUint32(append(m, 0xd2), uint32(v))
}

func (m mp) bool(v bool) mp {
	if v {
		return append(m, 0xc3)
	}
	return append(m, 0xc2)
}

// vsn is the six version bytes of a node speaking protocol 2 with delegate
// protocol 0: pmin 1, pmax 5, pcur 2, dmin, dmax, dcur 0.
var vsn = []byte{1, 5, 2, 0, 0, 0}

// pingBody describes a ping (§2.3); keys are written in sorted order.
type pingBody struct {
	Node       string
	SeqNo      uint32
	SourceAddr net.IP
	SourceNode string
	SourcePort uint16
}

func appendPing(dst []byte, p pingBody) []byte {
	n := 2
	if len(p.SourceAddr) > 0 {
		n++
	}
	if p.SourceNode != "" {
		n++
	}
	if p.SourcePort != 0 {
		n++
	}
	m := mp(append(dst, pingMsg)).mapHeader(n).
		str("Node").str(p.Node).
		str("SeqNo").uint(uint64(p.SeqNo))
	if len(p.SourceAddr) > 0 {
		m = m.str("SourceAddr").raw(p.SourceAddr)
	}
	if p.SourceNode != "" {
		m = m.str("SourceNode").str(p.SourceNode)
	}
	if p.SourcePort != 0 {
		m = m.str("SourcePort").uint(uint64(p.SourcePort))
	}
	return m
}

// aliveBody describes an alive message (§2.3).
type aliveBody struct {
	Node        string
	Incarnation uint32
	Addr        net.IP
	Port        uint16
	Meta        []byte
	Vsn         []byte
}

func appendAlive(dst []byte, a aliveBody) []byte {
	return mp(append(dst, aliveMsg)).mapHeader(6).
		str("Addr").raw(a.Addr).
		str("Incarnation").uint(uint64(a.Incarnation)).
		str("Meta").raw(a.Meta).
		str("Node").str(a.Node).
		str("Port").uint(uint64(a.Port)).
		str("Vsn").raw(a.Vsn)
}

// pushNodeState describes one entry of a push/pull body (§2.3).
type pushNodeState struct {
	Name        string
	Addr        net.IP
	Port        uint16
	Meta        []byte
	Incarnation uint32
	State       int
	Vsn         []byte
}

func appendPushNodeState(dst []byte, s pushNodeState) []byte {
	return mp(dst).mapHeader(7).
		str("Addr").raw(s.Addr).
		str("Incarnation").uint(uint64(s.Incarnation)).
		str("Meta").raw(s.Meta).
		str("Name").str(s.Name).
		str("Port").uint(uint64(s.Port)).
		str("State").int(s.State).
		str("Vsn").raw(s.Vsn)
}

// appendPushPullHeader appends the header map, without the message type.
func appendPushPullHeader(dst []byte, nodes, userStateLen int, join bool) []byte {
	return mp(dst).mapHeader(3).
		str("Join").bool(join).
		str("Nodes").int(nodes).
		str("UserStateLen").int(userStateLen)
}

// pushPullStream is a whole plaintext, uncompressed push/pull request:
// [6][header][states...] with no user state (§2.10).
func pushPullStream(states []pushNodeState, join bool) []byte {
	b := appendPushPullHeader([]byte{pushPullMsg}, len(states), 0, join)
	for _, s := range states {
		b = appendPushNodeState(b, s)
	}
	return b
}

// remoteStates makes n alive entries named remote-0 ... remote-(n-1), all on
// 127.0.0.3 with distinct ports.
func remoteStates(n int) []pushNodeState {
	out := make([]pushNodeState, n)
	for i := range out {
		out[i] = pushNodeState{
			Name:        "remote-" + itoa(i),
			Addr:        net.IPv4(127, 0, 0, 3).To4(),
			Port:        uint16(10000 + i),
			Incarnation: 1,
			State:       0,
			Vsn:         vsn,
		}
	}
	return out
}

// encryptV1 seals msg as an encryption-version-1 packet with no label (§2.9):
// [0x01][12-byte nonce][AES-GCM Seal(msg), AAD empty].
func encryptV1(aead cipher.AEAD, msg []byte) []byte {
	out := make([]byte, 1+12, 1+12+len(msg)+aead.Overhead())
	out[0] = 1
	if _, err := rand.Read(out[1:13]); err != nil {
		panic(err)
	}
	return aead.Seal(out, out[1:13], msg, nil)
}

// decryptV1 opens a version-1 packet with no label.
func decryptV1(aead cipher.AEAD, buf []byte) ([]byte, error) {
	if len(buf) < 1+12+aead.Overhead() || buf[0] != 1 {
		return nil, errors.New("not an encryption-version-1 packet")
	}
	return aead.Open(nil, buf[1:13], buf[13:], nil)
}

func newAEAD(key []byte) cipher.AEAD {
	block, err := aes.NewCipher(key)
	if err != nil {
		panic(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	return aead
}

// firstPart returns the first message of a compound, or buf itself.
func firstPart(buf []byte) ([]byte, error) {
	if len(buf) == 0 || buf[0] != compoundMsg {
		return buf, nil
	}
	if len(buf) < 2 {
		return nil, errors.New("truncated compound")
	}
	n := int(buf[1])
	if n == 0 || len(buf) < 2+2*n {
		return nil, errors.New("truncated compound lengths")
	}
	l := int(binary.BigEndian.Uint16(buf[2:4]))
	body := buf[2+2*n:]
	if len(body) < l {
		return nil, errors.New("truncated compound part")
	}
	return body[:l], nil
}

// wantAck is the ack a node without a PingDelegate sends for seq (§2.3).
func wantAck(seq uint32) []byte {
	return mp{ackRespMsg}.mapHeader(2).str("Payload").raw(nil).str("SeqNo").uint(uint64(seq))
}

func itoa(i int) string {
	var b [20]byte
	n := len(b)
	for {
		n--
		b[n] = byte('0' + i%10)
		i /= 10
		if i == 0 {
			return string(b[n:])
		}
	}
}

// TestWireGolden checks the hand-written encoders against the hex rows of
// reference §2.3, which were produced by the upstream encoder.
func TestWireGolden(t *testing.T) {
	ip := net.IPv4(10, 0, 0, 1).To4()
	cases := []struct {
		name string
		got  []byte
		want string
	}{
		{"ping small", appendPing(nil, pingBody{SeqNo: 1, Node: "a"}),
			`00 82 a4"Node" a1"a" a5"SeqNo" 01`},
		{"ping full", appendPing(nil, pingBody{SeqNo: 300, Node: "node1", SourceAddr: ip, SourcePort: 7946, SourceNode: "me"}),
			`00 85 a4"Node" a5"node1" a5"SeqNo" cd012c aa"SourceAddr" a40a000001 aa"SourceNode" a2"me" aa"SourcePort" cd1f0a`},
		{"ack", wantAck(7), `02 82 a7"Payload" c0 a5"SeqNo" 07`},
		{"alive", appendAlive(nil, aliveBody{Incarnation: 1, Node: "x", Addr: ip, Port: 7946, Vsn: vsn}),
			`04 86 a4"Addr" a40a000001 ab"Incarnation" 01 a4"Meta" c0 a4"Node" a1"x" a4"Port" cd1f0a a3"Vsn" a6010502000000`},
		{"push/pull header", appendPushPullHeader([]byte{pushPullMsg}, 200, 0, true),
			`06 83 a4"Join" c3 a5"Nodes" d100c8 ac"UserStateLen" 00`},
		{"push node state", appendPushNodeState(nil, pushNodeState{Name: "x", Addr: ip, Port: 1, Incarnation: 9, State: 3, Vsn: vsn}),
			`87 a4"Addr" a40a000001 ab"Incarnation" 09 a4"Meta" c0 a4"Name" a1"x" a4"Port" 01 a5"State" 03 a3"Vsn" a6010502000000`},
	}
	for _, c := range cases {
		want := parseHexRow(t, c.want)
		if !bytes.Equal(c.got, want) {
			t.Errorf("%s:\n got % x\nwant % x", c.name, c.got, want)
		}
	}
}

// parseHexRow reads the reference's notation: hex digits, spaces, and
// "quoted" ASCII.
func parseHexRow(t *testing.T, row string) []byte {
	var out, digits []byte
	for i := 0; i < len(row); i++ {
		switch c := row[i]; c {
		case ' ':
		case '"':
			j := bytes.IndexByte([]byte(row[i+1:]), '"')
			out = append(out, row[i+1:i+1+j]...)
			i += j + 1
		default:
			digits = append(digits[:0], c, row[i+1])
			var b [1]byte
			if _, err := hex.Decode(b[:], digits); err != nil {
				t.Fatalf("bad hex row %q: %v", row, err)
			}
			out = append(out, b[0])
			i++
		}
	}
	return out
}
