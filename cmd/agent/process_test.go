package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"syscall"
	"testing"
	"time"
)

// This file runs the built agent as separate processes on 127.0.0.1. The
// tests wait on conditions with deadlines; nothing sleeps.

var agentBuild struct {
	once sync.Once
	dir  string
	path string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if agentBuild.dir != "" {
		os.RemoveAll(agentBuild.dir)
	}
	os.Exit(code)
}

// agentBinary builds the agent once per test run and returns its path.
func agentBinary(t *testing.T) string {
	t.Helper()
	b := &agentBuild
	b.once.Do(func() {
		if b.dir, b.err = os.MkdirTemp("", "agent-test-"); b.err != nil {
			return
		}
		b.path = filepath.Join(b.dir, "agent")
		args := []string{"build", "-o", b.path}
		if raceEnabled {
			args = append(args, "-race")
		}
		out, err := exec.Command("go", append(args, ".")...).CombinedOutput()
		if err != nil {
			b.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

// agentProc is a running agent process.
type agentProc struct {
	name   string
	gossip string // host:port
	http   string // host:port
	cmd    *exec.Cmd
	logs   *logWatch
	exited chan struct{} // closed when the process has exited
	err    error         // the result of cmd.Wait, once exited is closed
}

// logWatch collects an agent's stderr and reports its "agent started" line.
type logWatch struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	ready chan [2]string // gossip and HTTP addresses, sent once
	sent  bool
}

var startedLine = regexp.MustCompile(`msg="agent started" node=\S+ gossip=(\S+) http=(\S+)`)

func (w *logWatch) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if !w.sent {
		if m := startedLine.FindSubmatch(w.buf.Bytes()); m != nil {
			w.sent = true
			w.ready <- [2]string{string(m[1]), string(m[2])}
		}
	}
	return len(p), nil
}

// String returns everything logged so far.
func (w *logWatch) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// startAgent starts the agent named name on 127.0.0.1 with free ports,
// the local profile and extra, and waits until it serves. The process is
// killed at the end of the test if it still runs; its log is printed when
// the test failed.
func startAgent(t *testing.T, name string, extra ...string) *agentProc {
	t.Helper()
	args := append([]string{"-name", name, "-bind", "127.0.0.1", "-port", "0",
		"-http", "127.0.0.1:0", "-profile", "local", "-leave-timeout", "2s"}, extra...)
	p := &agentProc{name: name, logs: &logWatch{ready: make(chan [2]string, 1)}, exited: make(chan struct{})}
	p.cmd = exec.Command(agentBinary(t), args...)
	p.cmd.Stderr = p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.exited
		if bytes.Contains([]byte(p.logs.String()), []byte("WARNING: DATA RACE")) {
			t.Errorf("%s reported a data race", name)
		}
		if t.Failed() {
			t.Logf("log of %s:\n%s", name, p.logs)
		}
	})
	select {
	case addrs := <-p.logs.ready:
		p.gossip, p.http = addrs[0], addrs[1]
	case <-p.exited:
		t.Fatalf("%s exited: %v\n%s", name, p.err, p.logs)
	case <-time.After(30 * time.Second):
		t.Fatalf("%s did not start in 30s\n%s", name, p.logs)
	}
	return p
}

// stop sends sig and waits up to 30s for the process to exit.
func (p *agentProc) stop(t *testing.T, sig syscall.Signal) error {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.exited:
		return p.err
	case <-time.After(30 * time.Second):
		t.Fatalf("%s did not exit 30s after %v", p.name, sig)
		return nil
	}
}

// members fetches /members.
func (p *agentProc) members() (view, error) {
	var v view
	res, err := http.Get("http://" + p.http + "/members")
	if err != nil {
		return v, err
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		return v, fmt.Errorf("GET /members: %s", res.Status)
	}
	return v, json.NewDecoder(res.Body).Decode(&v)
}

// states returns each member's state as p sees it, by name.
func (p *agentProc) states() (map[string]string, error) {
	v, err := p.members()
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(v.Members))
	for _, m := range v.Members {
		out[m.Name] = m.State
	}
	return out, nil
}

// waitFor polls cond every 50ms until it returns nil or timeout passes,
// then fails t with cond's last error.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v: %v", what, timeout, err)
		}
		<-tick.C
	}
}

// seesStates returns a condition that holds when p sees exactly want.
func seesStates(p *agentProc, want map[string]string) func() error {
	return func() error {
		got, err := p.states()
		if err != nil {
			return err
		}
		if len(got) != len(want) {
			return fmt.Errorf("%s sees %v, want %v", p.name, got, want)
		}
		for name, s := range want {
			if got[name] != s {
				return fmt.Errorf("%s sees %v, want %v", p.name, got, want)
			}
		}
		return nil
	}
}

// startCluster starts agents a1, a2 and a3, the last two joining a1, and
// waits until every one sees the three alive.
func startCluster(t *testing.T, extra ...string) []*agentProc {
	t.Helper()
	a1 := startAgent(t, "a1", append([]string{"-meta", "role=seed"}, extra...)...)
	join := append([]string{"-join", a1.gossip}, extra...)
	agents := []*agentProc{a1, startAgent(t, "a2", join...), startAgent(t, "a3", join...)}
	alive := map[string]string{"a1": "alive", "a2": "alive", "a3": "alive"}
	for _, a := range agents {
		waitFor(t, 30*time.Second, "convergence", seesStates(a, alive))
	}
	return agents
}

