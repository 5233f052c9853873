// Command demo starts a small cluster of memberlist nodes on 127.0.0.1,
// prints the membership as it changes, stops one node without a goodbye
// and lets another leave gracefully, then shuts everything down.
//
//	go run ./cmd/demo [-nodes 5]
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/gossip-go/memberlist"
)

func main() {
	n := flag.Int("nodes", 5, "number of nodes to start (at least 3)")
	verbose := flag.Bool("v", false, "print memberlist's own logs")
	flag.Parse()
	if *n < 3 {
		*n = 3
	}
	if err := run(*n, *verbose); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

type printer struct{ self string }

func (p printer) NotifyJoin(n *memberlist.Node) {
	fmt.Printf("  [%s] join   %s (%s)\n", p.self, n.Name, n.Address())
}
func (p printer) NotifyLeave(n *memberlist.Node) {
	fmt.Printf("  [%s] leave  %s\n", p.self, n.Name)
}
func (p printer) NotifyUpdate(n *memberlist.Node) {
	fmt.Printf("  [%s] update %s meta=%q\n", p.self, n.Name, n.Meta)
}

func run(count int, verbose bool) error {
	var logs io.Writer = io.Discard
	if verbose {
		logs = os.Stderr
	}
	var nodes []*memberlist.Memberlist
	defer func() {
		for _, m := range nodes {
			m.Shutdown()
		}
	}()
	for i := range count {
		conf := nodeConfig(i, logs)
		if i == 0 {
			conf.Events = printer{self: conf.Name}
		}
		m, err := memberlist.Create(conf)
		if err != nil {
			return err
		}
		nodes = append(nodes, m)
		fmt.Printf("started %s on %s\n", conf.Name, m.LocalNode().Address())
	}
	seed := nodes[0].LocalNode().Address()
	for _, m := range nodes[1:] {
		if _, err := m.Join([]string{seed}); err != nil {
			return err
		}
	}
	if err := waitMembers(nodes, count); err != nil {
		return err
	}
	show("after join", nodes[0])

	victim := nodes[len(nodes)-1]
	fmt.Printf("\nstopping %s without Leave: the others must detect the failure\n", victim.LocalNode().Name)
	victim.Shutdown()
	nodes = nodes[:len(nodes)-1]
	if err := waitMembers(nodes, len(nodes)); err != nil {
		return err
	}
	show("after failure detection", nodes[0])

	leaver := nodes[len(nodes)-1]
	fmt.Printf("\n%s leaves gracefully\n", leaver.LocalNode().Name)
	if err := leaver.Leave(time.Second); err != nil {
		log.Printf("leave: %v", err)
	}
	leaver.Shutdown()
	nodes = nodes[:len(nodes)-1]
	if err := waitMembers(nodes, len(nodes)); err != nil {
		return err
	}
	show("after leave", nodes[0])
	return nil
}

// nodeConfig returns the configuration of the demo's node i: a fast local
// cluster on 127.0.0.1.
func nodeConfig(i int, logs io.Writer) *memberlist.Config {
	conf := memberlist.DefaultLocalConfig()
	conf.Name = fmt.Sprintf("node-%d", i)
	conf.BindAddr = "127.0.0.1"
	conf.BindPort = 0
	conf.LogOutput = logs
	conf.ProbeInterval = 200 * time.Millisecond
	conf.ProbeTimeout = 100 * time.Millisecond
	conf.SuspicionMult = 2
	// A join reaches the nodes that joined earlier by gossip only. With
	// DefaultLocalConfig's RetransmitMult of 2, each node that learns of
	// a joiner passes it on twice, and in a cluster this small some of
	// those sends go to the joiner itself or twice to one node: in about
	// one run in five a node missed a joiner until the first push/pull,
	// 15 to 30 s after start (hashicorp/memberlist does the same). Four
	// sends per node make a miss rare, and a short push/pull interval
	// repairs one within seconds.
	conf.RetransmitMult = 4
	conf.PushPullInterval = 2 * time.Second
	return conf
}

// waitMembers waits until every node sees want members, for at most 20 s.
func waitMembers(nodes []*memberlist.Memberlist, want int) error {
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		ok := true
		for _, m := range nodes {
			if m.NumMembers() != want {
				ok = false
			}
		}
		if ok {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("membership did not converge to %d nodes", want)
}

func show(when string, m *memberlist.Memberlist) {
	var names []string
	for _, n := range m.Members() {
		names = append(names, n.Name)
	}
	sort.Strings(names)
	fmt.Printf("membership %s: %d nodes: %s\n", when, len(names), strings.Join(names, ", "))
}
