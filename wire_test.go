package memberlist

import (
	"bufio"
	"bytes"
	"compress/lzw"
	"encoding/hex"
	"errors"
	"io"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"
)

// wireHex decodes the notation of the reference's hex vectors: tokens
// separated by spaces, each either hex digits or a "quoted" ASCII literal.
// It panics on a malformed constant.
func wireHex(s string) []byte {
	var out []byte
	for tok := range strings.FieldsSeq(s) {
		if strings.HasPrefix(tok, `"`) {
			out = append(out, strings.Trim(tok, `"`)...)
			continue
		}
		b, err := hex.DecodeString(tok)
		if err != nil {
			panic("bad hex token " + tok)
		}
		out = append(out, b...)
	}
	return out
}

var wireIP4 = []byte{10, 0, 0, 1}

// wireGoldenRow is one vector of the reference (§2.3): the message, its
// type byte (withType false for bodies that follow a header on a stream),
// and the bytes the upstream encoder produced.
type wireGoldenRow struct {
	name     string
	typ      messageType
	withType bool
	msg      wireMessage
	hex      string
}

func wireGoldenRows() []wireGoldenRow {
	vsn := []byte{1, 5, 2, 0, 0, 0}
	return []wireGoldenRow{
		{"ping", pingMsg, true, &ping{SeqNo: 1, Node: "a"},
			`00 82 a4 "Node" a1 "a" a5 "SeqNo" 01`},
		{"ping/source", pingMsg, true,
			&ping{SeqNo: 300, Node: "node1", SourceAddr: wireIP4, SourcePort: 7946, SourceNode: "me"},
			`00 85 a4 "Node" a5 "node1" a5 "SeqNo" cd012c aa "SourceAddr" a40a000001
			 aa "SourceNode" a2 "me" aa "SourcePort" cd1f0a`},
		{"indirectPingReq", indirectPingMsg, true,
			&indirectPingReq{SeqNo: 5, Target: wireIP4, Port: 7946, Node: "n", Nack: true,
				SourceAddr: wireIP4, SourcePort: 1, SourceNode: "s"},
			`01 88 a4 "Nack" c3 a4 "Node" a1 "n" a4 "Port" cd1f0a a5 "SeqNo" 05 aa "SourceAddr" a40a000001
			 aa "SourceNode" a1 "s" aa "SourcePort" 01 a6 "Target" a40a000001`},
		{"ackResp/nil", ackRespMsg, true, &ackResp{SeqNo: 7},
			`02 82 a7 "Payload" c0 a5 "SeqNo" 07`},
		{"ackResp/empty", ackRespMsg, true, &ackResp{SeqNo: 7, Payload: []byte{}},
			`02 82 a7 "Payload" a0 a5 "SeqNo" 07`},
		{"nackResp", nackRespMsg, true, &nackResp{SeqNo: 70000},
			`0b 81 a5 "SeqNo" ce00011170`},
		{"errResp", errMsg, true, &errResp{Error: "boom"},
			`0d 81 a5 "Error" a4 "boom"`},
		{"suspect", suspectMsg, true, &suspect{Incarnation: 2, Node: "x", From: "y"},
			`03 83 a4 "From" a1 "y" ab "Incarnation" 02 a4 "Node" a1 "x"`},
		{"alive", aliveMsg, true,
			&alive{Incarnation: 1, Node: "x", Addr: wireIP4, Port: 7946, Vsn: vsn},
			`04 86 a4 "Addr" a40a000001 ab "Incarnation" 01 a4 "Meta" c0 a4 "Node" a1 "x"
			 a4 "Port" cd1f0a a3 "Vsn" a6010502000000`},
		{"dead", deadMsg, true, &dead{Incarnation: 2, Node: "x", From: "y"},
			`05 83 a4 "From" a1 "y" ab "Incarnation" 02 a4 "Node" a1 "x"`},
		{"pushPullHeader", pushPullMsg, true, &pushPullHeader{Nodes: 200, UserStateLen: 0, Join: true},
			`06 83 a4 "Join" c3 a5 "Nodes" d100c8 ac "UserStateLen" 00`},
		{"pushNodeState", 0, false,
			&pushNodeState{Name: "x", Addr: wireIP4, Port: 1, Incarnation: 9, State: 3, Vsn: vsn},
			`87 a4 "Addr" a40a000001 ab "Incarnation" 09 a4 "Meta" c0 a4 "Name" a1 "x" a4 "Port" 01
			 a5 "State" 03 a3 "Vsn" a6010502000000`},
		{"userMsgHeader", userMsg, true, &userMsgHeader{UserMsgLen: 40000},
			`08 81 aa "UserMsgLen" d200009c40`},
		{"compress/hello", compressMsg, true,
			&compress{Algo: lzwAlgo, Buf: wireHex("00d19461c3e60d0881040d222c787060c180")},
			`09 82 a4 "Algo" 00 a3 "Buf" b2 00d19461c3e60d0881040d222c787060c180`},
		{"compress/empty", compressMsg, true, &compress{Algo: lzwAlgo, Buf: wireHex("000302")},
			`09 82 a4 "Algo" 00 a3 "Buf" a3 000302`},
		{"compress/a", compressMsg, true, &compress{Algo: lzwAlgo, Buf: wireHex("00c30404")},
			`09 82 a4 "Algo" 00 a3 "Buf" a4 00c30404`},
	}
}

