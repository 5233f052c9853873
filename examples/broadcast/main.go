// Command broadcast shows user messages gossiped through memberlist: each
// node's Delegate hands out queued broadcasts from a TransmitLimitedQueue,
// which piggybacks them on memberlist's own packets until every node has
// them. It starts three nodes on 127.0.0.1, broadcasts one message from
// each, prints what every node received, and exits.
//
//	go run ./examples/broadcast
package main

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/gossip-go/memberlist"
)

// note is a broadcast; it never invalidates another.
type note []byte

func (n note) Invalidates(memberlist.Broadcast) bool { return false }
func (n note) Message() []byte                       { return n }
func (n note) Finished()                             {}

// delegate queues outgoing notes and records incoming ones. Gossip may
// deliver a message to a node more than once, so it keeps a set.
type delegate struct {
	queue *memberlist.TransmitLimitedQueue
	mu    sync.Mutex
	got   map[string]bool
}

func (d *delegate) NodeMeta(int) []byte { return nil }
func (d *delegate) NotifyMsg(b []byte) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.got == nil {
		d.got = make(map[string]bool)
	}
	d.got[string(b)] = true
}
func (d *delegate) GetBroadcasts(overhead, limit int) [][]byte {
	return d.queue.GetBroadcasts(overhead, limit)
}
func (d *delegate) LocalState(bool) []byte        { return nil }
func (d *delegate) MergeRemoteState([]byte, bool) {}
func (d *delegate) received() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]string, 0, len(d.got))
	for msg := range d.got {
		out = append(out, msg)
	}
	sort.Strings(out)
	return out
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "broadcast:", err)
		os.Exit(1)
	}
}

func run() error {
	var nodes []*memberlist.Memberlist
	var delegates []*delegate
	defer func() {
		for _, m := range nodes {
			m.Shutdown()
		}
	}()
	for i := range 3 {
		d := &delegate{}
		conf := memberlist.DefaultLocalConfig()
		conf.Name = fmt.Sprintf("node-%d", i)
		conf.BindAddr, conf.BindPort = "127.0.0.1", 0
		conf.LogOutput = io.Discard
		conf.Delegate = d
		m, err := memberlist.Create(conf)
		if err != nil {
			return err
		}
		d.queue = &memberlist.TransmitLimitedQueue{NumNodes: m.NumMembers, RetransmitMult: 3}
		nodes, delegates = append(nodes, m), append(delegates, d)
	}
	for _, m := range nodes[1:] {
		if _, err := m.Join([]string{nodes[0].LocalNode().Address()}); err != nil {
			return err
		}
	}
	for i, d := range delegates {
		d.queue.QueueBroadcast(note(fmt.Sprintf("hello from node-%d", i)))
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		done := true
		for _, d := range delegates {
			if len(d.received()) < len(delegates)-1 {
				done = false
			}
		}
		if done {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	for i, d := range delegates {
		fmt.Printf("node-%d received: %s\n", i, strings.Join(d.received(), "; "))
	}
	return nil
}
