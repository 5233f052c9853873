package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// buildNode builds this command into dir and returns the binary's path.
// Under -race the nodes are built with -race too.
func buildNode(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "nsnode")
	args := []string{"build", "-o", bin}
	if raceEnabled {
		args = append(args, "-race")
	}
	out, err := exec.Command("go", append(args, ".")...).CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// cluster runs node processes and keeps what each one last reported. Its
// methods are safe for concurrent use.
type cluster struct {
	bin  string
	logs string // directory of the nodes' standard error files

	mu       sync.Mutex
	procs    map[string]*exec.Cmd
	views    map[string]map[string]string // reporter -> node -> state
	seen     map[string]map[string]bool   // reporter -> events ("ready", "joined", "left")
	ready    map[string]report            // reporter -> its "ready" line
	exited   map[string]error             // reporter -> exit status
	expected map[string]bool              // exits the scenario caused
	changed  chan struct{}                // closed and replaced at each update
}

func newCluster(bin, logs string) *cluster {
	return &cluster{
		bin: bin, logs: logs,
		procs:    make(map[string]*exec.Cmd),
		views:    make(map[string]map[string]string),
		seen:     make(map[string]map[string]bool),
		ready:    make(map[string]report),
		exited:   make(map[string]error),
		expected: make(map[string]bool),
		changed:  make(chan struct{}),
	}
}

// start runs nsnode in namespace ns with the given name and flags. The
// process is killed if the test process dies.
func (c *cluster) start(ns, name string, flags ...string) error {
	args := append([]string{"netns", "exec", ns, c.bin, "-name", name}, flags...)
	cmd := exec.Command("ip", args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stderr, err := os.Create(filepath.Join(c.logs, name+".stderr"))
	if err != nil {
		return err
	}
	cmd.Stderr = stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	c.mu.Lock()
	c.procs[name] = cmd
	c.mu.Unlock()
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			c.record(name, sc.Bytes())
		}
		err := cmd.Wait()
		stderr.Close()
		c.update(func() { c.exited[name] = err })
	}()
	return nil
}

// record stores one line of node name's output.
func (c *cluster) record(name string, line []byte) {
	var r report
	if err := json.Unmarshal(line, &r); err != nil {
		r = report{Ev: "error", Err: fmt.Sprintf("bad line %q: %v", line, err)}
	}
	c.update(func() {
		if c.seen[name] == nil {
			c.seen[name] = make(map[string]bool)
		}
		c.seen[name][r.Ev] = true
		switch r.Ev {
		case "status":
			c.views[name] = r.States
		case "ready":
			c.ready[name] = r
		}
	})
}

func (c *cluster) update(f func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f()
	close(c.changed)
	c.changed = make(chan struct{})
}

// signal sends sig to node name's process and marks its exit as expected.
func (c *cluster) signal(name string, sig syscall.Signal) error {
	c.mu.Lock()
	cmd := c.procs[name]
	c.expected[name] = true
	c.mu.Unlock()
	return cmd.Process.Signal(sig)
}

// stop kills every node process and waits for their exits, at most 10 s.
func (c *cluster) stop() {
	c.mu.Lock()
	for name, cmd := range c.procs {
		c.expected[name] = true
		cmd.Process.Kill()
	}
	n := len(c.procs)
	c.mu.Unlock()
	c.wait(10*time.Second, func() bool { return len(c.exited) == n })
}

// wait waits until cond, called with c.mu held, reports true, or the
// timeout passes; it reports whether cond did.
func (c *cluster) wait(timeout time.Duration, cond func() bool) bool {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		c.mu.Lock()
		ok, changed := cond(), c.changed
		c.mu.Unlock()
		if ok {
			return true
		}
		select {
		case <-changed:
		case <-deadline.C:
			return false
		}
	}
}

// waitFor waits up to timeout until cond holds, failing the test with what
// and the nodes' last reports otherwise, or as soon as a node exits that
// the scenario did not stop. cond is called with c.mu held. waitFor returns
// how long it waited.
func (c *cluster) waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	var died string
	ok := c.wait(timeout, func() bool {
		if died = c.unexpectedExit(); died != "" {
			return true
		}
		return cond()
	})
	if died == "" && ok {
		return time.Since(start)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if died != "" {
		t.Fatalf("%s: node %s exited: %v\n%s", what, died, c.exited[died], c.dump())
	}
	t.Fatalf("%s: not within %v\n%s", what, timeout, c.dump())
	return 0
}

// unexpectedExit returns a node that exited unasked, or ""; c.mu is held.
func (c *cluster) unexpectedExit() string {
	for name := range c.exited {
		if !c.expected[name] {
			return name
		}
	}
	return ""
}

// hold keeps the scenario still for d, failing the test at once if a node
// exits that the scenario did not stop. It is a fixed pause by design (a
// link stays down for d), not a wait for a condition.
func (c *cluster) hold(t *testing.T, d time.Duration) {
	t.Helper()
	if c.wait(d, func() bool { return c.unexpectedExit() != "" }) {
		c.mu.Lock()
		defer c.mu.Unlock()
		name := c.unexpectedExit()
		t.Fatalf("node %s exited: %v\n%s", name, c.exited[name], c.dump())
	}
}

// state returns what reporter last said about node; c.mu is held.
func (c *cluster) state(reporter, node string) string { return c.views[reporter][node] }

// dump formats every node's last view, sorted; c.mu is held.
func (c *cluster) dump() string {
	names := make([]string, 0, len(c.views))
	for name := range c.views {
		names = append(names, name)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, name := range names {
		if _, gone := c.exited[name]; gone {
			fmt.Fprintf(&b, "  %s has exited\n", name)
			continue
		}
		fmt.Fprintf(&b, "  %s sees %s\n", name, formatView(c.views[name]))
	}
	return b.String()
}

func formatView(v map[string]string) string {
	names := make([]string, 0, len(v))
	for name := range v {
		names = append(names, name)
	}
	sort.Strings(names)
	for i, name := range names {
		names[i] = name + "=" + v[name]
	}
	return strings.Join(names, " ")
}

// stderrOf returns node name's standard error output so far.
func (c *cluster) stderrOf(name string) string {
	b, _ := os.ReadFile(filepath.Join(c.logs, name+".stderr"))
	return string(b)
}

// report fails the test if a node's standard error shows a data race and,
// when the test failed, logs the end of each node's standard error.
func (c *cluster) report(t *testing.T) {
	c.mu.Lock()
	names := make([]string, 0, len(c.procs))
	for name := range c.procs {
		names = append(names, name)
	}
	c.mu.Unlock()
	sort.Strings(names)
	for _, name := range names {
		log := c.stderrOf(name)
		if strings.Contains(log, "WARNING: DATA RACE") {
			t.Errorf("%s: data race:\n%s", name, log)
		} else if t.Failed() || os.Getenv("MEMBERLIST_NETNS_LOGS") != "" {
			if len(log) > 4000 {
				log = log[len(log)-4000:]
				if i := strings.IndexByte(log, '\n'); i >= 0 {
					log = log[i+1:] // start at a whole line
				}
			}
			t.Logf("%s standard error (end):\n%s", name, log)
		}
	}
}
