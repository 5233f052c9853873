package memberlist

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

// Golden packets for plaintext "hello", key 00..0f, nonce 10..1b and the
// label "label" as AAD. They were computed once with crypto/aes and
// crypto/cipher alone (TestSealPayload_Golden recomputes them that way).
const (
	securityGoldenV1 = "01" + "101112131415161718191a1b" +
		"ac4b6fc360" + "3df281b906469bdc3839fec7e2ead683"
	securityGoldenV0 = "00" + "101112131415161718191a1b" +
		"ac4b6fc36044bde41cd656fecc2ce035" + "c7166e705dffae3e4c1f05f229c9ce26"
)

func securityTestNonce() []byte { return keyringTestKey(encryptNonceSize, 0x10) }

// securityTestAEAD builds AES-GCM for key straight from the standard library.
func securityTestAEAD(t testing.TB, key []byte) cipher.AEAD {
	t.Helper()
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	return aead
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// securitySealRaw seals an arbitrary (already padded, for version 0)
// plaintext with the standard library only, in the wire layout.
func securitySealRaw(t testing.TB, vsn byte, key, plain, aad []byte) []byte {
	t.Helper()
	nonce := securityTestNonce()
	out := append([]byte{vsn}, nonce...)
	return securityTestAEAD(t, key).Seal(out, nonce, plain, aad)
}

func TestSealPayload_Golden(t *testing.T) {
	key := keyringTestKey(16, 0x00)
	plain, aad := []byte("hello"), []byte("label")
	// "hello" padded to one block: eleven bytes of 0x0b.
	padded := append(bytes.Clone(plain), bytes.Repeat([]byte{11}, 11)...)
	tests := []struct {
		vsn    encryptionVersion
		golden string
		raw    []byte
	}{
		{maxEncryptionVersion, securityGoldenV1, plain},
		{minEncryptionVersion, securityGoldenV0, padded},
	}
	ring := mustKeyring(t, nil, key)
	for _, tt := range tests {
		t.Run(fmt.Sprint("v", tt.vsn), func(t *testing.T) {
			want := mustHex(t, tt.golden)
			if ind := securitySealRaw(t, byte(tt.vsn), key, tt.raw, aad); !bytes.Equal(ind, want) {
				t.Fatalf("standard library gives\n%x\nwant\n%x", ind, want)
			}
			got := sealPayload(tt.vsn, securityTestAEAD(t, key), securityTestNonce(), plain, aad)
			if !bytes.Equal(got, want) {
				t.Fatalf("sealPayload gives\n%x\nwant\n%x", got, want)
			}
			if len(got) != encryptedLength(tt.vsn, len(plain)) {
				t.Fatalf("length %d, encryptedLength %d", len(got), encryptedLength(tt.vsn, len(plain)))
			}
			opened, err := ring.decryptPayload(want, aad)
			if err != nil || !bytes.Equal(opened, plain) {
				t.Fatalf("decryptPayload = %q, %v", opened, err)
			}
		})
	}
}

func TestPKCS7(t *testing.T) {
	for n := range 256 {
		msg := bytes.Repeat([]byte{byte(n)}, n)
		padded := pkcs7Pad([]byte("prefix"), msg)[len("prefix"):]
		if len(padded)%aes.BlockSize != 0 || len(padded)-n < 1 || len(padded)-n > aes.BlockSize {
			t.Fatalf("n=%d: padded to %d bytes", n, len(padded))
		}
		got, err := pkcs7Unpad(padded)
		if err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("n=%d: unpad = %x, %v", n, got, err)
		}
	}
}

func TestPKCS7Unpad_Invalid(t *testing.T) {
	tests := map[string][]byte{
		"empty":            {},
		"zero pad":         append(make([]byte, 15), 0),
		"pad 17":           bytes.Repeat([]byte{17}, 32),
		"pad 255":          bytes.Repeat([]byte{255}, 16),
		"pad longer":       {5, 5, 5},
		"unequal pad":      {9, 3, 1, 3, 3},
		"one odd byte":     append(bytes.Repeat([]byte{16}, 15), 15),
		"whole block diff": append([]byte{15}, bytes.Repeat([]byte{16}, 15)...),
	}
	for name, buf := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := pkcs7Unpad(buf); err != errBadPadding {
				t.Fatalf("got %v, want %v", err, errBadPadding)
			}
		})
	}
}

