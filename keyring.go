package memberlist

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
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

var (
	errKeySize          = errors.New("key size must be 16, 24 or 32 bytes")
	errEmptyPrimaryKey  = errors.New("empty primary key not allowed")
	errKeyNotInKeyring  = errors.New("requested key is not in the keyring")
	errRemovePrimaryKey = errors.New("removing the primary key is not allowed")
	errKeyringEmpty     = errors.New("keyring is empty")
	errDecryptEmpty     = errors.New("cannot decrypt empty payload")
	errNoKeyDecrypts    = errors.New("no installed keys could decrypt the message")
	errBadPadding       = errors.New("invalid padding in decrypted message")
)

// ValidateKey reports whether key can be used as an AES key: it returns nil
// when key is 16, 24 or 32 bytes long (AES-128, AES-192 or AES-256) and an
// error otherwise.
func ValidateKey(key []byte) error {
	switch len(key) {
	case 16, 24, 32:
		return nil
	}
	return errKeySize
}

// Keyring holds the AES keys used to encrypt and decrypt gossip. The first key
// is the primary key: every outgoing message is encrypted with it, while an
// incoming message may be opened by any key in the ring. Rotating keys is
// therefore: AddKey the new key everywhere, UseKey it everywhere, then
// RemoveKey the old one.
//
// The zero value is an empty keyring, ready to use; a Keyring without keys
// does not enable encryption. A Keyring is safe for concurrent use by
// multiple goroutines and must not be copied after first use. Encryption and
// decryption take no lock: they read an immutable snapshot of the keys.
type Keyring struct {
	// mu serialises AddKey, UseKey and RemoveKey. Readers never take it.
	mu   sync.Mutex
	ring atomic.Pointer[keyringSnapshot] // nil means no keys
}

// keyringEntry is one installed key and the AES-GCM cipher built from it.
type keyringEntry struct {
	key  []byte // our own copy, never modified
	aead cipher.AEAD
}

// keyringSnapshot is one immutable version of a ring's keys, primary first.
// Only lastHit changes after publication.
type keyringSnapshot struct {
	entries []*keyringEntry
	// lastHit is the index in entries of the key that last decrypted a
	// message; decryption tries it first.
	lastHit atomic.Int32
}

// NewKeyring returns a keyring holding primaryKey followed by keys, in order,
// with duplicates ignored. When both are empty the keyring is empty and
// encryption stays off. Otherwise primaryKey must not be empty, and every key
// must pass ValidateKey.
func NewKeyring(keys [][]byte, primaryKey []byte) (*Keyring, error) {
	k := &Keyring{}
	if len(keys) == 0 && len(primaryKey) == 0 {
		return k, nil
	}
	if len(primaryKey) == 0 {
		return nil, errEmptyPrimaryKey
	}
	entries, err := keyringAppend(nil, primaryKey)
	if err != nil {
		return nil, err
	}
	for _, key := range keys {
		if entries, err = keyringAppend(entries, key); err != nil {
			return nil, err
		}
	}
	k.ring.Store(&keyringSnapshot{entries: entries})
	return k, nil
}

// AddKey installs key at the end of the ring, so it can decrypt messages. The
// first key added to an empty ring becomes the primary key; otherwise the
// primary key is unchanged. Adding a key that is already installed does
// nothing. AddKey keeps its own copy of key.
func (k *Keyring) AddKey(key []byte) error {
	if err := ValidateKey(key); err != nil {
		return err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	old := k.ring.Load()
	if old.index(key) >= 0 {
		return nil
	}
	entries, err := keyringAppend(old.clone(1), key)
	if err != nil {
		return err
	}
	k.publish(old, entries)
	return nil
}

// UseKey makes an installed key the primary key. It moves to the front of the
// ring and the other keys keep their order.
func (k *Keyring) UseKey(key []byte) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	old := k.ring.Load()
	i := old.index(key)
	if i < 0 {
		return errKeyNotInKeyring
	}
	if i == 0 {
		return nil
	}
	entries := make([]*keyringEntry, 0, len(old.entries))
	entries = append(entries, old.entries[i])
	entries = append(entries, old.entries[:i]...)
	entries = append(entries, old.entries[i+1:]...)
	k.publish(old, entries)
	return nil
}

