package memberlist

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
)

// keyringTestKey returns a deterministic AES key of the given size whose
// bytes start at first.
func keyringTestKey(size int, first byte) []byte {
	key := make([]byte, size)
	for i := range key {
		key[i] = first + byte(i)
	}
	return key
}

// keyringTestKeys are three distinct AES-128, AES-192 and AES-256 keys.
func keyringTestKeys() [][]byte {
	return [][]byte{
		keyringTestKey(16, 0x00),
		keyringTestKey(24, 0x40),
		keyringTestKey(32, 0x80),
	}
}

func mustKeyring(t testing.TB, keys [][]byte, primary []byte) *Keyring {
	t.Helper()
	k, err := NewKeyring(keys, primary)
	if err != nil {
		t.Fatalf("NewKeyring: %v", err)
	}
	return k
}

func assertKeys(t *testing.T, k *Keyring, want ...[]byte) {
	t.Helper()
	got := k.GetKeys()
	if len(got) != len(want) {
		t.Fatalf("GetKeys has %d keys, want %d", len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("GetKeys()[%d] = %x, want %x", i, got[i], want[i])
		}
	}
}

func assertErrString(t *testing.T, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Fatalf("unexpected error: %v", err)
	case want != "" && err == nil:
		t.Fatalf("got no error, want %q", want)
	case want != "" && err.Error() != want:
		t.Fatalf("got error %q, want %q", err, want)
	}
}

func TestValidateKey(t *testing.T) {
	for _, size := range []int{0, 1, 15, 16, 17, 23, 24, 25, 31, 32, 33, 64} {
		want := "key size must be 16, 24 or 32 bytes"
		if size == 16 || size == 24 || size == 32 {
			want = ""
		}
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			assertErrString(t, ValidateKey(make([]byte, size)), want)
		})
	}
}

func TestNewKeyring(t *testing.T) {
	keys := keyringTestKeys()
	k1, k2, k3 := keys[0], keys[1], keys[2]
	tests := []struct {
		name    string
		keys    [][]byte
		primary []byte
		want    [][]byte
		err     string
	}{
		{name: "nil nil", want: nil},
		{name: "empty empty", keys: [][]byte{}, primary: []byte{}, want: nil},
		{name: "primary only", primary: k1, want: [][]byte{k1}},
		{name: "keys without primary", keys: [][]byte{k1}, err: "empty primary key not allowed"},
		{name: "primary first", keys: [][]byte{k2, k3}, primary: k1, want: [][]byte{k1, k2, k3}},
		{name: "primary also listed", keys: [][]byte{k2, k1, k3}, primary: k1, want: [][]byte{k1, k2, k3}},
		{name: "duplicates ignored", keys: [][]byte{k2, k2, k3, k2}, primary: k1, want: [][]byte{k1, k2, k3}},
		{name: "bad primary", primary: make([]byte, 3), err: "key size must be 16, 24 or 32 bytes"},
		{name: "bad secondary", keys: [][]byte{k2, make([]byte, 38)}, primary: k1, err: "key size must be 16, 24 or 32 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := NewKeyring(tt.keys, tt.primary)
			assertErrString(t, err, tt.err)
			if tt.err != "" {
				if k != nil {
					t.Fatalf("NewKeyring returned a keyring with an error")
				}
				return
			}
			assertKeys(t, k, tt.want...)
		})
	}
}

func TestKeyring_EmptyRing(t *testing.T) {
	k := mustKeyring(t, nil, nil)
	if n := len(k.GetKeys()); n != 0 {
		t.Fatalf("got %d keys, want 0", n)
	}
	if p := k.GetPrimaryKey(); p != nil {
		t.Fatalf("GetPrimaryKey = %x, want nil", p)
	}
}

func TestKeyring_ZeroValue(t *testing.T) {
	var k Keyring
	if n := len(k.GetKeys()); n != 0 {
		t.Fatalf("got %d keys, want 0", n)
	}
	key := keyringTestKeys()[0]
	if err := k.AddKey(key); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(k.GetPrimaryKey(), key) {
		t.Fatalf("the first key added to an empty ring must become primary")
	}
}

