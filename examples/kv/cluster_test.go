package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gossip-go/memberlist"
)

// testCluster is a set of kv nodes on one in-memory network. Build it in a
// synctest bubble: its timers then run on virtual time.
type testCluster struct {
	t        *testing.T
	net      *memberlist.MockNetwork
	pushPull time.Duration
	nodes    map[string]*node
	seedAddr string // the join address of the first node
}

// newTestCluster starts and joins the named nodes. pushPull is their
// push/pull interval: a long one makes writes spread by gossip alone.
func newTestCluster(t *testing.T, seed uint64, pushPull time.Duration, names ...string) *testCluster {
	c := &testCluster{t: t, net: &memberlist.MockNetwork{}, pushPull: pushPull, nodes: make(map[string]*node)}
	c.net.SetSeed(seed)
	for _, name := range names {
		c.start(name)
	}
	c.waitMembers(len(names), names...)
	return c
}

// start starts a node and joins it to the first one.
func (c *testCluster) start(name string) *node {
	c.t.Helper()
	conf := memberlist.DefaultLocalConfig()
	conf.Name = name
	conf.Transport = c.net.NewTransport(name)
	conf.LogOutput = io.Discard
	conf.PushPullInterval = c.pushPull
	n, err := startNode(conf, nodeOptions{TombstoneTTL: time.Hour})
	if err != nil {
		c.t.Fatalf("start %s: %v", name, err)
	}
	c.t.Cleanup(func() { n.Close(0) })
	c.nodes[name] = n
	if c.seedAddr == "" {
		c.seedAddr = name + "/" + n.list.LocalNode().Address()
	} else if err := n.Join([]string{c.seedAddr}); err != nil {
		c.t.Fatalf("join %s: %v", name, err)
	}
	return n
}

// waitFor lets virtual time pass until cond holds, failing the test if it
// does not within limit.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", limit, what)
		}
		<-time.After(50 * time.Millisecond) // virtual time in the bubble
	}
}

func (c *testCluster) waitMembers(want int, names ...string) {
	c.t.Helper()
	waitFor(c.t, 30*time.Second, fmt.Sprintf("%v to see %d members", names, want), func() bool {
		for _, name := range names {
			if c.nodes[name].list.NumMembers() != want {
				return false
			}
		}
		return true
	})
}

// call sends one HTTP request to a node's handler and returns the status
// and body.
func (c *testCluster) call(name, path string, query ...string) (int, string) {
	c.t.Helper()
	v := url.Values{}
	for i := 0; i+1 < len(query); i += 2 {
		v.Set(query[i], query[i+1])
	}
	req := httptest.NewRequest(http.MethodGet, path+"?"+v.Encode(), nil)
	rec := httptest.NewRecorder()
	c.nodes[name].handler().ServeHTTP(rec, req)
	return rec.Code, rec.Body.String()
}

// waitGet waits until GET /get on node returns want, or 404 when want is
// empty.
func (c *testCluster) waitGet(name, key, want string) {
	c.t.Helper()
	waitFor(c.t, 3*time.Second, fmt.Sprintf("%s: %s = %q", name, key, want), func() bool {
		code, body := c.call(name, "/get", "key", key)
		if want == "" {
			return code == http.StatusNotFound
		}
		return code == http.StatusOK && body == want+"\n"
	})
}

// TestClusterStory adds on one node, reads on another, deletes on a third,
// kills one and checks that the others carry on.
func TestClusterStory(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 1, time.Hour, "a", "b", "c")
		if code, body := c.call("a", "/add", "key", "color", "val", "blue"); code != http.StatusOK {
			t.Fatalf("/add: %d %s", code, body)
		}
		c.waitGet("b", "color", "blue")
		c.waitGet("c", "color", "blue")
		if code, _ := c.call("c", "/del", "key", "color"); code != http.StatusOK {
			t.Fatalf("/del: %d", code)
		}
		c.waitGet("a", "color", "")
		c.waitGet("b", "color", "")

		c.call("b", "/add", "key", "shape", "val", "round")
		c.waitGet("a", "shape", "round")
		c.waitGet("c", "shape", "round")
		c.nodes["b"].Close(0) // a crash: no goodbye
		c.waitMembers(2, "a", "c")
		// Not reaped yet: a lists b as dead, with the incarnation b had.
		if got := states(c.members("a")); got != "a alive 1, b dead 1, c alive 1" {
			t.Errorf("/members on a after b died: %s", got)
		}
		c.call("c", "/add", "key", "size", "val", "small")
		c.waitGet("a", "size", "small")
		if _, body := c.call("a", "/keys"); !strings.Contains(body, `"shape": "round"`) || strings.Contains(body, "color") {
			t.Errorf("/keys on a: %s", body)
		}

		// A new node gets the whole store, tombstones included, on join.
		c.start("d")
		want := map[string]string{"shape": "round", "size": "small"}
		if got := c.nodes["d"].Values(); !maps.Equal(got, want) {
			t.Errorf("new node d holds %v, want %v", got, want)
		}
		d := c.nodes["d"].d
		d.mu.Lock()
		got := d.store.entries["color"]
		d.mu.Unlock()
		if !got.Deleted {
			t.Errorf("new node d has no tombstone for color: %+v", got)
		}
	})
}

