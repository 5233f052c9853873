package memberlist

import (
	"bytes"
	"fmt"
	"math"
	"testing"
)

func TestUserBudget(t *testing.T) {
	for _, tc := range []struct {
		limit, pending int
		share          float64
		want           int
	}{
		{1000, 5000, 0, 0},       // upstream: memberlist fills the packet
		{1000, 5000, 0.25, 250},  // a long queue leaves the reserve
		{1000, 5000, 1, 1000},    // everything reserved
		{1000, 300, 0.25, 700},   // a short queue leaves more than the reserve
		{1000, 0, 0.25, 1000},    // nothing pending: all of it
		{1000, 800, 0.25, 250},   // the reserve wins over what is left
		{1000, 700, 0.25, 300},   //
		{999, 5000, 0.25, 249},   // rounded down
		{0, 5000, 0.25, 0},       // no budget
		{-5, 5000, 0.25, 0},      //
		{1000, 5000, 0.001, 1},   //
		{1000, 1000, 0.5, 500},   //
		{1000, 1001, 0.999, 999}, //
	} {
		if got := userBudget(tc.limit, tc.pending, tc.share); got != tc.want {
			t.Errorf("userBudget(%d, %d, %v) = %d, want %d", tc.limit, tc.pending, tc.share, got, tc.want)
		}
	}
}

// TestUserBroadcastShare fills memberlist's queue with 100-byte messages
// and the Delegate's with 100-byte messages, and takes one packet's worth
// (upstream #299). With no share the Delegate's are starved; with a share
// they get it and memberlist's fill the rest; with an empty Delegate or a
// short memberlist queue no space is wasted.
func TestUserBroadcastShare(t *testing.T) {
	const limit, size = 1398, 100
	for _, tc := range []struct {
		name         string
		share        float64
		queued, user int // messages in each queue
		wantOwn      int
		wantUser     int
	}{
		{"no share: user starved", 0, 50, 10, 13, 0},
		{"a quarter", 0.25, 50, 10, 10, 3},
		{"a quarter, nothing from the user", 0.25, 50, 0, 13, 0},
		{"a quarter, short queue", 0.25, 2, 20, 2, 11},
		{"a quarter, little from the user", 0.25, 50, 1, 12, 1},
		{"all", 1, 50, 20, 0, 13},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := &recordingDelegate{}
			for range tc.user {
				d.broadcasts = append(d.broadcasts, bytes.Repeat([]byte{'u'}, size))
			}
			m := &Memberlist{config: &Config{Delegate: d, UserBroadcastShare: tc.share}}
			m.broadcasts = &TransmitLimitedQueue{NumNodes: func() int { return 1000 }, RetransmitMult: 4}
			for i := range tc.queued {
				m.broadcasts.QueueBroadcast(&memberlistBroadcast{node: fmt.Sprint("n", i), msg: bytes.Repeat([]byte{byte(aliveMsg)}, size)})
			}
			msgs := m.getBroadcasts(compoundOverhead, limit)
			own, user, used := 0, 0, 0
			for _, msg := range msgs {
				used += compoundOverhead + len(msg)
				if messageType(msg[0]) == userMsg {
					user++
				} else {
					own++
				}
			}
			if own != tc.wantOwn || user != tc.wantUser || used > limit {
				t.Errorf("packet holds %d of memberlist's and %d user messages in %d bytes, want %d and %d in at most %d",
					own, user, used, tc.wantOwn, tc.wantUser, limit)
			}
		})
	}
}

func TestConfigValidateUserBroadcastShare(t *testing.T) {
	for _, v := range []float64{-0.1, 1.5, math.NaN(), math.Inf(1)} {
		c := DefaultLANConfig()
		c.Name = "a"
		c.UserBroadcastShare = v
		if err := c.Validate(); err == nil {
			t.Errorf("UserBroadcastShare %v accepted", v)
		}
	}
}
