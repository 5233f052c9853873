package memberlist

// The message table shared by the differential and fuzz tests: mirrors of
// the wire structs as hashicorp/memberlist declares them (field names, types
// and codec tags), random values, and alternative MessagePack encodings.

import (
	"bytes"
	"math"
	"math/bits"
	"math/rand/v2"
	"reflect"
	"strings"
)

// Mirrors of the wire structs with the field names, types and tags the
// upstream structs have. Each converts to and from its wire struct.
type (
	codecPing struct {
		SeqNo      uint32
		Node       string
		SourceAddr []byte `codec:",omitempty"`
		SourcePort uint16 `codec:",omitempty"`
		SourceNode string `codec:",omitempty"`
	}
	codecIndirectPingReq struct {
		SeqNo      uint32
		Target     []byte
		Port       uint16
		Node       string
		Nack       bool
		SourceAddr []byte `codec:",omitempty"`
		SourcePort uint16 `codec:",omitempty"`
		SourceNode string `codec:",omitempty"`
	}
	codecAckResp struct {
		SeqNo   uint32
		Payload []byte
	}
	codecNackResp struct{ SeqNo uint32 }
	codecErrResp  struct{ Error string }
	codecSuspect  struct {
		Incarnation uint32
		Node        string
		From        string
	}
	codecAlive struct {
		Incarnation uint32
		Node        string
		Addr        []byte
		Port        uint16
		Meta        []byte
		Vsn         []uint8
	}
	codecDead struct {
		Incarnation uint32
		Node        string
		From        string
	}
	codecPushPullHeader struct {
		Nodes        int
		UserStateLen int
		Join         bool
	}
	codecUserMsgHeader struct{ UserMsgLen int }
	codecPushNodeState struct {
		Name        string
		Addr        []byte
		Port        uint16
		Meta        []byte
		Incarnation uint32
		State       NodeStateType
		Vsn         []uint8
	}
	codecCompress struct {
		Algo compressionType
		Buf  []byte
	}
)

// wireDiffCase pairs a wire struct with its go-msgpack mirror.
type wireDiffCase struct {
	name   string
	ours   reflect.Type
	mirror reflect.Type
}

func wireDiffCases() []wireDiffCase {
	return []wireDiffCase{
		{"ping", reflect.TypeFor[ping](), reflect.TypeFor[codecPing]()},
		{"indirectPingReq", reflect.TypeFor[indirectPingReq](), reflect.TypeFor[codecIndirectPingReq]()},
		{"ackResp", reflect.TypeFor[ackResp](), reflect.TypeFor[codecAckResp]()},
		{"nackResp", reflect.TypeFor[nackResp](), reflect.TypeFor[codecNackResp]()},
		{"errResp", reflect.TypeFor[errResp](), reflect.TypeFor[codecErrResp]()},
		{"suspect", reflect.TypeFor[suspect](), reflect.TypeFor[codecSuspect]()},
		{"alive", reflect.TypeFor[alive](), reflect.TypeFor[codecAlive]()},
		{"dead", reflect.TypeFor[dead](), reflect.TypeFor[codecDead]()},
		{"pushPullHeader", reflect.TypeFor[pushPullHeader](), reflect.TypeFor[codecPushPullHeader]()},
		{"userMsgHeader", reflect.TypeFor[userMsgHeader](), reflect.TypeFor[codecUserMsgHeader]()},
		{"pushNodeState", reflect.TypeFor[pushNodeState](), reflect.TypeFor[codecPushNodeState]()},
		{"compress", reflect.TypeFor[compress](), reflect.TypeFor[codecCompress]()},
	}
}

func (c wireDiffCase) newOurs() wireMessage {
	return reflect.New(c.ours).Interface().(wireMessage)
}

// toMirror converts a wire struct to a pointer to its mirror.
func (c wireDiffCase) toMirror(m wireMessage) any {
	p := reflect.New(c.mirror)
	p.Elem().Set(reflect.ValueOf(m).Elem().Convert(c.mirror))
	return p.Interface()
}

// wireGen draws values that stress the encodings: lengths and integers at
// every width boundary, nil and empty slices.
type wireGen struct{ r *rand.Rand }

var wireGenLens = []int{0, 1, 2, 15, 16, 31, 32, 33, 255, 256, 65535, 65536}

var wireGenUints = []uint64{0, 1, 127, 128, 255, 256, 32767, 32768, 65535, 65536,

	math.MaxInt32, math.MaxInt32 + 1, math.MaxUint32, math.MaxUint32 + 1, math.MaxInt64, math.MaxUint64}

