package memberlist

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
)

// crcHeaderSize is the length of [hasCrcMsg][CRC-32 IEEE, big-endian].
const crcHeaderSize = 5

var (
	errCRCMismatch  = errors.New("invalid checksum")
	errCRCTruncated = errors.New("checksum header is truncated")
)

// crcFramePacket returns payload, in a new slice, prefixed with hasCrcMsg and
// the big-endian CRC-32 (IEEE) of payload.
func crcFramePacket(payload []byte) []byte {
	out := make([]byte, crcHeaderSize, crcHeaderSize+len(payload))
	out[0] = byte(hasCrcMsg)
	binary.BigEndian.PutUint32(out[1:crcHeaderSize], crc32.ChecksumIEEE(payload))
	return append(out, payload...)
}

// crcUnframePacket checks and removes a CRC header. ok reports whether buf
// starts with one; without one buf is returned as is. A header shorter than
// 5 bytes, or a checksum that does not match the rest of buf, is an error.
// payload shares buf's storage.
func crcUnframePacket(buf []byte) (payload []byte, ok bool, err error) {
	if len(buf) == 0 || buf[0] != byte(hasCrcMsg) {
		return buf, false, nil
	}
	if len(buf) < crcHeaderSize {
		return nil, true, errCRCTruncated
	}
	payload = buf[crcHeaderSize:]
	if binary.BigEndian.Uint32(buf[1:crcHeaderSize]) != crc32.ChecksumIEEE(payload) {
		return nil, true, errCRCMismatch
	}
	return payload, true, nil
}
