package interop

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestMain raises the default test parallelism (the tests mostly wait on
// protocol timers, so GOMAXPROCS is too low a bound on a 2-core machine)
// and, after the tests, checks that no goroutine of our library is left.
func TestMain(m *testing.M) {
	flag.Parse()
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.parallel" })
	if !set {
		flag.Set("test.parallel", "8")
	}
	code := m.Run()
	if left := waitOursGone(10 * time.Second); left != "" {
		fmt.Fprintf(os.Stderr, "goroutines of github.com/gossip-go/memberlist left after all nodes shut down:\n%s\n", left)
		code = 1
	}
	os.Exit(code)
}

// oursPrefix starts the function names of our library (and not those of
// this interop package, whose path continues with "/").
const oursPrefix = "github.com/gossip-go/memberlist."

// oursGoroutines returns the stacks of the goroutines that run, or were
// started by, our library.
func oursGoroutines() []string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		for _, line := range strings.Split(g, "\n") {
			line = strings.TrimPrefix(line, "created by ")
			if strings.HasPrefix(line, oursPrefix) {
				out = append(out, g)
				break
			}
		}
	}
	return out
}

// waitOursGone waits up to timeout for our library's goroutines to exit
// (a goroutine lingers for a moment after it signals its WaitGroup), and
// returns the stacks of those left.
func waitOursGone(timeout time.Duration) string {
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		left := oursGoroutines()
		if len(left) == 0 {
			return ""
		}
		if time.Now().After(deadline) {
			return strings.Join(left, "\n\n")
		}
		<-tick.C
	}
}
