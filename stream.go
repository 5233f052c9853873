package memberlist

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"
)

// Stream limits (reference §2.12).
const (
	maxPushStateBytes   = 20 * 1024 * 1024
	maxPushStateNodes   = 1024 * 1024
	maxUserMsgBytes     = 20 * 1024 * 1024
	maxPushPullRequests = 128
	remoteStateWarnSize = maxPushStateBytes * 6 / 10
)

// streamReader is what stream bodies are decoded from.
type streamReader interface {
	io.Reader
	io.ByteReader
}

// streamListen accepts inbound streams until shutdown.
func (m *Memberlist) streamListen() {
	ch := m.transport.StreamCh()
	for {
		select {
		case conn := <-ch:
			if !m.goroutines.Go(func() { m.handleConn(conn) }) {
				conn.Close()
			}
		case <-m.shutdownCh:
			return
		}
	}
}

// handleConn serves one inbound stream: a push/pull, a user message or a
// TCP ping.
func (m *Memberlist) handleConn(conn net.Conn) {
	if !m.conns.add(conn) {
		return
	}
	defer m.conns.remove(conn)
	m.metrics.IncrCounterWithLabels(keyTCPAccept, 1, m.labels.base)
	m.logger.Debug("Stream connection", logConnAddr(conn))
	conn.SetDeadline(time.Now().Add(m.config.TCPTimeout))
	lconn, label, err := RemoveLabelHeaderFromStream(conn)
	if err != nil {
		m.countDrop(keyTCPDecodeFailed, 1)
		m.logger.Debug("failed to receive and remove the stream label header", logConnAddr(conn), logErr(err))
		return
	}
	if !m.inboundLabelOK(label, conn.RemoteAddr(), "stream") {
		m.sendLabelMismatch(lconn, label)
		return
	}
	if m.config.SkipInboundLabelCheck {
		label = m.config.Label
	}
	t, r, err := m.readStream(lconn, label)
	if err != nil {
		if !errors.Is(err, io.EOF) {
			level, attrs := m.warnLevel(warnStreamReceive, logConnAddr(conn), logErr(err))
			m.logger.LogAttrs(context.Background(), level, "failed to receive", attrs...)
			m.sendErrResp(lconn, err, label)
		}
		return
	}
	m.serveStream(lconn, t, r, label)
}

func (m *Memberlist) serveStream(conn net.Conn, t messageType, r streamReader, label string) {
	switch t {
	case userMsg:
		if err := m.readUserMsg(r); err != nil {
			m.countDrop(keyTCPDecodeFailed, 1)
			m.logger.Debug("Failed to receive user message", logConnAddr(conn), logErr(err))
		}
	case pushPullMsg:
		m.servePushPull(conn, r, label)
	case pingMsg:
		m.serveTCPPing(conn, r, label)
	default:
		m.countDrop(keyTCPDecodeFailed, 1)
		m.logger.Debug("Received invalid msgType", slog.Int(logKeyType, int(t)), logConnAddr(conn))
	}
}

// sendLabelMismatch tells the dialer of a stream with the wrong label why
// it is refused, so its Join fails with that reason rather than a bare EOF.
// The reply is plaintext: the peer may not share our label, which is part
// of the encryption's authenticated data. Peers that do not expect it read
// it as an error reply or as a failed stream, which they are anyway.
func (m *Memberlist) sendLabelMismatch(conn net.Conn, got string) {
	if m.config.SkipInboundLabelCheck {
		got = "(label header present)"
	}
	msg := fmt.Sprintf("%s: stream label %q, this node's label %q", ErrLabelMismatch, got, m.config.Label)
	out := encodeMessage(errMsg, &errResp{Error: msg})
	m.replyAndDrain(conn, func() error {
		_, err := conn.Write(out)
		return err
	})
}

