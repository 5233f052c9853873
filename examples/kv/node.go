package main

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/gossip-go/memberlist"
)

// kvBroadcast is an update queued for gossip. A newer update of the same
// key replaces an older one still in the queue.
type kvBroadcast struct {
	u   update
	msg []byte
}

// Invalidates reports whether b makes other, still queued, useless: other
// is an update of the same key that is not newer.
func (b *kvBroadcast) Invalidates(other memberlist.Broadcast) bool {
	o, ok := other.(*kvBroadcast)
	return ok && o.u.Key == b.u.Key && o.u.Version.compare(b.u.Version) <= 0
}

// Message returns the encoded update.
func (b *kvBroadcast) Message() []byte { return b.msg }

// Finished is called when the queue drops the broadcast; nothing to do.
func (b *kvBroadcast) Finished() {}

// delegate is the memberlist.Delegate of a node: it gossips updates through
// a TransmitLimitedQueue and exchanges the full store on join and
// push/pull. It is safe for concurrent use.
type delegate struct {
	queue *memberlist.TransmitLimitedQueue
	now   func() time.Time

	mu    sync.Mutex // guards store
	store *store
}

func (d *delegate) NodeMeta(limit int) []byte { return nil }

// NotifyMsg applies an update received by gossip and, when it was news,
// gossips it on, so it reaches every node even if its author dies.
func (d *delegate) NotifyMsg(b []byte) {
	u, err := decodeUpdate(b)
	if err != nil {
		return // not from a kv node of this version; nothing to do
	}
	d.mu.Lock()
	changed := d.store.apply(u, d.now())
	d.mu.Unlock()
	if changed {
		d.queue.QueueBroadcast(&kvBroadcast{u: u, msg: encodeUpdate(u)})
	}
}

func (d *delegate) GetBroadcasts(overhead, limit int) [][]byte {
	return d.queue.GetBroadcasts(overhead, limit)
}

// LocalState returns the whole store, tombstones included.
func (d *delegate) LocalState(join bool) []byte {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.store.encodeState()
}

// MergeRemoteState merges a remote node's whole store, entry by entry.
func (d *delegate) MergeRemoteState(buf []byte, join bool) {
	updates, err := decodeState(buf)
	if err != nil {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.now()
	for _, u := range updates {
		d.store.apply(u, now)
	}
}

// node is one member of the key-value cluster: a memberlist instance and
// its store. It is safe for concurrent use.
type node struct {
	list *memberlist.Memberlist
	d    *delegate
	stop chan struct{}
	done chan struct{}

	closeOnce sync.Once
	closeErr  error
}

// nodeOptions are the settings of a node beyond its memberlist Config.
type nodeOptions struct {
	TombstoneTTL time.Duration // how long deletes are remembered
	Now          func() time.Time
}

// startNode creates the memberlist instance described by conf, with the
// node's delegate in conf.Delegate, and starts pruning old tombstones.
func startNode(conf *memberlist.Config, opts nodeOptions) (*node, error) {
	if len(conf.Name) > maxNodeLen || conf.Name == "" {
		return nil, fmt.Errorf("node name must have 1 to %d bytes", maxNodeLen)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.TombstoneTTL <= 0 {
		return nil, errors.New("tombstone lifetime must be positive")
	}
	d := &delegate{
		queue: &memberlist.TransmitLimitedQueue{RetransmitMult: conf.RetransmitMult},
		now:   opts.Now,
		store: newStore(conf.Name, opts.TombstoneTTL),
	}
	conf.Delegate = d
	list, err := memberlist.Create(conf)
	if err != nil {
		return nil, err
	}
	d.queue.NumNodes = list.NumMembers
	n := &node{list: list, d: d, stop: make(chan struct{}), done: make(chan struct{})}
	go n.pruneLoop(opts.TombstoneTTL / 10)
	return n, nil
}

// pruneLoop drops expired tombstones every interval until the node stops.
func (n *node) pruneLoop(interval time.Duration) {
	defer close(n.done)
	t := time.NewTicker(max(interval, time.Second))
	defer t.Stop()
	for {
		select {
		case <-n.stop:
			return
		case <-t.C:
			n.d.mu.Lock()
			n.d.store.prune(n.d.now())
			n.d.mu.Unlock()
		}
	}
}

// errBadKey is returned for an empty or oversized key or value.
var errBadKey = fmt.Errorf("key must have 1 to %d bytes and value at most %d", maxKeyLen, maxValueLen)

// Set stores value under key and gossips the write.
func (n *node) Set(key, value string) error {
	if key == "" || len(key) > maxKeyLen || len(value) > maxValueLen {
		return errBadKey
	}
	n.d.mu.Lock()
	u := n.d.store.set(key, value, n.d.now())
	n.d.mu.Unlock()
	n.d.queue.QueueBroadcast(&kvBroadcast{u: u, msg: encodeUpdate(u)})
	return nil
}

// Delete removes key and gossips the delete.
func (n *node) Delete(key string) error {
	if key == "" || len(key) > maxKeyLen {
		return errBadKey
	}
	n.d.mu.Lock()
	u := n.d.store.remove(key, n.d.now())
	n.d.mu.Unlock()
	n.d.queue.QueueBroadcast(&kvBroadcast{u: u, msg: encodeUpdate(u)})
	return nil
}

// Get returns the value of key and reports whether it is present.
func (n *node) Get(key string) (string, bool) {
	n.d.mu.Lock()
	defer n.d.mu.Unlock()
	return n.d.store.get(key)
}

// Values returns every live key and its value.
func (n *node) Values() map[string]string {
	n.d.mu.Lock()
	defer n.d.mu.Unlock()
	return n.d.store.values()
}

// Join joins the cluster through the given members ("host:port").
func (n *node) Join(members []string) error {
	_, err := n.list.Join(members)
	return err
}

// Close leaves the cluster, waiting up to timeout for the goodbye to
// spread (zero skips the goodbye, like a crash), and shuts the node down.
// Later calls do nothing and return the first call's error.
func (n *node) Close(timeout time.Duration) error {
	n.closeOnce.Do(func() {
		var err error
		if timeout > 0 {
			err = n.list.Leave(timeout)
		}
		close(n.stop)
		<-n.done
		n.closeErr = errors.Join(err, n.list.Shutdown())
	})
	return n.closeErr
}
