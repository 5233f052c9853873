package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// proc is a kv process started by the test.
type proc struct {
	name   string
	http   string // host:port of its HTTP API
	gossip string // host:port of its gossip endpoint
	cmd    *exec.Cmd
	exited chan struct{} // closed when the process has been waited for
	err    error         // the result of cmd.Wait, set before exited closes
}

// startProc runs the kv binary with free ports and waits for the line
// that announces its addresses.
func startProc(t *testing.T, bin, name string, members ...string) *proc {
	t.Helper()
	args := []string{"-name", name, "-port", "0", "-p", "0", "-bind", "127.0.0.1"}
	if len(members) > 0 {
		args = append(args, "-members", strings.Join(members, ","))
	}
	cmd := exec.Command(bin, args...)
	cmd.Stderr = &prefixWriter{t: t, prefix: name}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{name: name, cmd: cmd, exited: make(chan struct{})}
	t.Cleanup(func() { p.kill(t) })
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default:
			}
		}
		p.err = cmd.Wait()
		close(p.exited)
	}()
	select {
	case line := <-lines:
		// "node NAME: http=HOST:PORT gossip=HOST:PORT"
		if _, err := fmt.Sscanf(strings.TrimPrefix(line, "node "+name+": "), "http=%s gossip=%s", &p.http, &p.gossip); err != nil {
			t.Fatalf("%s: unexpected first line %q: %v", name, line, err)
		}
	case <-p.exited:
		t.Fatalf("%s exited before announcing its addresses: %v", name, p.err)
	case <-time.After(30 * time.Second):
		t.Fatalf("%s did not announce its addresses within 30 s", name)
	}
	return p
}

// kill stops p with SIGKILL, if it still runs, and waits for it.
func (p *proc) kill(t *testing.T) {
	p.cmd.Process.Kill() // an error means it has exited already
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		t.Errorf("%s did not exit after SIGKILL", p.name)
	}
}

// get sends GET path?query to p and returns the status and body.
func (p *proc) get(path string, query ...string) (int, string, error) {
	v := url.Values{}
	for i := 0; i+1 < len(query); i += 2 {
		v.Set(query[i], query[i+1])
	}
	resp, err := http.Get("http://" + p.http + path + "?" + v.Encode())
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

// poll calls cond every 100 ms until it holds, failing the test after
// limit.
func poll(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(limit)
	for !cond() {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("timed out after %v waiting for %s", limit, what)
		}
	}
}

func waitValue(t *testing.T, p *proc, key, want string) {
	t.Helper()
	poll(t, 20*time.Second, fmt.Sprintf("%s: %s = %q", p.name, key, want), func() bool {
		code, body, err := p.get("/get", "key", key)
		if want == "" {
			return err == nil && code == http.StatusNotFound
		}
		return err == nil && code == http.StatusOK && body == want+"\n"
	})
}

// waitStates waits until p lists each member of want in its state, with
// an incarnation of at least 1, and lists no other member alive or
// suspect.
func waitStates(t *testing.T, p *proc, want map[string]string) {
	t.Helper()
	poll(t, 30*time.Second, fmt.Sprintf("%s to list %v", p.name, want), func() bool {
		code, body, err := p.get("/members")
		var ms []member
		if err != nil || code != http.StatusOK || json.Unmarshal([]byte(body), &ms) != nil {
			return false
		}
		found := 0
		for _, m := range ms {
			if s, ok := want[m.Name]; ok {
				if m.State != s || m.Incarnation < 1 {
					return false
				}
				found++
			} else if m.State == "alive" || m.State == "suspect" {
				return false
			}
		}
		return found == len(want)
	})
}

// TestProcesses builds the kv binary and runs three nodes on 127.0.0.1:
// add on one, read on another, delete on a third, kill one, and check the
// rest (which list it as dead); then a SIGTERM makes a node leave and exit
// 0 (listed as left).
func TestProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a binary and runs processes; skipped with -short")
	}
	bin := filepath.Join(t.TempDir(), "kv")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	a := startProc(t, bin, "a")
	b := startProc(t, bin, "b", a.gossip)
	c := startProc(t, bin, "c", a.gossip)
	all := map[string]string{"a": "alive", "b": "alive", "c": "alive"}
	for _, p := range []*proc{a, b, c} {
		waitStates(t, p, all)
	}

	if code, body, err := a.get("/add", "key", "color", "val", "blue"); err != nil || code != http.StatusOK {
		t.Fatalf("/add on a: %d %q %v", code, body, err)
	}
	waitValue(t, b, "color", "blue")
	if code, _, err := c.get("/del", "key", "color"); err != nil || code != http.StatusOK {
		t.Fatalf("/del on c: %d %v", code, err)
	}
	waitValue(t, a, "color", "")
	waitValue(t, b, "color", "")

	b.get("/add", "key", "shape", "val", "round")
	waitValue(t, a, "shape", "round")
	waitValue(t, c, "shape", "round")
	b.kill(t)
	bDead := map[string]string{"a": "alive", "b": "dead", "c": "alive"}
	waitStates(t, a, bDead)
	waitStates(t, c, bDead)
	c.get("/add", "key", "size", "val", "small")
	waitValue(t, a, "size", "small")
	if _, body, _ := a.get("/keys"); !strings.Contains(body, `"shape": "round"`) {
		t.Errorf("/keys on a after b died: %s", body)
	}

	// SIGTERM: c leaves gracefully and exits 0; a lists it as left.
	terminate(t, c)
	waitStates(t, a, map[string]string{"a": "alive", "c": "left"})
	terminate(t, a) // the last node: nobody to say goodbye to
}

// terminate sends SIGTERM to p and checks that it exits with status 0.
func terminate(t *testing.T, p *proc) {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		if p.err != nil {
			t.Errorf("%s exited with %v after SIGTERM, want status 0", p.name, p.err)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("%s did not exit within 20 s of SIGTERM", p.name)
	}
}

// prefixWriter copies a process's stderr into the test log.
type prefixWriter struct {
	t      *testing.T
	prefix string
}

func (w *prefixWriter) Write(b []byte) (int, error) {
	for _, line := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		w.t.Logf("%s: %s", w.prefix, line)
	}
	return len(b), nil
}
