package interop

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// secOpts is one cell of the label × encryption × compression matrix.
type secOpts struct {
	Label       string
	Key         []byte
	Compression bool
}

func (s secOpts) String() string {
	return fmt.Sprintf("label=%q,key=%t,lzw=%t", s.Label, s.Key != nil, s.Compression)
}

func (s secOpts) apply(o nodeOpts) nodeOpts {
	o.Label, o.SecretKey, o.Compression = s.Label, s.Key, s.Compression
	return o
}

// TestSecurityMatrix joins a node of ours and one of theirs with the same
// label, key and compression settings, through a seed of either kind, and
// checks that broadcasts, reliable and best-effort messages cross both
// ways.
func TestSecurityMatrix(t *testing.T) {
	t.Parallel()
	key := []byte("0123456789abcdef0123456789abcdef")
	for _, label := range []string{"", "cluster-a"} {
		for _, k := range [][]byte{nil, key} {
			for _, comp := range []bool{false, true} {
				s := secOpts{label, k, comp}
				for _, seed := range kinds() {
					t.Run(s.String()+",seed="+string(seed), func(t *testing.T) {
						t.Parallel()
						securityPair(t, s, seed)
					})
				}
			}
		}
	}
}

func securityPair(t *testing.T, s secOpts, seed kind) {
	o := newNode(t, kindOurs, s.apply(nodeOpts{Name: "o"}))
	h := newNode(t, kindTheirs, s.apply(nodeOpts{Name: "h"}))
	joiner, sd := o, h
	if seed == kindOurs {
		joiner, sd = h, o
	}
	if n, err := joiner.Join(sd.Addr()); n != 1 || err != nil {
		t.Fatalf("%s joining %s: %d, %v", joiner.Kind(), sd.Kind(), n, err)
	}
	both := []node{o, h}
	waitFor(t, 20*time.Second, "both members", func() error { return allSee(both, []string{"h", "o"}) })
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
			for _, m := range []string{"broadcast-", "reliable-", "best-effort-"} {
				msg := []byte(m + d[0].Name())
				if d[1].Del().got(msg) {
					continue
				}
				errs = append(errs, fmt.Errorf("%s lacks %s", d[1].Kind(), msg))
				if m == "best-effort-" {
					if err := d[0].SendBestEffort(d[1].Name(), msg); err != nil {
						return err
					}
				}
			}
		}
		return errors.Join(errs...)
	})
}

// TestSecurityMismatch checks that a node of one kind cannot join a node
// of the other kind whose label or key differs, in both directions.
func TestSecurityMismatch(t *testing.T) {
	t.Parallel()
	k1 := []byte("0123456789abcdef")
	k2 := []byte("fedcba9876543210")
	cases := []struct {
		name        string
		joiner, sd  secOpts
		wantInError []string // the joiner's error mentions one of these, if any
	}{
		{"label vs none", secOpts{Label: "a"}, secOpts{}, nil},
		{"none vs label", secOpts{}, secOpts{Label: "a"}, nil},
		{"label a vs b", secOpts{Label: "a"}, secOpts{Label: "b"}, nil},
		// The seed answers with a plaintext errMsg. The peer's joiner
		// refuses plaintext; ours accepts a plaintext errMsg by design (so
		// that a label refusal can be reported) and shows the seed's text.
		{"key vs none", secOpts{Key: k1}, secOpts{}, []string{
			"encryption is configured but remote state is not encrypted",
			"remote error: remote state is encrypted and encryption is not configured"}},
		// The seed's error reply is encrypted, which the joiner cannot read.
		{"none vs key", secOpts{}, secOpts{Key: k1}, []string{"remote state is encrypted and encryption is not configured"}},
		{"key 1 vs 2", secOpts{Key: k1}, secOpts{Key: k2}, []string{"no installed keys could decrypt the message"}},
	}
	for _, c := range cases {
		for _, jk := range kinds() {
			sk := kindTheirs
			if jk == kindTheirs {
				sk = kindOurs
			}
			t.Run(fmt.Sprintf("%s,joiner=%s", c.name, jk), func(t *testing.T) {
				t.Parallel()
				j := newNode(t, jk, c.joiner.apply(nodeOpts{Name: "j"}))
				s := newNode(t, sk, c.sd.apply(nodeOpts{Name: "s"}))
				n, err := j.Join(s.Addr())
				if n != 0 || err == nil {
					t.Fatalf("join succeeded (%d) across %v / %v", n, c.joiner, c.sd)
				}
				if c.wantInError != nil && !slices.ContainsFunc(c.wantInError, func(w string) bool { return strings.Contains(err.Error(), w) }) {
					t.Errorf("join error %q mentions none of %q", err, c.wantInError)
				}
				for _, x := range []node{j, s} {
					if got := names(x.Members()); len(got) != 1 {
						t.Errorf("%s sees %v after a refused join", x.Kind(), got)
					}
				}
			})
		}
	}
}
