package main

import (
	"sort"
	"sync"

	"github.com/gossip-go/memberlist"
)

// events is the node's EventDelegate. It remembers the nodes reported dead
// or left, which Members no longer lists, and signals changed (without
// blocking) at each event. It is safe for concurrent use.
type events struct {
	changed chan struct{}

	mu   sync.Mutex
	gone map[string]memberlist.Node // dead or left, by name
}

func newEvents() *events {
	return &events{changed: make(chan struct{}, 1), gone: make(map[string]memberlist.Node)}
}

func (e *events) NotifyJoin(n *memberlist.Node) {
	e.mu.Lock()
	delete(e.gone, n.Name)
	e.mu.Unlock()
	e.signal()
}

func (e *events) NotifyLeave(n *memberlist.Node) {
	e.mu.Lock()
	e.gone[n.Name] = *n
	e.mu.Unlock()
	e.signal()
}

func (e *events) NotifyUpdate(*memberlist.Node) { e.signal() }

func (e *events) signal() {
	select {
	case e.changed <- struct{}{}:
	default:
	}
}

// states maps every node known to list, the local one included, to its
// state: what Members reports for the alive and suspect ones, what the last
// NotifyLeave reported for the others.
func (e *events) states(list *memberlist.Memberlist) map[string]string {
	members := list.Members()
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make(map[string]string, len(members)+len(e.gone))
	for name, n := range e.gone {
		out[name] = n.State.String()
	}
	for _, n := range members {
		out[n.Name] = n.State.String()
	}
	return out
}

// deadAddrs returns the addresses of the nodes last reported dead, sorted.
func (e *events) deadAddrs() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var addrs []string
	for _, n := range e.gone {
		if n.State == memberlist.StateDead {
			addrs = append(addrs, n.Address())
		}
	}
	sort.Strings(addrs)
	return addrs
}