// wireNew returns a new zero message of the same type as m.
func wireNew(m wireMessage) wireMessage {
	return reflect.New(reflect.TypeOf(m).Elem()).Interface().(wireMessage)
}

func TestWireGolden(t *testing.T) {
	for _, row := range wireGoldenRows() {
		t.Run(row.name, func(t *testing.T) {
			want := wireHex(row.hex)
			var got []byte
			if row.withType {
				got = encodeMessage(row.typ, row.msg)
				if app := appendMessage([]byte("xy"), row.typ, row.msg); !bytes.Equal(app[2:], want) {
					t.Errorf("appendMessage = % x, want % x", app[2:], want)
				}
			} else {
				got = row.msg.appendMsgpack(nil)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("encode =\n% x\nwant\n% x", got, want)
			}
			if cap(got) != len(got) && row.withType {
				t.Errorf("encodeMessage capacity %d for %d bytes", cap(got), len(got))
			}
			if n := row.msg.msgpackLen(); n != len(row.msg.appendMsgpack(nil)) {
				t.Errorf("msgpackLen = %d, want %d", n, len(row.msg.appendMsgpack(nil)))
			}
			body := want
			if row.withType {
				body = want[1:]
			}
			dec := wireNew(row.msg)
			if err := decodeMessage(body, dec); err != nil {
				t.Fatalf("decode: %v", err)
			}
			if !reflect.DeepEqual(dec, row.msg) {
				t.Fatalf("decode = %+v, want %+v", dec, row.msg)
			}
		})
	}
}

// TestWireGoldenLZW checks that the compress vectors carry the LZW bytes
// compress/lzw produces (LSB, 8-bit literals), so the golden rows above are
// the real wrappers of those payloads.
func TestWireGoldenLZW(t *testing.T) {
	for payload, want := range map[string]string{
		"hello hello hello hello": "00d19461c3e60d0881040d222c787060c180",
		"":                        "000302",
		"a":                       "00c30404",
	} {
		var buf bytes.Buffer
		w := lzw.NewWriter(&buf, lzw.LSB, 8)
		if _, err := w.Write([]byte(payload)); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if got := hex.EncodeToString(buf.Bytes()); got != want {
			t.Errorf("lzw(%q) = %s, want %s", payload, got, want)
		}
	}
}

func TestWireDecodeAliasing(t *testing.T) {
	body := encodeMessage(aliveMsg, &alive{Node: "n", Addr: wireIP4, Meta: []byte("meta")})[1:]
	var a alive
	if err := decodeMessage(body, &a); err != nil {
		t.Fatal(err)
	}
	if cap(a.Addr) != len(a.Addr) {
		t.Errorf("aliased Addr has spare capacity %d", cap(a.Addr)-len(a.Addr))
	}
	var owned alive
	if err := decodeMessageOwned(body, &owned); err != nil {
		t.Fatal(err)
	}
	for i := range body {
		body[i] = 0
	}
	if string(a.Meta) == "meta" {
		t.Errorf("decodeMessage copied Meta; want an alias of body")
	}
	if string(owned.Meta) != "meta" || !bytes.Equal(owned.Addr, wireIP4) || owned.Node != "n" {
		t.Errorf("decodeMessageOwned result changed with body: %+v", owned)
	}
}