var wireGenInts = []int64{0, 1, -1, 31, -32, -33, 127, 128, -127, -128, -129, 255, 256,

	32767, 32768, -32768, -32769, 65535, 65536, math.MaxInt32, math.MaxInt32 + 1,
	math.MinInt32, math.MinInt32 - 1, math.MaxInt64, math.MinInt64}

func (g wireGen) length() int {
	if g.r.IntN(4) == 0 {
		return wireGenLens[g.r.IntN(len(wireGenLens))]
	}
	return g.r.IntN(40)
}

func (g wireGen) bytes() []byte {
	if g.r.IntN(6) == 0 {
		return nil
	}
	b := make([]byte, g.length())
	for i := range b {
		b[i] = byte(g.r.Uint32())
	}
	return b
}

func (g wireGen) uint(limit uint64) uint64 {
	if g.r.IntN(2) == 0 {
		return g.r.Uint64N(limit) + g.r.Uint64N(2)
	}
	for {
		if v := wireGenUints[g.r.IntN(len(wireGenUints))]; v <= limit {
			return v
		}
	}
}

func (g wireGen) int() int64 {
	if g.r.IntN(2) == 0 {
		return g.r.Int64() >> g.r.IntN(64)
	}
	return wireGenInts[g.r.IntN(len(wireGenInts))]
}

// fill sets every field of the struct v to a random value.
func (g wireGen) fill(v reflect.Value) {
	for i := range v.NumField() {
		f := v.Field(i)
		switch f.Kind() {
		case reflect.Uint8, reflect.Uint16, reflect.Uint32:
			f.SetUint(g.uint(uint64(1)<<(8*f.Type().Size()) - 1))
		case reflect.Int:
			f.SetInt(g.int())
		case reflect.Bool:
			f.SetBool(g.r.IntN(2) == 0)
		case reflect.String:
			f.SetString(string(g.bytes()))
		case reflect.Slice:
			f.SetBytes(g.bytes())
		}
	}
}

func (c wireDiffCase) random(g wireGen) wireMessage {
	m := c.newOurs()
	g.fill(reflect.ValueOf(m).Elem())
	return m
}

// wireVariant writes MessagePack encodings that go-msgpack accepts but never
// produces (str8, bin, arrays of integers, wide integers, structs as arrays,
// unknown and duplicate keys, nil fields), plus occasional invalid values.
type wireVariant struct {
	g wireGen
	b []byte
}

func (w *wireVariant) pick(n int) int { return w.g.r.IntN(n) }

// be appends v as n big-endian bytes.
func (w *wireVariant) be(v uint64, n int) {
	for i := n - 1; i >= 0; i-- {
		w.b = append(w.b, byte(v>>(8*i)))
	}
}

// uintForm writes v in a random integer form that holds it.
func (w *wireVariant) uintForm(v uint64) {
	for {
		switch w.pick(9) {
		case 0:
			if v <= 127 {
				w.b = append(w.b, byte(v))
				return
			}
		case 1, 2, 3, 4:
			if n := 1 << w.pick(4); n == 8 || v < 1<<(8*n) {
				w.b = append(w.b, msgpackUint8+byte(wireWidthCode(n)))
				w.be(v, n)
				return
			}
		default:
			if n := 1 << w.pick(4); v < 1<<(8*n-1) {
				w.b = append(w.b, msgpackInt8+byte(wireWidthCode(n)))
				w.be(v, n)
				return
			}
		}
	}
}

// wireWidthCode maps a width of 1, 2, 4 or 8 bytes to 0..3.
func wireWidthCode(n int) int { return bits.TrailingZeros(uint(n)) }

// intForm writes v in a random integer form that holds it.
func (w *wireVariant) intForm(v int64) {
	if v >= 0 && w.pick(3) == 0 {
		w.uintForm(uint64(v))
		return
	}
	for {
		n := 1 << w.pick(4)
		if v >= -32 && v <= 127 && w.pick(3) == 0 {
			w.b = append(w.b, byte(v))
			return
		}
		if lim := int64(1) << (8*n - 1); n == 8 || (v >= -lim && v < lim) {
			w.b = append(w.b, msgpackInt8+byte(wireWidthCode(n)))
			w.be(uint64(v), n)
			return
		}
	}
}

// header writes a length header from one of the given forms that holds n:
// fix (with its limit), then 8-, 16- and 32-bit forms (0 when absent).
func (w *wireVariant) header(n int, fix byte, fixLimit int, b8, b16, b32 byte) {
	for {
		switch w.pick(4) {
		case 0:
			if fix != 0 && n < fixLimit {
				w.b = append(w.b, fix|byte(n))
				return
			}
		case 1:
			if b8 != 0 && n < 256 {
				w.b = append(w.b, b8, byte(n))
				return
			}
		case 2:
			if n < 1<<16 {
				w.b = append(w.b, b16)
				w.be(uint64(n), 2)
				return
			}
		default:
			w.b = append(w.b, b32)
			w.be(uint64(n), 4)
			return
		}
	}
}

