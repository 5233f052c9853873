package memberlist

import (
	"errors"
	"strings"
)

// Errors that callers can test for with errors.Is. The errors returned by
// the library wrap them, naming the operation and the peer; where
// hashicorp/memberlist returned an error with a fixed text, the text is
// unchanged and only the wrapping is new.
var (
	// ErrShutdown is returned by calls on a Memberlist, or a transport,
	// that has been shut down, and by Leave and UpdateNode when Shutdown
	// ends their wait.
	ErrShutdown = errors.New("memberlist is shut down")

	// ErrNoSeedReachable is returned by Join and JoinContext when no
	// address could be contacted. The error also wraps the error of each
	// address, and the context's error when JoinContext was cancelled.
	ErrNoSeedReachable = errors.New("no seed reachable")

	// ErrLabelMismatch is returned when a peer refused a stream because
	// its Config.Label differs from ours. A hashicorp/memberlist peer
	// closes such a stream without a reply, which gives an EOF instead.
	ErrLabelMismatch = errors.New("label mismatch")

	// ErrMessageTooLarge is returned when a message, a node state or a
	// decompressed payload exceeds one of the protocol's size limits, and
	// when a packet is larger than the network allows.
	ErrMessageTooLarge = errors.New("message too large")

	// ErrInvalidKeySize is returned for an encryption key that is not 16,
	// 24 or 32 bytes long.
	ErrInvalidKeySize = errors.New("key size must be 16, 24 or 32 bytes")

	// ErrEmptyPrimaryKey is returned by NewKeyring when keys are given
	// without a primary key.
	ErrEmptyPrimaryKey = errors.New("empty primary key not allowed")

	// ErrKeyNotFound is returned by Keyring.UseKey for a key that is not
	// installed.
	ErrKeyNotFound = errors.New("requested key is not in the keyring")

	// ErrRemovePrimaryKey is returned by Keyring.RemoveKey for the primary
	// key: make another key primary with UseKey first.
	ErrRemovePrimaryKey = errors.New("removing the primary key is not allowed")

	// ErrKeyringEmpty is returned when a keyring without keys is asked to
	// encrypt, or to remove a key.
	ErrKeyringEmpty = errors.New("keyring is empty")

	// ErrNoKeyDecrypts is returned when no installed key can decrypt a
	// message: the peer uses another key, or another label.
	ErrNoKeyDecrypts = errors.New("no installed keys could decrypt the message")
)

// textError is an error with a fixed text that wraps a sentinel. It keeps
// the text of an error users may match on while making it testable with
// errors.Is.
type textError struct {
	text string
	err  error
}

func (e *textError) Error() string { return e.text }

func (e *textError) Unwrap() error { return e.err }

// withText returns an error whose text is text and which wraps sentinel.
func withText(sentinel error, text string) error {
	return &textError{text: text, err: sentinel}
}

// alsoMatchesError is err, unchanged in text and wrapping, that also
// matches a sentinel.
type alsoMatchesError struct {
	err, sentinel error
}

func (e *alsoMatchesError) Error() string { return e.err.Error() }

func (e *alsoMatchesError) Unwrap() []error { return []error{e.err, e.sentinel} }

// alsoMatches returns err made to match sentinel with errors.Is too.
func alsoMatches(err, sentinel error) error {
	return &alsoMatchesError{err: err, sentinel: sentinel}
}

// joinError is the error of a Join that contacted no address: its text is
// that of errors.Join over the per-address errors, as before, and it
// matches ErrNoSeedReachable and each per-address error.
type joinError struct {
	errs []error
}

func (e *joinError) Error() string {
	var b strings.Builder
	for i, err := range e.errs {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(err.Error())
	}
	if len(e.errs) == 0 {
		return ErrNoSeedReachable.Error()
	}
	return b.String()
}

func (e *joinError) Unwrap() []error { return e.errs }

func (e *joinError) Is(target error) bool { return target == ErrNoSeedReachable }
