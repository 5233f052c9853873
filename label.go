package memberlist

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
)

// LabelMaxSize is the longest label, in bytes, that a label header can carry.
const LabelMaxSize = 255

// A label header is [hasLabelMsg][length: 1 byte][label bytes], with a length
// of 1 to LabelMaxSize. An empty label is sent as no header at all.

var (
	errLabelEmptyHeader     = errors.New("label header cannot be empty when present")
	errLabelPacketTruncated = errors.New("cannot decode label; packet has been truncated")
	errLabelStreamTruncated = errors.New("cannot decode label; stream has been truncated")
)

// labelOverhead returns how many bytes the header for label adds to a packet
// or stream: 0 for the empty label, otherwise 2 plus its length.
func labelOverhead(label string) int {
	if label == "" {
		return 0
	}
	return 2 + len(label)
}

// labelTooLong returns the error for a label longer than LabelMaxSize.
func labelTooLong(label string) error {
	return fmt.Errorf("label %q is too long", label)
}

// appendLabelHeader appends the header for a non-empty label of at most
// LabelMaxSize bytes to dst.
func appendLabelHeader(dst []byte, label string) []byte {
	dst = append(dst, byte(hasLabelMsg), byte(len(label)))
	return append(dst, label...)
}

// AddLabelHeaderToPacket returns buf prefixed with the header for label, in a
// new slice. With an empty label it returns buf itself. It fails when the
// label is longer than LabelMaxSize bytes.
func AddLabelHeaderToPacket(buf []byte, label string) ([]byte, error) {
	if label == "" {
		return buf, nil
	}
	if len(label) > LabelMaxSize {
		return nil, labelTooLong(label)
	}
	out := make([]byte, 0, labelOverhead(label)+len(buf))
	out = appendLabelHeader(out, label)
	return append(out, buf...), nil
}

// RemoveLabelHeaderFromPacket splits a packet into its label and the bytes
// after the label header; newBuf shares buf's storage. A packet that is empty
// or does not start with a label header is returned unchanged with an empty
// label. A header that is truncated or declares a zero length is an error.
func RemoveLabelHeaderFromPacket(buf []byte) (newBuf []byte, label string, err error) {
	if len(buf) == 0 || buf[0] != byte(hasLabelMsg) {
		return buf, "", nil
	}
	if len(buf) < 2 {
		return nil, "", errLabelPacketTruncated
	}
	size := int(buf[1])
	if size == 0 {
		return nil, "", errLabelEmptyHeader
	}
	if len(buf) < 2+size {
		return nil, "", errLabelPacketTruncated
	}
	return buf[2+size:], string(buf[2 : 2+size]), nil
}

// AddLabelHeaderToStream writes the header for label to conn in a single
// Write. With an empty label it writes nothing. It fails when the label is
// longer than LabelMaxSize bytes or the write fails.
func AddLabelHeaderToStream(conn net.Conn, label string) error {
	if label == "" {
		return nil
	}
	if len(label) > LabelMaxSize {
		return labelTooLong(label)
	}
	_, err := conn.Write(appendLabelHeader(make([]byte, 0, labelOverhead(label)), label))
	return err
}

// RemoveLabelHeaderFromStream reads the label header, if any, from the start
// of conn. It returns a conn whose reads continue right after the header, and
// the label ("" when there is none). It never reads past the header:
//   - with a header, the returned conn is conn itself;
//   - without one, the byte read to find out is replayed by a wrapper around
//     conn, so no data is lost;
//   - when conn reaches EOF before its first byte, it returns conn itself, ""
//     and no error.
//
// On any other failure (a read error, or a truncated or zero-length header)
// it returns a nil conn and the error; the caller still owns conn and must
// close it.
func RemoveLabelHeaderFromStream(conn net.Conn) (net.Conn, string, error) {
	var first [1]byte
	if _, err := io.ReadFull(conn, first[:]); err != nil {
		if err == io.EOF {
			return conn, "", nil
		}
		return nil, "", err
	}
	if first[0] != byte(hasLabelMsg) {
		return &labelPeekedConn{Conn: conn, peeked: []byte{first[0]}}, "", nil
	}
	label, err := readStreamLabel(conn)
	if err != nil {
		return nil, "", err
	}
	return conn, label, nil
}

// readStreamLabel reads the length byte and the label of a label header whose
// first byte has already been read.
func readStreamLabel(r io.Reader) (string, error) {
	var size [1]byte
	if _, err := io.ReadFull(r, size[:]); err != nil {
		return "", labelStreamReadError(err)
	}
	if size[0] == 0 {
		return "", errLabelEmptyHeader
	}
	label := make([]byte, size[0])
	if _, err := io.ReadFull(r, label); err != nil {
		return "", labelStreamReadError(err)
	}
	return string(label), nil
}

// labelStreamReadError maps an end of stream inside a label header to the
// truncation error and wraps anything else.
func labelStreamReadError(err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return errLabelStreamTruncated
	}
	return fmt.Errorf("cannot decode label: %w", err)
}

// labelPeekedConn is a net.Conn whose reads first return the bytes that were
// read from the underlying Conn while looking for a label header, then read
// from Conn. Every other method is Conn's. Like a net.Conn it is safe for
// concurrent use.
type labelPeekedConn struct {
	net.Conn
	mu     sync.Mutex
	peeked []byte // not yet returned by Read
}

// Read implements net.Conn.
func (c *labelPeekedConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	if len(c.peeked) == 0 || len(p) == 0 {
		c.mu.Unlock()
		return c.Conn.Read(p)
	}
	n := copy(p, c.peeked)
	c.peeked = c.peeked[n:]
	c.mu.Unlock()
	return n, nil
}

// CloseWrite half-closes the underlying connection when it supports that,
// as a *net.TCPConn does.
func (c *labelPeekedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
