package main

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/gossip-go/memberlist"
)

var t0 = time.Unix(1_700_000_000, 0)

func TestVersionOrder(t *testing.T) {
	tests := []struct {
		a, b version
		want int
	}{
		{version{1, "a"}, version{2, "a"}, -1},
		{version{2, "a"}, version{1, "z"}, 1},
		{version{5, "a"}, version{5, "b"}, -1},
		{version{5, "b"}, version{5, "a"}, 1},
		{version{5, "b"}, version{5, "b"}, 0},
	}
	for _, tt := range tests {
		if got := tt.a.compare(tt.b); got != tt.want {
			t.Errorf("%v.compare(%v) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestStoreLastWriterWins(t *testing.T) {
	s := newStore("a", time.Hour)
	s.set("k", "1", t0)
	old := update{Key: "k", Value: "old", Version: version{t0.Add(-time.Second).UnixNano(), "b"}}
	if s.apply(old, t0) {
		t.Error("an older write replaced a newer one")
	}
	newer := update{Key: "k", Value: "2", Version: version{t0.Add(time.Second).UnixNano(), "b"}}
	if !s.apply(newer, t0) {
		t.Error("a newer write was not applied")
	}
	if s.apply(newer, t0) {
		t.Error("applying the same write twice reported a change")
	}
	if v, _ := s.get("k"); v != "2" {
		t.Errorf("get = %q, want 2", v)
	}
	// A delete that happened before the write loses; after it, wins.
	s.apply(update{Key: "k", Deleted: true, Version: version{t0.UnixNano(), "c"}}, t0)
	if _, ok := s.get("k"); !ok {
		t.Error("an older delete removed a newer write")
	}
	s.apply(update{Key: "k", Deleted: true, Version: version{t0.Add(2 * time.Second).UnixNano(), "c"}}, t0)
	if _, ok := s.get("k"); ok {
		t.Error("a newer delete did not remove the key")
	}
	// The tombstone keeps a late-arriving older write out.
	if s.apply(update{Key: "k", Value: "late", Version: version{t0.Add(time.Second + 1).UnixNano(), "d"}}, t0) {
		t.Error("a write older than the tombstone came back")
	}
}

// TestStoreClockMovesPastSeenWrites checks the hybrid clock: a node whose
// wall clock is behind still orders its new write after one it has seen.
func TestStoreClockMovesPastSeenWrites(t *testing.T) {
	s := newStore("slow", time.Hour)
	ahead := update{Key: "k", Value: "from the future", Version: version{t0.Add(time.Minute).UnixNano(), "fast"}}
	s.apply(ahead, t0)
	u := s.set("k", "mine", t0)
	if u.Version.compare(ahead.Version) <= 0 {
		t.Fatalf("local write %v does not beat the seen write %v", u.Version, ahead.Version)
	}
	if v, _ := s.get("k"); v != "mine" {
		t.Errorf("get = %q, want mine", v)
	}
}

// TestStoreConvergesInAnyOrder applies the same random writes and deletes
// to stores in different orders, with duplicates, and checks that all end
// up with identical contents.
func TestStoreConvergesInAnyOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var updates []update
	for i := range 200 {
		u := update{
			Key: string(rune('a' + rng.IntN(5))),
			// Versions are unique, as they are in a cluster (a node never
			// stamps two writes alike), and a third of them tie on time.
			Version: version{t0.UnixNano() + int64(rng.IntN(50))*1000 + int64(i/3), string(rune('p' + i%3))},
		}
		if rng.IntN(3) == 0 {
			u.Deleted = true
		} else {
			u.Value = string(rune('0' + i%10))
		}
		updates = append(updates, u)
	}
	var want []update
	for trial := range 20 {
		s := newStore("x", time.Hour)
		order := append([]update(nil), updates...)
		order = append(order, updates[:trial]...)
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, u := range order {
			s.apply(u, t0)
		}
		got := s.all()
		if want == nil {
			want = got
		} else if !reflect.DeepEqual(got, want) {
			t.Fatalf("order %d converged to\n%v\nwant\n%v", trial, got, want)
		}
	}
}

func TestStorePrune(t *testing.T) {
	s := newStore("a", time.Minute)
	s.set("live", "v", t0)
	s.remove("gone", t0)
	if n := s.prune(t0.Add(30 * time.Second)); n != 0 {
		t.Errorf("pruned %d tombstones before their lifetime", n)
	}
	if n := s.prune(t0.Add(2 * time.Minute)); n != 1 {
		t.Errorf("pruned %d tombstones, want 1", n)
	}
	if _, ok := s.get("live"); !ok {
		t.Error("prune removed a live key")
	}
	// An expired tombstone from a remote state is not stored again...
	old := update{Key: "gone", Deleted: true, Version: version{t0.UnixNano(), "a"}}
	if s.apply(old, t0.Add(2*time.Minute)) {
		t.Error("an expired tombstone was stored")
	}
	// ...but still deletes an older value.
	s.apply(update{Key: "x", Value: "v", Version: version{t0.Add(-time.Second).UnixNano(), "b"}}, t0)
	if !s.apply(update{Key: "x", Deleted: true, Version: version{t0.UnixNano(), "b"}}, t0.Add(2*time.Minute)) {
		t.Error("an expired tombstone did not delete an older value")
	}
}

func TestUpdateRoundTrip(t *testing.T) {
	for _, u := range []update{
		{Key: "k", Value: "v", Version: version{1, "n"}},
		{Key: "k", Deleted: true, Version: version{t0.UnixNano(), "node-1"}},
		{Key: string(make([]byte, maxKeyLen)), Value: string(make([]byte, maxValueLen)), Version: version{1<<63 - 1, "n"}},
	} {
		got, err := decodeUpdate(encodeUpdate(u))
		if err != nil || got != u {
			t.Errorf("decode(encode(%v)) = %v, %v", u, got, err)
		}
	}
}

func TestStateRoundTrip(t *testing.T) {
	s := newStore("a", time.Hour)
	s.set("x", "1", t0)
	s.set("y", "", t0)
	s.remove("z", t0)
	got, err := decodeState(s.encodeState())
	if err != nil || !reflect.DeepEqual(got, s.all()) {
		t.Errorf("decodeState = %v, %v; want %v", got, err, s.all())
	}
}

func TestDecodeRejectsGarbage(t *testing.T) {
	good := encodeUpdate(update{Key: "k", Value: "v", Version: version{7, "n"}})
	for name, b := range map[string][]byte{
		"empty":              nil,
		"unknown flag":       append([]byte{2}, good[1:]...),
		"zero timestamp":     {0, 0, 1, 'k', 1, 'n', 0},
		"truncated":          good[:len(good)-1],
		"trailing":           append(append([]byte(nil), good...), 0),
		"huge length":        {0, 7, 0xff, 0xff, 0xff, 0xff, 0x0f},
		"empty key":          {0, 7, 0, 1, 'n', 0},
		"empty node":         {0, 7, 1, 'k', 0, 0},
		"tombstone value":    {1, 7, 1, 'k', 1, 'n', 1, 'v'},
		"key too long":       append([]byte{0, 7, 0x81, 0x02}, make([]byte, 257)...),
		"timestamp overflow": {0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 1, 'k', 1, 'n', 0},
	} {
		if _, err := decodeUpdate(b); !errors.Is(err, errMalformed) {
			t.Errorf("%s: err = %v, want errMalformed", name, err)
		}
	}
	for name, b := range map[string][]byte{
		"empty":          nil,
		"unknown format": {9, 0},
		"count too big":  {stateFormat, 0xff, 0xff, 0xff, 0xff, 0x0f},
		"missing entry":  {stateFormat, 1},
		"trailing":       {stateFormat, 0, 0},
	} {
		if _, err := decodeState(b); !errors.Is(err, errMalformed) {
			t.Errorf("state %s: err = %v, want errMalformed", name, err)
		}
	}
}

// FuzzDecodeUpdate checks that the broadcast decoder never panics and that
// whatever it accepts encodes back to the same bytes.
func FuzzDecodeUpdate(f *testing.F) {
	f.Add(encodeUpdate(update{Key: "k", Value: "v", Version: version{7, "n"}}))
	f.Add(encodeUpdate(update{Key: "k", Deleted: true, Version: version{t0.UnixNano(), "node"}}))
	f.Add([]byte{})
	f.Add([]byte{0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		u, err := decodeUpdate(b)
		if err != nil {
			return
		}
		if again := encodeUpdate(u); !bytes.Equal(again, b) {
			// Uvarints have one canonical form only when minimal; accept
			// non-minimal input but require a stable re-decode.
			if u2, err := decodeUpdate(again); err != nil || u2 != u {
				t.Fatalf("re-decode of %v: %v, %v", u, u2, err)
			}
		}
	})
}

// FuzzDecodeState checks that the full-state decoder never panics.
func FuzzDecodeState(f *testing.F) {
	s := newStore("a", time.Hour)
	s.set("x", "1", t0)
	s.remove("z", t0)
	f.Add(s.encodeState())
	f.Add([]byte{stateFormat, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		updates, err := decodeState(b)
		if err != nil {
			return
		}
		for _, u := range updates {
			if u.validate() != nil {
				t.Fatalf("accepted invalid update %v", u)
			}
		}
	})
}

// TestBroadcastReplacesOlderOfSameKey checks the queue keeps only the
// newest queued update of a key, and never drops a newer one for an older.
func TestBroadcastReplacesOlderOfSameKey(t *testing.T) {
	q := &memberlist.TransmitLimitedQueue{NumNodes: func() int { return 3 }, RetransmitMult: 3}
	queue := func(key string, ts int64) {
		u := update{Key: key, Value: "v", Version: version{ts, "n"}}
		q.QueueBroadcast(&kvBroadcast{u: u, msg: encodeUpdate(u)})
	}
	queue("k", 1)
	queue("k", 2)
	queue("other", 1)
	if n := q.NumQueued(); n != 2 {
		t.Fatalf("queued %d broadcasts, want 2: the newer k replaces the older", n)
	}
	queue("k", 1) // an older update arriving late
	msgs := q.GetBroadcasts(0, 10_000)
	var newest int64
	for _, b := range msgs {
		if u, err := decodeUpdate(b); err == nil && u.Key == "k" {
			newest = max(newest, u.Version.TS)
		}
	}
	if newest != 2 {
		t.Errorf("the newest queued k has timestamp %d, want 2", newest)
	}
}
