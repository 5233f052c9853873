package memberlist

// Hostile peers against a real NetTransport node on 127.0.0.1, with and
// without a SecretKey (issue 13, item 2). Each test logs its figures (peak
// heap and RSS, goroutines, fds, probe answers) with a "figures:" prefix.
// The attacker lives in the test process, so its own sockets count in the
// fd figures; it holds no goroutine per socket. The floods run for
// hostileFloodTime, 2 s per phase by default; MEMBERLIST_HOSTILE_FLOOD=10s
// gives the 10 s (.ci/run sets it).

import (
	"bufio"
	"bytes"
	"net"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// hostileFloodTime is how long each flood phase runs.
func hostileFloodTime(t *testing.T) time.Duration {
	if s := os.Getenv("MEMBERLIST_HOSTILE_FLOOD"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			t.Fatalf("MEMBERLIST_HOSTILE_FLOOD: %v", err)
		}
		return d
	}
	return 2 * time.Second
}

// countingLog counts the log lines containing each of its patterns and
// keeps nothing else: floods write a line per bad packet.
type countingLog struct {
	mu       sync.Mutex
	patterns []string
	counts   []int
	lines    int
}

func newCountingLog(patterns ...string) *countingLog {
	return &countingLog{patterns: patterns, counts: make([]int, len(patterns))}
}

func (l *countingLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines += bytes.Count(p, []byte{'\n'})
	for i, pat := range l.patterns {
		l.counts[i] += bytes.Count(p, []byte(pat))
	}
	return len(p), nil
}

// count returns the number of lines seen with pattern i.
func (l *countingLog) count(i int) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.counts[i]
}

// hostileSampler records the peaks of goroutines, fds, heap in use and
// RSS every 20 ms until stopped.
type hostileSampler struct {
	mu       sync.Mutex
	peak     leakCounts
	peakHeap uint64
	peakLive uint64 // live heap as of the last collection
	peakRSS  uint64
	stop     chan struct{}
	done     chan struct{}
}

func startSampler() *hostileSampler {
	s := &hostileSampler{stop: make(chan struct{}), done: make(chan struct{})}
	s.sample()
	go func() {
		defer close(s.done)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-tick.C:
				s.sample()
			case <-s.stop:
				return
			}
		}
	}()
	return s
}

func (s *hostileSampler) sample() {
	c := takeLeakCounts()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	rss := readRSS()
	live := liveHeap()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.peak.goroutines = max(s.peak.goroutines, c.goroutines)
	s.peak.fds = max(s.peak.fds, c.fds)
	s.peakHeap = max(s.peakHeap, ms.HeapInuse)
	s.peakLive = max(s.peakLive, live)
	s.peakRSS = max(s.peakRSS, rss)
}

// peakLiveHeap returns the largest live heap seen, as measured by the
// collections that ran while sampling.
func (s *hostileSampler) peakLiveHeap() uint64 {
	s.sample()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peakLive
}

// liveHeap returns the bytes of heap objects that survived the last
// collection. Unlike HeapInuse it does not count garbage not yet collected,
// which a flood of large packets makes plenty of, more so under the race
// detector.
func liveHeap() uint64 {
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(sample)
	if sample[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return sample[0].Value.Uint64()
}

// reset starts a new peak from the current values.
func (s *hostileSampler) reset() {
	s.mu.Lock()
	s.peak, s.peakHeap, s.peakRSS = leakCounts{}, 0, 0
	s.mu.Unlock()
	s.sample()
}

func (s *hostileSampler) peaks() (leakCounts, uint64, uint64) {
	s.sample()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peak, s.peakHeap, s.peakRSS
}

func (s *hostileSampler) close() {
	close(s.stop)
	<-s.done
}

// readRSS returns the resident set size of the process in bytes, or 0.
func readRSS() uint64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb * 1024
		}
	}
	return 0
}

func heapInuse() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

const mib = 1 << 20

// hostileRig is a target node and a prober node that has joined it, both
// on NetTransports on 127.0.0.1, with a sampler and the counts taken once
// both run.
type hostileRig struct {
	t       *testing.T
	key     bool
	target  *Memberlist
	prober  *Memberlist
	log     *countingLog
	tcp     string       // the target's stream address
	udp     *net.UDPAddr // the target's packet address
	sampler *hostileSampler
	base    leakCounts
	pings   atomic.Int64
	answers atomic.Int64
	slowest atomic.Int64 // nanoseconds
}

// hostileTCPTimeout frees the attackers' streams quickly, yet leaves a
// loaded machine time to accept a few hundred streams before the first
// ones expire.
const hostileTCPTimeout = 3 * time.Second

// hostileProbeTimeout bounds each probe of the target.
const hostileProbeTimeout = 500 * time.Millisecond

