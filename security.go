package memberlist

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"fmt"
	"io"
)

// encryptionVersion is the first byte of an encrypted payload; it selects the
// layout of the rest (see encryptedLength).
type encryptionVersion uint8

const (
	// minEncryptionVersion is the legacy layout: the plaintext is PKCS#7
	// padded to the AES block size before sealing. It is sent when the
	// spoken protocol version is 1.
	minEncryptionVersion encryptionVersion = 0
	// maxEncryptionVersion seals the plaintext as is. It is sent for every
	// protocol version above 1.
	maxEncryptionVersion encryptionVersion = 1
)

// Sizes of the parts of an encrypted payload: [version][nonce][ciphertext][tag].
const (
	encryptNonceSize  = 12 // standard AES-GCM nonce
	encryptHeaderSize = 1 + encryptNonceSize
	encryptTagSize    = 16 // AES-GCM authentication tag
)

// encryptOverhead returns the most bytes that encryption with version vsn
// adds to a message: 45 for version 0 (a full block of padding at worst) and
// 29 for version 1.
func encryptOverhead(vsn encryptionVersion) int {
	if vsn == minEncryptionVersion {
		return encryptHeaderSize + aes.BlockSize + encryptTagSize
	}
	return encryptHeaderSize + encryptTagSize
}

// encryptedLength returns the length of an inp-byte message once encrypted
// with version vsn.
func encryptedLength(vsn encryptionVersion, inp int) int {
	if vsn == minEncryptionVersion {
		padded := inp + aes.BlockSize - inp%aes.BlockSize
		return encryptHeaderSize + padded + encryptTagSize
	}
	return encryptHeaderSize + inp + encryptTagSize
}

// encryptPayload encrypts msg with the primary key, authenticating aad as
// well, under a fresh random nonce. The result is
// [vsn][nonce 12][ciphertext][tag 16]; with version 0 the plaintext is PKCS#7
// padded first. It fails when the ring is empty or vsn is unknown.
func (k *Keyring) encryptPayload(vsn encryptionVersion, msg, aad []byte) ([]byte, error) {
	return k.encryptPayloadFrom(rand.Reader, vsn, msg, aad)
}

// encryptPayloadFrom is encryptPayload with the nonce read from random. A
// failure to read the nonce is returned as an error; nothing is ever sealed
// under a partial or zero nonce.
func (k *Keyring) encryptPayloadFrom(random io.Reader, vsn encryptionVersion, msg, aad []byte) ([]byte, error) {
	if vsn > maxEncryptionVersion {
		return nil, fmt.Errorf("unsupported encryption version %d", vsn)
	}
	entries := k.ring.Load().keys()
	if len(entries) == 0 {
		return nil, fmt.Errorf("cannot encrypt: %w", ErrKeyringEmpty)
	}
	out := make([]byte, encryptHeaderSize, encryptedLength(vsn, len(msg)))
	out[0] = byte(vsn)
	if _, err := io.ReadFull(random, out[1:encryptHeaderSize]); err != nil {
		return nil, fmt.Errorf("failed to read random nonce: %w", err)
	}
	return sealAfterHeader(out, vsn, entries[0].aead, msg, aad), nil
}

// sealPayload encrypts msg with aead under the given nonce, in the layout of
// encryptPayload. It is the deterministic seam under encryptPayload: vsn must
// be 0 or 1, aead an AES-GCM cipher and nonce 12 bytes long. Never reuse a
// nonce with the same key outside tests.
func sealPayload(vsn encryptionVersion, aead cipher.AEAD, nonce, msg, aad []byte) []byte {
	out := make([]byte, encryptHeaderSize, encryptedLength(vsn, len(msg)))
	out[0] = byte(vsn)
	copy(out[1:encryptHeaderSize], nonce)
	return sealAfterHeader(out, vsn, aead, msg, aad)
}

// sealAfterHeader appends the sealed msg to out, which holds the version byte
// and the nonce and has capacity for the whole payload, so nothing allocates.
func sealAfterHeader(out []byte, vsn encryptionVersion, aead cipher.AEAD, msg, aad []byte) []byte {
	nonce := out[1:encryptHeaderSize]
	if vsn != minEncryptionVersion {
		return aead.Seal(out, nonce, msg, aad)
	}
	// Pad in place after the header, then seal over the same bytes: an
	// exact overlap of plaintext and output is allowed by cipher.AEAD.
	padded := pkcs7Pad(out, msg)[encryptHeaderSize:]
	return aead.Seal(out, nonce, padded, aad)
}

// decryptPayload opens an encrypted payload made by encryptPayload, checking
// aad. It tries the key that last succeeded first, then the other keys in
// ring order. The plaintext is in a new buffer, never in msg; it may be empty,
// and callers that index it must check.
//
// Unlike hashicorp/memberlist, which panics on some bad version 0 padding,
// decryptPayload validates the padding and returns an error.
func (k *Keyring) decryptPayload(msg, aad []byte) ([]byte, error) {
	if len(msg) == 0 {
		return nil, errDecryptEmpty
	}
	vsn := encryptionVersion(msg[0])
	if vsn > maxEncryptionVersion {
		return nil, fmt.Errorf("unsupported encryption version %d", msg[0])
	}
	if len(msg) < encryptedLength(vsn, 0) {
		return nil, fmt.Errorf("payload is too small to decrypt: %d", len(msg))
	}
	plain, err := k.ring.Load().open(msg, aad)
	if err != nil {
		return nil, err
	}
	if vsn == minEncryptionVersion {
		return pkcs7Unpad(plain)
	}
	return plain, nil
}

// open authenticates and decrypts msg (at least header and tag long) with the
// first key that accepts it, remembering which one that was.
func (s *keyringSnapshot) open(msg, aad []byte) ([]byte, error) {
	entries := s.keys()
	if len(entries) == 0 {
		return nil, ErrNoKeyDecrypts
	}
	nonce, sealed := msg[1:encryptHeaderSize], msg[encryptHeaderSize:]
	// One buffer for every attempt: a failed Open leaves nothing behind.
	buf := make([]byte, 0, len(sealed)-encryptTagSize)
	first := int(s.lastHit.Load())
	if first >= len(entries) {
		first = 0
	}
	if plain, err := entries[first].aead.Open(buf, nonce, sealed, aad); err == nil {
		return plain, nil
	}
	for i, e := range entries {
		if i == first {
			continue
		}
		if plain, err := e.aead.Open(buf, nonce, sealed, aad); err == nil {
			s.lastHit.Store(int32(i))
			return plain, nil
		}
	}
	return nil, ErrNoKeyDecrypts
}

// pkcs7Pad appends msg to dst followed by 1 to 16 bytes of PKCS#7 padding,
// each holding the padding length, so the appended part is a whole number of
// AES blocks.
func pkcs7Pad(dst, msg []byte) []byte {
	pad := aes.BlockSize - len(msg)%aes.BlockSize
	dst = append(dst, msg...)
	for range pad {
		dst = append(dst, byte(pad))
	}
	return dst
}

// pkcs7Unpad removes PKCS#7 padding from buf. The padding must be 1 to 16
// bytes, no longer than buf, and every padding byte must hold its length.
func pkcs7Unpad(buf []byte) ([]byte, error) {
	if len(buf) == 0 {
		return nil, errBadPadding
	}
	pad := int(buf[len(buf)-1])
	if pad == 0 || pad > aes.BlockSize || pad > len(buf) {
		return nil, errBadPadding
	}
	for _, b := range buf[len(buf)-pad:] {
		if int(b) != pad {
			return nil, errBadPadding
		}
	}
	return buf[:len(buf)-pad], nil
}