func TestWireStreamPushPull(t *testing.T) {
	states := []pushNodeState{
		{Name: "a", Addr: wireIP4, Port: 7946, Incarnation: 1, Vsn: []byte{1, 5, 2, 0, 0, 0}},
		{Name: strings.Repeat("b", 40), Addr: make([]byte, 16), Port: 1, Meta: bytes.Repeat([]byte{7}, 300), State: 2},
		{Name: "c", State: 3},
	}
	user := []byte("raw user state follows the node states")
	body := encodeMessage(pushPullMsg, &pushPullHeader{Nodes: len(states), UserStateLen: len(user), Join: true})
	for i := range states {
		body = states[i].appendMsgpack(body)
	}
	body = append(body, user...)

	for _, small := range []bool{false, true} {
		var r io.Reader = bytes.NewReader(body)
		if small {
			r = iotest.OneByteReader(r) // the bufio.Reader then holds at most what it could read
		}
		br := bufio.NewReaderSize(r, 16)
		if typ, err := br.ReadByte(); err != nil || messageType(typ) != pushPullMsg {
			t.Fatalf("type byte = %d, %v", typ, err)
		}
		d := newStreamDecoder(br, 1<<20)
		var h pushPullHeader
		if err := d.decode(&h); err != nil {
			t.Fatalf("header: %v", err)
		}
		if h.Nodes != len(states) || h.UserStateLen != len(user) || !h.Join {
			t.Fatalf("header = %+v", h)
		}
		for i := range h.Nodes {
			var s pushNodeState
			if err := d.decode(&s); err != nil {
				t.Fatalf("state %d: %v", i, err)
			}
			if !reflect.DeepEqual(s, states[i]) {
				t.Fatalf("state %d = %+v, want %+v", i, s, states[i])
			}
		}
		got := make([]byte, h.UserStateLen)
		if _, err := io.ReadFull(br, got); err != nil || !bytes.Equal(got, user) {
			t.Fatalf("user state = %q, %v; want %q", got, err, user)
		}
		var extra pushNodeState
		if err := d.decode(&extra); err != io.EOF {
			t.Fatalf("decode at end of stream = %v, want io.EOF", err)
		}
	}
}