// RemoveKey uninstalls key. Removing the primary key is refused; removing a
// key that is not installed does nothing.
//
// Unlike hashicorp/memberlist, which panics, RemoveKey on an empty keyring
// returns an error.
func (k *Keyring) RemoveKey(key []byte) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	old := k.ring.Load()
	switch i := old.index(key); {
	case len(old.keys()) == 0:
		return errKeyringEmpty
	case i == 0:
		return errRemovePrimaryKey
	case i > 0:
		entries := make([]*keyringEntry, 0, len(old.entries)-1)
		entries = append(entries, old.entries[:i]...)
		entries = append(entries, old.entries[i+1:]...)
		k.publish(old, entries)
	}
	return nil
}

// GetKeys returns the installed keys, primary first.
//
// Unlike hashicorp/memberlist, which returns its internal slice, GetKeys
// returns a new slice on every call, so later changes to the ring do not show
// through it. The key bytes themselves are shared and must not be modified.
func (k *Keyring) GetKeys() [][]byte {
	entries := k.ring.Load().keys()
	keys := make([][]byte, len(entries))
	for i, e := range entries {
		keys[i] = e.key
	}
	return keys
}

// GetPrimaryKey returns the key used to encrypt outgoing messages, or nil
// when the ring is empty. The returned bytes must not be modified.
func (k *Keyring) GetPrimaryKey() (key []byte) {
	if entries := k.ring.Load().keys(); len(entries) > 0 {
		return entries[0].key
	}
	return nil
}

// publish replaces the ring's snapshot, carrying the last-success hint over
// to the same key in the new order. The caller holds k.mu.
func (k *Keyring) publish(old *keyringSnapshot, entries []*keyringEntry) {
	next := &keyringSnapshot{entries: entries}
	if hit := old.lastHitEntry(); hit != nil {
		for i, e := range entries {
			if e == hit {
				next.lastHit.Store(int32(i))
				break
			}
		}
	}
	k.ring.Store(next)
}

// keyringAppend validates key and, unless it is already in entries, appends
// a new entry holding a copy of it and its AES-GCM cipher.
func keyringAppend(entries []*keyringEntry, key []byte) ([]*keyringEntry, error) {
	if err := ValidateKey(key); err != nil {
		return nil, err
	}
	for _, e := range entries {
		if bytes.Equal(e.key, key) {
			return entries, nil
		}
	}
	own := bytes.Clone(key)
	block, err := aes.NewCipher(own)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return append(entries, &keyringEntry{key: own, aead: aead}), nil
}

// keys returns the snapshot's entries; a nil snapshot has none.
func (s *keyringSnapshot) keys() []*keyringEntry {
	if s == nil {
		return nil
	}
	return s.entries
}

// clone returns a copy of the entries with room for extra more.
func (s *keyringSnapshot) clone(extra int) []*keyringEntry {
	entries := s.keys()
	out := make([]*keyringEntry, len(entries), len(entries)+extra)
	copy(out, entries)
	return out
}

// index returns the position of key in the snapshot, or -1.
func (s *keyringSnapshot) index(key []byte) int {
	for i, e := range s.keys() {
		if bytes.Equal(e.key, key) {
			return i
		}
	}
	return -1
}

// lastHitEntry returns the entry that last decrypted a message, if any.
func (s *keyringSnapshot) lastHitEntry() *keyringEntry {
	if s == nil {
		return nil
	}
	entries := s.entries
	if i := int(s.lastHit.Load()); i < len(entries) {
		return entries[i]
	}
	return nil
}

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
		return nil, fmt.Errorf("cannot encrypt: %w", errKeyringEmpty)
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
		return nil, errNoKeyDecrypts
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
	return nil, errNoKeyDecrypts
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

// hasKeys reports whether the ring holds at least one key. It takes no lock
// and allocates nothing, for the per-packet path.
func (k *Keyring) hasKeys() bool {
	return len(k.ring.Load().keys()) > 0
}
