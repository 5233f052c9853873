package main

import (
	"fmt"
	"io"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gossip-go/memberlist"
)

// TestJoinsSpreadWithoutWaitingForPushPull starts the demo's five nodes on
// the in-memory network, joins them one after another as the demo does,
// and checks that every node learns every other within 5 s of virtual time.
// With DefaultLocalConfig's RetransmitMult of 2 and PushPullInterval of
// 15 s, a node often missed a joiner for 15 to 30 s (the demo's flake).
func TestJoinsSpreadWithoutWaitingForPushPull(t *testing.T) {
	for seed := range uint64(30) {
		for _, gap := range []time.Duration{0, 50 * time.Millisecond} {
			t.Run(fmt.Sprintf("seed%d/gap%v", seed, gap), func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) { joinFive(t, seed, gap) })
			})
		}
	}
}

func joinFive(t *testing.T, seed uint64, gap time.Duration) {
	network := &memberlist.MockNetwork{}
	network.SetSeed(seed)
	var nodes []*memberlist.Memberlist
	for i := range 5 {
		conf := nodeConfig(i, io.Discard)
		conf.Transport = network.NewTransport(conf.Name)
		m, err := memberlist.Create(conf)
		if err != nil {
			t.Fatal(err)
		}
		defer m.Shutdown()
		nodes = append(nodes, m)
	}
	seedAddr := "node-0/" + nodes[0].LocalNode().Address()
	for _, m := range nodes[1:] {
		<-time.After(gap) // virtual time: the other nodes gossip meanwhile
		if _, err := m.Join([]string{seedAddr}); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		missing := 0
		for _, m := range nodes {
			missing += 5 - m.NumMembers()
		}
		if missing == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 5 s, %d memberships are still missing", missing)
		}
		<-time.After(50 * time.Millisecond)
	}
}

// TestDemoRuns runs the demo itself on 127.0.0.1.
func TestDemoRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("real sockets; skipped with -short")
	}
	if err := run(5, false); err != nil {
		t.Fatal(err)
	}
}