func TestEncryptedLength(t *testing.T) {
	tests := []struct {
		vsn      encryptionVersion
		in, want int
	}{
		{0, 0, 45}, {0, 1, 45}, {0, 15, 45}, {0, 16, 61}, {0, 17, 61}, {0, 31, 61}, {0, 32, 77},
		{0, 1400, 1429 + 16 - 1400%16},
		{1, 0, 29}, {1, 1, 30}, {1, 16, 45}, {1, 1400, 1429},
	}
	for _, tt := range tests {
		if got := encryptedLength(tt.vsn, tt.in); got != tt.want {
			t.Errorf("encryptedLength(%d, %d) = %d, want %d", tt.vsn, tt.in, got, tt.want)
		}
	}
}

func TestEncryptOverhead(t *testing.T) {
	for _, tt := range []struct {
		vsn  encryptionVersion
		want int
	}{{0, 45}, {1, 29}} {
		if got := encryptOverhead(tt.vsn); got != tt.want {
			t.Fatalf("encryptOverhead(%d) = %d, want %d", tt.vsn, got, tt.want)
		}
		// The overhead bounds what encryption adds, and is reached.
		reached := false
		for n := range 64 {
			extra := encryptedLength(tt.vsn, n) - n
			if extra > tt.want {
				t.Fatalf("vsn %d, n %d: adds %d > overhead %d", tt.vsn, n, extra, tt.want)
			}
			reached = reached || extra == tt.want
		}
		if !reached {
			t.Fatalf("vsn %d: overhead %d never reached", tt.vsn, tt.want)
		}
	}
}

func TestEncryptDecrypt_V0(t *testing.T) { securityRoundTrip(t, minEncryptionVersion) }
func TestEncryptDecrypt_V1(t *testing.T) { securityRoundTrip(t, maxEncryptionVersion) }

func securityRoundTrip(t *testing.T, vsn encryptionVersion) {
	keys := keyringTestKeys()
	for _, key := range keys {
		ring := mustKeyring(t, nil, key)
		for _, aad := range [][]byte{nil, []byte("label"), bytes.Repeat([]byte{'x'}, 255)} {
			for _, n := range []int{0, 1, 15, 16, 17, 31, 32, 33, 100, 1400, 65536} {
				plain := bytes.Repeat([]byte{0xa5}, n)
				msg, err := ring.encryptPayload(vsn, plain, aad)
				if err != nil {
					t.Fatal(err)
				}
				if len(msg) != encryptedLength(vsn, n) || msg[0] != byte(vsn) {
					t.Fatalf("key %d n %d: got %d bytes version %d", len(key), n, len(msg), msg[0])
				}
				got, err := ring.decryptPayload(msg, aad)
				if err != nil || !bytes.Equal(got, plain) || got == nil {
					t.Fatalf("key %d n %d: decrypt = %d bytes, %v", len(key), n, len(got), err)
				}
			}
		}
	}
}

