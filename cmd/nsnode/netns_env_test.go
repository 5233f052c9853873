package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// nsPrefix starts the name of every network namespace the test creates:
// mlns-<pid of the test process>-<variant>-<role>.
const nsPrefix = "mlns-"

// nodeIP returns the address of node i: 198.18.213.10+i, in the range
// reserved for network benchmarks (RFC 2544), which never reaches the host:
// the bridge lives in a namespace of its own and no route leads out.
func nodeIP(i int) string { return fmt.Sprintf("198.18.213.%d", 10+i) }

// ip runs the ip command and returns its combined output in the error.
func ip(args ...string) error {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// netnsList returns the names of the network namespaces that start with
// prefix.
func netnsList(prefix string) ([]string, error) {
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		return nil, fmt.Errorf("ip netns list: %w", err)
	}
	var names []string
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) > 0 && strings.HasPrefix(f[0], prefix) {
			names = append(names, f[0])
		}
	}
	return names, nil
}

// removeNetns kills every process left in namespace name and deletes it.
func removeNetns(name string) error {
	out, _ := exec.Command("ip", "netns", "pids", name).Output()
	for _, f := range strings.Fields(string(out)) {
		if pid, err := strconv.Atoi(f); err == nil {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	return ip("netns", "del", name)
}

// removeLeftovers deletes the namespaces of earlier runs whose test process
// is gone (killed, or timed out before its cleanup ran). Namespaces of a run
// still in progress are left alone.
func removeLeftovers(t *testing.T) {
	names, err := netnsList(nsPrefix)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		pidText, _, _ := strings.Cut(strings.TrimPrefix(name, nsPrefix), "-")
		pid, err := strconv.Atoi(pidText)
		if err == nil && pid != os.Getpid() && syscall.Kill(pid, 0) == nil {
			continue
		}
		t.Logf("removing leftover namespace %s", name)
		if err := removeNetns(name); err != nil {
			t.Log(err)
		}
	}
}

// network is a bridge in namespace <prefix>-br and n namespaces
// <prefix>-n<i>, each with an interface eth0 at nodeIP(i)/24 whose peer
// v<i> is a port of the bridge. Its methods are safe for concurrent use.
type network struct {
	prefix string
	n      int

	mu      sync.Mutex
	created []string
}

func (w *network) bridgeNS() string    { return w.prefix + "-br" }
func (w *network) nodeNS(i int) string { return fmt.Sprintf("%s-n%d", w.prefix, i) }

// add creates namespace name and records it for remove.
func (w *network) add(name string) error {
	if err := ip("netns", "add", name); err != nil {
		return err
	}
	w.mu.Lock()
	w.created = append(w.created, name)
	w.mu.Unlock()
	return ip("-n", name, "link", "set", "lo", "up")
}

// build creates the namespaces, the bridge and the links.
func (w *network) build() error {
	br := w.bridgeNS()
	if err := w.add(br); err != nil {
		return err
	}
	if err := ip("-n", br, "link", "add", "br0", "type", "bridge"); err != nil {
		return err
	}
	if err := ip("-n", br, "link", "set", "br0", "up"); err != nil {
		return err
	}
	for i := range w.n {
		ns, port := w.nodeNS(i), fmt.Sprintf("v%d", i)
		steps := [][]string{
			{"-n", br, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", ns},
			{"-n", br, "link", "set", port, "master", "br0", "up"},
			{"-n", ns, "addr", "add", nodeIP(i) + "/24", "dev", "eth0"},
			{"-n", ns, "link", "set", "eth0", "up"},
		}
		if err := w.add(ns); err != nil {
			return err
		}
		for _, s := range steps {
			if err := ip(s...); err != nil {
				return err
			}
		}
	}
	return nil
}

// setLink takes node i's bridge port down (the cable pulled) or up again.
func (w *network) setLink(i int, up bool) error {
	state := "down"
	if up {
		state = "up"
	}
	return ip("-n", w.bridgeNS(), "link", "set", fmt.Sprintf("v%d", i), state)
}

// remove deletes every namespace build created, killing what runs in it.
// It may be called more than once.
func (w *network) remove() error {
	w.mu.Lock()
	names := w.created
	w.created = nil
	w.mu.Unlock()
	var errs []error
	for i := len(names) - 1; i >= 0; i-- {
		errs = append(errs, removeNetns(names[i]))
	}
	return errors.Join(errs...)
}
