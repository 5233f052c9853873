package memberlist

import (
	"bytes"
	"fmt"
	"math"
)

// This file holds the field-level decoding rules. Each one accepts exactly
// what the go-msgpack v2.1.5 default decoder accepts for a field of that Go
// type (verified by the differential tests in wire_diff_test.go), and fails
// where it fails.

// readInt reads the payload of an int8..int64 value (descriptor bd).
func (d *wireDecoder) readInt(bd byte) (int64, error) {
	size := 1 << (bd - msgpackInt8)
	u, err := d.readBE(size)
	if err != nil {
		return 0, err
	}
	shift := 64 - 8*size
	return int64(u<<shift) >> shift, nil
}

// uintValue decodes an unsigned integer that must not exceed limit. Any
// integer form is accepted when its value fits; negatives are errors.
func (d *wireDecoder) uintValue(bd byte, limit uint64) (uint64, error) {
	var v uint64
	switch {
	case bd <= math.MaxInt8:
		v = uint64(bd)
	case bd >= msgpackUint8 && bd <= msgpackUint64:
		u, err := d.readBE(1 << (bd - msgpackUint8))
		if err != nil {
			return 0, err
		}
		v = u
	case bd >= msgpackInt8 && bd <= msgpackInt64:
		i, err := d.readInt(bd)
		if err != nil {
			return 0, err
		}
		if i < 0 {
			return 0, fmt.Errorf("msgpack: cannot assign negative value %d to an unsigned field", i)
		}
		v = uint64(i)
	case bd >= msgpackNegFix:
		return 0, fmt.Errorf("msgpack: cannot assign negative value %d to an unsigned field", int8(bd))
	default:
		return 0, msgpackTypeError(bd, "an unsigned integer")
	}
	if v > limit {
		return 0, fmt.Errorf("msgpack: value %d overflows a field of maximum %d", v, limit)
	}
	return v, nil
}

// intValue decodes a signed integer. As in go-msgpack, a uint64 above
// math.MaxInt64 is reinterpreted as a negative number rather than rejected.
func (d *wireDecoder) intValue(bd byte) (int64, error) {
	switch {
	case bd <= math.MaxInt8 || bd >= msgpackNegFix:
		return int64(int8(bd)), nil
	case bd >= msgpackUint8 && bd <= msgpackUint64:
		u, err := d.readBE(1 << (bd - msgpackUint8))
		return int64(u), err
	case bd >= msgpackInt8 && bd <= msgpackInt64:
		return d.readInt(bd)
	default:
		return 0, msgpackTypeError(bd, "a signed integer")
	}
}

// msgpackDecodeUint stores an unsigned integer field; nil stores zero.
func msgpackDecodeUint[T ~uint8 | ~uint16 | ~uint32](d *wireDecoder, bd byte, p *T) error {
	if bd == msgpackNil {
		*p = 0
		return nil
	}
	v, err := d.uintValue(bd, uint64(^T(0)))
	*p = T(v)
	return err
}

// msgpackDecodeInt stores a signed int field; nil stores zero. A value that
// does not fit the platform's int is an error.
func msgpackDecodeInt[T ~int](d *wireDecoder, bd byte, p *T) error {
	if bd == msgpackNil {
		*p = 0
		return nil
	}
	v, err := d.intValue(bd)
	if err != nil {
		return err
	}
	if int64(int(v)) != v {
		return fmt.Errorf("msgpack: value %d overflows int", v)
	}
	*p = T(v)
	return nil
}

// decodeBool stores a bool field: true, false, the fixints 0 and 1, or nil
// (false).
func (d *wireDecoder) decodeBool(bd byte, p *bool) error {
	switch bd {
	case msgpackNil, msgpackFalse, 0:
		*p = false
	case msgpackTrue, 1:
		*p = true
	default:
		return msgpackTypeError(bd, "a bool")
	}
	return nil
}

// decodeString stores a string field: any str or bin form, an array of
// small integers, or nil (the empty string).
func (d *wireDecoder) decodeString(bd byte, p *string) error {
	if bd == msgpackNil {
		*p = ""
		return nil
	}
	if n, ok, err := d.rawLen(bd); ok {
		if err != nil {
			return err
		}
		b, err := d.rawField(n, true)
		*p = string(b)
		return err
	}
	n, isMap, ok, err := d.containerLen(bd)
	if !ok || isMap {
		return msgpackTypeError(bd, "a string")
	}
	if err != nil {
		return err
	}
	b, err := d.byteArray(n)
	*p = string(b)
	return err
}

