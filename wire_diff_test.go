package memberlist

// Differential tests against github.com/hashicorp/go-msgpack/v2 v2.1.5, the
// codec hashicorp/memberlist uses, with a zero MsgpackHandle. This is the
// only file that imports go-msgpack.

import (
	"bufio"
	"bytes"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/hashicorp/go-msgpack/v2/codec"
)

// codecEncode encodes v with go-msgpack.
func codecEncode(t testing.TB, v any) []byte {
	t.Helper()
	var out []byte
	if err := codec.NewEncoderBytes(&out, &codec.MsgpackHandle{}).Encode(v); err != nil {
		t.Fatalf("go-msgpack encode: %v", err)
	}
	return out
}

// codecDecode decodes b with go-msgpack and converts the result.
func (c wireDiffCase) codecDecode(b []byte) (wireMessage, error) {
	p := reflect.New(c.mirror)
	err := codec.NewDecoderBytes(b, &codec.MsgpackHandle{}).Decode(p.Interface())
	out := reflect.New(c.ours)
	out.Elem().Set(p.Elem().Convert(c.ours))
	return out.Interface().(wireMessage), err
}

// codecDecodeStream decodes from a bufio.Reader over b with go-msgpack's
// stream decoder and reports how many bytes it consumed.
func (c wireDiffCase) codecDecodeStream(b []byte) (wireMessage, int, error) {
	r := bytes.NewReader(b)
	br := bufio.NewReader(r)
	p := reflect.New(c.mirror)
	err := codec.NewDecoder(br, &codec.MsgpackHandle{}).Decode(p.Interface())
	out := reflect.New(c.ours)
	out.Elem().Set(p.Elem().Convert(c.ours))
	return out.Interface().(wireMessage), len(b) - r.Len() - br.Buffered(), err
}

// oursDecodeStream decodes one object from a bufio.Reader over b and
// reports how many bytes it consumed.
func (c wireDiffCase) oursDecodeStream(b []byte) (wireMessage, int, error) {
	r := bytes.NewReader(b)
	br := bufio.NewReader(r)
	m := c.newOurs()
	err := newStreamDecoder(br, 0).decode(m)
	return m, len(b) - r.Len() - br.Buffered(), err
}

// TestWireDiffEncode checks, for random values of every message, that our
// bytes equal go-msgpack's, that each side decodes the other's bytes to the
// same value, and that the stream decoder agrees.
func TestWireDiffEncode(t *testing.T) {
	g := wireGen{rand.New(rand.NewPCG(1, 2))}
	for _, c := range wireDiffCases() {
		t.Run(c.name, func(t *testing.T) {
			for range wireRounds(400) {
				m := c.random(g)
				ours := m.appendMsgpack(nil)
				theirs := codecEncode(t, c.toMirror(m))
				if !bytes.Equal(ours, theirs) {
					t.Fatalf("%+v:\nours   % x\ntheirs % x", m, wireClip(ours), wireClip(theirs))
				}
				if len(ours) != m.msgpackLen() {
					t.Fatalf("msgpackLen %d, encoded %d", m.msgpackLen(), len(ours))
				}
				wireCompare(t, c, theirs)
			}
		})
	}
}

// wireRounds scales a randomized test's iteration count down in -short mode.
func wireRounds(n int) int {
	if testing.Short() {
		return n / 10
	}
	return n
}

// wireClip shortens b for failure messages.
func wireClip(b []byte) []byte {
	return b[:min(len(b), 200)]
}

// wireCompare decodes b with both libraries, in slice and stream mode, and
// fails unless they agree: both fail, or both give the same value (and the
// stream decoders consume the same bytes).
func wireCompare(t testing.TB, c wireDiffCase, b []byte) {
	t.Helper()
	ours := c.newOurs()
	errOurs := decodeMessage(b, ours)
	theirs, errTheirs := c.codecDecode(b)
	agree := (errOurs == nil) == (errTheirs == nil) && (errOurs != nil || reflect.DeepEqual(ours, theirs))
	if !agree && wireHasEmptyExt(b) {
		return // the known divergence of TestWireDiffKnownDivergences
	}
	if (errOurs == nil) != (errTheirs == nil) {
		t.Fatalf("%s % x\nours: %v\ngo-msgpack: %v", c.name, wireClip(b), errOurs, errTheirs)
	}
	if errOurs == nil && !reflect.DeepEqual(ours, theirs) {
		t.Fatalf("%s % x\nours       %+v\ngo-msgpack %+v", c.name, wireClip(b), ours, theirs)
	}
	sOurs, nOurs, errSOurs := c.oursDecodeStream(b)
	if (errSOurs == nil) != (errOurs == nil) || (errOurs == nil && !reflect.DeepEqual(sOurs, ours)) {
		t.Fatalf("%s % x\nstream %+v, %v\nslice  %+v, %v", c.name, wireClip(b), sOurs, errSOurs, ours, errOurs)
	}
	if errOurs == nil {
		if _, nTheirs, err := c.codecDecodeStream(b); err != nil || nOurs != nTheirs {
			t.Fatalf("%s % x\nstream consumed %d, go-msgpack %d (%v)", c.name, wireClip(b), nOurs, nTheirs, err)
		}
	}
}

// TestWireDiffVariants feeds both decoders the encodings go-msgpack accepts
// but never writes, and invalid ones, and checks that they agree.
func TestWireDiffVariants(t *testing.T) {
	w := &wireVariant{g: wireGen{rand.New(rand.NewPCG(3, 4))}}
	for _, c := range wireDiffCases() {
		t.Run(c.name, func(t *testing.T) {
			for range wireRounds(1500) {
				wireCompare(t, c, w.variant(c.random(w.g)))
			}
		})
	}
}