// TestDecryptPayload_EmptyPlaintext: an empty message round-trips to an empty
// (non-nil) plaintext without panicking; stream callers must check it.
func TestDecryptPayload_EmptyPlaintext(t *testing.T) {
	ring := mustKeyring(t, nil, keyringTestKeys()[0])
	for _, vsn := range []encryptionVersion{0, 1} {
		msg, err := ring.encryptPayload(vsn, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ring.decryptPayload(msg, nil)
		if err != nil || got == nil || len(got) != 0 {
			t.Fatalf("vsn %d: got %q (nil %t), %v", vsn, got, got == nil, err)
		}
	}
}

func TestDecryptPayload_Errors(t *testing.T) {
	keys := keyringTestKeys()
	key := keys[0]
	v1, v0 := mustHex(t, securityGoldenV1), mustHex(t, securityGoldenV0)
	label := []byte("label")
	v0long := sealPayload(0, securityTestAEAD(t, key), securityTestNonce(), make([]byte, 40), label)
	flip := func(b []byte, i int) []byte { b = bytes.Clone(b); b[i] ^= 1; return b }
	noKeys := "no installed keys could decrypt the message"
	badPad := "invalid padding in decrypted message"
	tests := []struct {
		name string
		ring *Keyring
		msg  []byte
		aad  []byte
		err  string
	}{
		{"nil", nil, nil, label, "cannot decrypt empty payload"},
		{"empty", nil, []byte{}, label, "cannot decrypt empty payload"},
		{"version 2", nil, append([]byte{2}, v1[1:]...), label, "unsupported encryption version 2"},
		{"version 255", nil, []byte{255}, label, "unsupported encryption version 255"},
		{"v1 header only", nil, []byte{1}, label, "payload is too small to decrypt: 1"},
		{"v1 28 bytes", nil, v1[:28], label, "payload is too small to decrypt: 28"},
		{"v0 44 bytes", nil, v0[:44], label, "payload is too small to decrypt: 44"},
		{"v1 read as v0", nil, append([]byte{0}, v1[1:]...), label, "payload is too small to decrypt: 34"},
		{"v1 truncated", nil, v1[:len(v1)-1], label, noKeys},
		{"v1 tag only", nil, v1[:29], label, noKeys},
		{"v0 truncated", nil, v0long[:len(v0long)-1], label, noKeys},
		{"v1 flipped nonce", nil, flip(v1, 1), label, noKeys},
		{"v1 flipped ciphertext", nil, flip(v1, 14), label, noKeys},
		{"v1 flipped tag", nil, flip(v1, len(v1)-1), label, noKeys},
		{"wrong aad", nil, v1, []byte("other"), noKeys},
		{"missing aad", nil, v1, nil, noKeys},
		{"wrong key", mustKeyring(t, keys[1:], keys[1]), v1, label, noKeys},
		{"empty ring", mustKeyring(t, nil, nil), v1, label, noKeys},
		{"zero ring", &Keyring{}, v1, label, noKeys},
		{"v0 pad zero", nil, securitySealRaw(t, 0, key, make([]byte, 16), label), label, badPad},
		{"v0 pad 17", nil, securitySealRaw(t, 0, key, bytes.Repeat([]byte{17}, 32), label), label, badPad},
		{"v0 pad 255", nil, securitySealRaw(t, 0, key, bytes.Repeat([]byte{255}, 16), label), label, badPad},
		{"v0 pad unequal", nil, securitySealRaw(t, 0, key, append(make([]byte, 14), 1, 2), label), label, badPad},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ring := tt.ring
			if ring == nil {
				ring = mustKeyring(t, keys[1:], key)
			}
			in := bytes.Clone(tt.msg)
			got, err := ring.decryptPayload(tt.msg, tt.aad)
			assertErrString(t, err, tt.err)
			if got != nil {
				t.Fatalf("got plaintext %x with an error", got)
			}
			if !bytes.Equal(in, tt.msg) {
				t.Fatalf("decryptPayload modified its input")
			}
		})
	}
}

// TestDecryptPayload_VersionNotAuthenticated pins a property of the wire
// format shared with upstream: the version byte is outside the AAD, so a v0
// payload relabelled as v1 opens to its padded plaintext, and a v1 payload
// whose plaintext ends like padding, relabelled as v0, loses that tail.
func TestDecryptPayload_VersionNotAuthenticated(t *testing.T) {
	key := keyringTestKeys()[0]
	ring := mustKeyring(t, nil, key)
	v0 := mustHex(t, securityGoldenV0)
	v0[0] = 1
	got, err := ring.decryptPayload(v0, []byte("label"))
	if want := append([]byte("hello"), bytes.Repeat([]byte{11}, 11)...); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("v0 as v1: %x, %v", got, err)
	}
	plain := append(make([]byte, 31), 1)
	v1 := sealPayload(1, securityTestAEAD(t, key), securityTestNonce(), plain, nil)
	v1[0] = 0
	got, err = ring.decryptPayload(v1, nil)
	if err != nil || !bytes.Equal(got, plain[:31]) {
		t.Fatalf("v1 as v0: %x, %v", got, err)
	}
}

