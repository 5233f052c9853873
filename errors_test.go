package memberlist

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"log"
	"net"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"testing/synctest"
	"time"
)

// TestErrShutdownEverywhere checks that every call refused because of
// Shutdown matches ErrShutdown, and that the texts users may match on are
// kept.
func TestErrShutdownEverywhere(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 61)
		a := c.add("a")
		b := c.add("b")
		if _, err := b.Join([]string{seedAddr(a)}); err != nil {
			t.Fatal(err)
		}
		peer := a.LocalNode()
		b.Shutdown()
		calls := map[string]error{}
		_, calls["Join"] = b.Join([]string{seedAddr(a)})
		calls["UpdateNode"] = b.UpdateNode(time.Second)
		calls["Leave"] = b.Leave(time.Second)
		calls["SendReliable"] = b.SendReliable(peer, []byte("x"))
		calls["SendBestEffort"] = b.SendBestEffort(peer, []byte("x"))
		_, calls["Ping"] = b.Ping("a", mockTransportOf(a).addr)
		for name, err := range calls {
			if !errors.Is(err, ErrShutdown) {
				t.Errorf("%s after Shutdown = %v, want ErrShutdown", name, err)
			}
		}
		if got := calls["Leave"].Error(); got != "leave after shutdown" {
			t.Errorf("Leave after Shutdown text = %q, want upstream's %q", got, "leave after shutdown")
		}
	})
}

// TestErrShutdownEndsAWait checks that a Leave waiting for its broadcast
// returns an error matching ErrShutdown when the node shuts down.
func TestErrShutdownEndsAWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 62)
		a := c.add("a")
		b := c.add("b")
		if _, err := b.Join([]string{seedAddr(a)}); err != nil {
			t.Fatal(err)
		}
		done := make(chan error)
		go func() { done <- b.Leave(0) }()
		synctest.Wait() // Leave waits for the gossip ticker
		b.Shutdown()
		err := <-done
		if !errors.Is(err, ErrShutdown) || !strings.HasPrefix(err.Error(), "timeout waiting for leave broadcast") {
			t.Errorf("Leave ended by Shutdown = %v", err)
		}
	})
}

func TestErrNoSeedReachable(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 63)
		a := c.add("a")
		_, err := a.Join([]string{"ghost/127.0.0.1:99", "/nobody"})
		if !errors.Is(err, ErrNoSeedReachable) {
			t.Errorf("Join to nobody = %v, want ErrNoSeedReachable", err)
		}
		if got := err.Error(); strings.Contains(got, ErrNoSeedReachable.Error()) || !strings.HasPrefix(got, "failed to resolve /nobody") {
			t.Errorf("Join error text changed: %q", got)
		}
		b := c.add("b")
		if _, err := a.Join([]string{"ghost/127.0.0.1:99", seedAddr(b)}); err != nil {
			t.Errorf("Join with one reachable seed = %v", err)
		}
		if n, err := a.Join(nil); n != 0 || err != nil {
			t.Errorf("Join(nil) = %d, %v", n, err)
		}
	})
}

func TestErrLabelMismatchOnJoin(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 64)
		a := c.add("a", withLabel("prod"))
		b := c.add("b", withLabel("test"))
		_, err := b.Join([]string{seedAddr(a)})
		if !errors.Is(err, ErrLabelMismatch) || !errors.Is(err, ErrNoSeedReachable) {
			t.Errorf("Join across labels = %v, want ErrLabelMismatch and ErrNoSeedReachable", err)
		}
		if !strings.Contains(err.Error(), `failed to join 127.0.0.1:`) || !strings.Contains(err.Error(), `remote error: label mismatch: stream label "test"`) {
			t.Errorf("Join across labels text = %q", err)
		}
		if remoteError("boom").Error() != "remote error: boom" || errors.Is(remoteError("label mismatched"), ErrLabelMismatch) {
			t.Errorf("remoteError matches more than label refusals")
		}
	})
}

