package main

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"syscall"
	"testing"
	"time"
)

// The page test drives headless Chromium through chromedriver's W3C
// WebDriver HTTP API with net/http: one browser keeps the page open while
// the cluster changes, so the test sees the page refresh itself, and polls
// its DOM cheaply (no browser start per poll, as `chromium --dump-dom`
// would need), without a dependency.

// findBrowser returns the paths of Chromium and chromedriver, or skips t.
// CHROMIUM and CHROMEDRIVER override the search of $PATH.
func findBrowser(t *testing.T) (chromium, driver string) {
	t.Helper()
	look := func(env string, names ...string) string {
		if p := os.Getenv(env); p != "" {
			return p
		}
		for _, n := range names {
			if p, err := exec.LookPath(n); err == nil {
				return p
			}
		}
		return ""
	}
	chromium = look("CHROMIUM", "chromium", "chromium-browser", "google-chrome")
	driver = look("CHROMEDRIVER", "chromedriver")
	if chromium == "" || driver == "" {
		t.Skip("no chromium or chromedriver found (Debian: apt-get install chromium chromium-driver; .ci/run installs them)")
	}
	return chromium, driver
}

// webDriver is a client of a chromedriver process.
type webDriver struct {
	base   string // http://127.0.0.1:port
	client *http.Client
}

var driverPortLine = regexp.MustCompile(`started successfully on port (\d+)`)

// startDriver starts chromedriver on a free loopback port, in its own
// process group so that the browsers it starts are killed with it at the
// end of the test.
func startDriver(t *testing.T, path string) *webDriver {
	t.Helper()
	cmd := exec.Command(path, "--port=0")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
	})
	port := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		sent := false
		for sc.Scan() { // read to EOF so chromedriver never blocks on stdout
			if m := driverPortLine.FindStringSubmatch(sc.Text()); m != nil && !sent {
				port <- m[1]
				sent = true
			}
		}
	}()
	select {
	case p := <-port:
		return &webDriver{base: "http://127.0.0.1:" + p, client: &http.Client{Timeout: 60 * time.Second}}
	case <-time.After(30 * time.Second):
		t.Fatal("chromedriver did not start in 30s")
		return nil
	}
}

// call sends a WebDriver command and decodes its "value" into out (when
// not nil).
func (d *webDriver) call(method, path string, body, out any) error {
	var in bytes.Buffer
	if body != nil {
		if err := json.NewEncoder(&in).Encode(body); err != nil {
			return err
		}
	}
	req, err := http.NewRequest(method, d.base+path, &in)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := d.client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	var reply struct{ Value json.RawMessage }
	if err := json.NewDecoder(res.Body).Decode(&reply); err != nil {
		return fmt.Errorf("%s %s: %s: %v", method, path, res.Status, err)
	}
	if res.StatusCode != 200 {
		return fmt.Errorf("%s %s: %s: %s", method, path, res.Status, reply.Value)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(reply.Value, out)
}

// browser is a WebDriver session of a headless Chromium.
type browser struct {
	d  *webDriver
	id string
}

// newBrowser starts a headless Chromium at chromium, with a window of
// width×height, ended at the end of the test.
func (d *webDriver) newBrowser(t *testing.T, chromium string, width, height int) *browser {
	t.Helper()
	caps := map[string]any{"capabilities": map[string]any{"alwaysMatch": map[string]any{
		"goog:chromeOptions": map[string]any{
			"binary": chromium,
			"args": []string{"--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
				"--hide-scrollbars", fmt.Sprintf("--window-size=%d,%d", width, height)},
		},
	}}}
	var session struct{ SessionID string }
	if err := d.call("POST", "/session", caps, &session); err != nil {
		t.Fatal(err)
	}
	b := &browser{d: d, id: session.SessionID}
	t.Cleanup(func() { d.call("DELETE", "/session/"+b.id, nil, nil) })
	return b
}

func (b *browser) navigate(url string) error {
	return b.d.call("POST", "/session/"+b.id+"/url", map[string]string{"url": url}, nil)
}

// eval runs the body of a JavaScript function in the page and decodes its
// result into out.
func (b *browser) eval(script string, out any) error {
	return b.d.call("POST", "/session/"+b.id+"/execute/sync", map[string]any{"script": script, "args": []any{}}, out)
}

func (b *browser) resize(width, height int) error {
	return b.d.call("POST", "/session/"+b.id+"/window/rect", map[string]int{"width": width, "height": height}, nil)
}

// screenshot writes a PNG of the viewport to path.
func (b *browser) screenshot(path string) error {
	var b64 string
	if err := b.d.call("GET", "/session/"+b.id+"/screenshot", nil, &b64); err != nil {
		return err
	}
	png, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return err
	}
	return os.WriteFile(path, png, 0o644)
}