// decodeBytes stores a []byte field: any str or bin form (empty gives an
// empty non-nil slice), an array of small integers, a map whose keys and
// values are small integers (go-msgpack fills a slice from a map that way),
// or nil. In slice mode the result aliases the input unless copyBytes is set.
func (d *wireDecoder) decodeBytes(bd byte, p *[]byte) error {
	if bd == msgpackNil {
		*p = nil
		return nil
	}
	if n, ok, err := d.rawLen(bd); ok {
		if err != nil {
			return err
		}
		b, err := d.rawField(n, false)
		if d.copyBytes && d.s == nil {
			b = bytes.Clone(b)
		}
		*p = b
		return err
	}
	n, isMap, ok, err := d.containerLen(bd)
	if !ok {
		return msgpackTypeError(bd, "a byte slice")
	}
	if err != nil {
		return err
	}
	if isMap {
		n *= 2
	}
	*p, err = d.byteArray(n)
	return err
}

// rawField reads the n bytes of a str or bin value. In slice mode the result
// aliases the input. In stream mode it is newly allocated, except that a
// short value read for a string (temp) is returned in the scratch buffer.
func (d *wireDecoder) rawField(n uint64, temp bool) ([]byte, error) {
	if d.s == nil {
		return d.view(n)
	}
	if err := d.checkLen(n); err != nil {
		return nil, err
	}
	if temp && n <= uint64(len(d.s.scratch)) {
		b := d.s.scratch[:n]
		return b, d.s.readFull(b)
	}
	return d.s.readAlloc(n)
}

// byteArray decodes n array elements, each nil or an integer in 0..255, into
// a new slice (empty and non-nil when n is 0). The slice grows with the
// elements actually present.
func (d *wireDecoder) byteArray(n uint64) ([]byte, error) {
	if n == 0 {
		return []byte{}, nil
	}
	if err := d.checkLen(n); err != nil { // every element takes at least a byte
		return nil, err
	}
	if err := d.enter(); err != nil {
		return nil, err
	}
	b := make([]byte, 0, min(n, msgpackStreamChunk))
	for range n {
		v, err := d.byteElem()
		if err != nil {
			return nil, err
		}
		b = append(b, v)
	}
	d.leave()
	return b, nil
}

// byteElem decodes one element of a byte array.
func (d *wireDecoder) byteElem() (byte, error) {
	bd, err := d.readByte()
	if err != nil || bd == msgpackNil {
		return 0, err
	}
	v, err := d.uintValue(bd, math.MaxUint8)
	return byte(v), err
}

// keyBytes decodes a struct key: a str or bin, or an array of small integers.
// Keys are matched byte for byte against field names, so in stream mode a
// key too long for the scratch buffer is consumed and reported as nil (no
// field has such a name). Empty keys are errors, as in go-msgpack.
func (d *wireDecoder) keyBytes(bd byte) ([]byte, error) {
	if n, ok, err := d.rawLen(bd); ok {
		if err != nil {
			return nil, err
		}
		if n == 0 {
			return nil, errMsgpackEmptyKey
		}
		if d.s == nil || n <= uint64(len(d.s.scratch)) {
			return d.rawField(n, true)
		}
		if err := d.checkLen(n); err != nil {
			return nil, err
		}
		return nil, d.discard(n)
	}
	n, isMap, ok, err := d.containerLen(bd)
	switch {
	case bd == msgpackNil || (ok && n == 0 && err == nil && !isMap):
		return nil, errMsgpackEmptyKey
	case !ok || isMap:
		return nil, msgpackTypeError(bd, "a struct field name")
	case err != nil:
		return nil, err
	}
	return d.byteArray(n)
}