// replyAndDrain sends a refusal with write while reading and discarding the
// rest of the request. A dialer still writing would not see the reply
// otherwise, and closing a TCP socket with unread input resets it, so the
// dialer would get "connection reset" instead of the reason. The write side
// is half-closed after the reply, and the drain ends when the dialer closes,
// or at the stream's deadline.
func (m *Memberlist) replyAndDrain(conn net.Conn, write func() error) {
	drained := make(chan struct{})
	if !m.goroutines.Go(func() {
		defer close(drained)
		io.Copy(io.Discard, io.LimitReader(conn, maxPushStateBytes))
	}) {
		return
	}
	if err := write(); err != nil {
		m.logger.Debug("Failed to send refusal", logConnAddr(conn), logErr(err))
		conn.Close()
	} else if cw, ok := conn.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite() // tell a dialer waiting for EOF that the reply is complete
	}
	<-drained
}

func (m *Memberlist) sendErrResp(conn net.Conn, cause error, label string) {
	out := encodeMessage(errMsg, &errResp{Error: cause.Error()})
	m.replyAndDrain(conn, func() error { return m.rawSendMsgStream(conn, out, label) })
}

func (m *Memberlist) servePushPull(conn net.Conn, r streamReader, label string) {
	gate := m.pushPulls
	if !gate.enter(pushPullWait(m.config.TCPTimeout), m.shutdownCh) {
		m.countDrop(keyPushPullRefused, 1)
		level, attrs := m.warnLevel(warnPushPullCap, logConnAddr(conn))
		m.logger.LogAttrs(context.Background(), level, "Too many pending push/pull requests", attrs...)
		return
	}
	defer gate.leave()
	join, remote, user, err := m.readRemoteState(r)
	if err != nil {
		m.countDrop(keyTCPDecodeFailed, 1)
		level, attrs := m.warnLevel(warnRemoteState, logConnAddr(conn), logErr(err))
		m.logger.LogAttrs(context.Background(), level, "Failed to read remote state", attrs...)
		return
	}
	if err := m.sendLocalState(conn, join, label); err != nil {
		m.logger.Debug("Failed to push local state", logConnAddr(conn), logErr(err))
		return
	}
	if err := m.mergeRemoteState(join, remote, user); err != nil {
		level, attrs := m.warnLevel(warnRemoteMerge, logConnAddr(conn), logErr(err))
		m.logger.LogAttrs(context.Background(), level, "Failed push/pull merge", attrs...)
	}
}

func (m *Memberlist) serveTCPPing(conn net.Conn, r streamReader, label string) {
	var p ping
	if err := newStreamDecoder(r, maxPushStateBytes).decode(&p); err != nil {
		m.countDrop(keyTCPDecodeFailed, 1)
		m.logger.Debug("Failed to decode ping", logConnAddr(conn), logErr(err))
		return
	}
	if p.Node != "" && p.Node != m.config.Name {
		m.logger.Debug("Got ping for unexpected node", logNode(p.Node), logConnAddr(conn))
		return
	}
	out := encodeMessage(ackRespMsg, &ackResp{SeqNo: p.SeqNo})
	if err := m.rawSendMsgStream(conn, out, label); err != nil {
		m.logger.Debug("Failed to send ack", logConnAddr(conn), logErr(err))
	}
}

// readStream reads the framing of one stream message (encryption and
// compression) and returns its type and a reader positioned at its body.
func (m *Memberlist) readStream(conn net.Conn, label string) (messageType, streamReader, error) {
	var r streamReader = bufio.NewReader(conn)
	t, err := r.ReadByte()
	if err != nil {
		return 0, nil, err
	}
	encrypted := messageType(t) == encryptMsg
	switch {
	case messageType(t) == errMsg:
		return errMsg, r, nil // a plaintext refusal, such as a label mismatch
	case encrypted && !m.config.EncryptionEnabled():
		m.countDrop(keyTCPDecryptFailed, 1)
		return 0, nil, errors.New("remote state is encrypted and encryption is not configured")
	case !encrypted && m.config.EncryptionEnabled() && m.config.GossipVerifyIncoming:
		m.countDrop(keyTCPDecryptFailed, 1)
		return 0, nil, errors.New("encryption is configured but remote state is not encrypted")
	}
	if encrypted {
		plain, err := m.decryptRemoteState(r, label)
		if err != nil {
			return 0, nil, err
		}
		if len(plain) == 0 {
			m.countDrop(keyTCPDecryptFailed, 1)
			return 0, nil, errors.New("decrypted message is empty")
		}
		t, r = plain[0], bytes.NewReader(plain[1:])
	}
	if messageType(t) == compressMsg {
		plain, err := m.decompressStream(r)
		if err != nil {
			m.countDrop(keyTCPDecodeFailed, 1)
			return 0, nil, err
		}
		t, r = plain[0], bytes.NewReader(plain[1:])
	}
	return messageType(t), r, nil
}