func (w *wireVariant) arrayHeader(n int) {
	w.header(n, msgpackFixArray, 16, 0, msgpackArray16, msgpackArray32)
}

func (w *wireVariant) mapHeader(n int) {
	w.header(n, msgpackFixMap, 16, 0, msgpackMap16, msgpackMap32)
}

// raw writes b as a str, a bin, an array of integers, or (when asMap and the
// length is even) a map of integer pairs.
func (w *wireVariant) raw(b []byte, asMap bool) {
	switch k := w.pick(8); {
	case k < 3:
		w.header(len(b), msgpackFixStr, 32, msgpackStr8, msgpackStr16, msgpackStr32)
		w.b = append(w.b, b...)
	case k < 5 || len(b) > 300:
		w.header(len(b), 0, 0, msgpackBin8, msgpackBin16, msgpackBin32)
		w.b = append(w.b, b...)
	case k < 7 || !asMap || len(b)%2 != 0:
		w.arrayHeader(len(b))
		w.byteElems(b)
	default:
		w.mapHeader(len(b) / 2)
		w.byteElems(b)
	}
}

func (w *wireVariant) byteElems(b []byte) {
	for _, v := range b {
		if v == 0 && w.pick(3) == 0 {
			w.b = append(w.b, msgpackNil)
		} else {
			w.uintForm(uint64(v))
		}
	}
}

// junk writes a random value of any type, nested at most depth levels.
func (w *wireVariant) junk(depth int) {
	switch w.pick(10) {
	case 0:
		w.intForm(w.g.int())
	case 1:
		w.uintForm(w.g.uint(math.MaxUint64))
	case 2:
		w.b = append(w.b, []byte{msgpackNil, msgpackTrue, msgpackFalse}[w.pick(3)])
	case 3:
		w.b = append(w.b, msgpackFloat32, 1, 2, 3, 4)
	case 4:
		w.b = append(w.b, msgpackFloat64, 1, 2, 3, 4, 5, 6, 7, 8)
	case 5:
		w.raw(w.g.bytes(), true)
	case 6:
		w.ext()
	case 7, 8:
		if depth > 0 {
			n := w.pick(4)
			w.arrayHeader(n)
			for range n {
				w.junk(depth - 1)
			}
			return
		}
		w.b = append(w.b, 0x05)
	default:
		if depth > 0 {
			n := w.pick(3)
			w.mapHeader(n)
			for range 2 * n {
				w.junk(depth - 1)
			}
			return
		}
		w.b = append(w.b, 0xe5)
	}
}

// ext writes an extension value. Zero-length extensions are left out: see
// TestWireDiffKnownDivergences.
func (w *wireVariant) ext() {
	n := 1 + w.pick(20)
	tag := byte(w.pick(256))
	if w.pick(3) == 0 {
		tag = msgpackTimeExtTag
		n = []int{4, 8, 12, 4, 8, 12, 5}[w.pick(7)] // 5 is rejected by both
	}
	switch fix := map[int]byte{1: 0xd4, 2: 0xd5, 4: 0xd6, 8: 0xd7, 16: 0xd8}[n]; {
	case fix != 0 && w.pick(2) == 0:
		w.b = append(w.b, fix)
	default:
		w.header(n, 0, 0, msgpackExt8, msgpackExt16, msgpackExt32)
	}
	w.b = append(w.b, tag)
	for range n {
		w.b = append(w.b, byte(w.pick(256)))
	}
}

// field writes a variant of the field value f, occasionally nil or invalid.
func (w *wireVariant) field(f reflect.Value) {
	switch {
	case w.pick(12) == 0:
		w.b = append(w.b, msgpackNil)
		return
	case w.pick(40) == 0:
		w.junk(2)
		return
	}
	switch f.Kind() {
	case reflect.Uint8, reflect.Uint16, reflect.Uint32:
		limit := uint64(1)<<(8*f.Type().Size()) - 1
		switch w.pick(30) {
		case 0:
			w.uintForm(f.Uint() + limit + 1) // overflow
		case 1:
			w.intForm(-1 - int64(w.pick(1000))) // negative
		default:
			w.uintForm(f.Uint())
		}
	case reflect.Int:
		w.intForm(f.Int())
	case reflect.Bool:
		v := f.Bool()
		w.b = append(w.b, []byte{msgpackFalse, 0, msgpackTrue, 1}[2*int(msgpackBoolByte(v))+w.pick(2)])
	case reflect.String:
		w.raw([]byte(f.String()), false)
	case reflect.Slice:
		if f.IsNil() {
			w.b = append(w.b, msgpackNil)
			return
		}
		w.raw(f.Bytes(), true)
	}
}