func TestKeyring_PrimaryOnly(t *testing.T) {
	key := keyringTestKeys()[0]
	k := mustKeyring(t, nil, key)
	assertKeys(t, k, key)
}

func TestKeyring_GetPrimaryKey(t *testing.T) {
	keys := keyringTestKeys()
	k := mustKeyring(t, keys, keys[1])
	if !bytes.Equal(k.GetPrimaryKey(), keys[1]) {
		t.Fatalf("GetPrimaryKey = %x, want %x", k.GetPrimaryKey(), keys[1])
	}
}

func TestKeyring_AddRemoveUse(t *testing.T) {
	keys := keyringTestKeys()
	k := mustKeyring(t, nil, keys[1])

	// Adding an invalid key fails and changes nothing.
	assertErrString(t, k.AddKey(make([]byte, 7)), "key size must be 16, 24 or 32 bytes")
	assertKeys(t, k, keys[1])

	// Adding a duplicate is a no-op; new keys go last; the primary stays.
	for _, key := range [][]byte{keys[1], keys[0], keys[2], keys[0]} {
		if err := k.AddKey(key); err != nil {
			t.Fatalf("AddKey: %v", err)
		}
	}
	assertKeys(t, k, keys[1], keys[0], keys[2])

	// UseKey moves the key to the front; the others keep their order.
	if err := k.UseKey(keys[2]); err != nil {
		t.Fatal(err)
	}
	assertKeys(t, k, keys[2], keys[1], keys[0])
	if err := k.UseKey(keys[2]); err != nil {
		t.Fatal(err)
	}
	assertKeys(t, k, keys[2], keys[1], keys[0])
	assertErrString(t, k.UseKey(keyringTestKey(16, 0xf0)), "requested key is not in the keyring")

	// The primary cannot be removed; an absent key is ignored.
	assertErrString(t, k.RemoveKey(keys[2]), "removing the primary key is not allowed")
	assertErrString(t, k.RemoveKey(keyringTestKey(16, 0xf0)), "")
	assertKeys(t, k, keys[2], keys[1], keys[0])
	assertErrString(t, k.RemoveKey(keys[1]), "")
	assertKeys(t, k, keys[2], keys[0])
	assertErrString(t, k.RemoveKey(keys[0]), "")
	assertKeys(t, k, keys[2])
}

// TestKeyring_RemoveKeyEmpty covers a deliberate deviation: upstream panics.
func TestKeyring_RemoveKeyEmpty(t *testing.T) {
	for _, k := range []*Keyring{{}, mustKeyring(t, nil, nil)} {
		assertErrString(t, k.RemoveKey(keyringTestKeys()[0]), "keyring is empty")
		assertErrString(t, k.RemoveKey(nil), "keyring is empty")
	}
}

// TestKeyring_GetKeysIsCopy covers a deliberate deviation: upstream returns
// its internal slice.
func TestKeyring_GetKeysIsCopy(t *testing.T) {
	keys := keyringTestKeys()
	k := mustKeyring(t, keys[1:], keys[0])
	got := k.GetKeys()
	got[0], got[1] = got[1], got[0]
	assertKeys(t, k, keys...)
	if err := k.UseKey(keys[2]); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got[2], keys[2]) || !bytes.Equal(got[0], keys[1]) {
		t.Fatalf("a slice returned earlier changed with the ring")
	}
}

func TestKeyring_KeepsOwnCopy(t *testing.T) {
	key := keyringTestKey(16, 0x20)
	orig := bytes.Clone(key)
	k := mustKeyring(t, nil, key)
	msg, err := k.encryptPayload(maxEncryptionVersion, []byte("payload"), nil)
	if err != nil {
		t.Fatal(err)
	}
	key[0] ^= 0xff // the caller reuses its buffer
	if !bytes.Equal(k.GetPrimaryKey(), orig) {
		t.Fatalf("the ring shares the caller's key bytes")
	}
	if _, err := k.decryptPayload(msg, nil); err != nil {
		t.Fatalf("decrypt after caller modified its key: %v", err)
	}
}