// TestClusterHTTPErrors checks that bad requests are refused.
func TestClusterHTTPErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 1, time.Hour, "a")
		for _, q := range [][]string{
			{"/add", "val", "v"},
			{"/add", "key", strings.Repeat("k", maxKeyLen+1), "val", "v"},
			{"/add", "key", "k", "val", strings.Repeat("v", maxValueLen+1)},
			{"/del"},
		} {
			if code, _ := c.call("a", q[0], q[1:]...); code != http.StatusBadRequest {
				t.Errorf("%v: status %d, want 400", q, code)
			}
		}
		if code, _ := c.call("a", "/get", "key", "missing"); code != http.StatusNotFound {
			t.Errorf("/get of a missing key: status %d, want 404", code)
		}
	})
}

// TestConcurrentWritesConverge writes and deletes one key on every node
// at the same instant, and on both sides of a partition, and checks that
// all nodes end up with the same store, winner included.
func TestConcurrentWritesConverge(t *testing.T) {
	for seed := range uint64(5) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) { concurrentWrites(t, seed) })
		})
	}
}

func concurrentWrites(t *testing.T, seed uint64) {
	// Push/pull repairs what gossip could not deliver across the partition.
	c := newTestCluster(t, seed, 5*time.Second, "a", "b", "c")
	// The same instant: two writes and a delete of k.
	c.nodes["a"].Set("k", "from-a")
	c.nodes["b"].Delete("k")
	c.nodes["c"].Set("k", "from-c")
	c.waitSame(t)

	// A partition: a alone writes and deletes, b and c write; then heal.
	c.net.Partition([]string{"a"}, []string{"b", "c"})
	c.nodes["a"].Set("p", "from-a")
	c.nodes["a"].Delete("k")
	<-time.After(time.Millisecond)
	c.nodes["b"].Set("p", "from-b")
	c.nodes["c"].Set("k", "from-c-again")
	<-time.After(500 * time.Millisecond)
	c.net.Heal()
	c.waitMembers(3, "a", "b", "c")
	c.waitSame(t)
	// b wrote p last; c wrote k after a deleted it.
	for name := range c.nodes {
		if v, _ := c.nodes[name].Get("p"); v != "from-b" {
			t.Errorf("%s: p = %q, want from-b (the later write)", name, v)
		}
		if v, _ := c.nodes[name].Get("k"); v != "from-c-again" {
			t.Errorf("%s: k = %q, want from-c-again (written after the delete)", name, v)
		}
	}
}

// members returns GET /members on node, failing the test if it is not a
// JSON list of members.
func (c *testCluster) members(name string) []member {
	c.t.Helper()
	code, body := c.call(name, "/members")
	var ms []member
	if err := json.Unmarshal([]byte(body), &ms); code != http.StatusOK || err != nil {
		c.t.Fatalf("/members on %s: %d %v %s", name, code, err, body)
	}
	return ms
}

// states returns "name state incarnation" of each member, comma-separated.
func states(ms []member) string {
	var rows []string
	for _, m := range ms {
		rows = append(rows, fmt.Sprintf("%s %s %d", m.Name, m.State, m.Incarnation))
	}
	return strings.Join(rows, ", ")
}

// TestMembersIncarnation cuts b off until the others suspect it: once the
// partition heals, b refutes with a higher incarnation, and /members on a
// lists b with the incarnation b lists for itself.
func TestMembersIncarnation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCluster(t, 11, 15*time.Second, "a", "b", "c")
		if got := states(c.members("a")); got != "a alive 1, b alive 1, c alive 1" {
			t.Fatalf("/members on a: %s", got)
		}
		c.net.Partition([]string{"b"}, []string{"a", "c"})
		waitFor(t, 30*time.Second, "a to suspect b", func() bool {
			return c.members("a")[1].State != "alive"
		})
		c.net.Heal()
		waitFor(t, 30*time.Second, "b alive again on a, at b's incarnation", func() bool {
			onA, own := c.members("a")[1], c.members("b")[1]
			return onA.State == "alive" && onA.Incarnation > 1 && onA.Incarnation == own.Incarnation
		})
		if got := c.members("b")[1]; got.Name != "b" || got.State != "alive" {
			t.Errorf("b lists itself as %+v", got)
		}
	})
}

// waitSame waits until every node holds the same entries, tombstones and
// versions included.
func (c *testCluster) waitSame(t *testing.T) {
	t.Helper()
	waitFor(t, 30*time.Second, "every node to hold the same store", func() bool {
		var first []update
		for _, n := range c.nodes {
			n.d.mu.Lock()
			all := n.d.store.all()
			n.d.mu.Unlock()
			if first == nil {
				first = all
			} else if !sameUpdates(first, all) {
				return false
			}
		}
		return true
	})
}

func sameUpdates(a, b []update) bool {
	if len(a) != len(b) {
		return false
	}
	ma, mb := map[update]bool{}, map[update]bool{}
	for i := range a {
		ma[a[i]], mb[b[i]] = true, true
	}
	return maps.Equal(ma, mb)
}
