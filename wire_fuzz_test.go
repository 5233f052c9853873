package memberlist

import (
	"bufio"
	"bytes"
	"errors"
	"reflect"
	"testing"
)

// FuzzDecodeMessage decodes arbitrary bodies as each message type. Decoding
// must not panic; whatever decodes must re-encode to bytes that decode to
// the same value, and re-encoding must be a fixed point.
func FuzzDecodeMessage(f *testing.F) {
	which, bodies := wireSeedBodies()
	for i := range bodies {
		f.Add(which[i], bodies[i])
	}
	f.Add(byte(0), wireNested(msgpackMaxDepth))
	cases := wireDiffCases()
	f.Fuzz(func(t *testing.T, which byte, body []byte) {
		c := cases[int(which)%len(cases)]
		m := c.newOurs()
		if err := decodeMessage(body, m); err != nil {
			return
		}
		enc := m.appendMsgpack(nil)
		if len(enc) != m.msgpackLen() {
			t.Fatalf("msgpackLen %d, encoded %d", m.msgpackLen(), len(enc))
		}
		again := c.newOurs()
		if err := decodeMessage(enc, again); err != nil {
			t.Fatalf("re-encoded %+v does not decode: %v", m, err)
		}
		if want := wireNormalize(c, m); !reflect.DeepEqual(again, want) {
			t.Fatalf("round trip: %+v, want %+v", again, want)
		}
		if enc2 := again.appendMsgpack(nil); !bytes.Equal(enc, enc2) {
			t.Fatalf("encoding is not a fixed point:\n% x\n% x", enc, enc2)
		}
	})
}

// FuzzDecodeCompound splits arbitrary compound bodies. Parts must lie inside
// the input, the counts must add up, and an untruncated result must rebuild
// the input.
func FuzzDecodeCompound(f *testing.F) {
	f.Add(wireHex("02 0002 0001 0102 03"))
	f.Add([]byte{0x80})
	f.Add([]byte{})
	f.Add(wireHex("ff 0001 0001"))
	f.Add(wireHex("02 0001 0005 aa bbcc"))
	f.Fuzz(func(t *testing.T, buf []byte) {
		trunc, parts, err := decodeCompoundMessage(buf)
		switch {
		case len(buf) == 0:
			if !errors.Is(err, errCompoundMissingLength) {
				t.Fatalf("empty: %v", err)
			}
			return
		case len(buf) < 1+2*int(buf[0]):
			if !errors.Is(err, errCompoundTruncatedLens) {
				t.Fatalf("short lengths: %v", err)
			}
			return
		case err != nil:
			t.Fatalf("unexpected error %v", err)
		}
		if len(parts)+trunc != int(buf[0]) {
			t.Fatalf("%d parts + %d truncated != count %d", len(parts), trunc, buf[0])
		}
		used := 1 + 2*int(buf[0])
		for _, p := range parts {
			if used+len(p) > len(buf) || (len(p) > 0 && &p[0] != &buf[used]) {
				t.Fatalf("part does not alias the input at offset %d", used)
			}
			used += len(p)
		}
		if trunc == 0 {
			if re := makeCompoundMessage(parts); !bytes.Equal(re[1:], buf[:used]) {
				t.Fatalf("rebuilt % x, want % x", re[1:], buf[:used])
			}
		}
	})
}

// FuzzStreamDecoder reads a push/pull header and node states from a stream
// and checks each object against the slice decoder: same result, same
// number of bytes consumed, nothing read beyond the object.
func FuzzStreamDecoder(f *testing.F) {
	var seed []byte
	seed = (&pushPullHeader{Nodes: 2, UserStateLen: 3, Join: true}).appendMsgpack(seed)
	for _, row := range wireGoldenRows() {
		if s, ok := row.msg.(*pushNodeState); ok {
			seed = s.appendMsgpack(seed)
			seed = s.appendMsgpack(seed)
		}
	}
	f.Add(append(seed, "abc"...))
	f.Add(wireHex(`81 a4 "Name" db ffffffff`))
	f.Add(wireNested(2000))
	const limit = 1 << 16
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bytes.NewReader(data)
		br := bufio.NewReaderSize(r, 16)
		d := newStreamDecoder(br, limit)
		consumed := func() int { return len(data) - r.Len() - br.Buffered() }
		for i := range 5 {
			var m wireMessage = &pushNodeState{}
			if i == 0 {
				m = &pushPullHeader{}
			}
			start := consumed()
			errStream := d.decode(m)
			if errors.Is(errStream, errMsgpackFieldLimit) {
				return
			}
			slice := wireDecoder{buf: data[start:]}
			m2 := wireNew(m)
			errSlice := slice.decode(m2)
			if (errStream == nil) != (errSlice == nil) {
				t.Fatalf("object %d: stream %v, slice %v", i, errStream, errSlice)
			}
			if errStream != nil {
				return
			}
			if !reflect.DeepEqual(m, m2) || consumed()-start != slice.pos {
				t.Fatalf("object %d: stream %+v (%d bytes), slice %+v (%d bytes)",
					i, m, consumed()-start, m2, slice.pos)
			}
		}
	})
}
