// Command kv is a distributed key-value store built on memberlist: every
// node holds the whole store, writes spread by gossip, and the nodes agree
// on the last write of each key. See README.md for a three-node walk-through.
//
//	go run ./examples/kv -name a -port 4001 -p 40001
//	go run ./examples/kv -name b -port 4002 -p 40002 -members 127.0.0.1:40001
//	curl 'localhost:4001/add?key=k&val=v'; curl 'localhost:4002/get?key=k'
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gossip-go/memberlist"
)

type flags struct {
	members      string
	httpPort     int
	gossipPort   int
	name         string
	bind         string
	tombstoneTTL time.Duration
	verbose      bool
}

func parseFlags(args []string) (flags, error) {
	var f flags
	fs := flag.NewFlagSet("kv", flag.ContinueOnError)
	fs.StringVar(&f.members, "members", "", "comma-separated host:port gossip addresses of nodes to join")
	fs.IntVar(&f.httpPort, "port", 4001, "HTTP port (0 picks a free one)")
	fs.IntVar(&f.gossipPort, "p", 40001, "gossip port, UDP and TCP (0 picks a free one)")
	fs.StringVar(&f.name, "name", "", "node name (default: hostname plus a random suffix)")
	fs.StringVar(&f.bind, "bind", "127.0.0.1", "address to bind HTTP and gossip to")
	fs.DurationVar(&f.tombstoneTTL, "tombstone-ttl", time.Hour, "how long deletes are remembered")
	fs.BoolVar(&f.verbose, "v", false, "print memberlist's own logs")
	if err := fs.Parse(args); err != nil {
		return f, err
	}
	if f.name == "" {
		f.name = defaultName()
	}
	return f, nil
}

// defaultName returns the host name with a random suffix, so that two
// nodes on one host get different names.
func defaultName() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "kv"
	}
	suffix := make([]byte, 3)
	rand.Read(suffix)
	return host + "-" + hex.EncodeToString(suffix)
}

func main() {
	f, err := parseFlags(os.Args[1:])
	if err != nil {
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, f); err != nil {
		fmt.Fprintln(os.Stderr, "kv:", err)
		os.Exit(1)
	}
}

// events logs membership changes.
type events struct{ log *log.Logger }

func (e events) NotifyJoin(n *memberlist.Node)   { e.log.Printf("join %s (%s)", n.Name, n.Address()) }
func (e events) NotifyLeave(n *memberlist.Node)  { e.log.Printf("leave %s", n.Name) }
func (e events) NotifyUpdate(n *memberlist.Node) {}

// run starts a node and its HTTP server, joins the cluster, and serves
// until ctx is done; then it leaves the cluster and shuts down.
func run(ctx context.Context, f flags) error {
	logger := log.New(os.Stderr, "kv: ", log.LstdFlags)
	conf := memberlist.DefaultLANConfig()
	conf.Name = f.name
	conf.BindAddr, conf.BindPort = f.bind, f.gossipPort
	conf.Events = events{logger}
	conf.LogOutput = io.Discard
	if f.verbose {
		conf.LogOutput = os.Stderr
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(f.bind, strconv.Itoa(f.httpPort)))
	if err != nil {
		return err
	}
	n, err := startNode(conf, nodeOptions{TombstoneTTL: f.tombstoneTTL})
	if err != nil {
		ln.Close()
		return err
	}
	srv := &http.Server{Handler: n.handler(), ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	fmt.Printf("node %s: http=%s gossip=%s\n", f.name, ln.Addr(), n.list.LocalNode().Address())
	if f.members != "" {
		if err := n.Join(strings.Split(f.members, ",")); err != nil {
			logger.Printf("join failed (the node runs alone until another joins it): %v", err)
		}
	}
	select {
	case <-ctx.Done():
	case err = <-served:
	}
	logger.Printf("leaving")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = errors.Join(err, srv.Shutdown(shutdownCtx))
	// A goodbye that could not be sent in time (the other nodes may be
	// leaving too) is worth a line in the log, not a failed exit.
	if cerr := n.Close(3 * time.Second); cerr != nil {
		logger.Printf("leave: %v", cerr)
	}
	return err
}
