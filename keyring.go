package memberlist

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"errors"
	"sync"
	"sync/atomic"
)

var (
	errDecryptEmpty = errors.New("cannot decrypt empty payload")
	errBadPadding   = errors.New("invalid padding in decrypted message")
)

// ValidateKey reports whether key can be used as an AES key: it returns nil
// when key is 16, 24 or 32 bytes long (AES-128, AES-192 or AES-256) and an
// error otherwise.
func ValidateKey(key []byte) error {
	switch len(key) {
	case 16, 24, 32:
		return nil
	}
	return ErrInvalidKeySize
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
		return nil, ErrEmptyPrimaryKey
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
		return ErrKeyNotFound
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
		return ErrKeyringEmpty
	case i == 0:
		return ErrRemovePrimaryKey
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

// hasKeys reports whether the ring holds at least one key. It takes no lock
// and allocates nothing, for the per-packet path.
func (k *Keyring) hasKeys() bool {
	return len(k.ring.Load().keys()) > 0
}
