package memberlist

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// TestSendBestEffortRefusesWhatCannotFitInOnePacket (upstream #348): with
// every combination of label, encryption and compression, the largest
// incompressible message that fits in UDPBufferSize with its framing is
// sent in one packet of at most UDPBufferSize bytes and delivered; one
// byte more is refused with an error naming the sizes, and nothing is
// sent.
func TestSendBestEffortRefusesWhatCannotFitInOnePacket(t *testing.T) {
	for _, tc := range []struct {
		name     string
		label    string
		key      []byte
		compress bool
	}{
		{"plain", "", nil, false},
		{"compressed", "", nil, true},
		{"label", "cluster-one", nil, false},
		{"encrypted", "", make([]byte, 16), false},
		{"all", "cluster-one", make([]byte, 32), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := newTestCluster(t, 130)
				quiet := func(conf *Config) {
					conf.ProbeInterval, conf.GossipInterval, conf.PushPullInterval, conf.RemergeInterval = 0, 0, 0, 0
					conf.Label, conf.SecretKey, conf.EnableCompression = tc.label, tc.key, tc.compress
					conf.UDPBufferSize = 600
				}
				a := c.add("a", quiet)
				d := &recordingDelegate{}
				b := c.add("b", quiet, func(conf *Config) { conf.Delegate = d })
				if _, err := b.Join([]string{seedAddr(a)}); err != nil {
					t.Fatal(err)
				}
				waitFor(t, time.Second, "a learns of b", func() bool { return memberNamed(a, "b") != nil })
				to := memberNamed(a, "b")
				rng := rand.New(rand.NewPCG(1, 2))
				msg := func(n int) []byte {
					b := make([]byte, n)
					for i := range b {
						b[i] = byte(rng.Uint32()) // incompressible
					}
					return b
				}
				// The largest message accepted, searching down from the limit.
				n := a.config.UDPBufferSize
				for ; n > 0; n-- {
					before := c.net.LinkStats("a", "b")
					m := msg(n)
					err := a.SendBestEffort(to, m)
					after := c.net.LinkStats("a", "b")
					sent := after.BytesSent - before.BytesSent
					if err == nil {
						// Encryption pads to 16 bytes at most: the largest message
						// accepted fills the packet to within that.
						if after.PacketsSent != before.PacketsSent+1 || sent > uint64(a.config.UDPBufferSize) || sent+16 < uint64(a.config.UDPBufferSize) {
							t.Fatalf("a message of %d bytes went out as %d packets, %d bytes", n, after.PacketsSent-before.PacketsSent, sent)
						}
						waitFor(t, time.Second, "delivery", func() bool { return d.hasMsg(string(m)) })
						break
					}
					if !errors.Is(err, ErrMessageTooLarge) || !strings.Contains(err.Error(), "too large for one packet") || !strings.Contains(err.Error(), "UDPBufferSize is 600") {
						t.Fatalf("SendBestEffort of %d bytes: %v", n, err)
					}
					if after.PacketsSent != before.PacketsSent {
						t.Fatalf("a refused message of %d bytes was sent anyway", n)
					}
				}
				if n == a.config.UDPBufferSize || n < a.config.UDPBufferSize-80 {
					t.Fatalf("largest message accepted: %d bytes of a %d-byte budget", n, a.config.UDPBufferSize)
				}
			})
		})
	}
}
