package memberlist

import (
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
)

// MessagePack descriptor bytes. Only the old-spec subset is ever written
// (fixstr/str16/str32 for both strings and byte slices); the decoder also
// understands the new-spec str8 and bin forms, extensions and floats, because
// the go-msgpack decoder that peers run accepts them.
const (
	msgpackFixMap   = 0x80
	msgpackFixArray = 0x90
	msgpackFixStr   = 0xa0
	msgpackNil      = 0xc0
	msgpackFalse    = 0xc2
	msgpackTrue     = 0xc3
	msgpackBin8     = 0xc4
	msgpackBin16    = 0xc5
	msgpackBin32    = 0xc6
	msgpackExt8     = 0xc7
	msgpackExt16    = 0xc8
	msgpackExt32    = 0xc9
	msgpackFloat32  = 0xca
	msgpackFloat64  = 0xcb
	msgpackUint8    = 0xcc
	msgpackUint16   = 0xcd
	msgpackUint32   = 0xce
	msgpackUint64   = 0xcf
	msgpackInt8     = 0xd0
	msgpackInt16    = 0xd1
	msgpackInt32    = 0xd2
	msgpackInt64    = 0xd3
	msgpackFixExt1  = 0xd4
	msgpackFixExt2  = 0xd5
	msgpackFixExt4  = 0xd6
	msgpackFixExt8  = 0xd7
	msgpackFixExt16 = 0xd8
	msgpackStr8     = 0xd9
	msgpackStr16    = 0xda
	msgpackStr32    = 0xdb
	msgpackArray16  = 0xdc
	msgpackArray32  = 0xdd
	msgpackMap16    = 0xde
	msgpackMap32    = 0xdf
	msgpackNegFix   = 0xe0

	// msgpackTimeExtTag is the extension type the go-msgpack decoder reads
	// as a timestamp; it rejects such an extension unless it is 4, 8 or 12
	// bytes long, even when the value is only being skipped.
	msgpackTimeExtTag = 0xff
)

// msgpackMaxDepth is the nesting depth at which decoding fails. It is the
// go-msgpack default (MaxDepth 1024, checked as depth >= 1024 after entering
// a non-empty struct or slice, or any skipped map or array), so a value that
// one decoder rejects for depth the other rejects too.
const msgpackMaxDepth = 1024

// msgpackStreamChunk is the first allocation for a field read from a stream;
// later allocations at most double what has actually been read.
const msgpackStreamChunk = 512

var (
	// errMsgpackTruncated reports input that ends inside a value.
	errMsgpackTruncated = fmt.Errorf("msgpack: truncated input: %w", io.ErrUnexpectedEOF)
	// errMsgpackDepth reports nesting deeper than msgpackMaxDepth.
	errMsgpackDepth = errors.New("msgpack: maximum decoding depth exceeded")
	// errMsgpackFieldLimit reports a stream field longer than the
	// decoder's maxFieldBytes.
	errMsgpackFieldLimit = errors.New("msgpack: field exceeds size limit")
	// errMsgpackEmptyKey reports an empty or nil struct key, which the
	// go-msgpack decoder also rejects.
	errMsgpackEmptyKey = errors.New("msgpack: empty struct field name")
)

// ---------------------------------------------------------------- encoding

// msgpackStrLen reports the encoded size of a raw string of n bytes.
func msgpackStrLen(n int) int {
	switch {
	case n < 32:
		return 1 + n
	case n < 1<<16:
		return 3 + n
	default:
		return 5 + n
	}
}

