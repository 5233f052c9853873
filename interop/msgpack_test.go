package interop

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"strconv"
)

// This file is a small MessagePack encoder and decoder in the encoding
// the wire uses (reference §2.2), for building test inputs and reading
// captured messages.

// mpMap encodes a map from alternating keys and values. Keys must be given
// in ascending order, as the peer writes them. Values: string and []byte
// use the raw family (a nil []byte is nil), uint8/16/32 the uint family,
// int the int family, bool a bool.
func mpMap(kv ...any) []byte {
	if len(kv)%2 != 0 {
		panic("mpMap: odd argument count")
	}
	n := len(kv) / 2
	var b []byte
	if n < 16 {
		b = append(b, 0x80|byte(n))
	} else {
		b = append(b, 0xde, byte(n>>8), byte(n))
	}
	prev := ""
	for i := 0; i < len(kv); i += 2 {
		k := kv[i].(string)
		if k <= prev {
			panic("mpMap: keys out of order: " + k)
		}
		prev = k
		b = mpRaw(b, []byte(k))
		b = mpValue(b, kv[i+1])
	}
	return b
}

// msg returns a message: its type byte and a map body.
func msg(t byte, kv ...any) []byte { return append([]byte{t}, mpMap(kv...)...) }

func mpValue(b []byte, v any) []byte {
	switch v := v.(type) {
	case string:
		return mpRaw(b, []byte(v))
	case []byte:
		if v == nil {
			return append(b, 0xc0)
		}
		return mpRaw(b, v)
	case net.IP:
		return mpValue(b, []byte(v))
	case bool:
		if v {
			return append(b, 0xc3)
		}
		return append(b, 0xc2)
	case uint8:
		return mpUint(b, uint64(v))
	case uint16:
		return mpUint(b, uint64(v))
	case uint32:
		return mpUint(b, uint64(v))
	case int:
		return mpInt(b, int64(v))
	}
	panic(fmt.Sprintf("mpValue: unsupported %T", v))
}

func mpRaw(b, p []byte) []byte {
	switch n := len(p); {
	case n < 32:
		b = append(b, 0xa0|byte(n))
	case n < 1<<16:
		b = append(b, 0xda, byte(n>>8), byte(n))
	default:
		b = append(b, 0xdb)
		b = binary.BigEndian.AppendUint32(b, uint32(n))
	}
	return append(b, p...)
}

func mpUint(b []byte, v uint64) []byte {
	switch {
	case v < 128:
		return append(b, byte(v))
	case v < 1<<8:
		return append(b, 0xcc, byte(v))
	case v < 1<<16:
		return append(b, 0xcd, byte(v>>8), byte(v))
	case v < 1<<32:
		return binary.BigEndian.AppendUint32(append(b, 0xce), uint32(v))
	}
	return binary.BigEndian.AppendUint64(append(b, 0xcf), v)
}

func mpInt(b []byte, v int64) []byte {
	switch {
	case v >= 0 && v < 128, v >= -32 && v < 0:
		return append(b, byte(v))
	case v >= -128 && v < 128:
		return append(b, 0xd0, byte(v))
	case v >= -1<<15 && v < 1<<15:
		return append(b, 0xd1, byte(v>>8), byte(v))
	case v >= -1<<31 && v < 1<<31:
		return binary.BigEndian.AppendUint32(append(b, 0xd2), uint32(v))
	}
	return binary.BigEndian.AppendUint64(append(b, 0xd3), uint64(v))
}

var errShort = errors.New("msgpack: truncated")