// pageStatesJS returns the state of each row of the page, by node name.
const pageStatesJS = `return Object.fromEntries(Array.from(document.querySelectorAll("tr[data-node]"), r => [r.dataset.node, r.dataset.state]));`

func (b *browser) pageStates() (map[string]string, error) {
	var states map[string]string
	err := b.eval(pageStatesJS, &states)
	return states, err
}

// TestPageInChromium opens a1's page in headless Chromium on a three-agent
// cluster, takes screenshots at desktop and phone widths, kills a3 with
// SIGKILL and checks that the page, without being reloaded, shows a3
// alive, then suspect, then dead. Screenshots go to $AGENT_SCREENSHOTS
// when set.
func TestPageInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes and a browser")
	}
	chromium, driverPath := findBrowser(t)
	start := time.Now()
	agents := startCluster(t)
	a1, a3 := agents[0], agents[2]
	br := startDriver(t, driverPath).newBrowser(t, chromium, 1024, 768)
	if err := br.navigate("http://" + a1.http + "/"); err != nil {
		t.Fatal(err)
	}
	alive := map[string]string{"a1": "alive", "a2": "alive", "a3": "alive"}
	waitFor(t, 30*time.Second, "the page lists three alive members", pageShows(br, alive))
	checkPageLayout(t, br)
	t.Logf("cluster up and page loaded in %v", time.Since(start).Round(time.Millisecond))

	if err := a3.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	seen := []string{"alive"}
	waitFor(t, 90*time.Second, "a3 dead on the page", func() error {
		states, err := br.pageStates()
		if err != nil {
			return err
		}
		if s, ok := states["a3"]; ok && s != seen[len(seen)-1] {
			seen = append(seen, s)
			t.Logf("%v after the kill: a3 %s on the page", time.Since(killed).Round(time.Millisecond), s)
		}
		if seen[len(seen)-1] != "dead" {
			return fmt.Errorf("a3 went through %v", seen)
		}
		return nil
	})
	if dir := os.Getenv("AGENT_SCREENSHOTS"); dir != "" {
		if err := br.screenshot(filepath.Join(dir, "page-phone-dead.png")); err != nil {
			t.Error(err)
		}
	}
	if want := []string{"alive", "suspect", "dead"}; !slices.Equal(seen, want) {
		t.Errorf("a3 went through %v on the page, want %v", seen, want)
	}
	t.Logf("whole test %v", time.Since(start).Round(time.Millisecond))
}

// pageShows returns a condition that holds when the page lists exactly
// want.
func pageShows(br *browser, want map[string]string) func() error {
	return func() error {
		got, err := br.pageStates()
		if err != nil {
			return err
		}
		if len(got) != len(want) {
			return fmt.Errorf("page shows %v, want %v", got, want)
		}
		for name, s := range want {
			if got[name] != s {
				return fmt.Errorf("page shows %v, want %v", got, want)
			}
		}
		return nil
	}
}

// phoneWrapJS returns the text of the name and address cells that
// take more than one line.
const phoneWrapJS = `return Array.from(document.querySelectorAll('td[data-label="Name"], td[data-label="Address"]'))
  .filter(td => { const r = document.createRange(); r.selectNodeContents(td);
    return new Set(Array.from(r.getClientRects(), q => Math.round(q.top))).size > 1; })
  .map(td => td.textContent);`

// checkPageLayout takes a desktop and a phone screenshot and checks that
// at phone width nothing is wider than the screen and names and
// addresses stay on one line, and that the page refreshes itself.
func checkPageLayout(t *testing.T, br *browser) {
	t.Helper()
	dir := os.Getenv("AGENT_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	}
	if err := br.screenshot(filepath.Join(dir, "page-desktop.png")); err != nil {
		t.Fatal(err)
	}
	if err := br.resize(390, 844); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "no horizontal scrolling at phone width", func() error {
		var w struct{ Inner, Scroll int }
		if err := br.eval(`return {inner: window.innerWidth, scroll: document.documentElement.scrollWidth};`, &w); err != nil {
			return err
		}
		if w.Inner > 500 || w.Scroll > w.Inner {
			return fmt.Errorf("window %dpx wide, content %dpx", w.Inner, w.Scroll)
		}
		return nil
	})
	// Names and addresses are not broken over lines.
	var broken []string
	if err := br.eval(phoneWrapJS, &broken); err != nil {
		t.Fatal(err)
	}
	if len(broken) > 0 {
		t.Errorf("at phone width these cells wrap: %q", broken)
	}
	if err := br.screenshot(filepath.Join(dir, "page-phone.png")); err != nil {
		t.Fatal(err)
	}
	var first string
	if err := br.eval(`return document.querySelector("time").textContent;`, &first); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the page refreshes itself", func() error {
		var now string
		if err := br.eval(`return document.querySelector("time").textContent;`, &now); err != nil {
			return err
		}
		if now == first {
			return errors.New("time still " + now)
		}
		return nil
	})
}
