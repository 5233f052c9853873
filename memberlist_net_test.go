package memberlist

import (
	"io"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestCreateWithNetTransport runs two nodes on real loopback sockets with
// kernel-chosen ports, and checks the chosen port is written back.
func TestCreateWithNetTransport(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	newNode := func(name string) (*Memberlist, *Config) {
		conf := DefaultLocalConfig()
		conf.Name = name
		conf.BindAddr = "127.0.0.1"
		conf.BindPort = 0
		conf.LogOutput = io.Discard
		m, err := Create(conf)
		if err != nil {
			t.Fatalf("Create %s: %v", name, err)
		}
		return m, conf
	}
	a, confA := newNode("a")
	defer a.Shutdown()
	b, _ := newNode("b")
	defer b.Shutdown()
	if confA.BindPort == 0 || confA.AdvertisePort != confA.BindPort {
		t.Fatalf("BindPort %d, AdvertisePort %d: the chosen port was not written back", confA.BindPort, confA.AdvertisePort)
	}
	if got := a.LocalNode().Port; int(got) != confA.BindPort {
		t.Errorf("local node port %d, want %d", got, confA.BindPort)
	}
	if _, err := b.Join([]string{a.LocalNode().Address()}); err != nil {
		t.Fatalf("Join: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for a.NumMembers() != 2 || b.NumMembers() != 2 {
		if time.Now().After(deadline) {
			t.Fatalf("no convergence: %d, %d", a.NumMembers(), b.NumMembers())
		}
		<-time.After(10 * time.Millisecond)
	}
	a.Shutdown()
	b.Shutdown()
}
