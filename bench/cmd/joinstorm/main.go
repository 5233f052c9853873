// Command joinstorm measures a join storm on real sockets: n nodes on
// loopback NetTransports, in one process, all join one seed at once, and
// the wall time until every node lists all n is reported, for
// github.com/gossip-go/memberlist (ours, from ../ through the replace) and
// hashicorp/memberlist v0.7.0 (theirs).
//
//	cd bench && go run ./cmd/joinstorm [-n 128] [-lib ours|theirs|both] [-runs 3] [-max 60s]
//
// Every node binds 127.0.0.1 with port 0 and uses its library's
// DefaultLocalConfig, so both libraries run with the same timings. Each run
// starts n fresh nodes, then calls Join on n-1 of them at once, each with
// the first node's address only, and polls NumMembers every 5 ms. It
// reports the time until every node lists all n, the time until the last
// Join call returned, how many Join calls failed, and how many log lines
// were warnings or errors. Every node is shut down before the next run.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	ours "github.com/gossip-go/memberlist"
	theirs "github.com/hashicorp/memberlist"
)

// node is one running memberlist of either library.
type node interface {
	Join(addrs []string) (int, error)
	NumMembers() int
	Shutdown() error
}

// lib starts a node of one library named name on 127.0.0.1, port 0,
// logging to logs, and returns it with its address.
type lib struct {
	name  string
	start func(name string, logs io.Writer) (node, string, error)
}

var libs = []lib{
	{"ours", func(name string, logs io.Writer) (node, string, error) {
		c := ours.DefaultLocalConfig()
		c.Name, c.BindAddr, c.AdvertiseAddr, c.BindPort, c.AdvertisePort = name, "127.0.0.1", "127.0.0.1", 0, 0
		c.LogOutput = logs
		ml, err := ours.Create(c)
		if err != nil {
			return nil, "", err
		}
		return ml, ml.LocalNode().Address(), nil
	}},
	{"theirs", func(name string, logs io.Writer) (node, string, error) {
		c := theirs.DefaultLocalConfig()
		c.Name, c.BindAddr, c.AdvertiseAddr, c.BindPort, c.AdvertisePort = name, "127.0.0.1", "127.0.0.1", 0, 0
		c.LogOutput = logs
		ml, err := theirs.Create(c)
		if err != nil {
			return nil, "", err
		}
		return ml, ml.LocalNode().Address(), nil
	}},
}

// logCounter counts the warning and error lines of every node of a run
// and keeps the first few distinct ones. It is safe for concurrent use.
type logCounter struct {
	warns atomic.Int64
	mu    sync.Mutex
	first []string
}

func (l *logCounter) Write(b []byte) (int, error) {
	if bytes.Contains(b, []byte("[WARN]")) || bytes.Contains(b, []byte("[ERR]")) {
		l.warns.Add(1)
		l.mu.Lock()
		if len(l.first) < 5 {
			l.first = append(l.first, strings.TrimSpace(string(b)))
		}
		l.mu.Unlock()
	}
	return len(b), nil
}

// result is the outcome of one run.
type result struct {
	converged time.Duration // until every node lists all n; 0 when it never did
	joined    time.Duration // until the last Join call returned
	failed    int           // Join calls that returned an error
	warns     int64
	first     []string // the first warning lines
}

func main() {
	n := flag.Int("n", 128, "number of nodes, the seed included")
	which := flag.String("lib", "both", "ours, theirs or both")
	runs := flag.Int("runs", 3, "runs per library")
	maxWait := flag.Duration("max", time.Minute, "give up waiting for convergence after this long")
	flag.Parse()
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err == nil {
		fmt.Printf("open file limit %d (each node holds a UDP socket and a TCP listener, plus a stream per join)\n", rl.Cur)
	}
	fmt.Printf("%d nodes on 127.0.0.1 join one seed at once; %s, %d CPUs, GOMAXPROCS %d\n",
		*n, runtime.Version(), runtime.NumCPU(), runtime.GOMAXPROCS(0))
	for _, l := range libs {
		if *which != "both" && *which != l.name {
			continue
		}
		var times []time.Duration
		for r := range *runs {
			res, err := storm(l, *n, *maxWait)
			if err != nil {
				fmt.Fprintf(os.Stderr, "joinstorm: %s run %d: %v\n", l.name, r+1, err)
				os.Exit(1)
			}
			printResult(l.name, r+1, res)
			times = append(times, res.converged)
		}
		fmt.Printf("%s n=%d: median of %d runs %s\n", l.name, *n, len(times), show(median(times)))
	}
}

func printResult(name string, run int, r result) {
	fmt.Printf("%s run %d: converged %s, last Join returned %v, Join failures %d, warnings and errors logged %d\n",
		name, run, show(r.converged), r.joined.Round(time.Millisecond), r.failed, r.warns)
	for _, line := range r.first {
		fmt.Printf("    %s\n", line)
	}
}

// show prints a convergence time, 0 meaning never.
func show(d time.Duration) string {
	if d == 0 {
		return "never"
	}
	return d.Round(time.Millisecond).String()
}

// median returns the middle of ds (the lower one of an even count), a 0
// (never) counting as longer than any time.
func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.SortFunc(s, func(a, b time.Duration) int {
		if a == 0 || b == 0 {
			return boolInt(a == 0) - boolInt(b == 0)
		}
		return int(a - b)
	})
	return s[(len(s)-1)/2]
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// storm runs one join storm of n nodes of l and shuts every node down.
func storm(l lib, n int, maxWait time.Duration) (result, error) {
	logs := &logCounter{}
	nodes := make([]node, 0, n)
	defer func() { shutdownAll(nodes) }()
	var seed string
	for i := range n {
		nd, addr, err := l.start(fmt.Sprintf("n%04d", i), logs)
		if err != nil {
			return result{}, fmt.Errorf("start node %d: %w", i, err)
		}
		nodes = append(nodes, nd)
		if i == 0 {
			seed = addr
		}
	}
	var res result
	var failed atomic.Int64
	var wg sync.WaitGroup
	t0 := time.Now()
	for _, nd := range nodes[1:] {
		wg.Go(func() {
			if _, err := nd.Join([]string{seed}); err != nil {
				failed.Add(1)
			}
		})
	}
	joinsDone := make(chan struct{})
	go func() { wg.Wait(); res.joined = time.Since(t0); close(joinsDone) }()
	for time.Since(t0) < maxWait {
		if allList(nodes, n) {
			res.converged = time.Since(t0)
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	<-joinsDone
	res.failed = int(failed.Load())
	res.warns = logs.warns.Load()
	logs.mu.Lock()
	res.first = slices.Clone(logs.first)
	logs.mu.Unlock()
	return res, nil
}

// allList reports whether every node lists n members.
func allList(nodes []node, n int) bool {
	for _, nd := range nodes {
		if nd.NumMembers() != n {
			return false
		}
	}
	return true
}

// shutdownAll shuts every node down, all at once, and waits.
func shutdownAll(nodes []node) {
	var wg sync.WaitGroup
	for _, nd := range nodes {
		wg.Go(func() { nd.Shutdown() })
	}
	wg.Wait()
}