// decompressStream reads a compress wrapper from r and returns the
// decompressed message, which is not empty.
func (m *Memberlist) decompressStream(r streamReader) ([]byte, error) {
	var c compress
	if err := newStreamDecoder(r, maxDecompressedBytes).decode(&c); err != nil {
		return nil, err
	}
	if c.Algo != lzwAlgo {
		return nil, fmt.Errorf("cannot decompress unknown algorithm %d", c.Algo)
	}
	plain, err := m.lzw.decompress(c.Buf, maxDecompressedBytes)
	if err != nil {
		return nil, err
	}
	if len(plain) == 0 {
		return nil, errors.New("decompressed message is empty")
	}
	return plain, nil
}

// decryptRemoteState reads and decrypts an encrypted stream frame whose type
// byte has been read.
func (m *Memberlist) decryptRemoteState(r streamReader, label string) ([]byte, error) {
	var header [5]byte
	header[0] = byte(encryptMsg)
	if _, err := io.ReadFull(r, header[1:]); err != nil {
		return nil, err
	}
	size := binary.BigEndian.Uint32(header[1:])
	if size > maxPushStateBytes {
		m.countDrop(keyTCPDecodeFailed, 1)
		return nil, withText(ErrMessageTooLarge, fmt.Sprintf("remote node state is larger than limit (%d)", size))
	}
	if size > remoteStateWarnSize {
		level, attrs := m.warnLevel(warnRemoteLarge, slog.Uint64("size", uint64(size)), slog.Int("limit", maxPushStateBytes))
		m.logger.LogAttrs(context.Background(), level, "remote node state is large", attrs...)
	}
	m.metrics.AddSampleWithLabels(keySizeRemote, float32(size), m.labels.base)
	cipherText, err := readFull(r, int(size))
	if err != nil {
		return nil, err
	}
	aad := append(header[:], label...)
	plain, err := m.config.Keyring.decryptPayload(cipherText, aad)
	if err != nil {
		m.countDrop(keyTCPDecryptFailed, 1)
	}
	return plain, err
}

// readFull reads exactly n bytes, growing the buffer as data arrives so a
// large declared length costs memory only when the bytes come.
func readFull(r io.Reader, n int) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(min(n, 64*1024))
	_, err := io.CopyN(&buf, r, int64(n))
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return buf.Bytes(), err
}

// rawSendMsgStream compresses and encrypts msg as configured and writes it.
func (m *Memberlist) rawSendMsgStream(conn net.Conn, msg []byte, label string) error {
	if m.config.EnableCompression {
		c, err := m.compressMessage(msg)
		if err != nil {
			m.logger.Error("Failed to compress payload", logErr(err))
		} else {
			msg = c
		}
	}
	if m.config.EncryptionEnabled() && m.config.GossipVerifyOutgoing {
		enc, err := m.encryptLocalState(msg, label)
		if err != nil {
			m.logger.Error("Failed to encrypt local state", logErr(err))
			return err
		}
		msg = enc
	}
	m.metrics.IncrCounterWithLabels(keyTCPSent, float32(len(msg)), m.labels.base)
	n, err := conn.Write(msg)
	if err != nil {
		return err
	}
	if n != len(msg) {
		return fmt.Errorf("only %d of %d bytes written", n, len(msg))
	}
	return nil
}