// msgpackAppendStrHeader appends the old-spec raw header for n bytes:
// fixstr, str16 or str32, never str8. Lengths of 4 GiB or more cannot be
// represented; like go-msgpack it keeps the low 32 bits (every caller's data
// is bounded far below that).
func msgpackAppendStrHeader(dst []byte, n int) []byte {
	switch {
	case n < 32:
		return append(dst, msgpackFixStr|byte(n))
	case n < 1<<16:
		return append(dst, msgpackStr16, byte(n>>8), byte(n))
	default:
		return append(dst, msgpackStr32, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
}

// msgpackAppendString appends s as a raw string.
func msgpackAppendString(dst []byte, s string) []byte {
	return append(msgpackAppendStrHeader(dst, len(s)), s...)
}

// msgpackBytesLen reports the encoded size of b: nil is one byte.
func msgpackBytesLen(b []byte) int {
	if b == nil {
		return 1
	}
	return msgpackStrLen(len(b))
}

// msgpackAppendBytes appends b as a raw string, or nil when b is nil.
func msgpackAppendBytes(dst []byte, b []byte) []byte {
	if b == nil {
		return append(dst, msgpackNil)
	}
	return append(msgpackAppendStrHeader(dst, len(b)), b...)
}

// msgpackUintLen reports the encoded size of an unsigned integer.
func msgpackUintLen(v uint64) int {
	switch {
	case v <= math.MaxInt8:
		return 1
	case v <= math.MaxUint8:
		return 2
	case v <= math.MaxUint16:
		return 3
	case v <= math.MaxUint32:
		return 5
	default:
		return 9
	}
}

// msgpackAppendUint appends v in the smallest unsigned form.
func msgpackAppendUint(dst []byte, v uint64) []byte {
	switch {
	case v <= math.MaxInt8:
		return append(dst, byte(v))
	case v <= math.MaxUint8:
		return append(dst, msgpackUint8, byte(v))
	case v <= math.MaxUint16:
		return append(dst, msgpackUint16, byte(v>>8), byte(v))
	case v <= math.MaxUint32:
		return append(dst, msgpackUint32, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
	default:
		return msgpackAppendBE64(append(dst, msgpackUint64), v)
	}
}

// msgpackIntLen reports the encoded size of a signed integer.
func msgpackIntLen(v int64) int {
	switch {
	case v >= -32 && v <= math.MaxInt8:
		return 1
	case v >= math.MinInt8 && v < -32:
		return 2
	case v >= math.MinInt16 && v <= math.MaxInt16:
		return 3
	case v >= math.MinInt32 && v <= math.MaxInt32:
		return 5
	default:
		return 9
	}
}

// msgpackAppendInt appends v the way go-msgpack writes a Go signed integer:
// fixints for -32..127, and otherwise the smallest signed form (int8 only for
// negatives), never an unsigned form.
func msgpackAppendInt(dst []byte, v int64) []byte {
	switch {
	case v >= -32 && v <= math.MaxInt8:
		return append(dst, byte(v))
	case v >= math.MinInt8 && v < -32:
		return append(dst, msgpackInt8, byte(v))
	case v >= math.MinInt16 && v <= math.MaxInt16:
		return append(dst, msgpackInt16, byte(v>>8), byte(v))
	case v >= math.MinInt32 && v <= math.MaxInt32:
		return append(dst, msgpackInt32, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
	default:
		return msgpackAppendBE64(append(dst, msgpackInt64), uint64(v))
	}
}

// msgpackAppendBE64 appends v as 8 big-endian bytes.
func msgpackAppendBE64(dst []byte, v uint64) []byte {
	return append(dst, byte(v>>56), byte(v>>48), byte(v>>40), byte(v>>32),
		byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
}

// msgpackAppendBool appends b.
func msgpackAppendBool(dst []byte, b bool) []byte {
	if b {
		return append(dst, msgpackTrue)
	}
	return append(dst, msgpackFalse)
}

// msgpackBoolByte reports 1 when b is true, for counting map entries.
func msgpackBoolByte(b bool) byte {
	if b {
		return 1
	}
	return 0
}

// ---------------------------------------------------------------- decoding

// A wireDecoder reads MessagePack values for the wire messages, either from
// a byte slice (decodeMessage) or from a stream (newStreamDecoder). The zero
// value decodes from an empty slice. A wireDecoder is not safe for
// concurrent use.
type wireDecoder struct {
	buf       []byte         // input in slice mode
	pos       int            // read offset into buf
	s         *msgpackStream // non-nil in stream mode
	depth     int            // containers entered in the current object
	copyBytes bool           // slice mode: copy []byte fields instead of aliasing buf
}

// msgpackStream is the stream-mode state of a wireDecoder.
type msgpackStream struct {
	r interface {
		io.Reader
		io.ByteReader
	}
	maxField uint64 // 0: no per-field limit
	started  bool   // a byte of the current object has been read
	scratch  [64]byte
}

// newStreamDecoder returns a decoder that reads one object per decode call
// from r. It reads exactly the bytes of each object (whatever r itself
// buffers stays in r), so raw bytes that follow an object on a stream can be
// read from r afterwards. A str, bin or ext value, or a byte array, longer
// than maxFieldBytes is an error before anything is allocated for it;
// maxFieldBytes <= 0 means no limit. Memory for a field grows with the bytes
// actually read, so a large declared length with no data behind it costs
// little.
func newStreamDecoder(r interface {
	io.Reader
	io.ByteReader
}, maxFieldBytes int) *wireDecoder {
	s := &msgpackStream{r: r}
	if maxFieldBytes > 0 {
		s.maxField = uint64(maxFieldBytes)
	}
	return &wireDecoder{s: s}
}

// readByte reads one byte.
func (d *wireDecoder) readByte() (byte, error) {
	if d.s != nil {
		return d.s.readByte()
	}
	if d.pos >= len(d.buf) {
		return 0, errMsgpackTruncated
	}
	b := d.buf[d.pos]
	d.pos++
	return b, nil
}

func (s *msgpackStream) readByte() (byte, error) {
	b, err := s.r.ReadByte()
	if err != nil {
		return 0, s.readErr(err)
	}
	s.started = true
	return b, nil
}

// readErr maps a reader error: EOF before the first byte of an object is
// io.EOF itself, a later EOF is truncation.
func (s *msgpackStream) readErr(err error) error {
	switch {
	case err == io.EOF && !s.started:
		return io.EOF
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		return errMsgpackTruncated
	default:
		return fmt.Errorf("msgpack: read: %w", err)
	}
}

// readFull fills b from the stream.
func (s *msgpackStream) readFull(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	if _, err := io.ReadFull(s.r, b); err != nil {
		s.started = true // the object has begun: a short read is truncation
		return s.readErr(err)
	}
	return nil
}

// readBE reads an n-byte big-endian unsigned integer (n <= 8).
func (d *wireDecoder) readBE(n int) (uint64, error) {
	if d.s == nil {
		if n > len(d.buf)-d.pos {
			d.pos = len(d.buf)
			return 0, errMsgpackTruncated
		}
		var v uint64
		for _, b := range d.buf[d.pos : d.pos+n] {
			v = v<<8 | uint64(b)
		}
		d.pos += n
		return v, nil
	}
	var v uint64
	for range n {
		b, err := d.s.readByte()
		if err != nil {
			return 0, err
		}
		v = v<<8 | uint64(b)
	}
	return v, nil
}

// checkLen rejects a declared length that cannot be satisfied: in slice mode
// one longer than the remaining input, in stream mode one over maxField.
func (d *wireDecoder) checkLen(n uint64) error {
	if d.s == nil {
		if n > uint64(len(d.buf)-d.pos) {
			return errMsgpackTruncated
		}
		return nil
	}
	if d.s.maxField > 0 && n > d.s.maxField {
		return fmt.Errorf("%w: %d bytes declared, limit %d", errMsgpackFieldLimit, n, d.s.maxField)
	}
	return nil
}

// view returns the next n bytes of the input without copying (slice mode).
// The result's capacity ends at its length, so appending to it never
// overwrites the input.
func (d *wireDecoder) view(n uint64) ([]byte, error) {
	if err := d.checkLen(n); err != nil {
		return nil, err
	}
	end := d.pos + int(n)
	b := d.buf[d.pos:end:end]
	d.pos = end
	return b, nil
}

// discard skips n bytes.
func (d *wireDecoder) discard(n uint64) error {
	if d.s == nil {
		_, err := d.view(n)
		return err
	}
	for n > 0 {
		k := min(n, uint64(len(d.s.scratch)))
		if err := d.s.readFull(d.s.scratch[:k]); err != nil {
			return err
		}
		n -= k
	}
	return nil
}

// readAlloc reads n bytes into a new slice that grows as data arrives.
func (s *msgpackStream) readAlloc(n uint64) ([]byte, error) {
	b := make([]byte, 0, min(n, msgpackStreamChunk))
	for uint64(len(b)) < n {
		if len(b) == cap(b) {
			b = slices.Grow(b, int(min(n-uint64(len(b)), uint64(len(b)))))
		}
		k := int(min(n-uint64(len(b)), uint64(cap(b)-len(b))))
		if err := s.readFull(b[len(b) : len(b)+k]); err != nil {
			return nil, err
		}
		b = b[:len(b)+k]
	}
	return b, nil
}

// enter records entry into a container and enforces msgpackMaxDepth.
func (d *wireDecoder) enter() error {
	d.depth++
	if d.depth >= msgpackMaxDepth {
		return errMsgpackDepth
	}
	return nil
}

// leave records the end of a container.
func (d *wireDecoder) leave() { d.depth-- }

// rawLen reads the length of a str or bin value whose descriptor is bd;
// ok is false when bd is neither.
func (d *wireDecoder) rawLen(bd byte) (n uint64, ok bool, err error) {
	switch {
	case bd&0xe0 == msgpackFixStr:
		return uint64(bd & 0x1f), true, nil
	case bd == msgpackStr8 || bd == msgpackBin8:
		n, err = d.readBE(1)
	case bd == msgpackStr16 || bd == msgpackBin16:
		n, err = d.readBE(2)
	case bd == msgpackStr32 || bd == msgpackBin32:
		n, err = d.readBE(4)
	default:
		return 0, false, nil
	}
	return n, true, err
}

// containerLen reads the entry count of a map or array whose descriptor is
// bd. A map of n entries reports n; isMap tells them apart; ok is false for
// any other descriptor.
func (d *wireDecoder) containerLen(bd byte) (n uint64, isMap, ok bool, err error) {
	switch {
	case bd&0xf0 == msgpackFixMap:
		return uint64(bd & 0x0f), true, true, nil
	case bd&0xf0 == msgpackFixArray:
		return uint64(bd & 0x0f), false, true, nil
	case bd == msgpackMap16 || bd == msgpackArray16:
		n, err = d.readBE(2)
	case bd == msgpackMap32 || bd == msgpackArray32:
		n, err = d.readBE(4)
	default:
		return 0, false, false, nil
	}
	return n, bd == msgpackMap16 || bd == msgpackMap32, true, err
}

// msgpackDescribe names a descriptor byte for error messages.
func msgpackDescribe(bd byte) string {
	kind := "reserved"
	switch {
	case bd <= 0x7f || bd >= msgpackNegFix || (bd >= msgpackInt8 && bd <= msgpackInt64):
		kind = "int"
	case bd >= msgpackUint8 && bd <= msgpackUint64:
		kind = "uint"
	case bd&0xf0 == msgpackFixMap || bd == msgpackMap16 || bd == msgpackMap32:
		kind = "map"
	case bd&0xf0 == msgpackFixArray || bd == msgpackArray16 || bd == msgpackArray32:
		kind = "array"
	case bd&0xe0 == msgpackFixStr || (bd >= msgpackStr8 && bd <= msgpackStr32):
		kind = "str"
	case bd >= msgpackBin8 && bd <= msgpackBin32:
		kind = "bin"
	case bd == msgpackNil:
		kind = "nil"
	case bd == msgpackFalse || bd == msgpackTrue:
		kind = "bool"
	case bd == msgpackFloat32 || bd == msgpackFloat64:
		kind = "float"
	case (bd >= msgpackExt8 && bd <= msgpackExt32) || (bd >= msgpackFixExt1 && bd <= msgpackFixExt16):
		kind = "ext"
	}
	return fmt.Sprintf("%s (0x%02x)", kind, bd)
}

// msgpackTypeError reports a value of the wrong type for its destination.
func msgpackTypeError(bd byte, want string) error {
	return fmt.Errorf("msgpack: cannot decode %s into %s", msgpackDescribe(bd), want)
}
