package memberlist

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"slices"
	"strings"
	"syscall"
	"time"

	metrics "github.com/hashicorp/go-metrics"
)

// TCP-only failures (upstream #264). A member whose packets are answered
// stays alive however its streams fail, so push/pull and SendReliable to it
// fail with nothing but a log line. Here a failed stream to a member that
// is alive starts a check: every probe period a stream ping to it, until
// streamFailThreshold consecutive streams have failed, when the member is
// reported (a metric per cause, a warning at most once per
// streamWarnEvery for it, and StreamFailures), or until
// streamRecoverThreshold consecutive streams succeed again. The
// membership state is never touched: the member answers probes and would
// refute any suspicion, so suspecting it would only make it flap.
//
// The rules are the methods of streamHealth, which take the time as an
// argument and touch no lock, clock or socket; streamCheckLoop is the
// shell.

const (
	// streamFailThreshold is how many consecutive failed streams make a
	// member reported.
	streamFailThreshold = 3
	// streamRecoverThreshold is how many consecutive successful streams
	// clear a reported member.
	streamRecoverThreshold = 2
	// streamMaxCheckBackoff bounds, in probe intervals, the wait between
	// two checks of a reported member.
	streamMaxCheckBackoff = 16
	// streamWarnEvery is the shortest time between two warnings about one
	// member.
	streamWarnEvery = time.Minute
)

// streamCause is why a stream failed.
type streamCause uint8

const (
	causeOther streamCause = iota
	causeRefused
	causeTimeout
	causeReset
)

// String returns the cause as it appears in metrics and StreamFailure.
func (c streamCause) String() string {
	switch c {
	case causeRefused:
		return "refused"
	case causeTimeout:
		return "timeout"
	case causeReset:
		return "reset"
	}
	return "other"
}

// classifyStreamError returns why a stream failed with err.
func classifyStreamError(err error) streamCause {
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED), strings.Contains(err.Error(), "refused"):
		return causeRefused
	case errors.Is(err, os.ErrDeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return causeTimeout
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.Is(err, io.EOF),
		errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.ErrClosedPipe), strings.Contains(err.Error(), "reset"):
		return causeReset
	}
	return causeOther
}

// streamRecord is what a node knows of its streams to one member.
type streamRecord struct {
	failures  int         // consecutive failures; 0 when healthy
	successes int         // consecutive successes while reported
	cause     streamCause // of the last failure
	since     time.Time   // first of the consecutive failures
	reported  bool
	nextCheck time.Time
	lastWarn  time.Time
}

// streamEffect is what the shell does after a stream outcome.
type streamEffect struct {
	failed    bool // count a failure of cause
	cause     streamCause
	reported  bool // the member has just been reported
	recovered bool // the member is no longer reported
	warn      bool // log a warning about it now
}

// streamHealth holds a streamRecord per member with a recent failure. Its
// zero value is ready to use. It is not safe for concurrent use:
// Memberlist guards it with streamMu.
type streamHealth struct {
	peers map[string]*streamRecord
}

// result records a stream to name that failed with err, or succeeded when
// err is nil, at now, and returns what to do. probe is the probe interval.
func (h *streamHealth) result(name string, err error, now time.Time, probe time.Duration) streamEffect {
	r := h.peers[name]
	if err == nil {
		if r == nil || r.failures == 0 {
			return streamEffect{}
		}
		if !r.reported {
			r.failures = 0
			return streamEffect{}
		}
		r.successes++
		if r.successes < streamRecoverThreshold {
			r.nextCheck = now.Add(probe)
			return streamEffect{}
		}
		r.failures, r.successes, r.reported = 0, 0, false
		return streamEffect{recovered: true}
	}
	if h.peers == nil {
		h.peers = make(map[string]*streamRecord)
	}
	if r == nil {
		r = &streamRecord{}
		h.peers[name] = r
	}
	if r.failures == 0 {
		r.since = now
	}
	r.failures++
	r.successes = 0
	r.cause = classifyStreamError(err)
	eff := streamEffect{failed: true, cause: r.cause}
	if !r.reported && r.failures >= streamFailThreshold {
		r.reported, eff.reported = true, true
		if r.lastWarn.IsZero() || now.Sub(r.lastWarn) >= streamWarnEvery {
			r.lastWarn, eff.warn = now, true
		}
	}
	r.nextCheck = now.Add(streamCheckDelay(probe, r.failures))
	return eff
}