// encryptLocalState frames msg as [encryptMsg][length][ciphertext], with
// the header and label authenticated.
func (m *Memberlist) encryptLocalState(msg []byte, label string) ([]byte, error) {
	vsn := m.encryptionVersion()
	header := make([]byte, 5, 5+len(label))
	header[0] = byte(encryptMsg)
	binary.BigEndian.PutUint32(header[1:], uint32(encryptedLength(vsn, len(msg))))
	aad := append(header, label...)
	enc, err := m.config.Keyring.encryptPayload(vsn, msg, aad)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, 5+len(enc))
	out = append(out, header[:5]...)
	return append(out, enc...), nil
}

// readUserMsg reads a stream user message and hands it to the Delegate.
func (m *Memberlist) readUserMsg(r streamReader) error {
	var h userMsgHeader
	if err := newStreamDecoder(r, maxUserMsgBytes).decode(&h); err != nil {
		return err
	}
	if h.UserMsgLen < 0 || h.UserMsgLen > maxUserMsgBytes {
		return withText(ErrMessageTooLarge, fmt.Sprintf("user message length (%d) exceeds limit", h.UserMsgLen))
	}
	buf, err := readFull(r, h.UserMsgLen)
	if err != nil {
		return fmt.Errorf("failed to read full user message (%d / %d): %w", len(buf), h.UserMsgLen, err)
	}
	if h.UserMsgLen > 0 && m.config.Delegate != nil {
		m.goroutines.callback(func() { m.config.Delegate.NotifyMsg(buf) })
	}
	return nil
}

// dialStream opens a tracked stream to a with deadline TCPTimeout.
func (m *Memberlist) dialStream(a Address, timeout time.Duration) (net.Conn, error) {
	if m.config.RequireNodeNames && a.Name == "" {
		return nil, errNodeNameRequired
	}
	conn, err := m.transport.DialAddressTimeout(a, timeout)
	if err != nil {
		return nil, err
	}
	if !m.conns.add(conn) {
		return nil, ErrShutdown
	}
	return conn, nil
}

// sendUserMsg sends a user message over a stream.
func (m *Memberlist) sendUserMsg(a Address, msg []byte) error {
	conn, err := m.dialStream(a, m.config.TCPTimeout)
	if err != nil {
		return err
	}
	defer m.conns.remove(conn)
	conn.SetDeadline(time.Now().Add(m.config.TCPTimeout))
	buf := make([]byte, 0, len(msg)+16)
	buf = appendMessage(buf, userMsg, &userMsgHeader{UserMsgLen: len(msg)})
	buf = append(buf, msg...)
	return m.rawSendMsgStream(conn, buf, m.config.Label)
}

// sendPingAndWaitForAck pings a over a stream and reports whether the ack
// came before deadline. A failed dial reports false without an error.
func (m *Memberlist) sendPingAndWaitForAck(a Address, p *ping, deadline time.Time) (bool, error) {
	conn, err := m.dialStream(a, time.Until(deadline))
	if err != nil {
		return false, nil
	}
	return m.pingOverStream(conn, p, deadline)
}

// pingOverStream sends p on conn, closes conn, and reports whether the
// ack came before deadline.
func (m *Memberlist) pingOverStream(conn net.Conn, p *ping, deadline time.Time) (bool, error) {
	defer m.conns.remove(conn)
	conn.SetDeadline(deadline)
	if err := m.rawSendMsgStream(conn, encodeMessage(pingMsg, p), m.config.Label); err != nil {
		return false, err
	}
	t, r, err := m.readStream(conn, m.config.Label)
	if err != nil {
		return false, err
	}
	if t != ackRespMsg {
		return false, fmt.Errorf("unexpected msgType (%d) from ping %s", t, LogConn(conn))
	}
	var ack ackResp
	if err := newStreamDecoder(r, maxPushStateBytes).decode(&ack); err != nil {
		return false, err
	}
	if ack.SeqNo != p.SeqNo {
		return false, fmt.Errorf("sequence number from ack (%d) doesn't match ping (%d)", ack.SeqNo, p.SeqNo)
	}
	return true, nil
}
