package main

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"
)

// version orders the writes of one key: the later timestamp wins, and the
// node name breaks a tie, so every node picks the same winner.
type version struct {
	TS   int64  // nanoseconds since the Unix epoch, from a hybrid clock
	Node string // the node that made the write
}

// compare returns -1, 0 or +1 as v is older than, equal to or newer than w.
func (v version) compare(w version) int {
	if c := cmp.Compare(v.TS, w.TS); c != 0 {
		return c
	}
	return cmp.Compare(v.Node, w.Node)
}

// update is one write of a key: a value, or a tombstone when Deleted.
// It is both the broadcast message and an entry of the full state.
type update struct {
	Key     string
	Value   string
	Deleted bool
	Version version
}

// store is a last-writer-wins map of keys to values. Deletes leave
// tombstones so that a delete beats every older write wherever it arrives
// first. The zero value is not usable; call newStore. A store is not safe
// for concurrent use: the node that owns it holds a lock around it.
type store struct {
	self         string
	entries      map[string]update
	clock        int64         // the highest timestamp seen or issued
	tombstoneTTL time.Duration // how long a tombstone is kept
}

func newStore(self string, tombstoneTTL time.Duration) *store {
	return &store{self: self, entries: make(map[string]update), tombstoneTTL: tombstoneTTL}
}

// tick returns the timestamp of a new local write: the wall clock, but
// always past every timestamp seen so far, so that a write made after
// seeing another one wins over it even if this node's clock is behind.
func (s *store) tick(now time.Time) int64 {
	s.clock = max(s.clock+1, now.UnixNano())
	return s.clock
}

// set writes key locally and returns the update to broadcast.
func (s *store) set(key, value string, now time.Time) update {
	u := update{Key: key, Value: value, Version: version{TS: s.tick(now), Node: s.self}}
	s.entries[key] = u
	return u
}

// remove deletes key locally, leaving a tombstone, and returns the update
// to broadcast.
func (s *store) remove(key string, now time.Time) update {
	u := update{Key: key, Deleted: true, Version: version{TS: s.tick(now), Node: s.self}}
	s.entries[key] = u
	return u
}

// get returns the value of key and reports whether it is present.
func (s *store) get(key string) (string, bool) {
	u, ok := s.entries[key]
	if !ok || u.Deleted {
		return "", false
	}
	return u.Value, true
}

// apply merges a remote update and reports whether it changed the store,
// which is when it is newer than what the store holds for its key. A
// tombstone already past its lifetime is not stored unless it overrides a
// value.
func (s *store) apply(u update, now time.Time) bool {
	s.clock = max(s.clock, u.Version.TS)
	old, ok := s.entries[u.Key]
	if ok && u.Version.compare(old.Version) <= 0 {
		return false
	}
	if !ok && u.Deleted && s.expired(u, now) {
		return false
	}
	s.entries[u.Key] = u
	return true
}

// expired reports whether u is a tombstone older than the tombstone
// lifetime.
func (s *store) expired(u update, now time.Time) bool {
	return u.Deleted && now.UnixNano()-u.Version.TS > int64(s.tombstoneTTL)
}

// prune drops the tombstones older than the tombstone lifetime and returns
// how many it dropped.
func (s *store) prune(now time.Time) int {
	n := 0
	for k, u := range s.entries {
		if s.expired(u, now) {
			delete(s.entries, k)
			n++
		}
	}
	return n
}

// values returns the live keys and their values.
func (s *store) values() map[string]string {
	out := make(map[string]string, len(s.entries))
	for k, u := range s.entries {
		if !u.Deleted {
			out[k] = u.Value
		}
	}
	return out
}

// all returns every entry, tombstones included, sorted by key.
func (s *store) all() []update {
	out := make([]update, 0, len(s.entries))
	for _, u := range s.entries {
		out = append(out, u)
	}
	slices.SortFunc(out, func(a, b update) int { return cmp.Compare(a.Key, b.Key) })
	return out
}

