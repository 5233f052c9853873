package interop

import (
	"bytes"
	"compress/lzw"
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Message type bytes (reference §2.1).
const (
	tPing     = 0
	tIndirect = 1
	tAck      = 2
	tSuspect  = 3
	tAlive    = 4
	tDead     = 5
	tPushPull = 6
	tCompound = 7
	tUser     = 8
	tCompress = 9
	tEncrypt  = 10
	tNack     = 11
	tCRC      = 12
	tErr      = 13
	tLabel    = 244
)

// ---- packet layers (reference §2.4–§2.8) ----

// lzwCompress compresses p as the wire does (LSB, literal width 8).
func lzwCompress(p []byte) []byte {
	var buf bytes.Buffer
	w := lzw.NewWriter(&buf, lzw.LSB, 8)
	w.Write(p)
	w.Close()
	return buf.Bytes()
}

func lzwDecompress(p []byte) ([]byte, error) {
	r := lzw.NewReader(bytes.NewReader(p), lzw.LSB, 8)
	defer r.Close()
	return io.ReadAll(io.LimitReader(r, 64<<20))
}

// compressFrame returns inner wrapped in a compress message.
func compressFrame(inner []byte) []byte {
	return msg(tCompress, "Algo", uint8(0), "Buf", lzwCompress(inner))
}

// crcFrame returns p behind a CRC header.
func crcFrame(p []byte) []byte {
	return append(binary.BigEndian.AppendUint32([]byte{tCRC}, crc32.ChecksumIEEE(p)), p...)
}

// compoundFrame returns the parts in a compound message.
func compoundFrame(parts ...[]byte) []byte {
	b := []byte{tCompound, byte(len(parts))}
	for _, p := range parts {
		b = binary.BigEndian.AppendUint16(b, uint16(len(p)))
	}
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

// labelFrame returns p behind a label header.
func labelFrame(label string, p []byte) []byte {
	return append(append([]byte{tLabel, byte(len(label))}, label...), p...)
}

// leafMessages returns the messages carried by a packet, with the label,
// CRC, compression and compound layers removed. It fails on a bad CRC or a
// malformed layer.
func leafMessages(b []byte) ([][]byte, error) {
	if len(b) == 0 {
		return nil, errors.New("empty")
	}
	switch b[0] {
	case tLabel:
		if len(b) < 2 || len(b) < 2+int(b[1]) {
			return nil, errors.New("truncated label")
		}
		return leafMessages(b[2+int(b[1]):])
	case tCRC:
		if len(b) < 5 {
			return nil, errors.New("truncated crc")
		}
		if crc32.ChecksumIEEE(b[5:]) != binary.BigEndian.Uint32(b[1:5]) {
			return nil, errors.New("bad crc")
		}
		return leafMessages(b[5:])
	case tCompress:
		inner, err := decompressFrame(b)
		if err != nil {
			return nil, err
		}
		return leafMessages(inner)
	case tCompound:
		parts, err := compoundParts(b)
		if err != nil {
			return nil, err
		}
		var out [][]byte
		for _, p := range parts {
			ms, err := leafMessages(p)
			if err != nil {
				return nil, err
			}
			out = append(out, ms...)
		}
		return out, nil
	}
	return [][]byte{b}, nil
}

func compoundParts(b []byte) ([][]byte, error) {
	if len(b) < 2 {
		return nil, errors.New("truncated compound")
	}
	n := int(b[1])
	off := 2 + 2*n
	if len(b) < off {
		return nil, errors.New("truncated compound lengths")
	}
	var parts [][]byte
	for i := 0; i < n; i++ {
		l := int(binary.BigEndian.Uint16(b[2+2*i:]))
		if len(b) < off+l {
			return nil, errors.New("truncated compound part")
		}
		parts = append(parts, b[off:off+l])
		off += l
	}
	if off != len(b) {
		return nil, fmt.Errorf("compound has %d trailing bytes", len(b)-off)
	}
	return parts, nil
}

// decompressFrame returns the payload of a compress message, checking
// that the frame is exactly what the reference encoder makes of it.
func decompressFrame(b []byte) ([]byte, error) {
	f, n, err := mpFields(b[1:])
	if err != nil {
		return nil, err
	}
	if algo, err := mpUintVal(f["Algo"]); err != nil || algo != 0 {
		return nil, fmt.Errorf("compress: bad Algo %x", f["Algo"])
	}
	z, err := mpString(f["Buf"])
	if err != nil {
		return nil, err
	}
	inner, err := lzwDecompress([]byte(z))
	if err != nil {
		return nil, err
	}
	if want := compressFrame(inner); !bytes.Equal(b[:1+n], want) {
		return nil, fmt.Errorf("compress frame is not canonical:\n got %x\nwant %x", b[:1+n], want)
	}
	return inner, nil
}

// canon returns b, a packet or stream message, with the ports in ports
// replaced by stand-ins so that runs on different sockets compare equal.
// It descends into label, CRC (recomputed), compression (replaced by the
// decompressed payload after checking that the frame is canonical) and
// compound layers.
func canon(b []byte, ports map[int]uint16) ([]byte, error) {
	if len(b) == 0 {
		return b, nil
	}
	switch b[0] {
	case tLabel:
		if len(b) < 2+int(b[1]) {
			return nil, errors.New("truncated label")
		}
		rest, err := canon(b[2+int(b[1]):], ports)
		return append(slices.Clone(b[:2+int(b[1])]), rest...), err
	case tCRC:
		if len(b) < 5 || crc32.ChecksumIEEE(b[5:]) != binary.BigEndian.Uint32(b[1:5]) {
			return nil, errors.New("missing or bad crc")
		}
		rest, err := canon(b[5:], ports)
		return crcFrame(rest), err
	case tCompress:
		inner, err := decompressFrame(b)
		if err != nil {
			return nil, err
		}
		rest, err := canon(inner, ports)
		return append([]byte{tCompress}, rest...), err
	case tCompound:
		parts, err := compoundParts(b)
		if err != nil {
			return nil, err
		}
		for i, p := range parts {
			if parts[i], err = canon(p, ports); err != nil {
				return nil, err
			}
		}
		return compoundFrame(parts...), nil
	}
	return replacePorts(b, ports), nil
}

// zeroSeq replaces the SeqNo value of message m (type byte first) with 0,
// after checking that it was written in its shortest form.
func zeroSeq(m []byte) ([]byte, error) {
	key := mpRaw(nil, []byte("SeqNo"))
	i := bytes.Index(m, key)
	if i < 0 {
		return nil, errors.New("no SeqNo")
	}
	at := i + len(key)
	n, err := mpLen(m[at:])
	if err != nil {
		return nil, err
	}
	v, err := mpUintVal(m[at : at+n])
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(mpUint(nil, v), m[at:at+n]) {
		return nil, fmt.Errorf("SeqNo %d not in shortest form: %x", v, m[at:at+n])
	}
	return slices.Concat(m[:at], []byte{0}, m[at+n:]), nil
}

// replacePorts replaces every uint16 MessagePack encoding of a port in
// ports by the stand-in. Ephemeral ports are above 255, so they are always
// written as 0xcd and two bytes.
func replacePorts(b []byte, ports map[int]uint16) []byte {
	out := slices.Clone(b)
	for p, stand := range ports {
		old := []byte{0xcd, byte(p >> 8), byte(p)}
		neu := []byte{0xcd, byte(stand >> 8), byte(stand)}
		out = bytes.ReplaceAll(out, old, neu)
	}
	return out
}

// ---- comparing runs ----

// run is the bytes one run captured, by name.
type run struct {
	Label string
	Got   map[string][]byte
}

// sameBytes checks that all runs captured the same bytes under every name
// the first run has, and that none lacks one.
func sameBytes(t *testing.T, runs []run) {
	t.Helper()
	if len(runs) < 2 {
		t.Fatalf("need two runs to compare, have %d", len(runs))
	}
	keys := map[string]bool{}
	for _, r := range runs {
		for k := range r.Got {
			keys[k] = true
		}
	}
	var sorted []string
	for k := range keys {
		sorted = append(sorted, k)
	}
	slices.Sort(sorted)
	for _, k := range sorted {
		ref := runs[0]
		for _, r := range runs {
			if _, ok := r.Got[k]; !ok {
				t.Errorf("%s: run %s captured nothing", k, r.Label)
			}
		}
		for _, r := range runs[1:] {
			a, aok := ref.Got[k]
			b, bok := r.Got[k]
			if !aok || !bok || bytes.Equal(a, b) {
				continue
			}
			t.Errorf("%s differs between %s and %s (first difference at byte %d):\n%s: %s\n%s: %s",
				k, ref.Label, r.Label, firstDiff(a, b), ref.Label, hex.EncodeToString(a), r.Label, hex.EncodeToString(b))
		}
	}
	if testing.Verbose() && !t.Failed() {
		for _, k := range sorted {
			t.Logf("%-28s %x", k, runs[0].Got[k])
		}
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// unhex decodes a hex string written with spaces and quoted ASCII, e.g.
// `00 82 a4"Node" a1"a"`.
func unhex(t testing.TB, s string) []byte {
	t.Helper()
	var out []byte
	for len(s) > 0 {
		switch {
		case s[0] == ' ' || s[0] == '\n' || s[0] == '\t':
			s = s[1:]
		case s[0] == '"':
			end := strings.IndexByte(s[1:], '"')
			if end < 0 {
				t.Fatalf("unhex: unterminated quote in %q", s)
			}
			out = append(out, s[1:1+end]...)
			s = s[2+end:]
		default:
			if len(s) < 2 {
				t.Fatalf("unhex: odd digit in %q", s)
			}
			v, err := strconv.ParseUint(s[:2], 16, 8)
			if err != nil {
				t.Fatalf("unhex: %v", err)
			}
			out = append(out, byte(v))
			s = s[2:]
		}
	}
	return out
}

// ---- raw sockets ----

// rawUDP is a bare UDP socket on loopback that plays a peer by hand.
type rawUDP struct {
	c *net.UDPConn
}

func newRawUDP(t testing.TB) *rawUDP {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawUDP{c: c}
}

func (r *rawUDP) port() int { return r.c.LocalAddr().(*net.UDPAddr).Port }

func (r *rawUDP) send(t testing.TB, to string, b []byte) {
	t.Helper()
	a, err := net.ResolveUDPAddr("udp", to)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.c.WriteToUDP(b, a); err != nil {
		t.Fatal(err)
	}
}

// recv returns the first packet within timeout for which match is true,
// discarding the others.
func (r *rawUDP) recv(t testing.TB, timeout time.Duration, what string, match func([]byte) bool) []byte {
	t.Helper()
	deadline := time.Now().Add(timeout)
	buf := make([]byte, 65536)
	var seen []string
	for {
		r.c.SetReadDeadline(deadline)
		n, _, err := r.c.ReadFromUDP(buf)
		if err != nil {
			t.Fatalf("waiting for %s: %v (other packets: %v)", what, err, seen)
		}
		p := slices.Clone(buf[:n])
		if match(p) {
			return p
		}
		seen = append(seen, hex.EncodeToString(p))
	}
}

// hasLeaf returns a matcher for packets that carry a message for which
// want is true.
func hasLeaf(want func(m []byte) bool) func([]byte) bool {
	return func(p []byte) bool {
		ms, err := leafMessages(p)
		if err != nil {
			return false
		}
		return slices.ContainsFunc(ms, want)
	}
}

// leafIs returns a matcher for a message equal to m.
func leafIs(m []byte) func([]byte) bool { return func(x []byte) bool { return bytes.Equal(x, m) } }

// tcpExchange dials addr, writes req, closes its side for writing, and
// returns everything read until the peer closes the stream, with the read
// error other than EOF. (Our node drains a refused stream until the dialer
// closes, or until TCPTimeout; without the half-close this would wait for
// that.)
func tcpExchange(t testing.TB, addr string, req []byte) ([]byte, error) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write(req); err != nil {
		t.Fatal(err)
	}
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	return io.ReadAll(c)
}

// mustExchange is tcpExchange failing the test on a read error.
func mustExchange(t testing.TB, addr string, req []byte) []byte {
	t.Helper()
	reply, err := tcpExchange(t, addr, req)
	if err != nil {
		t.Fatalf("reading reply from %s: %v (got %x)", addr, err, reply)
	}
	return reply
}

// ---- the outer layers: label and encryption (reference §2.7, §2.9) ----

// wire is how a node's traffic is framed: the label it carries and the key
// it is encrypted with (nil for none), and the port stand-ins to apply when
// making bytes comparable.
type wire struct {
	Key   []byte
	Label string
	Ports map[int]uint16
}

// stripLabel removes the label header of a packet or dialled stream and
// checks that it is w's (or absent, for a stream reply).
func (w wire) stripLabel(b []byte, optional bool) ([]byte, error) {
	if len(b) > 0 && b[0] == tLabel {
		if len(b) < 2 || len(b) < 2+int(b[1]) {
			return nil, errors.New("truncated label")
		}
		if got := string(b[2 : 2+int(b[1])]); got != w.Label {
			return nil, fmt.Errorf("label %q, want %q", got, w.Label)
		}
		return b[2+int(b[1]):], nil
	}
	if w.Label != "" && !optional {
		return nil, fmt.Errorf("no label header, want %q", w.Label)
	}
	return b, nil
}

// open decrypts an encrypted payload ([version][nonce][ciphertext+tag]),
// removing the version-0 padding, and returns the version and plaintext.
func (w wire) open(b, aad []byte) (byte, []byte, error) {
	if len(b) < 1+12+16 {
		return 0, nil, fmt.Errorf("encrypted payload too short: %d", len(b))
	}
	block, err := aes.NewCipher(w.Key)
	if err != nil {
		return 0, nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return 0, nil, err
	}
	plain, err := gcm.Open(nil, b[1:13], b[13:], aad)
	if err != nil {
		return 0, nil, fmt.Errorf("decrypt (version %d): %w", b[0], err)
	}
	switch b[0] {
	case 1:
	case 0:
		if len(plain) == 0 || int(plain[len(plain)-1]) > len(plain) || plain[len(plain)-1] == 0 {
			return 0, nil, errors.New("bad version-0 padding")
		}
		plain = plain[:len(plain)-int(plain[len(plain)-1])]
	default:
		return 0, nil, fmt.Errorf("encryption version %d", b[0])
	}
	return b[0], plain, nil
}

// seal encrypts plain as the wire does: [vsn][nonce][ciphertext+tag],
// with PKCS#7 padding to a 16-byte block under version 0 (reference §2.9).
// The nonce is the caller's, so that the result is a fixed test vector.
func (w wire) seal(vsn byte, nonce, plain, aad []byte) []byte {
	block, err := aes.NewCipher(w.Key)
	if err != nil {
		panic(err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	if vsn == 0 {
		pad := 16 - len(plain)%16
		plain = append(slices.Clone(plain), bytes.Repeat([]byte{byte(pad)}, pad)...)
	}
	return gcm.Seal(append([]byte{vsn}, nonce...), nonce, plain, aad)
}

// packetPlain returns the packet without its label and encryption layers,
// and the encryption version (-1 when unencrypted).
func (w wire) packetPlain(b []byte) ([]byte, int, error) {
	b, err := w.stripLabel(b, false)
	if err != nil || w.Key == nil {
		return b, -1, err
	}
	v, plain, err := w.open(b, []byte(w.Label))
	return plain, int(v), err
}

// leaves returns the messages carried by a packet.
func (w wire) leaves(b []byte) ([][]byte, error) {
	plain, _, err := w.packetPlain(b)
	if err != nil {
		return nil, err
	}
	return leafMessages(plain)
}

// hasLeaf returns a matcher for packets that carry a message for which
// want is true.
func (w wire) hasLeaf(want func([]byte) bool) func([]byte) bool {
	return func(p []byte) bool {
		ms, err := w.leaves(p)
		return err == nil && slices.ContainsFunc(ms, want)
	}
}

// canonPacket returns the packet in a form comparable across runs: label
// kept, encryption replaced by "E" and its version, then canon.
func (w wire) canonPacket(b []byte) ([]byte, error) {
	plain, v, err := w.packetPlain(b)
	if err != nil {
		return nil, err
	}
	c, err := canon(plain, w.Ports)
	return slices.Concat(labelPrefix(w.Label), encMarker(v), c), err
}

// canonStream is canonPacket for one stream direction: an encrypted frame
// is checked and opened with its header and the label as additional data.
func (w wire) canonStream(b []byte) ([]byte, error) {
	hadLabel := len(b) > 0 && b[0] == tLabel
	b, err := w.stripLabel(b, true)
	if err != nil {
		return nil, err
	}
	prefix := []byte{}
	if hadLabel {
		prefix = labelPrefix(w.Label)
	}
	if w.Key == nil {
		c, err := canon(b, w.Ports)
		return append(prefix, c...), err
	}
	if len(b) < 5 || b[0] != tEncrypt {
		return nil, fmt.Errorf("stream not encrypted: %x", b[:min(len(b), 8)])
	}
	n := int(binary.BigEndian.Uint32(b[1:5]))
	if len(b) != 5+n {
		return nil, fmt.Errorf("encrypted frame declares %d bytes, has %d", n, len(b)-5)
	}
	v, plain, err := w.open(b[5:], slices.Concat(b[:5], []byte(w.Label)))
	if err != nil {
		return nil, err
	}
	c, err := canon(plain, w.Ports)
	return slices.Concat(prefix, []byte{tEncrypt}, encMarker(int(v)), c), err
}

// streamPlain returns what a stream direction carries inside its label
// and encryption layers.
func (w wire) streamPlain(b []byte) ([]byte, error) {
	b, err := w.stripLabel(b, true)
	if err != nil || w.Key == nil {
		return b, err
	}
	if len(b) < 5 || b[0] != tEncrypt || len(b) != 5+int(binary.BigEndian.Uint32(b[1:5])) {
		return nil, errors.New("not one encrypted frame")
	}
	_, b, err = w.open(b[5:], slices.Concat(b[:5], []byte(w.Label)))
	return b, err
}

// streamMessage returns the message a stream direction carries, with the
// label, encryption and compression layers removed.
func (w wire) streamMessage(b []byte) ([]byte, error) {
	b, err := w.streamPlain(b)
	if err != nil {
		return nil, err
	}
	if len(b) > 0 && b[0] == tCompress {
		return decompressFrame(b)
	}
	return b, nil
}

func labelPrefix(label string) []byte {
	if label == "" {
		return nil
	}
	return labelFrame(label, nil)
}

func encMarker(v int) []byte {
	if v < 0 {
		return nil
	}
	return []byte{'E', byte(v)}
}