// mpLen returns the length of the MessagePack object that starts b.
func mpLen(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, errShort
	}
	c := b[0]
	fixed := func(n int) (int, error) {
		if len(b) < n {
			return 0, errShort
		}
		return n, nil
	}
	sized := func(hdr, n int) (int, error) {
		if len(b) < hdr+n {
			return 0, errShort
		}
		return hdr + n, nil
	}
	be := func(w int) int {
		if len(b) < 1+w {
			return 1 << 30
		}
		switch w {
		case 1:
			return int(b[1])
		case 2:
			return int(binary.BigEndian.Uint16(b[1:]))
		}
		return int(binary.BigEndian.Uint32(b[1:]))
	}
	switch {
	case c <= 0x7f, c >= 0xe0, c == 0xc0, c == 0xc2, c == 0xc3:
		return 1, nil
	case c&0xe0 == 0xa0:
		return sized(1, int(c&0x1f))
	case c&0xf0 == 0x80:
		return mpSeqLen(b, 1, 2*int(c&0x0f))
	case c&0xf0 == 0x90:
		return mpSeqLen(b, 1, int(c&0x0f))
	}
	switch c {
	case 0xcc, 0xd0:
		return fixed(2)
	case 0xcd, 0xd1:
		return fixed(3)
	case 0xce, 0xd2, 0xca:
		return fixed(5)
	case 0xcf, 0xd3, 0xcb:
		return fixed(9)
	case 0xd9, 0xc4:
		return sized(2, be(1))
	case 0xda, 0xc5:
		return sized(3, be(2))
	case 0xdb, 0xc6:
		return sized(5, be(4))
	case 0xdc:
		return mpSeqLen(b, 3, be(2))
	case 0xdd:
		return mpSeqLen(b, 5, be(4))
	case 0xde:
		return mpSeqLen(b, 3, 2*be(2))
	case 0xdf:
		return mpSeqLen(b, 5, 2*be(4))
	}
	return 0, fmt.Errorf("msgpack: unsupported byte %#x", c)
}

func mpSeqLen(b []byte, hdr, items int) (int, error) {
	off := hdr
	if off > len(b) {
		return 0, errShort
	}
	for i := 0; i < items; i++ {
		n, err := mpLen(b[off:])
		if err != nil {
			return 0, err
		}
		off += n
	}
	return off, nil
}

// mpFields splits the map that starts b into key → encoded value, and
// returns the map's length in bytes.
func mpFields(b []byte) (map[string][]byte, int, error) {
	total, err := mpLen(b)
	if err != nil {
		return nil, 0, err
	}
	var n, off int
	switch c := b[0]; {
	case c&0xf0 == 0x80:
		n, off = int(c&0x0f), 1
	case c == 0xde:
		n, off = int(binary.BigEndian.Uint16(b[1:])), 3
	default:
		return nil, 0, fmt.Errorf("msgpack: not a map: %#x", c)
	}
	out := make(map[string][]byte, n)
	for i := 0; i < n; i++ {
		kl, _ := mpLen(b[off:])
		k, err := mpString(b[off : off+kl])
		if err != nil {
			return nil, 0, err
		}
		off += kl
		vl, _ := mpLen(b[off:])
		out[k] = b[off : off+vl]
		off += vl
	}
	return out, total, nil
}

// mpString decodes a raw, str or bin object.
func mpString(v []byte) (string, error) {
	n, err := mpLen(v)
	if err != nil {
		return "", err
	}
	switch c := v[0]; {
	case c&0xe0 == 0xa0:
		return string(v[1:n]), nil
	case c == 0xd9 || c == 0xc4:
		return string(v[2:n]), nil
	case c == 0xda || c == 0xc5:
		return string(v[3:n]), nil
	case c == 0xdb || c == 0xc6:
		return string(v[5:n]), nil
	case c == 0xc0:
		return "", nil
	}
	return "", fmt.Errorf("msgpack: not a string: %#x", v[0])
}

// mpUintVal decodes a non-negative integer object.
func mpUintVal(v []byte) (uint64, error) {
	if len(v) == 0 {
		return 0, errShort
	}
	switch c := v[0]; {
	case c <= 0x7f:
		return uint64(c), nil
	case c == 0xcc || c == 0xd0:
		return uint64(v[1]), nil
	case c == 0xcd || c == 0xd1:
		return uint64(binary.BigEndian.Uint16(v[1:])), nil
	case c == 0xce || c == 0xd2:
		return uint64(binary.BigEndian.Uint32(v[1:])), nil
	case c == 0xcf || c == 0xd3:
		return binary.BigEndian.Uint64(v[1:]), nil
	}
	return 0, fmt.Errorf("msgpack: not an integer: %#x", v[0])
}

// field returns the string or integer field key of the message m (type
// byte first) as text, or "" when m does not decode.
func field(m []byte, key string) string {
	if len(m) < 2 {
		return ""
	}
	f, _, err := mpFields(m[1:])
	if err != nil {
		return ""
	}
	v, ok := f[key]
	if !ok {
		return ""
	}
	if u, err := mpUintVal(v); err == nil {
		return strconv.FormatUint(u, 10)
	}
	s, _ := mpString(v)
	return s
}
