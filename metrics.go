package memberlist

import (
	"time"

	metrics "github.com/hashicorp/go-metrics"
)

// metricSink is the part of go-metrics memberlist emits through. The
// default sends to the go-metrics global instance, looked up on every call
// so that a later metrics.NewGlobal takes effect.
type metricSink interface {
	IncrCounterWithLabels(key []string, val float32, labels []metrics.Label)
	SetGaugeWithLabels(key []string, val float32, labels []metrics.Label)
	AddSampleWithLabels(key []string, val float32, labels []metrics.Label)
	MeasureSinceWithLabels(key []string, start time.Time, labels []metrics.Label)
}

// newMetricSink returns the sink to emit through: s, or the go-metrics
// global instance when s is nil.
func newMetricSink(s metrics.MetricSink) metricSink {
	switch s := s.(type) {
	case nil:
		return globalMetrics{}
	case metricSink:
		return s
	default:
		return timerSink{s}
	}
}

// timerSink gives a metrics.MetricSink without timers the
// MeasureSinceWithLabels of metricSink: the elapsed milliseconds are added
// as a sample, as go-metrics does with its default timer granularity.
type timerSink struct{ metrics.MetricSink }

func (s timerSink) MeasureSinceWithLabels(key []string, start time.Time, labels []metrics.Label) {
	s.AddSampleWithLabels(key, float32(time.Since(start))/float32(time.Millisecond), labels)
}

type globalMetrics struct{}

func (globalMetrics) IncrCounterWithLabels(key []string, val float32, labels []metrics.Label) {
	metrics.IncrCounterWithLabels(key, val, labels)
}

func (globalMetrics) SetGaugeWithLabels(key []string, val float32, labels []metrics.Label) {
	metrics.SetGaugeWithLabels(key, val, labels)
}

func (globalMetrics) AddSampleWithLabels(key []string, val float32, labels []metrics.Label) {
	metrics.AddSampleWithLabels(key, val, labels)
}

func (globalMetrics) MeasureSinceWithLabels(key []string, start time.Time, labels []metrics.Label) {
	metrics.MeasureSinceWithLabels(key, start, labels)
}

// Metric keys, as hashicorp/memberlist emits them. These tables are never
// modified.
var (
	keyUDPSent         = []string{"memberlist", "udp", "sent"}
	keyUDPReceived     = []string{"memberlist", "udp", "received"}
	keyTCPSent         = []string{"memberlist", "tcp", "sent"}
	keyTCPAccept       = []string{"memberlist", "tcp", "accept"}
	keyTCPConnect      = []string{"memberlist", "tcp", "connect"}
	keyMsgAlive        = []string{"memberlist", "msg", "alive"}
	keyMsgSuspect      = []string{"memberlist", "msg", "suspect"}
	keyMsgDead         = []string{"memberlist", "msg", "dead"}
	keyDegradedProbe   = []string{"memberlist", "degraded", "probe"}
	keyDegradedTimeout = []string{"memberlist", "degraded", "timeout"}
	// keySuspicionRenewed counts suspicions that ran out unconfirmed and
	// were restarted instead of declaring the node dead.
	keySuspicionRenewed = []string{"memberlist", "suspicion", "renewed"}
	keyHealthScore      = []string{"memberlist", "health", "score"}
	keyNodeInstances    = []string{"memberlist", "node", "instances"}
	keySizeLocal        = []string{"memberlist", "size", "local"}
	keySizeRemote       = []string{"memberlist", "size", "remote"}
	keyQueueBroadcasts  = []string{"memberlist", "queue", "broadcasts"}
	keyProbeNode        = []string{"memberlist", "probeNode"}
	keyGossip           = []string{"memberlist", "gossip"}
	keyPushPullNode     = []string{"memberlist", "pushPullNode"}
)

// Drop counters: our additions, one for every message dropped without an
// error reaching a caller. Upstream emits none of them.
var (
	keyLabelMismatch     = []string{"memberlist", "label", "mismatch"}
	keyCRCInvalid        = []string{"memberlist", "udp", "crc_invalid"}
	keyHandoffQueueFull  = []string{"memberlist", "handoff", "dropped"}
	keyUDPDecryptFailed  = []string{"memberlist", "udp", "decrypt_failed"}
	keyUDPDecodeFailed   = []string{"memberlist", "udp", "decode_failed"}
	keyTCPDecryptFailed  = []string{"memberlist", "tcp", "decrypt_failed"}
	keyTCPDecodeFailed   = []string{"memberlist", "tcp", "decode_failed"}
	keyPushPullRefused   = []string{"memberlist", "tcp", "pushpull_refused"}
	keyBroadcastsEvicted = []string{"memberlist", "queue", "evicted"}
	keyUDPReplyFailed    = []string{"memberlist", "udp", "reply_failed"}
)

// countDrop adds n to the drop counter key.
func (m *Memberlist) countDrop(key []string, n int) {
	m.metrics.IncrCounterWithLabels(key, float32(n), m.labels.base)
}

// labelSet holds the configured metric labels and, precomputed, those labels
// plus each node_state label, so no call appends into the caller's slice.
type labelSet struct {
	base      []metrics.Label
	nodeState [4][]metrics.Label
}

func newLabelSet(base []metrics.Label) labelSet {
	ls := labelSet{base: append([]metrics.Label(nil), base...)}
	for s := StateAlive; s <= StateLeft; s++ {
		l := make([]metrics.Label, 0, len(base)+1)
		l = append(l, base...)
		ls.nodeState[s] = append(l, metrics.Label{Name: "node_state", Value: s.String()})
	}
	return ls
}
