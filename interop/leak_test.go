package interop

import (
	"testing"
	"time"
)

// TestOursGoroutinesExit runs our nodes in a mixed cluster through joins,
// gossip, streams, pings and a peer failure, shuts them down while
// suspicion timers may still be pending, and checks that no goroutine of
// our library is left. (The peer's Shutdown does not wait for its own
// goroutines; those are not checked.) It is not parallel, so no other
// test's nodes are running.
func TestOursGoroutinesExit(t *testing.T) {
	if left := waitOursGone(10 * time.Second); left != "" {
		t.Fatalf("goroutines of our library running before the test:\n%s", left)
	}
	var os []node
	for _, name := range []string{"o1", "o2", "o3"} {
		os = append(os, newNode(t, kindOurs, nodeOpts{Name: name, State: []byte("s")}))
	}
	h := newNode(t, kindTheirs, nodeOpts{Name: "h1", State: []byte("s")})
	for _, n := range os {
		if _, err := n.Join(h.Addr()); err != nil {
			t.Fatal(err)
		}
	}
	all := append([]node{h}, os...)
	waitFor(t, 20*time.Second, "four members", func() error { return allSee(all, nodeNames(all)) })
	os[0].Broadcast([]byte("b"))
	if err := os[1].SendReliable("h1", []byte("r")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "an ack from h1", func() error { // a 50 ms ping may time out under load
		_, err := os[2].Ping("h1", h.Addr())
		return err
	})
	waitFor(t, 20*time.Second, "reliable message", func() error {
		if !h.Del().got([]byte("r")) {
			return errNotYet
		}
		return nil
	})
	h.Shutdown()
	for _, n := range os {
		n.Shutdown()
	}
	if left := waitOursGone(10 * time.Second); left != "" {
		t.Fatalf("goroutines of our library left after Shutdown:\n%s", left)
	}
}