// securityFailReader fails every read.
type securityFailReader struct{ err error }

func (r securityFailReader) Read([]byte) (int, error) { return 0, r.err }

func TestEncryptPayload_Errors(t *testing.T) {
	key := keyringTestKeys()[0]
	ring := mustKeyring(t, nil, key)

	_, err := (&Keyring{}).encryptPayload(maxEncryptionVersion, []byte("x"), nil)
	assertErrString(t, err, "cannot encrypt: keyring is empty")
	if !errors.Is(err, ErrKeyringEmpty) {
		t.Fatalf("error %v does not wrap ErrKeyringEmpty", err)
	}
	_, err = ring.encryptPayload(2, []byte("x"), nil)
	assertErrString(t, err, "unsupported encryption version 2")

	// A nonce that cannot be read is an error, never a zero nonce.
	boom := errors.New("entropy exhausted")
	for name, r := range map[string]io.Reader{
		"failing": securityFailReader{boom},
		"short":   bytes.NewReader(make([]byte, encryptNonceSize-1)),
		"empty":   strings.NewReader(""),
	} {
		t.Run(name, func(t *testing.T) {
			msg, err := ring.encryptPayloadFrom(r, maxEncryptionVersion, []byte("x"), nil)
			if err == nil || msg != nil || !strings.HasPrefix(err.Error(), "failed to read random nonce: ") {
				t.Fatalf("got %x, %v", msg, err)
			}
		})
	}
	_, err = ring.encryptPayloadFrom(securityFailReader{boom}, 1, nil, nil)
	if !errors.Is(err, boom) {
		t.Fatalf("error %v does not wrap the reader's error", err)
	}
}