// TestWireDiffMutations flips, inserts, deletes and truncates bytes of
// canonical and variant encodings and checks that both decoders agree.
func TestWireDiffMutations(t *testing.T) {
	w := &wireVariant{g: wireGen{rand.New(rand.NewPCG(5, 6))}}
	for _, c := range wireDiffCases() {
		t.Run(c.name, func(t *testing.T) {
			for i := range wireRounds(3000) {
				m := c.random(w.g)
				var b []byte
				if i%2 == 0 {
					b = m.appendMsgpack(nil)
				} else {
					b = w.variant(m)
				}
				wireCompare(t, c, w.mutate(b))
			}
		})
	}
}

// TestWireDiffDepth checks the depth limit against go-msgpack's.
func TestWireDiffDepth(t *testing.T) {
	c := wireDiffCases()[0]
	for _, n := range []int{0, 1, msgpackMaxDepth - 3, msgpackMaxDepth - 2, msgpackMaxDepth - 1, msgpackMaxDepth} {
		wireCompare(t, c, wireNested(n))
		// Nesting inside a byte array field, and empty containers.
		b := []byte{msgpackFixMap | 1, 0xa1, 'X'}
		b = append(b, bytes.Repeat([]byte{msgpackFixArray | 1}, n)...)
		wireCompare(t, c, append(b, msgpackFixArray))
		b = append([]byte{msgpackFixMap | 1}, msgpackKeySourceAddr...)
		b = append(b, bytes.Repeat([]byte{msgpackFixArray | 1}, n)...)
		wireCompare(t, c, append(b, 0x01))
	}
}

// TestWireDiffTables runs the hand-written tolerance and error tables of
// wire_test.go against go-msgpack as well.
func TestWireDiffTables(t *testing.T) {
	c := wireDiffCases()[0]
	for _, row := range wireTolerantPings() {
		wireCompare(t, c, wireHex(row.hex))
	}
	for _, row := range wireBadPings() {
		wireCompare(t, c, wireHex(row.hex))
	}
}

// TestWireDiffKnownDivergences documents the inputs on which we knowingly
// differ from go-msgpack; none is produced by any MessagePack encoder for
// these messages.
func TestWireDiffKnownDivergences(t *testing.T) {
	// A zero-length extension (ext8 of length 0) as an unknown field's value.
	// We skip it as the format defines; go-msgpack's slice decoder reads it as
	// "no data" and then consumes the next value as well, so here it would
	// swallow the "SeqNo" key and misread the rest.
	in := wireHex(`82 a1 "X" c7 00 05 a5 "SeqNo" 07`)
	var p ping
	if err := decodeMessage(in, &p); err != nil || p.SeqNo != 7 {
		t.Fatalf("ours: %+v, %v", p, err)
	}
	if _, err := wireDiffCases()[0].codecDecode(in); err == nil {
		t.Logf("go-msgpack now accepts this input")
	}
}

// FuzzWireDiff checks that our decoder and go-msgpack's agree on arbitrary
// input: both fail, or both produce the same value.
func FuzzWireDiff(f *testing.F) {
	which, bodies := wireSeedBodies()
	for i := range bodies {
		f.Add(which[i], bodies[i])
	}
	cases := wireDiffCases()
	f.Fuzz(func(t *testing.T, which byte, body []byte) {
		c := cases[int(which)%len(cases)]
		ours := c.newOurs()
		errOurs := decodeMessage(body, ours)
		theirs, errTheirs := c.codecDecode(body)
		agree := (errOurs == nil) == (errTheirs == nil) && (errOurs != nil || reflect.DeepEqual(ours, theirs))
		if !agree && !wireHasEmptyExt(body) {
			t.Fatalf("% x\nours       %+v, %v\ngo-msgpack %+v, %v", body, ours, errOurs, theirs, errTheirs)
		}
	})
}

func BenchmarkWire(b *testing.B) {
	vsn := []byte{1, 5, 2, 0, 0, 0}
	ip := []byte{10, 0, 0, 1}
	cases := []struct {
		name string
		typ  messageType
		msg  wireMessage
	}{
		{"ping", pingMsg, &ping{SeqNo: 123456, Node: "node-01.example", SourceAddr: ip, SourcePort: 7946, SourceNode: "node-02.example"}},
		{"alive", aliveMsg, &alive{Incarnation: 42, Node: "node-01.example", Addr: ip, Port: 7946, Meta: bytes.Repeat([]byte{'m'}, 64), Vsn: vsn}},
		{"pushNodeState", pushPullMsg, &pushNodeState{Name: "node-01.example", Addr: ip, Port: 7946, Meta: []byte("dc=eu"), Incarnation: 42, State: 1, Vsn: vsn}},
	}
	for _, bc := range cases {
		c := wireDiffCases()[wireCaseIndex(bc.msg)]
		mirror := c.toMirror(bc.msg)
		body := bc.msg.appendMsgpack(nil)
		b.Run(bc.name+"/encode/ours", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = encodeMessage(bc.typ, bc.msg)
			}
		})
		b.Run(bc.name+"/encode/go-msgpack", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var out []byte
				if err := codec.NewEncoderBytes(&out, &codec.MsgpackHandle{}).Encode(mirror); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(bc.name+"/decode/ours", func(b *testing.B) {
			b.ReportAllocs()
			m := c.newOurs()
			for b.Loop() {
				if err := decodeMessage(body, m); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(bc.name+"/decode/go-msgpack", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				p := reflect.New(c.mirror).Interface()
				if err := codec.NewDecoderBytes(body, &codec.MsgpackHandle{}).Decode(p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
