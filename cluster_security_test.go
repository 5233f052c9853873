package memberlist

import (
	"bytes"
	"fmt"
	"net"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

func withLabel(label string) func(*Config) {
	return func(c *Config) { c.Label = label }
}

func withKey(key []byte, verifyIn, verifyOut bool) func(*Config) {
	return func(c *Config) {
		c.SecretKey = key
		c.GossipVerifyIncoming = verifyIn
		c.GossipVerifyOutgoing = verifyOut
	}
}

func TestJoinLabels(t *testing.T) {
	tests := []struct {
		name         string
		seed, joiner string
		wantErr      string
	}{
		{"same label", "prod", "prod", ""},
		{"no labels", "", "", ""},
		{"different labels", "prod", "test", `label mismatch: stream label "test", this node's label "prod"`},
		{"only joiner labelled", "", "test", `label mismatch: stream label "test", this node's label ""`},
		{"only seed labelled", "prod", "", `label mismatch: stream label "", this node's label "prod"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := newTestCluster(t, 11)
				a := c.add("a", withLabel(tt.seed))
				b := c.add("b", withLabel(tt.joiner))
				_, err := b.Join([]string{seedAddr(a)})
				if tt.wantErr == "" {
					if err != nil {
						t.Fatalf("Join: %v", err)
					}
					waitFor(t, 5*time.Second, "join", func() bool { return a.NumMembers() == 2 && b.NumMembers() == 2 })
					return
				}
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Join error = %v, want it to contain %q", err, tt.wantErr)
				}
				advance(2 * time.Second)
				if a.NumMembers() != 1 || b.NumMembers() != 1 {
					t.Fatalf("members after failed join: %d, %d", a.NumMembers(), b.NumMembers())
				}
			})
		})
	}
}

func TestJoinEncryption(t *testing.T) {
	k1 := bytes.Repeat([]byte{1}, 16)
	k2 := bytes.Repeat([]byte{2}, 32)
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 12)
		a := c.add("a", withKey(k1, true, true), withLabel("l"))
		b := c.add("b", withKey(k1, true, true), withLabel("l"))
		x := c.add("x", withKey(k2, true, true), withLabel("l"))
		if _, err := b.Join([]string{seedAddr(a)}); err != nil {
			t.Fatalf("same key: %v", err)
		}
		_, err := x.Join([]string{seedAddr(a)})
		if err == nil || !strings.Contains(err.Error(), "no installed keys could decrypt the message") {
			t.Fatalf("wrong key Join error = %v", err)
		}
		waitFor(t, 5*time.Second, "a and b converge", func() bool { return a.NumMembers() == 2 && b.NumMembers() == 2 })
		advance(3 * time.Second)
		if n := a.NumMembers(); n != 2 {
			t.Fatalf("a has %d members; the node with the wrong key got in", n)
		}
	})
}

// TestEncryptionMigration rolls a cluster from plaintext to encrypted in
// the three stages operators use, checking that nodes at neighbouring
// stages keep one cluster.
func TestEncryptionMigration(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 16)
	stages := []func(*Config){
		func(*Config) {},           // plaintext
		withKey(key, false, false), // accept both, send plaintext
		withKey(key, false, true),  // accept both, send encrypted
		withKey(key, true, true),   // encrypted only
	}
	for i := 0; i+1 < len(stages); i++ {
		t.Run(fmt.Sprintf("stage%d-stage%d", i, i+1), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := newTestCluster(t, uint64(20+i))
				a := c.add("a", stages[i])
				b := c.add("b", stages[i+1])
				d := c.add("d", stages[i])
				if _, err := b.Join([]string{seedAddr(a)}); err != nil {
					t.Fatalf("join: %v", err)
				}
				if _, err := d.Join([]string{seedAddr(b)}); err != nil {
					t.Fatalf("join through the newer stage: %v", err)
				}
				waitFor(t, 10*time.Second, "three members everywhere", func() bool {
					return a.NumMembers() == 3 && b.NumMembers() == 3 && d.NumMembers() == 3
				})
				advance(5 * time.Second)
				for _, m := range []*Memberlist{a, b, d} {
					if n := m.NumMembers(); n != 3 {
						t.Errorf("%s lost members: %d", m.config.Name, n)
					}
				}
			})
		})
	}
}

func TestKeyRotationUnderTraffic(t *testing.T) {
	oldKey := bytes.Repeat([]byte{1}, 16)
	newKey := bytes.Repeat([]byte{2}, 16)
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 30)
		var ds []*recordingDelegate
		for i := range 4 {
			d := &recordingDelegate{}
			ds = append(ds, d)
			c.add(fmt.Sprintf("n%d", i), withKey(oldKey, true, true), func(conf *Config) { conf.Delegate = d })
		}
		c.joinAll()
		waitFor(t, 5*time.Second, "convergence", func() bool { // n1 sends to the members it lists
			for _, m := range c.nodes {
				if m.NumMembers() != 4 {
					return false
				}
			}
			return true
		})
		send := func(step int) {
			msg := fmt.Sprintf("during-%d", step)
			for _, n := range c.nodes[1].Members() {
				c.nodes[1].SendBestEffort(n, []byte(msg))
			}
		}
		steps := []func(*Keyring) error{
			func(k *Keyring) error { return k.AddKey(newKey) },
			func(k *Keyring) error { return k.UseKey(newKey) },
			func(k *Keyring) error { return k.RemoveKey(oldKey) },
		}
		for si, step := range steps {
			for _, m := range c.nodes {
				if err := step(m.config.Keyring); err != nil {
					t.Fatalf("step %d on %s: %v", si, m.config.Name, err)
				}
				send(si)
				advance(50 * time.Millisecond)
			}
			advance(time.Second)
		}
		advance(5 * time.Second)
		for i, m := range c.nodes {
			if n := m.NumMembers(); n != 4 {
				t.Errorf("%s sees %d members after rotation", m.config.Name, n)
			}
			for si := range steps {
				if !ds[i].hasMsg(fmt.Sprintf("during-%d", si)) {
					t.Errorf("%s missed the message sent during step %d", m.config.Name, si)
				}
			}
		}
	})
}

// advertisingTransport makes a MockTransport announce another IP.
type advertisingTransport struct {
	*MockTransport
	ip net.IP
}

func (t advertisingTransport) FinalAdvertiseAddr(string, int) (net.IP, int, error) {
	_, port, err := t.MockTransport.FinalAdvertiseAddr("", 0)
	return t.ip, port, err
}

// TestCIDRsAllowedKeepsOutsidersOut is the rogue-node scenario: members
// that allow only their own network never add a node from another one,
// whatever that node allows.
func TestCIDRsAllowedKeepsOutsidersOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 31)
		// Mock packets come from 127.0.0.1, so the members allow that too.
		members, _ := ParseCIDRs([]string{"10.0.1.0/24", "127.0.0.0/8"})
		all, _ := ParseCIDRs([]string{"0.0.0.0/0"})
		node := func(name, ip string, allowed []net.IPNet) *Memberlist {
			return c.add(name, func(conf *Config) {
				conf.Transport = advertisingTransport{c.net.NewTransport(name), net.ParseIP(ip).To4()}
				conf.CIDRsAllowed = allowed
			})
		}
		a := node("a", "10.0.1.1", members)
		b := node("b", "10.0.1.2", members)
		rogue := node("rogue", "10.0.2.3", all)
		if _, err := b.Join([]string{seedAddr(a)}); err != nil {
			t.Fatalf("member join: %v", err)
		}
		rogue.Join([]string{seedAddr(a)})
		advance(5 * time.Second)
		for _, m := range []*Memberlist{a, b} {
			if _, ok := stateOf(m, "rogue"); ok {
				t.Errorf("%s added the rogue node", m.config.Name)
			}
			if n := m.NumMembers(); n != 2 {
				t.Errorf("%s has %d members, want 2", m.config.Name, n)
			}
		}
		if n := rogue.NumMembers(); n != 3 {
			t.Errorf("the rogue node, which allows everyone, sees %d members, want 3", n)
		}
	})
}
