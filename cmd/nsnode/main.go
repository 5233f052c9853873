// Command nsnode runs one memberlist node and reports what it sees as JSON
// lines on standard output. It is the node program of the network-namespace
// test in this directory, which starts one nsnode per namespace, but it runs
// anywhere:
//
//	nsnode -name n1 -bind 198.18.213.12 -seed 198.18.213.11:7946
//
// Each line is one JSON object with the fields "node" (this node's name) and
// "ev": "ready" once the node listens (with "addr", and "encrypted" and
// "label" when set), "joined" after a successful Join,
// "status" with "states" mapping every node this node knows to "alive",
// "suspect", "dead" or "left" (printed at each membership event and every
// -status interval), "left" after a graceful Leave, and "error".
//
// SIGTERM or SIGINT makes the node call Leave, print "left", shut down and
// exit with status 0.
//
// With -rejoin, the node retries Join every interval towards its seed and
// every node it has seen die. The library, like hashicorp/memberlist, does
// not reconnect on its own with nodes it has declared dead, so after a
// partition long enough for each side to declare the other dead, the two
// sides stay apart until something joins them again; this flag is that
// something, the workaround applications add today (serf reconnects to
// failed members in the same way).
package main

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/gossip-go/memberlist"
)

// options are the command-line flags.
type options struct {
	name    string
	bind    string
	port    int
	seed    string
	key     string
	label   string
	rejoin  time.Duration
	status  time.Duration
	verbose bool
}

func main() {
	var o options
	flag.StringVar(&o.name, "name", "", "node name (required)")
	flag.StringVar(&o.bind, "bind", "", "IP address to bind and advertise (required)")
	flag.IntVar(&o.port, "port", 7946, "UDP and TCP port")
	flag.StringVar(&o.seed, "seed", "", "host:port to join at start; empty for the first node")
	flag.StringVar(&o.key, "key", "", "gossip key in hex (16, 24 or 32 bytes); empty for plaintext")
	flag.StringVar(&o.label, "label", "", "packet and stream label")
	flag.DurationVar(&o.rejoin, "rejoin", 0, "retry Join towards the seed and dead nodes this often; 0 never")
	flag.DurationVar(&o.status, "status", 500*time.Millisecond, "print a status line this often")
	flag.BoolVar(&o.verbose, "v", false, "write the library's log to standard error")
	flag.Parse()
	out := &printer{w: os.Stdout, node: o.name}
	if err := run(o, out); err != nil {
		out.print(report{Ev: "error", Err: err.Error()})
		os.Exit(1)
	}
}

// report is one line of output.
type report struct {
	Node   string            `json:"node"`
	Ev     string            `json:"ev"`
	Addr   string            `json:"addr,omitempty"`
	Crypt  bool              `json:"encrypted,omitempty"` // in "ready"
	Label  string            `json:"label,omitempty"`     // in "ready"
	States map[string]string `json:"states,omitempty"`
	Err    string            `json:"err,omitempty"`
}

// printer writes reports as JSON lines; it is safe for concurrent use.
type printer struct {
	mu   sync.Mutex
	w    io.Writer
	node string
}

func (p *printer) print(r report) {
	r.Node = p.node
	b, err := json.Marshal(r)
	if err != nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.w.Write(append(b, '\n'))
}

func config(o options, ev *events) (*memberlist.Config, error) {
	if o.name == "" || net.ParseIP(o.bind) == nil {
		return nil, errors.New("-name and an IP address for -bind are required")
	}
	conf := memberlist.DefaultLocalConfig()
	conf.Name = o.name
	conf.BindAddr = o.bind
	conf.BindPort = o.port
	conf.AdvertiseAddr = o.bind
	conf.AdvertisePort = o.port
	conf.Label = o.label
	conf.Events = ev
	conf.LogOutput = io.Discard
	if o.verbose {
		conf.LogOutput = os.Stderr
	}
	if o.key != "" {
		key, err := hex.DecodeString(o.key)
		if err != nil {
			return nil, fmt.Errorf("-key: %w", err)
		}
		conf.SecretKey = key
	}
	return conf, nil
}

func run(o options, out *printer) error {
	ev := newEvents()
	conf, err := config(o, ev)
	if err != nil {
		return err
	}
	list, err := memberlist.Create(conf)
	if err != nil {
		return err
	}
	defer list.Shutdown()
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	out.print(report{
		Ev:    "ready",
		Addr:  net.JoinHostPort(o.bind, strconv.Itoa(o.port)),
		Crypt: conf.EncryptionEnabled(),
		Label: conf.Label,
	})
	if o.seed != "" {
		if _, err := list.Join([]string{o.seed}); err != nil {
			return fmt.Errorf("join %s: %w", o.seed, err)
		}
		out.print(report{Ev: "joined"})
	}
	stopRejoin := startRejoin(list, ev, o.seed, o.rejoin)
	defer stopRejoin()
	tick := time.NewTicker(o.status)
	defer tick.Stop()
	for {
		out.print(report{Ev: "status", States: ev.states(list)})
		select {
		case <-ev.changed:
		case <-tick.C:
		case <-stop:
			stopRejoin() // no Join may race with the Leave
			if err := list.Leave(5 * time.Second); err != nil {
				return fmt.Errorf("leave: %w", err)
			}
			out.print(report{Ev: "left"})
			return nil
		}
	}
}

// startRejoin runs rejoin in a goroutine when every is positive. The
// returned stop ends it and waits for it; it may be called more than once.
func startRejoin(list *memberlist.Memberlist, ev *events, seed string, every time.Duration) (stop func()) {
	if every <= 0 {
		return func() {}
	}
	done, exited := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(exited)
		rejoin(list, ev, seed, every, done)
	}()
	var once sync.Once
	return func() {
		once.Do(func() { close(done) })
		<-exited
	}
}

// rejoin calls Join every interval towards seed and every node ev has seen
// die, until done is closed. Errors are expected while peers are away and
// are ignored.
func rejoin(list *memberlist.Memberlist, ev *events, seed string, every time.Duration, done <-chan struct{}) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-done:
			return
		case <-tick.C:
		}
		addrs := ev.deadAddrs()
		if seed != "" {
			addrs = append(addrs, seed)
		}
		if len(addrs) > 0 {
			list.Join(addrs)
		}
	}
}
