package memberlist

import "slices"

// This file defines the wire messages and their MessagePack bodies. The
// encoder produces the bytes that github.com/hashicorp/go-msgpack/v2 v2.1.5
// writes with a zero codec.MsgpackHandle (old spec): each struct is a map
// keyed by Go field name in ascending byte order, strings and byte slices
// use fixstr/str16/str32, a nil byte slice is nil, omitempty fields are left
// out when empty, unsigned fields use the smallest unsigned form and signed
// fields the smallest signed form. The decoder accepts what that library's
// decoder accepts for the same Go types; see wire_decode.go.

// messageType is the first byte of every packet and stream message. The
// values are fixed by the protocol; new ones are only ever appended.
type messageType uint8

// Message types, with their on-wire values.
const (
	pingMsg         messageType = 0
	indirectPingMsg messageType = 1
	ackRespMsg      messageType = 2
	suspectMsg      messageType = 3
	aliveMsg        messageType = 4
	deadMsg         messageType = 5
	pushPullMsg     messageType = 6
	compoundMsg     messageType = 7
	userMsg         messageType = 8
	compressMsg     messageType = 9
	encryptMsg      messageType = 10
	nackRespMsg     messageType = 11
	hasCrcMsg       messageType = 12
	errMsg          messageType = 13
	hasLabelMsg     messageType = 244
)

// compressionType identifies the algorithm in a compress wrapper.
type compressionType uint8

// lzwAlgo is LZW with LSB bit order and 8-bit literals, the only algorithm.
const lzwAlgo compressionType = 0

// ping is a direct probe (pingMsg), on UDP or as the TCP fallback.
type ping struct {
	SeqNo      uint32
	Node       string // the intended target's name; empty from old senders
	SourceAddr []byte // omitempty
	SourcePort uint16 // omitempty
	SourceNode string // omitempty
}

// indirectPingReq asks a relay to probe Target (indirectPingMsg).
type indirectPingReq struct {
	SeqNo      uint32
	Target     []byte
	Port       uint16
	Node       string
	Nack       bool   // the relay should answer with a nack on failure
	SourceAddr []byte // omitempty
	SourcePort uint16 // omitempty
	SourceNode string // omitempty
}

// ackResp answers a ping (ackRespMsg).
type ackResp struct {
	SeqNo   uint32
	Payload []byte
}

// nackResp tells an indirect prober that the relay got no ack (nackRespMsg).
type nackResp struct {
	SeqNo uint32
}

// errResp carries an error reply on a stream (errMsg).
type errResp struct {
	Error string
}

// suspect gossips that Node is suspected (suspectMsg).
type suspect struct {
	Incarnation uint32
	Node        string
	From        string
}

// alive gossips that Node is alive (aliveMsg).
type alive struct {
	Incarnation uint32
	Node        string
	Addr        []byte
	Port        uint16
	Meta        []byte
	Vsn         []uint8
}

// dead gossips that Node is dead, or has left when From == Node (deadMsg).
type dead struct {
	Incarnation uint32
	Node        string
	From        string
}

// pushPullHeader opens a push/pull stream body; Nodes node states and
// UserStateLen raw bytes follow it.
type pushPullHeader struct {
	Nodes        int
	UserStateLen int
	Join         bool
}

// userMsgHeader precedes UserMsgLen raw bytes in a user message on a stream.
type userMsgHeader struct {
	UserMsgLen int
}

// pushNodeState is one member entry in a push/pull body.
type pushNodeState struct {
	Name        string
	Addr        []byte
	Port        uint16
	Meta        []byte
	Incarnation uint32
	State       NodeStateType
	Vsn         []uint8
}

// compress wraps a compressed message (compressMsg).
type compress struct {
	Algo compressionType
	Buf  []byte
}

// A wireMessage is a message body with a MessagePack form. Implementations
// are the message structs of this file, used through pointers.
type wireMessage interface {
	// msgpackLen reports the exact size appendMsgpack will append.
	msgpackLen() int
	// appendMsgpack appends the body as a MessagePack map.
	appendMsgpack(dst []byte) []byte
	// decodeMsgpack resets the receiver and fills it from one object.
	decodeMsgpack(d *wireDecoder) error
}

// encodeMessage returns [t] followed by m's body, in one allocation.
func encodeMessage(t messageType, m wireMessage) []byte {
	buf := make([]byte, 1, 1+m.msgpackLen())
	buf[0] = byte(t)
	return m.appendMsgpack(buf)
}

// appendMessage appends [t] followed by m's body to dst.
func appendMessage(dst []byte, t messageType, m wireMessage) []byte {
	dst = slices.Grow(dst, 1+m.msgpackLen())
	return m.appendMsgpack(append(dst, byte(t)))
}

// decodeMessage fills m from body, which excludes the message-type byte.
// It decodes one object and ignores any bytes after it. The []byte fields of
// m alias body: the caller must not modify body while m is in use, and
// should copy those fields (or use decodeMessageOwned) before keeping them
// beyond the packet, since they keep all of body's backing array alive.
func decodeMessage(body []byte, m wireMessage) error {
	d := wireDecoder{buf: body}
	return d.decode(m)
}

// decodeMessageOwned is decodeMessage with freshly allocated []byte fields.
func decodeMessageOwned(body []byte, m wireMessage) error {
	d := wireDecoder{buf: body, copyBytes: true}
	return d.decode(m)
}

// decode fills m from the next object. In stream mode it returns io.EOF when
// the stream ends before the object's first byte.
func (d *wireDecoder) decode(m wireMessage) error {
	d.depth = 0
	if d.s != nil {
		d.s.started = false
	}
	// The concrete calls keep d off the heap in decodeMessage; an interface
	// call would make it escape.
	switch v := m.(type) {
	case *ping:
		return v.decodeMsgpack(d)
	case *indirectPingReq:
		return v.decodeMsgpack(d)
	case *ackResp:
		return v.decodeMsgpack(d)
	case *nackResp:
		return v.decodeMsgpack(d)
	case *errResp:
		return v.decodeMsgpack(d)
	case *suspect:
		return v.decodeMsgpack(d)
	case *alive:
		return v.decodeMsgpack(d)
	case *dead:
		return v.decodeMsgpack(d)
	case *pushPullHeader:
		return v.decodeMsgpack(d)
	case *userMsgHeader:
		return v.decodeMsgpack(d)
	case *pushNodeState:
		return v.decodeMsgpack(d)
	case *compress:
		return v.decodeMsgpack(d)
	}
	moved := *d
	err := m.decodeMsgpack(&moved)
	*d = moved
	return err
}
