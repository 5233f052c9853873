package memberlist

import (
	"testing"
	"testing/synctest"
	"time"
)

// TestMockNetworkRestartKeepsAddress restarts a node on the address it had,
// as a process restarted on its host, and checks the cluster takes it back
// at that address.
func TestMockNetworkRestartKeepsAddress(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var network MockNetwork
		a := network.NewTransport("a")
		b := network.NewTransport("b")
		if _, err := network.Restart(b); err == nil {
			t.Fatal("Restart of a running transport succeeded")
		}
		if err := b.Shutdown(); err != nil {
			t.Fatal(err)
		}
		b2, err := network.Restart(b)
		if err != nil {
			t.Fatal(err)
		}
		if b2.addr.String() != b.addr.String() {
			t.Fatalf("restarted at %s, want %s", b2.addr, b.addr)
		}
		if _, err := a.WriteTo([]byte("by address"), b.addr.String()); err != nil {
			t.Fatal(err)
		}
		if _, err := a.WriteToAddress([]byte("by name"), Address{Name: "b"}); err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"by address", "by name"} {
			select {
			case p := <-b2.PacketCh():
				if string(p.Buf) != want {
					t.Fatalf("got %q, want %q", p.Buf, want)
				}
			case <-time.After(time.Second):
				t.Fatalf("%q did not reach the restarted transport", want)
			}
		}
		var other MockNetwork
		if _, err := other.Restart(b); err == nil {
			t.Fatal("Restart on another network succeeded")
		}
		a.Shutdown()
		b2.Shutdown()
	})
}