// skip consumes the value whose descriptor bd has been read, as go-msgpack
// does for an unknown struct field: every well-formed value is accepted,
// except the reserved byte 0xc1 and a timestamp extension (type -1) whose
// length is not 4, 8 or 12. Every skipped map or array counts toward the
// depth limit, even an empty one.
func (d *wireDecoder) skip(bd byte) error {
	switch {
	case bd <= math.MaxInt8 || bd >= msgpackNegFix:
		return nil
	case bd&0xe0 == msgpackFixStr:
		return d.discard(uint64(bd & 0x1f))
	}
	switch bd {
	case msgpackNil, msgpackFalse, msgpackTrue:
		return nil
	case msgpackUint8, msgpackInt8:
		return d.discard(1)
	case msgpackUint16, msgpackInt16:
		return d.discard(2)
	case msgpackFloat32, msgpackUint32, msgpackInt32:
		return d.discard(4)
	case msgpackFloat64, msgpackUint64, msgpackInt64:
		return d.discard(8)
	case msgpackStr8, msgpackStr16, msgpackStr32, msgpackBin8, msgpackBin16, msgpackBin32:
		n, _, err := d.rawLen(bd)
		if err == nil {
			err = d.checkLen(n)
		}
		if err != nil {
			return err
		}
		return d.discard(n)
	case msgpackExt8, msgpackExt16, msgpackExt32,
		msgpackFixExt1, msgpackFixExt2, msgpackFixExt4, msgpackFixExt8, msgpackFixExt16:
		return d.skipExt(bd)
	}
	n, isMap, ok, err := d.containerLen(bd)
	if !ok {
		return fmt.Errorf("msgpack: cannot decode reserved descriptor 0x%02x", bd)
	}
	if err != nil {
		return err
	}
	if isMap {
		n *= 2
	}
	return d.skipContainer(n)
}

// skipContainer consumes n values inside a map (two per entry) or array.
func (d *wireDecoder) skipContainer(n uint64) error {
	if err := d.enter(); err != nil {
		return err
	}
	for range n {
		bd, err := d.readByte()
		if err != nil {
			return err
		}
		if err := d.skip(bd); err != nil {
			return err
		}
	}
	d.leave()
	return nil
}

// skipExt consumes an extension value.
func (d *wireDecoder) skipExt(bd byte) error {
	var n uint64
	var err error
	switch bd {
	case msgpackExt8:
		n, err = d.readBE(1)
	case msgpackExt16:
		n, err = d.readBE(2)
	case msgpackExt32:
		n, err = d.readBE(4)
	default: // fixext 1, 2, 4, 8, 16
		n = 1 << (bd - msgpackFixExt1)
	}
	if err != nil {
		return err
	}
	tag, err := d.readByte()
	if err != nil {
		return err
	}
	if err := d.checkLen(n); err != nil {
		return err
	}
	if tag == msgpackTimeExtTag && n != 4 && n != 8 && n != 12 {
		return fmt.Errorf("msgpack: timestamp extension of %d bytes", n)
	}
	return d.discard(n)
}

// msgpackStruct is the state of one struct being decoded: its remaining
// entries and whether it arrived as a map (keys are field names) or as an
// array (fields in declaration order).
type msgpackStruct struct {
	left  uint64 // map entries or array elements still to read
	next  int    // declaration index of the next array element
	array bool
	open  bool // depth was entered and must be left
}

// structStart begins a struct: a map, an array, or nil (no fields set).
func (d *wireDecoder) structStart() (msgpackStruct, error) {
	bd, err := d.readByte()
	if err != nil || bd == msgpackNil {
		return msgpackStruct{}, err
	}
	n, isMap, ok, err := d.containerLen(bd)
	if !ok {
		return msgpackStruct{}, msgpackTypeError(bd, "a struct (want a map or an array)")
	}
	if err != nil || n == 0 {
		return msgpackStruct{}, err
	}
	if err := d.enter(); err != nil {
		return msgpackStruct{}, err
	}
	return msgpackStruct{left: n, array: !isMap, open: true}, nil
}

// structNext reads up to the next field the struct knows and returns its
// declaration index and the descriptor byte of its value, which the caller
// must decode. Unknown keys, and array elements past nfields, are skipped.
// index maps a key to a declaration index or -1. structNext returns -1 when
// the struct has no more entries.
func (d *wireDecoder) structNext(s *msgpackStruct, nfields int, index func([]byte) int) (int, byte, error) {
	for s.left > 0 {
		s.left--
		field := -1
		if s.array {
			if s.next < nfields {
				field = s.next
			}
			s.next++
		} else {
			kb, err := d.readByte()
			if err != nil {
				return -1, 0, err
			}
			key, err := d.keyBytes(kb)
			if err != nil {
				return -1, 0, err
			}
			field = index(key)
		}
		bd, err := d.readByte()
		if err != nil {
			return -1, 0, err
		}
		if field >= 0 {
			return field, bd, nil
		}
		if err := d.skip(bd); err != nil {
			return -1, 0, err
		}
	}
	if s.open {
		s.open = false
		d.leave()
	}
	return -1, 0, nil
}