func TestEncryptPayload_FreshNonceAndPrimary(t *testing.T) {
	keys := keyringTestKeys()
	ring := mustKeyring(t, keys[1:], keys[0])
	if err := ring.UseKey(keys[2]); err != nil {
		t.Fatal(err)
	}
	a, err := ring.encryptPayload(1, []byte("same"), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := ring.encryptPayload(1, []byte("same"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(a[1:encryptHeaderSize], b[1:encryptHeaderSize]) {
		t.Fatalf("two encryptions reused the nonce %x", a[1:encryptHeaderSize])
	}
	// It was sealed with the primary key, keys[2].
	if _, err := mustKeyring(t, nil, keys[2]).decryptPayload(a, nil); err != nil {
		t.Fatalf("not sealed with the primary key: %v", err)
	}
}

func TestDecryptPayload_DoesNotAliasInput(t *testing.T) {
	ring := mustKeyring(t, nil, keyringTestKeys()[0])
	for _, vsn := range []encryptionVersion{0, 1} {
		msg, err := ring.encryptPayload(vsn, []byte("some plaintext"), nil)
		if err != nil {
			t.Fatal(err)
		}
		in := bytes.Clone(msg)
		plain, err := ring.decryptPayload(msg, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := range plain[:cap(plain)] {
			plain[:cap(plain)][i] = 0xee
		}
		if !bytes.Equal(in, msg) {
			t.Fatalf("vsn %d: plaintext shares storage with the input", vsn)
		}
	}
}

func TestDecryptPayload_LastHit(t *testing.T) {
	keys := keyringTestKeys()
	ring := mustKeyring(t, keys[1:], keys[0])
	hit := func() int { return int(ring.ring.Load().lastHit.Load()) }
	sealed := func(key []byte) []byte {
		return sealPayload(1, securityTestAEAD(t, key), securityTestNonce(), []byte("m"), nil)
	}
	steps := []struct {
		key  []byte
		want int
	}{{keys[2], 2}, {keys[2], 2}, {keys[0], 0}, {keys[1], 1}}
	for i, s := range steps {
		if _, err := ring.decryptPayload(sealed(s.key), nil); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if hit() != s.want {
			t.Fatalf("step %d: last hit %d, want %d", i, hit(), s.want)
		}
	}
	// The hint follows keys[1] when the ring is reordered: [k2 k0 k1] -> k1 at 2.
	if err := ring.UseKey(keys[2]); err != nil {
		t.Fatal(err)
	}
	if hit() != 2 {
		t.Fatalf("after UseKey, last hit %d, want 2", hit())
	}
	// ...and falls back to the primary when that key is removed.
	if err := ring.RemoveKey(keys[1]); err != nil {
		t.Fatal(err)
	}
	if hit() != 0 {
		t.Fatalf("after RemoveKey, last hit %d, want 0", hit())
	}
	if _, err := ring.decryptPayload(sealed(keys[0]), nil); err != nil {
		t.Fatal(err)
	}
}

// securityBenchRings returns a ring to encrypt with and one to decrypt with:
// with one key both are the same; with three the message is sealed with the
// last-added, non-primary key of the decrypting ring.
func securityBenchRings(t testing.TB, nkeys int) (enc, dec *Keyring) {
	keys := keyringTestKeys()
	if nkeys == 1 {
		ring := mustKeyring(t, nil, keys[0])
		return ring, ring
	}
	return mustKeyring(t, nil, keys[2]), mustKeyring(t, keys[1:], keys[0])
}

func TestEncryptDecrypt_Allocs(t *testing.T) {
	plain, aad := make([]byte, 1400), []byte("label")
	for _, nkeys := range []int{1, 3} {
		for _, vsn := range []encryptionVersion{0, 1} {
			enc, dec := securityBenchRings(t, nkeys)
			msg, _ := enc.encryptPayload(vsn, plain, aad)
			if _, err := dec.decryptPayload(msg, aad); err != nil {
				t.Fatal(err)
			}
			e := testing.AllocsPerRun(50, func() { _, _ = enc.encryptPayload(vsn, plain, aad) })
			d := testing.AllocsPerRun(50, func() { _, _ = dec.decryptPayload(msg, aad) })
			if e > 2 || d > 2 {
				t.Errorf("%d keys v%d: %.0f allocs per encrypt, %.0f per decrypt; want <= 2", nkeys, vsn, e, d)
			}
		}
	}
}

func BenchmarkEncryptDecrypt(b *testing.B) {
	plain, aad := make([]byte, 1400), []byte("label")
	for _, nkeys := range []int{1, 3} {
		enc, dec := securityBenchRings(b, nkeys)
		msg, err := enc.encryptPayload(maxEncryptionVersion, plain, aad)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("%dkeys/encrypt", nkeys), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(plain)))
			for b.Loop() {
				if _, err := enc.encryptPayload(maxEncryptionVersion, plain, aad); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("%dkeys/decrypt", nkeys), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(plain)))
			for b.Loop() {
				if _, err := dec.decryptPayload(msg, aad); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	// Worst case for the last-success hint: senders on two different keys
	// interleaved, so every other message first fails on the hinted key.
	enc, dec := securityBenchRings(b, 3)
	fromLast, _ := enc.encryptPayload(maxEncryptionVersion, plain, aad)
	fromPrimary, _ := dec.encryptPayload(maxEncryptionVersion, plain, aad)
	b.Run("3keys/decrypt-alternating", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(plain)))
		i := 0
		for b.Loop() {
			msg := fromLast
			if i++; i%2 == 0 {
				msg = fromPrimary
			}
			if _, err := dec.decryptPayload(msg, aad); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func FuzzDecryptPayload(f *testing.F) {
	keys := keyringTestKeys()
	ring := mustKeyring(f, keys[1:], keys[0])
	f.Add(mustHex(f, securityGoldenV1), []byte("hello"))
	f.Add(mustHex(f, securityGoldenV0), []byte("hello"))
	f.Add([]byte{}, []byte{})
	f.Add([]byte{2, 0, 0}, []byte("x"))
	f.Add(make([]byte, 45), make([]byte, 16))
	f.Add(securitySealRaw(f, 0, keys[0], make([]byte, 16), []byte("label")), []byte{0})
	f.Add(securitySealRaw(f, 0, keys[0], bytes.Repeat([]byte{255}, 16), []byte("label")), []byte{})
	f.Fuzz(func(t *testing.T, data, plain []byte) {
		aad := []byte("label")
		in := bytes.Clone(data)
		if out, err := ring.decryptPayload(data, aad); err == nil && len(out) > len(data)-29 {
			t.Fatalf("%d-byte plaintext from %d bytes", len(out), len(data))
		}
		if !bytes.Equal(in, data) {
			t.Fatalf("decryptPayload modified its input")
		}
		for _, vsn := range []encryptionVersion{0, 1} {
			msg, err := ring.encryptPayload(vsn, plain, aad)
			if err != nil || len(msg) != encryptedLength(vsn, len(plain)) {
				t.Fatalf("encrypt: %d bytes, %v", len(msg), err)
			}
			got, err := ring.decryptPayload(msg, aad)
			if err != nil || !bytes.Equal(got, plain) {
				t.Fatalf("round trip v%d: %x, %v", vsn, got, err)
			}
		}
	})
}

func TestCRCFramePacket(t *testing.T) {
	got := crcFramePacket(mustHex(t, "03030303"))
	if want := "0c8393ccd203030303"; hex.EncodeToString(got) != want {
		t.Fatalf("got %x, want %s", got, want)
	}
	if got := crcFramePacket(nil); hex.EncodeToString(got) != "0c00000000" {
		t.Fatalf("empty payload framed as %x", got)
	}
}

func TestCRCUnframePacket(t *testing.T) {
	tests := []struct {
		name, in, payload string
		ok                bool
		err               string
	}{
		{"vector", "0c8393ccd203030303", "03030303", true, ""},
		{"empty payload", "0c00000000", "", true, ""},
		{"no header", "03030303", "03030303", false, ""},
		{"empty", "", "", false, ""},
		{"type only", "0c", "", true, "checksum header is truncated"},
		{"short header", "0c8393cc", "", true, "checksum header is truncated"},
		{"bad crc", "0c8393ccd303030303", "", true, "invalid checksum"},
		{"bad payload", "0c8393ccd203030304", "", true, "invalid checksum"},
		{"truncated payload", "0c8393ccd2030303", "", true, "invalid checksum"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			payload, ok, err := crcUnframePacket(mustHex(t, tt.in))
			assertErrString(t, err, tt.err)
			if ok != tt.ok || hex.EncodeToString(payload) != tt.payload {
				t.Fatalf("got %x, %t; want %s, %t", payload, ok, tt.payload, tt.ok)
			}
		})
	}
}

func FuzzCRCUnframe(f *testing.F) {
	for _, s := range []string{"0c8393ccd203030303", "0c", "0c000000", "", "0102", "0c00000000"} {
		f.Add(mustHex(f, s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		payload, ok, err := crcUnframePacket(data)
		switch {
		case !ok && (err != nil || !bytes.Equal(payload, data)):
			t.Fatalf("no header: got %x, %v", payload, err)
		case ok && err == nil && !bytes.Equal(crcFramePacket(payload), data):
			t.Fatalf("accepted %x but reframes differently", data)
		case err != nil && payload != nil:
			t.Fatalf("payload %x with error %v", payload, err)
		}
		framed := crcFramePacket(data)
		if got, ok, err := crcUnframePacket(framed); !ok || err != nil || !bytes.Equal(got, data) {
			t.Fatalf("round trip: %x, %t, %v", got, ok, err)
		}
	})
}
