package main

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gossip-go/memberlist"
)

// lockedBuffer is a bytes.Buffer safe for concurrent use.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestLibraryLogsFollowLogLevel sends a node a stream with another label:
// the library logs "Stream connection" at DEBUG, then the refusal at WARN,
// from one goroutine. Both reach the agent's handler with
// component=memberlist, and the DEBUG record only at -log-level debug.
func TestLibraryLogsFollowLogLevel(t *testing.T) {
	for _, tc := range []struct {
		level     slog.Level
		wantDebug bool
	}{
		{slog.LevelDebug, true},
		{slog.LevelInfo, false},
	} {
		t.Run(tc.level.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var out lockedBuffer
				logger := slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: tc.level}))
				network := &memberlist.MockNetwork{}
				conf := memberlist.DefaultLocalConfig()
				conf.Name = "a1"
				conf.Label = "prod"
				conf.Transport = network.NewTransport("a1")
				conf.Slog = libraryLogger(logger)
				m, err := memberlist.Create(conf)
				if err != nil {
					t.Fatal(err)
				}
				defer m.Shutdown()

				conn, err := network.NewTransport("x").DialAddressTimeout(memberlist.Address{Addr: m.LocalNode().Address(), Name: "a1"}, time.Second)
				if err != nil {
					t.Fatal(err)
				}
				conn.Write(append([]byte{244, 4}, "test"...)) // a label header
				conn.Close()
				const refusal = `level=WARN msg="discarding stream with unacceptable label" component=memberlist`
				waitVirtual(t, "the refusal logged", func() bool { return strings.Contains(out.String(), refusal) })
				debug := strings.Contains(out.String(), `level=DEBUG msg="Stream connection" component=memberlist`)
				if debug != tc.wantDebug {
					t.Errorf("at %v, DEBUG record logged: %v, want %v:\n%s", tc.level, debug, tc.wantDebug, out.String())
				}
			})
		})
	}
}