// Wire format. An update is
//
//	flags byte (bit 0: deleted), uvarint timestamp,
//	uvarint length + key, uvarint length + node, uvarint length + value
//
// and a full state is a format byte, a uvarint count and that many updates.
const (
	flagDeleted  = 1
	stateFormat  = 1
	maxKeyLen    = 256
	maxValueLen  = 512
	maxNodeLen   = 256
	maxStateKeys = 1 << 20
)

var errMalformed = errors.New("kv: malformed message")

// appendUpdate appends the encoding of u to b.
func appendUpdate(b []byte, u update) []byte {
	var flags byte
	if u.Deleted {
		flags |= flagDeleted
	}
	b = append(b, flags)
	b = binary.AppendUvarint(b, uint64(u.Version.TS))
	for _, s := range []string{u.Key, u.Version.Node, u.Value} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	return b
}

// encodeUpdate returns the broadcast message of u.
func encodeUpdate(u update) []byte { return appendUpdate(nil, u) }

// decodeUpdate decodes a broadcast message made by encodeUpdate.
func decodeUpdate(b []byte) (update, error) {
	u, rest, err := readUpdate(b)
	if err != nil {
		return update{}, err
	}
	if len(rest) != 0 {
		return update{}, fmt.Errorf("%w: %d trailing bytes", errMalformed, len(rest))
	}
	return u, nil
}

// readUpdate decodes one update from the front of b and returns the rest.
func readUpdate(b []byte) (update, []byte, error) {
	if len(b) < 1 {
		return update{}, nil, fmt.Errorf("%w: empty", errMalformed)
	}
	flags := b[0]
	if flags&^flagDeleted != 0 {
		return update{}, nil, fmt.Errorf("%w: unknown flags %#x", errMalformed, flags)
	}
	ts, n := binary.Uvarint(b[1:])
	if n <= 0 || ts == 0 || ts > 1<<63-1 {
		return update{}, nil, fmt.Errorf("%w: bad timestamp", errMalformed)
	}
	b = b[1+n:]
	var fields [3]string
	for i, limit := range [3]int{maxKeyLen, maxNodeLen, maxValueLen} {
		l, n := binary.Uvarint(b)
		if n <= 0 || l > uint64(limit) || l > uint64(len(b)-n) {
			return update{}, nil, fmt.Errorf("%w: bad length of field %d", errMalformed, i)
		}
		fields[i] = string(b[n : n+int(l)])
		b = b[n+int(l):]
	}
	u := update{Key: fields[0], Value: fields[2], Deleted: flags&flagDeleted != 0,
		Version: version{TS: int64(ts), Node: fields[1]}}
	if err := u.validate(); err != nil {
		return update{}, nil, err
	}
	return u, b, nil
}

// validate reports what is wrong with u, if anything.
func (u update) validate() error {
	switch {
	case u.Key == "":
		return fmt.Errorf("%w: empty key", errMalformed)
	case u.Version.Node == "":
		return fmt.Errorf("%w: empty node name", errMalformed)
	case u.Deleted && u.Value != "":
		return fmt.Errorf("%w: tombstone with a value", errMalformed)
	}
	return nil
}

// encodeState returns the full state of s: every entry, tombstones
// included, sorted by key.
func (s *store) encodeState() []byte {
	entries := s.all()
	b := []byte{stateFormat}
	b = binary.AppendUvarint(b, uint64(len(entries)))
	for _, u := range entries {
		b = appendUpdate(b, u)
	}
	return b
}

// decodeState decodes a full state made by encodeState.
func decodeState(b []byte) ([]update, error) {
	if len(b) < 1 || b[0] != stateFormat {
		return nil, fmt.Errorf("%w: unknown state format", errMalformed)
	}
	count, n := binary.Uvarint(b[1:])
	// Every update takes at least 5 bytes, which bounds a sane count.
	if n <= 0 || count > maxStateKeys || count > uint64(len(b))/5 {
		return nil, fmt.Errorf("%w: bad entry count", errMalformed)
	}
	b = b[1+n:]
	out := make([]update, 0, count)
	for range count {
		u, rest, err := readUpdate(b)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
		b = rest
	}
	if len(b) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", errMalformed, len(b))
	}
	return out, nil
}
