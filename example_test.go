package memberlist

import (
	"fmt"
	"io"
	"slices"
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