func TestErrNoKeyDecryptsOnJoin(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 65)
		a := c.add("a", withKey(bytes.Repeat([]byte{1}, 16), true, true))
		b := c.add("b", withKey(bytes.Repeat([]byte{2}, 16), true, true))
		_, err := b.Join([]string{seedAddr(a)})
		if !errors.Is(err, ErrNoKeyDecrypts) {
			t.Errorf("Join with another key = %v, want ErrNoKeyDecrypts", err)
		}
	})
}

func TestErrMessageTooLarge(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 66)
		a := c.add("a")
		big := encodeMessage(pushPullMsg, &pushPullHeader{Nodes: maxPushStateNodes + 1})
		_, _, _, err := a.readRemoteState(bufio.NewReader(bytes.NewReader(big[1:])))
		if !errors.Is(err, ErrMessageTooLarge) || err.Error() != "number of nodes in header (1048577) exceeds limit" {
			t.Errorf("oversized push/pull header = %v", err)
		}
		huge := encodeMessage(pushPullMsg, &pushPullHeader{UserStateLen: maxPushStateBytes + 1})
		_, _, _, err = a.readRemoteState(bufio.NewReader(bytes.NewReader(huge[1:])))
		if !errors.Is(err, ErrMessageTooLarge) {
			t.Errorf("oversized user state = %v", err)
		}
		packed, err := lzwCompress(bytes.Repeat([]byte("x"), 1000))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := lzwDecompress(packed, 100); !errors.Is(err, ErrMessageTooLarge) || err.Error() != "decompressed message is larger than limit (100)" {
			t.Errorf("decompression over the limit = %v", err)
		}
	})
}

func TestKeyringSentinels(t *testing.T) {
	k1, k2 := bytes.Repeat([]byte{1}, 16), bytes.Repeat([]byte{2}, 16)
	if _, err := NewKeyring(nil, []byte("short")); !errors.Is(err, ErrInvalidKeySize) || err.Error() != "key size must be 16, 24 or 32 bytes" {
		t.Errorf("short key = %v", err)
	}
	if _, err := NewKeyring([][]byte{k1}, nil); !errors.Is(err, ErrEmptyPrimaryKey) {
		t.Errorf("no primary = %v", err)
	}
	kr, err := NewKeyring(nil, k1)
	if err != nil {
		t.Fatal(err)
	}
	if err := kr.UseKey(k2); !errors.Is(err, ErrKeyNotFound) {
		t.Errorf("UseKey of a missing key = %v", err)
	}
	if err := kr.RemoveKey(k1); !errors.Is(err, ErrRemovePrimaryKey) {
		t.Errorf("RemoveKey of the primary = %v", err)
	}
	if err := (&Keyring{}).RemoveKey(k1); !errors.Is(err, ErrKeyringEmpty) {
		t.Errorf("RemoveKey on an empty ring = %v", err)
	}
	if err := ValidateKey(make([]byte, 17)); !errors.Is(err, ErrInvalidKeySize) {
		t.Errorf("ValidateKey(17 bytes) = %v", err)
	}
}

// TestErrMessageTooLargeOnUDP sends a packet larger than UDP allows over a
// real loopback socket: the system's error keeps its text and matches
// ErrMessageTooLarge.
func TestErrMessageTooLargeOnUDP(t *testing.T) {
	tr, err := NewNetTransport(&NetTransportConfig{BindAddrs: []string{"127.0.0.1"}, Logger: log.New(io.Discard, "", 0)})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Shutdown()
	to := Address{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(tr.GetAutoBindPort()))}
	_, err = tr.WriteToAddress(make([]byte, 70000), to)
	if !errors.Is(err, ErrMessageTooLarge) || !errors.Is(err, syscall.EMSGSIZE) {
		t.Errorf("70000-byte packet = %v, want ErrMessageTooLarge and EMSGSIZE", err)
	}
	if err != nil && !strings.Contains(err.Error(), "message too long") {
		t.Errorf("error text changed: %q", err)
	}
	if _, err := tr.WriteToAddress([]byte("ok"), to); err != nil {
		t.Errorf("small packet = %v", err)
	}
}