func newHostileRig(t *testing.T, key bool, patterns ...string) *hostileRig {
	t.Helper()
	if testing.Short() {
		t.Skip("hostile peers on real sockets take seconds each; .ci/run runs them")
	}
	r := &hostileRig{t: t, key: key, log: newCountingLog(patterns...)}
	withKey := func(c *Config) {
		if key {
			c.SecretKey = pfKey()
		}
		c.TCPTimeout = hostileTCPTimeout
		// No periodic push/pull: the only streams are the attacker's and
		// the test's own.
		c.PushPullInterval = 0
	}
	r.target = newLoopbackNode(t, "target", withKey, func(c *Config) { c.LogOutput = r.log })
	r.prober = newLoopbackNode(t, "prober", withKey, func(c *Config) {
		// Ping keeps its ack handler for ProbeInterval: keep it longer
		// than the probe timeout.
		c.ProbeInterval = 2 * hostileProbeTimeout
		c.ProbeTimeout = hostileProbeTimeout
	})
	t.Cleanup(func() {
		r.prober.Shutdown()
		r.target.Shutdown()
	})
	r.tcp = r.target.LocalNode().Address()
	r.udp = &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: int(r.target.LocalNode().Port)}
	if _, err := r.prober.Join([]string{r.tcp}); err != nil {
		t.Fatalf("prober Join: %v", err)
	}
	r.sampler = startSampler()
	t.Cleanup(r.sampler.close)
	r.base = takeLeakCounts()
	return r
}

// probe pings the target from the prober once and records the answer.
func (r *hostileRig) probe() bool {
	r.pings.Add(1)
	start := time.Now()
	if _, err := r.prober.Ping("target", r.udp); err != nil {
		return false
	}
	rtt := time.Since(start)
	r.answers.Add(1)
	for {
		old := r.slowest.Load()
		if int64(rtt) <= old || r.slowest.CompareAndSwap(old, int64(rtt)) {
			return true
		}
	}
}

// probeEvery starts a probe of the target every interval, without
// waiting for the previous one, until stop is closed; the returned channel
// is closed when every probe has ended.
func (r *hostileRig) probeEvery(interval time.Duration, stop <-chan struct{}) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		var wg sync.WaitGroup
		defer wg.Wait()
		for {
			select {
			case <-stop:
				return
			case <-time.After(interval):
				wg.Go(func() { r.probe() })
			}
		}
	}()
	return done
}

// figures logs the peaks since the last reset against the base counts.
func (r *hostileRig) figures(what string, after leakCounts) {
	r.t.Helper()
	peak, heap, rss := r.sampler.peaks()
	r.t.Logf("figures: %s key=%v: peak heap %.1f MiB, peak RSS %.1f MiB, goroutines base/peak/after %d/%d/%d, fds base/peak/after %d/%d/%d, probes answered %d/%d (slowest %v)",
		what, r.key, float64(heap)/mib, float64(rss)/mib, r.base.goroutines, peak.goroutines, after.goroutines,
		r.base.fds, peak.fds, after.fds, r.answers.Load(), r.pings.Load(), time.Duration(r.slowest.Load()))
}

// dialMany opens n streams to the target, writes first on each, and
// returns them.
func (r *hostileRig) dialMany(n int, first []byte) []net.Conn {
	r.t.Helper()
	conns := make([]net.Conn, 0, n)
	r.t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	for range n {
		c, err := net.DialTimeout("tcp", r.tcp, time.Second)
		if err != nil {
			r.t.Fatalf("dial %d: %v", len(conns), err)
		}
		conns = append(conns, c)
		if len(first) > 0 {
			if _, err := c.Write(first); err != nil {
				r.t.Fatalf("write: %v", err)
			}
		}
	}
	return conns
}

// waitFreed waits until the target's goroutines are back to the base
// count (the attacker's sockets may stay open) and returns the counts.
func (r *hostileRig) waitFreed(limit time.Duration, what string) leakCounts {
	r.t.Helper()
	waitFor(r.t, limit, what, func() bool { return runtime.NumGoroutine() <= r.base.goroutines })
	return takeLeakCounts()
}

// hostileSlack allows for goroutines of the base count that exit on their
// own (a timer's, the end of the prober's Join) while the attacker's
// streams are being counted in.
const hostileSlack = 5

// streamOpening is the first bytes of a push/pull the target waits on: a
// plaintext type byte and the start of the header, or for a keyed target
// an encrypted frame header announcing 1 KiB that never comes.
func streamOpening(key bool) []byte {
	if key {
		return []byte{byte(encryptMsg), 0, 0, 4, 0}
	}
	return []byte{byte(pushPullMsg), 0x83}
}