// TestAgentProcesses runs three agents sharing a key file and a label,
// checks /members and /metrics, and stops one with SIGTERM: it exits 0
// and the others list it as left.
func TestAgentProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	keyFile := filepath.Join(t.TempDir(), "keys")
	if err := os.WriteFile(keyFile, []byte("UvBn6UcaXBtGZdR4V6T1pDb0nNBYaGKEtO+ydaIrOOQ=\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	agents := startCluster(t, "-key-file", keyFile, "-label", "test")
	a1, a2, a3 := agents[0], agents[1], agents[2]

	v, err := a2.members()
	if err != nil {
		t.Fatal(err)
	}
	if v.Node != "a2" || v.Members[0].Name != "a1" || v.Members[0].Meta != "role=seed" || !v.Members[1].Local {
		t.Errorf("a2's view: %+v", v)
	}
	checkIncarnations(t, a1, v)
	// a1 accepts the joins' push/pull streams; a2 opens one.
	checkAgentMetrics(t, a1, "memberlist_tcp_accept")
	checkAgentMetrics(t, a2, "memberlist_pushPullNode", "memberlist_tcp_connect", "memberlist_tcp_sent")

	if err := a3.stop(t, syscall.SIGTERM); err != nil {
		t.Fatalf("a3 after SIGTERM: %v, want exit status 0", err)
	}
	waitFor(t, 30*time.Second, "a3 listed as left", seesStates(a1, map[string]string{"a1": "alive", "a2": "alive", "a3": "left"}))
	if left, err := a1.members(); err != nil {
		t.Error(err)
	} else if inc := left.Members[2].Incarnation; inc == nil || *inc < *v.Members[2].Incarnation || left.Members[2].Departed.IsZero() {
		t.Errorf("a3 after its leave, as a1 lists it: %+v", left.Members[2])
	}
	if !bytes.Contains([]byte(a3.logs.String()), []byte(`msg="left the cluster"`)) {
		t.Errorf("a3 did not log its leave:\n%s", a3.logs)
	}
}

// checkIncarnations checks that every member of v, the view of another
// agent, has an incarnation, at least 1, and that p's own is the one v
// lists for it.
func checkIncarnations(t *testing.T, p *agentProc, v view) {
	t.Helper()
	for _, m := range v.Members {
		if m.Incarnation == nil || *m.Incarnation < 1 {
			t.Errorf("%s's view lists %s with incarnation %v", v.Node, m.Name, m.Incarnation)
		}
	}
	own, err := p.members()
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range own.Members {
		if !m.Local {
			continue
		}
		if m.Incarnation == nil || v.Members[i].Incarnation == nil || *m.Incarnation != *v.Members[i].Incarnation {
			t.Errorf("%s's own incarnation %v, %s lists %v", p.name, m.Incarnation, v.Node, v.Members[i].Incarnation)
		}
	}
}

// checkAgentMetrics waits until p's /metrics, a valid exposition, carries
// memberlist's metrics under the names users expect: those every agent
// emits once it has probed, and more.
func checkAgentMetrics(t *testing.T, p *agentProc, more ...string) {
	t.Helper()
	names := append([]string{
		"memberlist_gossip", "memberlist_probeNode", "memberlist_udp_sent",
		"memberlist_udp_received", "memberlist_msg_alive", "memberlist_node_instances",
		"go_goroutines",
	}, more...)
	waitFor(t, 20*time.Second, "metrics of "+p.name, func() error {
		res, err := http.Get("http://" + p.http + "/metrics")
		if err != nil {
			return err
		}
		var body bytes.Buffer
		body.ReadFrom(res.Body)
		res.Body.Close()
		families := parseExposition(t, body.String())
		for _, name := range names {
			if _, ok := families[name]; !ok {
				return fmt.Errorf("no %s", name)
			}
		}
		return nil
	})
}

// TestAgentJoinRetries starts a2 before the seed it joins exists: a2
// retries until a1 comes up on that port.
func TestAgentJoinRetries(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	// Learn a free gossip port by starting a1 alone, then stop it.
	first := startAgent(t, "a1")
	seed := first.gossip
	if err := first.stop(t, syscall.SIGTERM); err != nil {
		t.Fatalf("a lone agent after SIGTERM: %v, want exit status 0", err)
	}
	a2 := startAgent(t, "a2", "-join", seed)
	waitFor(t, 30*time.Second, "a failed join", func() error {
		if !bytes.Contains([]byte(a2.logs.String()), []byte("join failed, retrying")) {
			return errors.New("no retry logged yet")
		}
		return nil
	})
	_, port, _ := splitHostPort(seed, 0)
	a1 := startAgent(t, "a1", "-port", fmt.Sprint(port))
	both := map[string]string{"a1": "alive", "a2": "alive"}
	waitFor(t, 60*time.Second, "join after retries", seesStates(a1, both))
	waitFor(t, 30*time.Second, "join after retries", seesStates(a2, both))
}
