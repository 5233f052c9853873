package interop

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"testing"
	"time"
)

// sealedRow is a packet built by the wire rules of reference §2.4–§2.9
// with this package's encoder, pinned as hex, and what a node must do with
// it.
type sealedRow struct {
	name  string
	built []byte // by the encoder
	hex   string // the golden bytes, in unhex notation
	keyed bool   // for the node with the key and label "lbl"
	ack   uint32 // SeqNo of the ack the node must send back, 0 for none
	user  string // user message the node must deliver, "" for none
}

// sealedRows returns the golden packets. Each encrypted row has its own
// nonce; a real sender draws a fresh one from crypto/rand per message.
func sealedRows() []sealedRow {
	w := wire{Key: goldenKey(), Label: "lbl"}
	aad := []byte("lbl")
	ping := func(seq uint32) []byte { return msg(tPing, "Node", "golden", "SeqNo", seq) }
	user := func(s string) []byte { return append([]byte{tUser}, s...) }
	return []sealedRow{
		{
			name:  "encrypted ping, version 1, label lbl",
			built: labelFrame("lbl", w.seal(1, []byte("nonce-row-01"), ping(41), aad)),
			// The ciphertext of the 21 bytes 00 82 a4"Node" a6"golden"
			// a5"SeqNo" 29, then the 16-byte tag.
			hex: `f4 03 "lbl" 01 "nonce-row-01"
				0b4811330bc8f48e64e9c1f15142f2bf1751a072c6 8c4aeb1a451591487fa73aa73de12536`,
			keyed: true, ack: 41,
		},
		{
			name:  "encrypted ping, version 0 (padded), label lbl",
			built: labelFrame("lbl", w.seal(0, []byte("nonce-row-02"), ping(42), aad)),
			// The ciphertext of the 21-byte ping and 11 bytes of padding
			// (0b × 11), then the tag.
			hex: `f4 03 "lbl" 00 "nonce-row-02"
				b128eee9c36fdb3c6473f3bb789b8c9b524f872bf2eb73536f9b637f1da7f59b 1865a5b6b9946a69b6f296abdd66fb6b`,
			keyed: true, ack: 42,
		},
		{
			name: "label, encryption, CRC, compression, compound of a ping and a user message",
			built: labelFrame("lbl", w.seal(1, []byte("nonce-row-03"),
				crcFrame(compressFrame(compoundFrame(ping(43), user("sealed-stack")))), aad)),
			// The ciphertext of 0c <crc> 09 82 a4"Algo" 00 a3"Buf" <LZW>
			// (65 bytes), then the tag.
			hex: `f4 03 "lbl" 01 "nonce-row-03"
				13a5e9ae004b8a136954728190f2fb09e207d57a7f45e95205aedc460f74dec49d
				80fa86beda5a7be55feb43fe69dbde21953d6b708dee0a3ae8043f282102183a
				6707a90c8af45c103d5839921a19a273`,
			keyed: true, ack: 43, user: "sealed-stack",
		},
		{
			name:  "compressed user message",
			built: compressFrame(user("lzw-golden lzw-golden lzw-golden")),
			// Buf: 29 bytes of LZW (LSB, literal width 8) for 33 bytes.
			hex: `09 82 a4"Algo" 00 a3"Buf" bd
				0011b0d173a7c599376cc89471036260c183091736246810a142370101`,
			user: "lzw-golden lzw-golden lzw-golden",
		},
	}
}

// TestGoldenSealedPackets checks the golden packets against the encoder,
// then sends them over raw UDP to a node of each kind named "golden", one
// with the key and label "lbl" and one with neither, and checks that the
// node acts on them: a ping is answered with an ack, labelled and sealed
// with the key (version 1, as the node speaks protocol 2), and a user
// message reaches NotifyMsg.
func TestGoldenSealedPackets(t *testing.T) {
	t.Parallel()
	rows := sealedRows()
	for _, r := range rows {
		if want := unhex(t, r.hex); !bytes.Equal(r.built, want) {
			t.Errorf("%s:\n built %s\ngolden %s", r.name, hex.EncodeToString(r.built), hex.EncodeToString(want))
		}
	}
	if t.Failed() {
		return
	}
	for _, k := range kinds() {
		t.Run(string(k), func(t *testing.T) {
			t.Parallel()
			keyed := newNode(t, k, nodeOpts{Name: "golden", SecretKey: goldenKey(), Label: "lbl", Timers: quietTimers()})
			plain := newNode(t, k, nodeOpts{Name: "golden", Timers: quietTimers()})
			w := wire{Key: goldenKey(), Label: "lbl"}
			for _, r := range rows {
				n := plain
				if r.keyed {
					n = keyed
				}
				sealedSend(t, n, w, r)
			}
		})
	}
}

// sealedSend sends row r to n and waits for its effects.
func sealedSend(t *testing.T, n node, w wire, r sealedRow) {
	t.Helper()
	u := newRawUDP(t)
	u.send(t, n.Addr(), unhex(t, r.hex))
	if r.ack != 0 {
		ack := msg(tAck, "Payload", []byte(nil), "SeqNo", r.ack)
		p := u.recv(t, 10*time.Second, fmt.Sprintf("%s: ack %d", r.name, r.ack), w.hasLeaf(leafIs(ack)))
		if _, v, err := w.packetPlain(p); err != nil || v != 1 {
			t.Errorf("%s: ack sealed with version %d (%v), want 1", r.name, v, err)
		}
	}
	if r.user != "" {
		waitFor(t, 10*time.Second, r.name+": NotifyMsg", func() error {
			if !n.Del().got([]byte(r.user)) {
				return fmt.Errorf("%q not delivered", r.user)
			}
			return nil
		})
	}
}