// TestHostile_ManyStreams opens 300 streams at once that each start a
// push/pull and stall. Without a key, the target serves
// maxPushPullRequests-1 of them, lets the rest wait TCPTimeout/2 for a
// slot and then refuses them, each refusal counted by a log line ("Too
// many pending push/pull requests"). A member's Join meanwhile waits,
// is refused, retries, and gets a slot when the attacker's streams reach
// their deadline. With a key the attacker cannot get past the
// decryption, which reads the announced frame until the deadline, so the
// cap is never reached: every stream holds a goroutine and an fd until
// TCPTimeout. Meanwhile the target answers probes, and afterwards every
// goroutine is freed and push/pull works again.
func TestHostile_ManyStreams(t *testing.T) {
	for _, key := range []bool{false, true} {
		t.Run("key="+strconv.FormatBool(key), func(t *testing.T) {
			const n = 300
			r := newHostileRig(t, key, "Too many pending push/pull requests")
			conns := r.dialMany(n, streamOpening(key))
			wantRefused := 0
			if !key {
				wantRefused = n - (maxPushPullRequests - 1) // the waiters, after TCPTimeout/2
			}
			waitFor(t, hostileTCPTimeout, "streams accepted", func() bool {
				return runtime.NumGoroutine() >= r.base.goroutines+n-hostileSlack
			})
			for range 5 {
				if !r.probe() {
					t.Errorf("probe %d not answered within %v while %d streams are held", r.pings.Load(), hostileProbeTimeout, n-wantRefused)
				}
			}
			held := runtime.NumGoroutine() - r.base.goroutines
			// A legitimate push/pull competes for the same slots.
			_, joinErr := r.prober.Join([]string{r.tcp})
			if joinErr != nil {
				t.Errorf("push/pull from a member during the attack: %v", joinErr)
			}
			after := r.waitFreed(hostileTCPTimeout+leakSettle, "the held streams to be freed by their deadline")
			for _, c := range conns {
				c.Close()
			}
			r.base.waitBack(t, "after closing the attacker's streams", true)
			r.figures("300 stalled push/pulls", after)
			t.Logf("figures: refused %d (want %d), held goroutines %d, a member's push/pull during the attack: %v", r.log.count(0), wantRefused, held, joinErr)
			// The member's Join is refused at most joinAttempts-1 times.
			if got := r.log.count(0); got < wantRefused || (key && got != 0) || got > wantRefused+joinAttempts-1 {
				t.Errorf("%d refusals logged, want %d, plus up to %d of the member's", got, wantRefused, joinAttempts-1)
			}
			if _, err := r.prober.Join([]string{r.tcp}); err != nil {
				t.Errorf("push/pull after the attack: %v", err)
			}
		})
	}
}

// TestHostile_SlowStreams opens 100 streams that send nothing and 100
// that send one byte a second of a push/pull. The target sets one
// deadline per stream when it accepts it, so dribbling does not extend it:
// every stream is closed within TCPTimeout and its goroutine and fd freed.
func TestHostile_SlowStreams(t *testing.T) {
	for _, key := range []bool{false, true} {
		t.Run("key="+strconv.FormatBool(key), func(t *testing.T) {
			const n = 100
			r := newHostileRig(t, key)
			silent := r.dialMany(n, nil)
			slow := r.dialMany(n, nil)
			stop := make(chan struct{})
			dripped := make(chan struct{})
			// One goroutine for all the slow streams: its own count is
			// part of what waitFreed allows.
			r.base.goroutines++
			go func() {
				defer close(dripped)
				drip := append(streamOpening(key), bytes.Repeat([]byte{0}, 8)...)
				for i := 0; ; i++ {
					for _, c := range slow {
						c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
						c.Write(drip[i%len(drip) : i%len(drip)+1])
					}
					select {
					case <-stop:
						return
					case <-time.After(time.Second):
					}
				}
			}()
			start := time.Now()
			waitFor(t, hostileTCPTimeout, "streams accepted", func() bool {
				return runtime.NumGoroutine() >= r.base.goroutines+2*n-hostileSlack
			})
			if !r.probe() {
				t.Errorf("probe not answered within %v while %d slow streams are open", hostileProbeTimeout, 2*n)
			}
			after := r.waitFreed(hostileTCPTimeout+leakSettle, "the slow streams to be freed by their deadline")
			freedIn := time.Since(start)
			close(stop)
			<-dripped
			r.base.goroutines--
			for _, c := range append(silent, slow...) {
				if !closedByPeerWithin(c, time.Second) {
					t.Errorf("stream %v still open at the target after its deadline", c.LocalAddr())
				}
			}
			for _, c := range append(silent, slow...) {
				c.Close()
			}
			r.base.waitBack(t, "after closing the attacker's streams", true)
			r.figures("100 silent + 100 1-byte/s streams", after)
			t.Logf("figures: all freed %v after they opened (TCPTimeout %v)", freedIn.Round(time.Millisecond), hostileTCPTimeout)
		})
	}
}
