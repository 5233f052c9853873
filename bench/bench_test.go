package bench

import (
	"bytes"
	"crypto/cipher"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// A scenario is written once against lib and run for each library, both as
// a benchmark (lib=ours / lib=theirs sub-benchmarks) and, once per library,
// by TestScenarios.
type scenario struct {
	name  string
	setup func(tb testing.TB, l lib, r *run)
}

// run is one set-up scenario. The driver calls prep (outside the timer)
// before every batch of up to batch operations, then op(i) for i in
// [0, n) of that batch. check, when set, verifies the outcome after a test
// run of a few operations.
type run struct {
	batch int
	prep  func(n int)
	op    func(i int) error
	check func() error

	// timeout bounds each wait in a test run; benchmarks leave it zero and
	// rely on go test's -timeout, to keep timers out of the measurement.
	timeout time.Duration
}

var errTimeout = errors.New("timed out waiting for the node")

// wait receives one token from ch.
func (r *run) wait(ch <-chan struct{}) error {
	if r.timeout == 0 {
		<-ch
		return nil
	}
	t := time.NewTimer(r.timeout)
	defer t.Stop()
	select {
	case <-ch:
		return nil
	case <-t.C:
		return errTimeout
	}
}

// scenarios is every benchmark, in README order.
var scenarios = []scenario{
	{"QueueBroadcast", setupQueueBroadcast},
	{"GetBroadcasts", setupGetBroadcasts},
	{"PingAck/plain", func(tb testing.TB, l lib, r *run) { setupPingAck(tb, l, r, nil) }},
	{"PingAck/encrypted", func(tb testing.TB, l lib, r *run) { setupPingAck(tb, l, r, benchKey) }},
	{"AliveIngest", setupAliveIngest},
	{"PushPull/nodes=100", func(tb testing.TB, l lib, r *run) { setupPushPull(tb, l, r, 100) }},
	{"PushPull/nodes=1000", func(tb testing.TB, l lib, r *run) { setupPushPull(tb, l, r, 1000) }},
}

var benchKey = []byte("0123456789abcdef") // AES-128

func BenchmarkQueueBroadcast(b *testing.B) { benchScenarios(b, "QueueBroadcast") }
func BenchmarkGetBroadcasts(b *testing.B)  { benchScenarios(b, "GetBroadcasts") }
func BenchmarkPingAck(b *testing.B)        { benchScenarios(b, "PingAck/") }
func BenchmarkAliveIngest(b *testing.B)    { benchScenarios(b, "AliveIngest") }
func BenchmarkPushPull(b *testing.B)       { benchScenarios(b, "PushPull/") }

// benchScenarios runs the scenarios whose names start with prefix, each as
// lib=ours and lib=theirs sub-benchmarks, with the setup outside the timer.
func benchScenarios(b *testing.B, prefix string) {
	for _, s := range scenarios {
		rest, ok := strings.CutPrefix(s.name, prefix)
		if !ok {
			continue
		}
		for _, l := range libs {
			name := "lib=" + l.name()
			if rest != "" {
				name = rest + "/" + name
			}
			b.Run(name, func(b *testing.B) {
				r := &run{}
				s.setup(b, l, r)
				b.ReportAllocs()
				b.ResetTimer()
				drive(b, r, b.N)
			})
		}
	}
}

// drive performs n operations, preparing inputs in batches with the timer
// stopped (when tb is a *testing.B).
func drive(tb testing.TB, r *run, n int) {
	b, _ := tb.(*testing.B)
	batch := r.batch
	if batch <= 0 {
		batch = n
	}
	for done := 0; done < n; {
		k := min(batch, n-done)
		if r.prep != nil {
			if b != nil {
				b.StopTimer()
			}
			r.prep(k)
			if b != nil {
				b.StartTimer()
			}
		}
		for i := range k {
			if err := r.op(i); err != nil {
				tb.Fatalf("operation %d: %v", done+i, err)
			}
		}
		done += k
	}
}

// TestScenarios runs every scenario a few times for each library and checks
// that it did what the benchmark assumes, so CI notices a broken benchmark
// without running it.
func TestScenarios(t *testing.T) {
	for _, s := range scenarios {
		for _, l := range libs {
			t.Run(s.name+"/lib="+l.name(), func(t *testing.T) {
				r := &run{timeout: 10 * time.Second}
				s.setup(t, l, r)
				drive(t, r, 5)
				if r.check != nil {
					if err := r.check(); err != nil {
						t.Fatal(err)
					}
				}
			})
		}
	}
}

const (
	queueSize   = 1000 // broadcasts held by the queue benchmarks
	queueNodes  = 1000 // NumNodes: retransmit limit 4 × ceil(log10 1001) = 16
	queueMult   = 4
	packetLimit = 1400 // the default UDPBufferSize
)

// queueBroadcasts makes count named broadcasts with names node-0 ...,
// message lengths cycling through 20..139 bytes.
func queueBroadcasts(count int, finished func(*bcast)) []*bcast {
	out := make([]*bcast, count)
	for i := range out {
		out[i] = &bcast{
			nodeName: "node-" + itoa(i),
			msg:      bytes.Repeat([]byte{byte(i)}, 20+i%120),
			finished: finished,
		}
	}
	return out
}

// setupQueueBroadcast: a queue holding 1,000 named broadcasts; each
// operation queues a new broadcast for one of those names, which replaces
// the queued one, so the queue stays at 1,000.
func setupQueueBroadcast(tb testing.TB, l lib, r *run) {
	q := l.newQueue(queueNodes, queueMult)
	gens := [2][]*bcast{queueBroadcasts(queueSize, nil), queueBroadcasts(queueSize, nil)}
	for _, b := range gens[0] {
		q.queueBroadcast(b)
	}
	next := 0
	r.op = func(int) error {
		q.queueBroadcast(gens[(next/queueSize+1)%2][next%queueSize])
		next++
		return nil
	}
	r.check = func() error {
		if n := q.numQueued(); n != queueSize {
			return fmt.Errorf("NumQueued = %d, want %d", n, queueSize)
		}
		return nil
	}
}

// setupGetBroadcasts: a queue of 1,000 broadcasts; each operation is one
// GetBroadcasts(2, 1400), after which the broadcasts that reached their
// retransmit limit (Finished) are queued again, so the queue never drains.
func setupGetBroadcasts(tb testing.TB, l lib, r *run) {
	q := l.newQueue(queueNodes, queueMult)
	var done []*bcast
	bs := queueBroadcasts(queueSize, func(b *bcast) { done = append(done, b) })
	done = make([]*bcast, 0, queueSize)
	for _, b := range bs {
		q.queueBroadcast(b)
	}
	got := 0
	r.op = func(int) error {
		msgs := q.getBroadcasts(2, packetLimit)
		if len(msgs) == 0 {
			return errors.New("GetBroadcasts returned nothing")
		}
		got += len(msgs)
		for _, b := range done {
			q.queueBroadcast(b)
		}
		done = done[:0]
		return nil
	}
	r.check = func() error {
		if n := q.numQueued(); n != queueSize {
			return fmt.Errorf("NumQueued = %d, want %d", n, queueSize)
		}
		if got < 5*10 {
			return fmt.Errorf("5 calls returned %d messages, want at least 50", got)
		}
		return nil
	}
}

// setupPingAck: each operation hands the node one ping packet for it
// (plaintext, or encrypted with key) and waits until the node has written
// its ack. The pings are encoded (and encrypted) before the timer starts.
func setupPingAck(tb testing.TB, l lib, r *run, key []byte) {
	n := l.newNode(tb, nodeOptions{secretKey: key})
	var seq uint32
	var aead cipher.AEAD
	if key != nil {
		aead = newAEAD(key)
	}
	r.batch = 1024
	r.prep = func(k int) {
		bufs := make([][]byte, k)
		for i := range bufs {
			seq++
			bufs[i] = pingPacket(seq, aead)
		}
		n.preparePackets(bufs)
	}
	r.op = func(i int) error {
		n.sendPacket(i)
		return r.wait(n.writes())
	}
	if _, ok := tb.(*testing.T); ok {
		n.startRecording()
	}
	r.check = func() error { return checkAcks(n.recorded(), seq, key) }
}

// pingPacket is the ping a peer at peerAddr named "peer" sends to us,
// encrypted when aead is not nil.
func pingPacket(seq uint32, aead cipher.AEAD) []byte {
	msg := appendPing(nil, pingBody{
		Node:       nodeName,
		SeqNo:      seq,
		SourceAddr: peerAddr.IP,
		SourcePort: uint16(peerAddr.Port),
		SourceNode: "peer",
	})
	if aead != nil {
		return encryptV1(aead, msg)
	}
	return msg
}

// checkAcks verifies that the packets written were acks for 1..last, in
// order, possibly carrying piggybacked broadcasts.
func checkAcks(sent [][]byte, last uint32, key []byte) error {
	if len(sent) != int(last) {
		return fmt.Errorf("node wrote %d packets for %d pings", len(sent), last)
	}
	for i, p := range sent {
		if key != nil {
			var err error
			if p, err = decryptV1(newAEAD(key), p); err != nil {
				return fmt.Errorf("packet %d: %v", i, err)
			}
		}
		ack, err := firstPart(p)
		if err != nil {
			return fmt.Errorf("packet %d: %v", i, err)
		}
		if want := wantAck(uint32(i + 1)); !bytes.Equal(ack, want) {
			return fmt.Errorf("packet %d: % x, want ack % x", i, ack, want)
		}
	}
	return nil
}

// aliveTableMax bounds the member table of AliveIngest: the node is
// replaced by a fresh one (with the timer stopped) before it would exceed
// it, so the figure is per message into a table of 1 to aliveTableMax
// members whatever b.N is, and the same for both libraries.
const aliveTableMax = 10240

// setupAliveIngest: each operation hands the node an alive packet about a
// node it has never heard of and waits for the resulting NotifyJoin, so the
// member table grows by one node per operation.
func setupAliveIngest(tb testing.TB, l lib, r *run) {
	n := l.newNode(tb, nodeOptions{})
	fresh, inNode := 0, 0
	r.batch = 1024
	r.prep = func(k int) {
		if inNode+k > aliveTableMax {
			n.shutdown()
			n, inNode = l.newNode(tb, nodeOptions{}), 0
		}
		bufs := make([][]byte, k)
		for i := range bufs {
			bufs[i] = appendAlive(nil, aliveBody{
				Node:        "fresh-" + itoa(fresh),
				Incarnation: 1,
				Addr:        net.IPv4(127, 0, 0, 3).To4(),
				Port:        uint16(1024 + fresh%60000),
				Vsn:         vsn,
			})
			fresh++
		}
		inNode += k
		n.preparePackets(bufs)
	}
	r.op = func(i int) error {
		n.sendPacket(i)
		return r.wait(n.joins())
	}
	r.check = func() error {
		if got, want := n.numMembers(), 1+inNode; got != want {
			return fmt.Errorf("NumMembers = %d, want %d", got, want)
		}
		return nil
	}
}

// setupPushPull: a remote peer with a table of nodes alive entries sends a
// periodic (Join false) push/pull over a stream; each operation pushes a
// fresh net.Pipe end into StreamCh, writes the request and reads the reply
// until the node closes the stream. One exchange runs before the timer, so
// the measured ones are the steady state of two converged nodes: every
// remote entry is already known, and the reply lists nodes+1 entries.
func setupPushPull(tb testing.TB, l lib, r *run, nodes int) {
	n := l.newNode(tb, nodeOptions{})
	req := pushPullStream(remoteStates(nodes), false)
	var replies [][]byte
	exchange := func(client, server net.Conn) error {
		defer client.Close()
		if r.timeout != 0 {
			client.SetDeadline(time.Now().Add(r.timeout))
		}
		n.pushStream(server)
		if _, err := client.Write(req); err != nil {
			return fmt.Errorf("writing push/pull: %w", err)
		}
		if r.timeout == 0 { // a benchmark: allocate nothing here
			if _, err := io.Copy(io.Discard, client); err != nil {
				return fmt.Errorf("reading reply: %w", err)
			}
			return nil
		}
		rep, err := io.ReadAll(client) // a test run keeps the reply
		if err != nil {
			return fmt.Errorf("reading reply: %w", err)
		}
		replies = append(replies, rep)
		return nil
	}
	c, s := net.Pipe()
	if err := exchange(c, s); err != nil {
		tb.Fatalf("warm-up exchange: %v", err)
	}
	waitMembers(tb, n, nodes+1)
	replies = nil

	var pipes [][2]net.Conn
	r.batch = 256
	r.prep = func(k int) {
		pipes = pipes[:0]
		for range k {
			c, s := net.Pipe()
			pipes = append(pipes, [2]net.Conn{c, s})
		}
	}
	r.op = func(i int) error { return exchange(pipes[i][0], pipes[i][1]) }
	r.check = func() error {
		want := appendPushPullHeader([]byte{pushPullMsg}, nodes+1, 0, false)
		for i, rep := range replies {
			if !bytes.HasPrefix(rep, want) {
				return fmt.Errorf("reply %d starts % x, want % x", i, rep[:min(len(rep), len(want))], want)
			}
		}
		if len(replies) == 0 {
			return errors.New("no replies")
		}
		if got := n.numMembers(); got != nodes+1 {
			return fmt.Errorf("NumMembers = %d, want %d", got, nodes+1)
		}
		return nil
	}
}

// waitMembers waits, outside any timer, until the node counts want members.
func waitMembers(tb testing.TB, n node, want int) {
	deadline := time.Now().Add(10 * time.Second)
	for n.numMembers() != want {
		if time.Now().After(deadline) {
			tb.Fatalf("NumMembers = %d, want %d", n.numMembers(), want)
		}
		time.Sleep(time.Millisecond)
	}
}