// wireTotalAlloc reports the bytes allocated while f runs.
func wireTotalAlloc(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func TestWireHugeDeclaredLength(t *testing.T) {
	// A pushNodeState whose Name (then Meta, then an unknown key's value)
	// declares 4 GiB - 1 bytes, followed by only a few bytes.
	prefixes := []string{
		`81 a4 "Name" db ffffffff`,
		`81 a4 "Meta" db ffffffff`,
		`81 a4 "Meta" c6 ffffffff`,
		`81 a4 "Meta" dd ffffffff`,
		`81 a4 "Xtra" db ffffffff`,
		`81 a4 "Xtra" c9 ffffffff 01`,
		`81 a4 "Xtra" df ffffffff`,
		`df ffffffff`, // map32 with ~4G entries: fails on the first non-string key
	}
	for _, p := range prefixes {
		in := append(wireHex(p), "only a few bytes"...)
		var allocated uint64
		var err error
		allocated = wireTotalAlloc(func() {
			var s pushNodeState
			err = decodeMessage(in, &s)
		})
		if err == nil || allocated > 1<<16 {
			t.Errorf("slice %s: err %v after allocating %d bytes", p, err, allocated)
		}
		allocated = wireTotalAlloc(func() {
			var s pushNodeState
			err = newStreamDecoder(bufio.NewReader(bytes.NewReader(in)), 0).decode(&s)
		})
		if err == nil || allocated > 1<<16 {
			t.Errorf("stream %s: err %v after allocating %d bytes", p, err, allocated)
		}
	}
}

func TestWireStreamFieldLimit(t *testing.T) {
	const limit = 50
	cases := []struct {
		name string
		msg  pushNodeState
		in   []byte
		ok   bool
	}{
		{name: "name at limit", msg: pushNodeState{Name: strings.Repeat("n", limit)}, ok: true},
		{name: "name over", msg: pushNodeState{Name: strings.Repeat("n", limit+1)}},
		{name: "meta over", msg: pushNodeState{Meta: make([]byte, limit+1)}},
		{name: "unknown key over", in: append(wireHex(`81 a4 "Xtra" da 0033`), make([]byte, limit+1)...)},
		{name: "long key", in: append(wireHex(`81 da 0033`), make([]byte, limit+1)...)},
		{name: "byte array over", in: append(wireHex(`81 a4 "Addr" dc 0033`), make([]byte, limit+1)...)},
		{name: "ext over", in: append(wireHex(`81 a4 "Xtra" c8 0033 01`), make([]byte, limit+1)...)},
	}
	for _, c := range cases {
		in := c.in
		if in == nil {
			in = c.msg.appendMsgpack(nil)
		}
		var s pushNodeState
		err := newStreamDecoder(bufio.NewReader(bytes.NewReader(in)), limit).decode(&s)
		if c.ok != (err == nil) || (!c.ok && !errors.Is(err, errMsgpackFieldLimit)) {
			t.Errorf("%s: err = %v", c.name, err)
		}
	}
}

func TestWireTruncated(t *testing.T) {
	for _, row := range wireGoldenRows() {
		body := wireHex(row.hex)
		if row.withType {
			body = body[1:]
		}
		for i := range len(body) {
			m := wireNew(row.msg)
			if err := decodeMessage(body[:i:i], m); err == nil {
				t.Errorf("%s: prefix of %d bytes decoded without error: %+v", row.name, i, m)
			}
			err := newStreamDecoder(bufio.NewReader(bytes.NewReader(body[:i])), 0).decode(m)
			if err == nil || (i > 0 && !errors.Is(err, io.ErrUnexpectedEOF)) || (i == 0 && err != io.EOF) {
				t.Errorf("%s: stream prefix of %d bytes: err %v", row.name, i, err)
			}
		}
	}
}

func TestWireTrailingBytesIgnored(t *testing.T) {
	body := append(encodeMessage(pingMsg, &ping{SeqNo: 9, Node: "z"})[1:], 0xc1, 0xff, 0x00)
	var p ping
	if err := decodeMessage(body, &p); err != nil || p.SeqNo != 9 || p.Node != "z" {
		t.Fatalf("decode with trailing bytes = %+v, %v", p, err)
	}
}

// wireNested returns a ping map whose unknown key holds n nested arrays.
func wireNested(n int) []byte {
	b := []byte{msgpackFixMap | 2, 0xa1, 'X'}
	b = append(b, bytes.Repeat([]byte{msgpackFixArray | 1}, n)...)
	b = append(b, 0x01)
	return append(b, wireHex(`a5 "SeqNo" 07`)...)
}

func TestWireDepthLimit(t *testing.T) {
	// The struct is depth 1, so 1022 nested arrays reach depth 1023 and one
	// more reaches the limit.
	var p ping
	if err := decodeMessage(wireNested(msgpackMaxDepth-2), &p); err != nil || p.SeqNo != 7 {
		t.Fatalf("depth %d: %+v, %v", msgpackMaxDepth-1, p, err)
	}
	if err := decodeMessage(wireNested(msgpackMaxDepth-1), &p); !errors.Is(err, errMsgpackDepth) {
		t.Fatalf("depth %d: err %v, want errMsgpackDepth", msgpackMaxDepth, err)
	}
	deep := wireNested(100000)
	if err := newStreamDecoder(bufio.NewReader(bytes.NewReader(deep)), 0).decode(&p); !errors.Is(err, errMsgpackDepth) {
		t.Fatalf("stream: err %v, want errMsgpackDepth", err)
	}
}

// wireBadPings are ping bodies that go-msgpack rejects too.
func wireBadPings() []struct{ name, hex string } {
	return []struct{ name, hex string }{
		{"empty", ``},
		{"not a struct", `a4 "Node"`},
		{"int struct", `05`},
		{"uint16 overflow", `81 aa "SourcePort" ce 00010000`},
		{"uint32 overflow", `81 a5 "SeqNo" cf 0000000100000000`},
		{"negative fixint", `81 a5 "SeqNo" ff`},
		{"negative int8", `81 a5 "SeqNo" d0 80`},
		{"string into uint", `81 a5 "SeqNo" a1 "1"`},
		{"float into uint", `81 a5 "SeqNo" ca 3f800000`},
		{"map into string", `81 a4 "Node" 81 01 02`},
		{"int into string", `81 a4 "Node" 01`},
		{"int into bytes", `81 aa "SourceAddr" 01`},
		{"byte array element 256", `81 aa "SourceAddr" 91 cd 0100`},
		{"byte array element negative", `81 aa "SourceAddr" 91 ff`},
		{"byte array element string", `81 aa "SourceAddr" 91 a1 "x"`},
		{"empty key", `81 a0 01`},
		{"nil key", `81 c0 01`},
		{"empty array key", `81 90 01`},
		{"int key", `81 01 01`},
		{"map key", `81 80 01`},
		{"reserved value", `81 a1 "X" c1`},
		{"time ext of 5 bytes", `81 a1 "X" c7 05 ff 0102030405`},
		{"fixext1 time", `81 a1 "X" d4 ff 01`},
	}
}

func TestWireDecodeErrors(t *testing.T) {
	for _, c := range wireBadPings() {
		var p ping
		if err := decodeMessage(wireHex(c.hex), &p); err == nil {
			t.Errorf("%s: decoded %+v without error", c.name, p)
		}
	}
	var h pushPullHeader
	if err := decodeMessage(wireHex(`81 a4 "Join" 02`), &h); err == nil {
		t.Errorf("bool from 2: no error")
	}
}

// wireTolerantPing is a ping body go-msgpack accepts but never writes.
type wireTolerantPing struct {
	name string
	hex  string
	want ping
}

func wireTolerantPings() []wireTolerantPing {
	return []wireTolerantPing{
		{"str8 and bin", `83 a4 "Node" d9 01 "a" a5 "SeqNo" 01 aa "SourceAddr" c4 02 0a01`,
			ping{SeqNo: 1, Node: "a", SourceAddr: []byte{10, 1}}},
		{"bin32 key", `81 c6 00000005 "SeqNo" 03`, ping{SeqNo: 3}},
		{"array key", `81 95 53 65 71 4e 6f 03`, ping{SeqNo: 3}},
		{"array of ints", `82 a4 "Node" 92 61 cc 62 aa "SourceAddr" 93 01 c0 d3 0000000000000003`,
			ping{Node: "ab", SourceAddr: []byte{1, 0, 3}}},
		{"map into bytes", `81 aa "SourceAddr" 81 01 02`, ping{SourceAddr: []byte{1, 2}}},
		{"empty array into bytes", `81 aa "SourceAddr" 90`, ping{SourceAddr: []byte{}}},
		{"struct as array", `93 05 a1 "n" 92 01 02`, ping{SeqNo: 5, Node: "n", SourceAddr: []byte{1, 2}}},
		{"array too long", `97 05 a1 "n" c0 00 a0 81 01 02 c7 01 07 00`, ping{SeqNo: 5, Node: "n"}},
		{"unknown keys", `84 a4 "node" a1 "x" a1 "X" 82 01 93 c0 cb 0000000000000000 d6 ff 00000000 c4 00 c3 a5 "SeqNo" 02 a4 "Node" a1 "y"`,
			ping{SeqNo: 2, Node: "y"}},
		{"duplicate and nil", `83 a5 "SeqNo" 02 a5 "SeqNo" c0 a4 "Node" c0`, ping{}},
		{"wide ints", `82 a5 "SeqNo" d3 00000000000000ff aa "SourcePort" cf 000000000000ffff`,
			ping{SeqNo: 255, SourcePort: 65535}},
		{"nil body", `c0`, ping{}},
		{"empty map", `80`, ping{}},
		{"map32", `df 00000001 a5 "SeqNo" 01`, ping{SeqNo: 1}},
	}
}

func TestWireDecodeTolerance(t *testing.T) {
	for _, c := range wireTolerantPings() {
		var p ping
		if err := decodeMessage(wireHex(c.hex), &p); err != nil || !reflect.DeepEqual(p, c.want) {
			t.Errorf("%s: got %+v, %v; want %+v", c.name, p, err, c.want)
		}
	}
	var h pushPullHeader
	if err := decodeMessage(wireHex(`83 a4 "Join" 01 a5 "Nodes" cf ffffffffffffffff ac "UserStateLen" d0 ff`), &h); err != nil ||
		h != (pushPullHeader{Nodes: -1, UserStateLen: -1, Join: true}) {
		t.Errorf("header: %+v, %v (go-msgpack reads uint64 max as -1)", h, err)
	}
}

func TestCompoundGolden(t *testing.T) {
	got := makeCompoundMessage([][]byte{{1, 2}, {3}})
	want := wireHex("07 02 0002 0001 0102 03")
	if !bytes.Equal(got, want) {
		t.Fatalf("makeCompoundMessage = % x, want % x", got, want)
	}
	trunc, parts, err := decodeCompoundMessage(got[1:])
	if err != nil || trunc != 0 || !reflect.DeepEqual(parts, [][]byte{{1, 2}, {3}}) {
		t.Fatalf("decode = %d, %v, %v", trunc, parts, err)
	}
}

func TestCompoundDecode(t *testing.T) {
	cases := []struct {
		name  string
		in    string
		trunc int
		parts [][]byte
		err   string
	}{
		{"empty", ``, 0, nil, "missing compound length byte"},
		{"count 128 regression", `80`, 0, nil, "truncated len slice"},
		{"count 255 partial lengths", `ff 0001 0001`, 0, nil, "truncated len slice"},
		{"zero parts", `00`, 0, [][]byte{}, ""},
		{"short part", `02 0001 0005 aa bbcc`, 1, [][]byte{{0xaa}}, ""},
		{"first part short", `02 0003 0001 aa`, 2, [][]byte{}, ""},
		{"empty part", `02 0000 0001 aa`, 0, [][]byte{{}, {0xaa}}, ""},
		{"trailing bytes", `01 0001 aa bb`, 0, [][]byte{{0xaa}}, ""},
	}
	for _, c := range cases {
		trunc, parts, err := decodeCompoundMessage(wireHex(c.in))
		if c.err != "" {
			if err == nil || err.Error() != c.err {
				t.Errorf("%s: err %v, want %q", c.name, err, c.err)
			}
			continue
		}
		if err != nil || trunc != c.trunc || !reflect.DeepEqual(parts, c.parts) {
			t.Errorf("%s: got %d, %x, %v; want %d, %x", c.name, trunc, parts, err, c.trunc, c.parts)
		}
	}
}

func TestCompoundSplit(t *testing.T) {
	msgs := make([][]byte, 600)
	for i := range msgs {
		msgs[i] = []byte{byte(userMsg), byte(i), byte(i >> 8)}
	}
	if makeCompoundMessage(msgs) != nil || makeCompoundMessage([][]byte{make([]byte, 65536)}) != nil {
		t.Fatal("makeCompoundMessage accepted more than 255 parts or a part over 65535 bytes")
	}
	if c := makeCompoundMessage(msgs[:maxCompoundParts]); c == nil || c[1] != maxCompoundParts {
		t.Fatalf("255 parts: %x", c[:2])
	}
	out := makeCompoundMessages(msgs)
	if len(out) != 3 {
		t.Fatalf("%d compounds, want 3", len(out))
	}
	var all [][]byte
	for _, c := range out {
		if c[0] != byte(compoundMsg) {
			t.Fatalf("type byte %d", c[0])
		}
		trunc, parts, err := decodeCompoundMessage(c[1:])
		if err != nil || trunc != 0 || len(parts) > maxCompoundParts {
			t.Fatalf("decode: %d parts, trunc %d, %v", len(parts), trunc, err)
		}
		all = append(all, parts...)
	}
	if !reflect.DeepEqual(all, msgs) {
		t.Fatal("parts differ after split and decode")
	}
	if makeCompoundMessages(nil) != nil {
		t.Fatal("makeCompoundMessages(nil) != nil")
	}
}