func TestKeyRing_MultiKeyEncryptDecrypt(t *testing.T) {
	keys := keyringTestKeys()
	plain := []byte("this is a plain text message")
	extra := []byte("random data")

	ring := mustKeyring(t, keys, keys[0])
	// Encrypt with a secondary key; the ring must still open it.
	secondary := mustKeyring(t, nil, keys[2])
	for _, vsn := range []encryptionVersion{minEncryptionVersion, maxEncryptionVersion} {
		msg, err := secondary.encryptPayload(vsn, plain, extra)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ring.decryptPayload(msg, extra)
		if err != nil {
			t.Fatalf("vsn %d: %v", vsn, err)
		}
		if !bytes.Equal(got, plain) {
			t.Fatalf("vsn %d: got %q, want %q", vsn, got, plain)
		}
	}

	// Once that key is removed, decryption fails.
	msg, err := secondary.encryptPayload(maxEncryptionVersion, plain, extra)
	if err != nil {
		t.Fatal(err)
	}
	if err := ring.RemoveKey(keys[2]); err != nil {
		t.Fatal(err)
	}
	_, err = ring.decryptPayload(msg, extra)
	assertErrString(t, err, "no installed keys could decrypt the message")
}

func TestKeyring_AddConcurrentKeys(t *testing.T) {
	var k Keyring
	var wg sync.WaitGroup
	for i := range 32 {
		wg.Go(func() {
			if err := k.AddKey(keyringTestKey(16, byte(i))); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := len(k.GetKeys()); n != 32 {
		t.Fatalf("got %d keys, want 32", n)
	}
}

// TestKeyring_ConcurrentRotationUnderTraffic rotates keys while other
// goroutines encrypt and decrypt; run it with -race. Key a is never removed,
// so anything encrypted with a must always decrypt.
func TestKeyring_ConcurrentRotationUnderTraffic(t *testing.T) {
	keys := keyringTestKeys()
	a := keys[0]
	shared := mustKeyring(t, nil, a)
	onlyA := mustKeyring(t, nil, a)
	const rounds = 200

	var wg sync.WaitGroup
	for _, key := range keys[1:] {
		wg.Go(func() { keyringRotate(t, shared, a, key, rounds) })
	}
	for w := range 4 {
		wg.Go(func() { keyringTraffic(t, shared, onlyA, w, rounds) })
	}
	wg.Wait()
	assertKeys(t, shared, a)
}

// keyringRotate installs key, makes it primary, hands primary back to a and
// removes key, rounds times.
func keyringRotate(t *testing.T, k *Keyring, a, key []byte, rounds int) {
	for range rounds {
		for _, err := range []error{k.AddKey(key), k.UseKey(key), k.UseKey(a), k.RemoveKey(key)} {
			if err != nil {
				t.Error(err)
				return
			}
		}
	}
}

// keyringTraffic encrypts and decrypts through the shared ring while it is
// being rotated.
func keyringTraffic(t *testing.T, shared, onlyA *Keyring, w, rounds int) {
	aad := []byte("label")
	for i := range rounds {
		plain := fmt.Appendf(nil, "worker %d message %d", w, i)
		vsn := encryptionVersion(i % 2)
		// Sealed with a, which shared always holds.
		msg, err := onlyA.encryptPayload(vsn, plain, aad)
		if err != nil {
			t.Error(err)
			return
		}
		if got, err := shared.decryptPayload(msg, aad); err != nil || !bytes.Equal(got, plain) {
			t.Errorf("decrypt with a: %q, %v", got, err)
			return
		}
		// Sealed with whatever is primary now; it may be removed before we
		// decrypt, and that is the only acceptable failure.
		msg, err = shared.encryptPayload(vsn, plain, aad)
		if err != nil {
			t.Error(err)
			return
		}
		got, err := shared.decryptPayload(msg, aad)
		if err != nil && err != ErrNoKeyDecrypts || err == nil && !bytes.Equal(got, plain) {
			t.Errorf("decrypt with primary: %q, %v", got, err)
			return
		}
		_ = shared.GetKeys()
		_ = shared.GetPrimaryKey()
	}
}
