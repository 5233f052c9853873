package memberlist

import (
	"fmt"
	"io"
	"slices"
	"time"
)

// ExampleMockNetwork runs two nodes on the in-memory network: no sockets,
// and with testing/synctest the protocol's timers run on virtual time.
// (The example is in package memberlist rather than memberlist_test so the
// package's tests never import it by its own path: serf's suite replaces
// hashicorp/memberlist with this directory.)
func ExampleMockNetwork() {
	network := &MockNetwork{}
	network.SetSeed(1)
	start := func(name string) *Memberlist {
		conf := DefaultLocalConfig()
		conf.Name = name
		conf.Transport = network.NewTransport(name)
		conf.LogOutput = io.Discard
		m, err := Create(conf)
		if err != nil {
			panic(err)
		}
		return m
	}
	a, b := start("a"), start("b")
	defer a.Shutdown()
	defer b.Shutdown()

	// A "name/address" join string routes by name on the mock network.
	if _, err := b.Join([]string{"a/" + a.LocalNode().Address()}); err != nil {
		panic(err)
	}
	var names []string
	for _, n := range b.Members() {
		names = append(names, n.Name)
	}
	slices.Sort(names)
	fmt.Println(names)
	// Output: [a b]
}

// ExampleMockNetwork_SetNode injects a TCP-only failure and then a
// UDP-only failure into one node, and reads the link's counters.
func ExampleMockNetwork_SetNode() {
	network := &MockNetwork{}
	a, b := network.NewTransport("a"), network.NewTransport("b")
	try := func() {
		a.WriteToAddress([]byte("ping"), Address{Name: "b"})
		fmt.Printf("packets queued: %d; ", len(b.PacketCh()))
		conn, err := a.DialAddressTimeout(Address{Name: "b"}, time.Second)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println("stream opened")
		conn.Close()
		(<-b.StreamCh()).Close()
	}

	// TCP-only failure: b's packets flow, its streams are refused.
	network.SetNode("b", MockNodeFaults{Streams: MockStreamRefuse})
	try()
	<-b.PacketCh()

	// UDP-only failure: b's packets are lost, its streams work.
	network.SetNode("b", MockNodeFaults{InLoss: 1, OutLoss: 1})
	try()

	s := network.LinkStats("a", "b")
	fmt.Printf("sent %d, delivered %d, lost %d; streams opened %d, refused %d\n",
		s.PacketsSent, s.PacketsDelivered, s.PacketsLost, s.StreamsOpened, s.StreamsRefused)
	// Output:
	// packets queued: 1; mock: connection from "a" to "b" refused: stream fault
	// packets queued: 0; stream opened
	// sent 2, delivered 1, lost 1; streams opened 1, refused 1
}

// ExampleMockNetwork_Pause freezes a node: what is sent to it waits, and
// arrives in order when it resumes.
func ExampleMockNetwork_Pause() {
	network := &MockNetwork{}
	a, b := network.NewTransport("a"), network.NewTransport("b")
	network.Pause("b")
	for _, msg := range []string{"one", "two", "three"} {
		a.WriteToAddress([]byte(msg), Address{Name: "b"})
	}
	b.WriteToAddress([]byte("lost"), Address{Name: "a"}) // a paused node sends nothing
	fmt.Println("readable while paused:", len(b.PacketCh()))

	network.Resume("b")
	var got []string
	for range 3 {
		got = append(got, string((<-b.PacketCh()).Buf))
	}
	fmt.Println(got)
	fmt.Printf("dropped from b: %d\n", network.LinkStats("b", "a").PacketsPaused)
	// Output:
	// readable while paused: 0
	// [one two three]
	// dropped from b: 1
}