// streamCheckDelay returns how long after its nth consecutive failure a
// member's stream is checked again: one probe interval until it is
// reported, then doubling, at most streamMaxCheckBackoff intervals.
func streamCheckDelay(probe time.Duration, failures int) time.Duration {
	mult := 1
	for i := streamFailThreshold; i < failures && mult < streamMaxCheckBackoff; i++ {
		mult *= 2
	}
	return probe * time.Duration(mult)
}

// due returns the member whose check is due at now and has waited the
// longest, if any: one with failures, or reported, whose nextCheck is not
// after now. Names break ties, so map order decides nothing. It drops the
// records of healthy members last warned about streamWarnEvery ago or
// more, so the map holds only members with recent trouble.
func (h *streamHealth) due(now time.Time) (string, bool) {
	best := ""
	var bestAt time.Time
	for name, r := range h.peers {
		if r.failures == 0 && now.Sub(r.lastWarn) >= streamWarnEvery {
			delete(h.peers, name)
			continue
		}
		if r.failures == 0 || r.nextCheck.After(now) {
			continue
		}
		if best == "" || r.nextCheck.Before(bestAt) || (r.nextCheck.Equal(bestAt) && name < best) {
			best, bestAt = name, r.nextCheck
		}
	}
	return best, best != ""
}

// postpone moves the next check of name, if it has a record, to until.
func (h *streamHealth) postpone(name string, until time.Time) {
	if r := h.peers[name]; r != nil {
		r.nextCheck = until
	}
}

// forget drops name: it no longer answers probes (or is gone), so its
// streams failing is no TCP-only failure. It reports whether name was
// reported.
func (h *streamHealth) forget(name string) bool {
	r := h.peers[name]
	delete(h.peers, name)
	return r != nil && r.reported
}

// numReported returns how many members are reported.
func (h *streamHealth) numReported() int {
	n := 0
	for _, r := range h.peers {
		if r.reported {
			n++
		}
	}
	return n
}

// reportedList returns the reported members, sorted by name.
func (h *streamHealth) reportedList() []StreamFailure {
	var out []StreamFailure
	for name, r := range h.peers {
		if r.reported {
			out = append(out, StreamFailure{Node: name, Cause: r.cause.String(), Since: r.since, Failures: r.failures})
		}
	}
	slices.SortFunc(out, func(a, b StreamFailure) int { return strings.Compare(a.Node, b.Node) })
	return out
}

// StreamFailure describes a member that answers probes, so it is alive,
// but that the local node keeps failing to reach over a stream (TCP with
// NetTransport): push/pull with it and SendReliable to it fail.
type StreamFailure struct {
	Node     string    // the member's name
	Cause    string    // of the last failure: "refused", "timeout", "reset" or "other"
	Since    time.Time // when the consecutive failures began
	Failures int       // consecutive failed streams
}

// StreamFailures returns the members the local node holds alive but has
// failed to reach over a stream at least three times in a row, in name
// order; nil when there are none. A failed push/pull or SendReliable to
// an alive member makes the node check it with a stream ping every probe
// interval, so a member whose streams all fail is listed within about
// three probe intervals of the first failure; it is removed after two
// consecutive successful streams, or when it stops answering probes. The
// list says nothing of members that were not contacted over a stream.
// Where TCP pings are disabled (DisableTcpPings, DisableTcpPingsForNode,
// or a member speaking protocol 2 or less), no check is made, and only
// failed push/pulls and reliable messages count.
func (m *Memberlist) StreamFailures() []StreamFailure {
	m.streamMu.Lock()
	defer m.streamMu.Unlock()
	return m.streamHealth.reportedList()
}

// Metric keys of stream health; hashicorp/memberlist emits neither.
var (
	keyTCPFailed      = []string{"memberlist", "tcp", "failed"}      // counter, label cause
	keyTCPUnreachable = []string{"memberlist", "tcp", "unreachable"} // gauge: members listed by StreamFailures, set each probe interval when it changed
)

