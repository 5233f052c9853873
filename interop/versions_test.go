package interop

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

// TestProtocolVersions joins a node of ours speaking protocol v with a
// node of theirs speaking w, for every v and w in 2..5, and checks that
// each sees the other's versions and that user broadcasts and reliable
// messages cross both ways. The seed alternates between the kinds.
func TestProtocolVersions(t *testing.T) {
	t.Parallel()
	for v := uint8(2); v <= 5; v++ {
		for w := uint8(2); w <= 5; w++ {
			t.Run(fmt.Sprintf("ours=%d,theirs=%d", v, w), func(t *testing.T) {
				t.Parallel()
				versionPair(t, v, w)
			})
		}
	}
}

func versionPair(t *testing.T, v, w uint8) {
	o := newNode(t, kindOurs, nodeOpts{Name: "o", Proto: v, Meta: []byte("meta-o")})
	h := newNode(t, kindTheirs, nodeOpts{Name: "h", Proto: w, Meta: []byte("meta-h")})
	joiner, seed := o, h
	if (v+w)%2 == 1 {
		joiner, seed = h, o
	}
	if n, err := joiner.Join(seed.Addr()); n != 1 || err != nil {
		t.Fatalf("%s joining %s: %d, %v", joiner.Kind(), seed.Kind(), n, err)
	}
	both := []node{o, h}
	waitFor(t, 20*time.Second, "both members", func() error { return allSee(both, []string{"h", "o"}) })
	for _, c := range []struct {
		at   node
		peer string
		pcur uint8
	}{{o, "h", w}, {h, "o", v}} {
		m, _ := findMember(c.at.Members(), c.peer)
		if m.PMin != 1 || m.PMax != 5 || m.PCur != c.pcur || string(m.Meta) != "meta-"+c.peer {
			t.Errorf("%s sees %+v, want versions 1/5/%d and meta-%s", c.at.Kind(), m, c.pcur, c.peer)
		}
	}
	for _, n := range both {
		n.Broadcast([]byte("broadcast-" + n.Name()))
	}
	if err := o.SendReliable("h", []byte("reliable-o")); err != nil {
		t.Errorf("ours SendReliable: %v", err)
	}
	if err := h.SendReliable("o", []byte("reliable-h")); err != nil {
		t.Errorf("theirs SendReliable: %v", err)
	}
	waitFor(t, 20*time.Second, "messages both ways", func() error {
		var errs []error
		for _, d := range [][2]node{{o, h}, {h, o}} {
			for _, m := range []string{"broadcast-", "reliable-"} {
				if msg := []byte(m + d[0].Name()); !d[1].Del().got(msg) {
					errs = append(errs, fmt.Errorf("%s lacks %s", d[1].Kind(), msg))
				}
			}
		}
		return errors.Join(errs...)
	})
}
