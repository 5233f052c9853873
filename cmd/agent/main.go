// Command agent runs one memberlist node and shows the cluster over HTTP.
//
//	agent -name a1 -bind 127.0.0.1 -port 7946 -http 127.0.0.1:7980
//	agent -name a2 -bind 127.0.0.1 -port 7947 -http 127.0.0.1:7981 -join 127.0.0.1:7946
//
// It joins the members given by -join, retrying with backoff until one
// answers, logs membership events with log/slog, and serves:
//
//	/         an HTML page listing the members, refreshing itself
//	/members  the same as JSON
//	/metrics  memberlist's metrics in the Prometheus text format
//
// On SIGINT or SIGTERM it leaves the cluster gracefully and exits 0. It
// exits 1 when it cannot start and 2 on a bad command line.
package main

import (
	"context"
	crand "crypto/rand"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/gossip-go/memberlist"
	gometrics "github.com/hashicorp/go-metrics"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stderr)
	stop()
	os.Exit(code)
}

// run runs the agent until ctx is done and returns the exit code.
func run(ctx context.Context, args []string, stderr io.Writer) int {
	opts, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "agent:", err)
		return 2
	}
	var level slog.LevelVar
	level.Set(opts.logLevel)
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: &level}))
	if err := serve(ctx, opts, logger); err != nil {
		logger.Error("agent stopped", "err", err)
		return 1
	}
	return 0
}

// serve starts the node and the HTTP server, joins, and on ctx's end
// leaves, shuts down and returns.
func serve(ctx context.Context, opts *options, logger *slog.Logger) error {
	conf, err := opts.memberlistConfig()
	if err != nil {
		return err
	}
	reg, mconf, sink, err := newMetrics()
	if err != nil {
		return err
	}
	// memberlist emits to go-metrics' global instance.
	if _, err := gometrics.NewGlobal(mconf, sink); err != nil {
		return err
	}
	members := newMembership(logger, opts.departedTTL, time.Now)
	conf.Events = members
	conf.Slog = libraryLogger(logger)
	if opts.meta != "" {
		conf.Delegate = metaDelegate(opts.meta)
	}
	ml, err := memberlist.Create(conf)
	if err != nil {
		return err
	}
	defer ml.Shutdown()
	members.setTable(ml.MemberStates)

	srv := &server{cluster: ml, membership: members, gatherer: reg, logger: logger, now: time.Now}
	stopHTTP, httpAddr, err := startHTTP(opts.httpAddr, srv, logger)
	if err != nil {
		return err
	}
	defer stopHTTP()
	logger.Info("agent started", "node", conf.Name, "gossip", ml.LocalNode().Address(), "http", httpAddr, "profile", opts.profile)

	// Shutdown runs before the wait so that a join in progress fails fast.
	var wg sync.WaitGroup
	joinCtx, cancelJoin := context.WithCancel(ctx)
	defer wg.Wait()
	defer ml.Shutdown()
	defer cancelJoin()
	if len(opts.join) > 0 {
		wg.Go(func() {
			b := backoff{min: 500 * time.Millisecond, max: 30 * time.Second, jitter: newJitter()}
			joinLoop(joinCtx, ml.Join, opts.join, b, logger)
		})
	} else {
		logger.Info("no -join given: waiting for others to join")
	}

	<-ctx.Done()
	logger.Info("leaving", "timeout", opts.leaveWait)
	cancelJoin()
	// A leave that is not confirmed in time (every peer stopped too, say)
	// is not a failure of the agent: the peers will detect it as failed.
	if err := ml.Leave(opts.leaveWait); err != nil {
		logger.Warn("leave not confirmed; peers will detect the failure", "err", err)
		return nil
	}
	logger.Info("left the cluster")
	return nil
}

// startHTTP serves srv on addr until the returned stop function is called.
// An empty addr serves nothing. It returns the address listened on.
func startHTTP(addr string, srv *server, logger *slog.Logger) (stop func(), listening string, err error) {
	if addr == "" {
		return func() {}, "", nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, "", fmt.Errorf("-http: %w", err)
	}
	hs := &http.Server{
		Handler:           srv.handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelDebug),
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := hs.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			logger.Error("HTTP server stopped", "err", err)
		}
	}()
	stop = func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		hs.Shutdown(ctx)
		<-done
	}
	return stop, ln.Addr().String(), nil
}

// newJitter returns a jitter function for backoff that waits a random
// time in [d/2, d], from a generator seeded from crypto/rand.
func newJitter() func(time.Duration) time.Duration {
	var seed [16]byte
	crand.Read(seed[:])
	r := rand.New(rand.NewPCG(binary.LittleEndian.Uint64(seed[:8]), binary.LittleEndian.Uint64(seed[8:])))
	return func(d time.Duration) time.Duration {
		return d/2 + time.Duration(r.Int64N(int64(d/2)+1))
	}
}

// metaDelegate is a memberlist.Delegate that only announces metadata.
type metaDelegate string

// NodeMeta returns the metadata, cut to limit bytes.
func (d metaDelegate) NodeMeta(limit int) []byte {
	return []byte(d[:min(len(d), limit)])
}

// NotifyMsg ignores user messages.
func (metaDelegate) NotifyMsg([]byte) {}

// GetBroadcasts returns no user messages.
func (metaDelegate) GetBroadcasts(int, int) [][]byte { return nil }

// LocalState returns no user state.
func (metaDelegate) LocalState(bool) []byte { return nil }

// MergeRemoteState ignores remote user state.
func (metaDelegate) MergeRemoteState([]byte, bool) {}
