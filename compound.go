package memberlist

import (
	"encoding/binary"
	"errors"
	"math"
)

// maxCompoundParts is the most parts one compound message can carry: the
// count is a single byte.
const maxCompoundParts = 255

var (
	errCompoundMissingLength = errors.New("missing compound length byte")
	errCompoundTruncatedLens = errors.New("truncated len slice")
)

// makeCompoundMessage frames msgs, each a complete [msgType][body], as one
// compound message: [compoundMsg][count][count × uint16 BE length][parts].
// It returns nil when there are more than maxCompoundParts parts or a part is
// longer than 65535 bytes, rather than writing a wrapped count or length;
// callers with more parts split them, as makeCompoundMessages does.
func makeCompoundMessage(msgs [][]byte) []byte {
	if len(msgs) > maxCompoundParts {
		return nil
	}
	size := 2 + 2*len(msgs)
	for _, m := range msgs {
		if len(m) > math.MaxUint16 {
			return nil
		}
		size += len(m)
	}
	buf := make([]byte, 0, size)
	buf = append(buf, byte(compoundMsg), byte(len(msgs)))
	for _, m := range msgs {
		buf = binary.BigEndian.AppendUint16(buf, uint16(len(m)))
	}
	for _, m := range msgs {
		buf = append(buf, m...)
	}
	return buf
}

// makeCompoundMessages frames msgs as compound messages of at most
// maxCompoundParts parts each, in order. It returns nil when msgs is empty or
// a part is longer than 65535 bytes.
func makeCompoundMessages(msgs [][]byte) [][]byte {
	if len(msgs) == 0 {
		return nil
	}
	out := make([][]byte, 0, (len(msgs)+maxCompoundParts-1)/maxCompoundParts)
	for len(msgs) > 0 {
		n := min(len(msgs), maxCompoundParts)
		c := makeCompoundMessage(msgs[:n])
		if c == nil {
			return nil
		}
		out = append(out, c)
		msgs = msgs[n:]
	}
	return out
}

// decodeCompoundMessage splits the body of a compound message (the bytes
// after the compoundMsg type byte) into its parts, which alias buf. When the
// data ends inside a part, the parts before it are returned and trunc
// reports how many declared parts are missing; that is not an error. Bytes
// after the last part are ignored.
func decodeCompoundMessage(buf []byte) (trunc int, parts [][]byte, err error) {
	if len(buf) < 1 {
		return 0, nil, errCompoundMissingLength
	}
	n := int(buf[0])
	buf = buf[1:]
	if len(buf) < 2*n {
		return 0, nil, errCompoundTruncatedLens
	}
	lens, buf := buf[:2*n], buf[2*n:]
	parts = make([][]byte, 0, n)
	for i := range n {
		l := int(binary.BigEndian.Uint16(lens[2*i:]))
		if len(buf) < l {
			return n - i, parts, nil
		}
		parts = append(parts, buf[:l:l])
		buf = buf[l:]
	}
	return 0, parts, nil
}