var wireVariantUnknownKeys = []string{"X", "node", "seqNo", "Nodes2", "Source", "Vsn0", "Name ", "Incarnatio"}

// structForm writes the struct v as a map with shuffled, possibly repeated
// or unknown keys, or as an array in declaration order.
func (w *wireVariant) structForm(v reflect.Value) {
	t := v.Type()
	if w.pick(4) == 0 {
		n := max(0, t.NumField()+w.pick(4)-2)
		w.arrayHeader(n)
		for i := range n {
			if i < t.NumField() {
				w.field(v.Field(i))
			} else {
				w.junk(2)
			}
		}
		return
	}
	var entries [][]byte
	entry := func(key string, value func()) {
		saved := w.b
		w.b = nil
		w.raw([]byte(key), false)
		value()
		entries = append(entries, w.b)
		w.b = saved
	}
	for i := range t.NumField() {
		if w.pick(8) != 0 {
			entry(t.Field(i).Name, func() { w.field(v.Field(i)) })
		}
		if w.pick(10) == 0 {
			entry(t.Field(i).Name, func() { w.field(v.Field(i)) })
		}
	}
	for range w.pick(3) {
		entry(wireVariantUnknownKeys[w.pick(len(wireVariantUnknownKeys))], func() { w.junk(3) })
	}
	w.g.r.Shuffle(len(entries), func(i, j int) { entries[i], entries[j] = entries[j], entries[i] })
	w.mapHeader(len(entries))
	for _, e := range entries {
		w.b = append(w.b, e...)
	}
}

// variant returns a random alternative encoding of m.
func (w *wireVariant) variant(m wireMessage) []byte {
	w.b = nil
	if w.pick(40) == 0 {
		w.b = append(w.b, msgpackNil)
	} else {
		w.structForm(reflect.ValueOf(m).Elem())
	}
	if w.pick(8) == 0 {
		w.junk(1)
	}
	return w.b
}

// mutate applies one to three random edits to a copy of b.
func (w *wireVariant) mutate(b []byte) []byte {
	b = bytes.Clone(b)
	for range 1 + w.pick(3) {
		if len(b) == 0 {
			return b
		}
		i := w.pick(len(b))
		switch w.pick(5) {
		case 0, 1:
			b[i] = byte(w.pick(256))
		case 2:
			b = append(b[:i], append([]byte{byte(w.pick(256))}, b[i:]...)...)
		case 3:
			b = append(b[:i], b[i+1:]...)
		default:
			b = b[:i]
		}
	}
	return b
}

// wireCaseIndex returns the index in wireDiffCases of m's type.
func wireCaseIndex(m wireMessage) int {
	for i, c := range wireDiffCases() {
		if c.ours == reflect.TypeOf(m).Elem() {
			return i
		}
	}
	panic("no case for " + reflect.TypeOf(m).String())
}

// wireSeedBodies returns the golden bodies with the index of their case.
func wireSeedBodies() (which []byte, bodies [][]byte) {
	for _, row := range wireGoldenRows() {
		body := wireHex(row.hex)
		if row.withType {
			body = body[1:]
		}
		which = append(which, byte(wireCaseIndex(row.msg)))
		bodies = append(bodies, body)
	}
	return which, bodies
}

// wireNormalize returns m as it decodes after being re-encoded: empty
// omitempty byte slices become nil.
func wireNormalize(c wireDiffCase, m wireMessage) wireMessage {
	v := reflect.New(c.ours)
	v.Elem().Set(reflect.ValueOf(m).Elem())
	for i := range c.mirror.NumField() {
		f := v.Elem().Field(i)
		if strings.Contains(c.mirror.Field(i).Tag.Get("codec"), "omitempty") &&
			f.Kind() == reflect.Slice && f.Len() == 0 {
			f.SetZero()
		}
	}
	return v.Interface().(wireMessage)
}

// wireHasEmptyExt reports whether b contains the bytes of a zero-length
// ext8/16/32 header, the one input class where we knowingly differ from
// go-msgpack (TestWireDiffKnownDivergences).
func wireHasEmptyExt(b []byte) bool {
	return bytes.Contains(b, []byte{msgpackExt8, 0}) ||
		bytes.Contains(b, []byte{msgpackExt16, 0, 0}) ||
		bytes.Contains(b, []byte{msgpackExt32, 0, 0, 0, 0})
}