// noteStream records the outcome of a stream the local node opened to
// name (err nil for a success) and carries out what it implies. Only a
// member held alive counts: one that does not answer probes is the
// failure detector's business.
func (m *Memberlist) noteStream(name string, err error) {
	m.streamMu.Lock()
	tracked := m.streamHealth.peers[name] != nil
	m.streamMu.Unlock()
	if err == nil && !tracked {
		return // the common case: a stream that worked to a healthy member
	}
	m.mu.Lock()
	st, ok := m.table.nodeMap[name]
	alive := ok && st.State == StateAlive && name != m.config.Name
	m.mu.Unlock()
	m.streamMu.Lock()
	var eff streamEffect
	if alive {
		eff = m.streamHealth.result(name, err, time.Now(), m.config.ProbeInterval)
	} else {
		m.streamHealth.forget(name)
	}
	m.streamMu.Unlock()
	if eff.failed {
		labels := append(slices.Clip(m.labels.base), metrics.Label{Name: "cause", Value: eff.cause.String()})
		m.metrics.IncrCounterWithLabels(keyTCPFailed, 1, labels)
	}
	if eff.warn {
		m.logger.Warn("Streams keep failing to a node that answers probes: push/pull and reliable messages to it fail",
			logNode(name), slog.String("cause", eff.cause.String()), logErr(err))
	}
	if eff.recovered {
		m.logger.Info("Streams work again", logNode(name))
	}
}

// startStreamCheck starts the loop that checks members with failed
// streams, one per probe interval.
func (m *Memberlist) startStreamCheck() {
	if m.config.ProbeInterval <= 0 {
		return
	}
	m.goroutines.Go(func() {
		t := time.NewTicker(m.config.ProbeInterval)
		defer t.Stop()
		gauge := 0 // last value of memberlist.tcp.unreachable emitted
		for {
			select {
			case <-t.C:
				gauge = m.emitUnreachable(gauge)
				m.checkStream()
			case <-m.shutdownCh:
				return
			}
		}
	})
}

// emitUnreachable sets the memberlist.tcp.unreachable gauge when the
// number of reported members differs from last, and returns that number.
// Only the check loop calls it, so emissions cannot be reordered.
func (m *Memberlist) emitUnreachable(last int) int {
	m.streamMu.Lock()
	n := m.streamHealth.numReported()
	m.streamMu.Unlock()
	if n != last {
		m.metrics.SetGaugeWithLabels(keyTCPUnreachable, float32(n), m.labels.base)
	}
	return n
}

// checkStream pings, over a stream, the member whose check is due, if any.
func (m *Memberlist) checkStream() {
	m.streamMu.Lock()
	// A check due before the next tick runs at this one: a failure just
	// after a tick is checked one interval later, not two.
	name, ok := m.streamHealth.due(time.Now().Add(m.config.ProbeInterval / 2))
	m.streamMu.Unlock()
	if !ok {
		return
	}
	m.mu.Lock()
	st, known := m.table.nodeMap[name]
	var node Node
	if known {
		node = st.node()
	}
	m.mu.Unlock()
	if known && !m.streamPingAllowed(&node) {
		// Failed push/pulls and reliable messages still count.
		m.streamMu.Lock()
		m.streamHealth.postpone(name, time.Now().Add(streamMaxCheckBackoff*m.config.ProbeInterval))
		m.streamMu.Unlock()
		return
	}
	if !known {
		m.streamMu.Lock()
		m.streamHealth.forget(name)
		m.streamMu.Unlock()
		return
	}
	p := ping{SeqNo: m.nextSeqNo(), Node: name, SourceAddr: m.advertiseAddr, SourcePort: m.advertisePort, SourceNode: m.config.Name}
	m.noteStream(name, m.streamPing(node.FullAddress(), &p, time.Now().Add(m.config.ProbeInterval)))
}

// streamPingAllowed reports whether node may be checked with a stream
// ping: it speaks protocol 3 or later, and TCP pings are not disabled for
// it (DisableTcpPings, DisableTcpPingsForNode).
func (m *Memberlist) streamPingAllowed(node *Node) bool {
	disabled := m.config.DisableTcpPings || node.PMax < 3
	if f := m.config.DisableTcpPingsForNode; f != nil && !disabled {
		m.goroutines.callback(func() { disabled = f(node.Name) })
	}
	return !disabled
}

// streamPing pings a over a stream, and returns nil when the ack came
// before deadline, or why not.
func (m *Memberlist) streamPing(a Address, p *ping, deadline time.Time) error {
	conn, err := m.dialStream(a, time.Until(deadline))
	if err != nil {
		return err
	}
	ok, err := m.pingOverStream(conn, p, deadline)
	if err == nil && !ok {
		err = fmt.Errorf("no ack over the stream to %s", a.Name)
	}
	return err
}
