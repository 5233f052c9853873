package memberlist

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// ExampleMemberlist_JoinContext bounds a join with a context. A seed that
// accepts the connection but never answers would otherwise hold the join
// for Config.TCPTimeout.
func ExampleMemberlist_JoinContext() {
	network := &MockNetwork{}
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
	mute := network.NewTransport("mute") // a seed that never answers
	defer mute.Shutdown()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	n, err := b.JoinContext(ctx, []string{"a/" + a.LocalNode().Address()})
	fmt.Println("joined:", n, err)

	ctx, cancel = context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	ip, port, _ := mute.FinalAdvertiseAddr("", 0)
	n, err = b.JoinContext(ctx, []string{fmt.Sprintf("mute/%s:%d", ip, port)})
	fmt.Println("joined:", n)
	fmt.Println("no seed reachable:", errors.Is(err, ErrNoSeedReachable))
	fmt.Println("deadline exceeded:", errors.Is(err, context.DeadlineExceeded))
	// Output:
	// joined: 1 <nil>
	// joined: 0
	// no seed reachable: true
	// deadline exceeded: true
}
