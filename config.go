package memberlist

import (
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	metrics "github.com/hashicorp/go-metrics"
)

// Config holds the settings of a Memberlist. Build one with DefaultLANConfig,
// DefaultWANConfig or DefaultLocalConfig and change what you need; the zero
// Config is not valid. Create validates it and changes nothing in it except
// BindPort and AdvertisePort when BindPort is 0 (they receive the port the
// kernel chose) and Keyring when SecretKey is set. Do not modify a Config
// after passing it to Create.
type Config struct {
	// Name is the node's name, unique in the cluster. It must not be empty.
	Name string

	// Transport carries packets and streams. Nil means a NetTransport built
	// from BindAddr and BindPort.
	Transport Transport

	// Label is prefixed to every packet and stream and authenticated as
	// additional data when encrypting. Nodes with different labels ignore
	// each other. Empty means no label. At most LabelMaxSize bytes.
	Label string

	// SkipInboundLabelCheck makes inbound traffic carry no label header;
	// Label is assumed for it instead.
	SkipInboundLabelCheck bool

	// BindAddr is the address the default transport listens on.
	BindAddr string

	// BindPort is the port the default transport listens on, for both UDP
	// and TCP. Zero lets the kernel choose; Create then writes the chosen
	// port into BindPort and AdvertisePort.
	BindPort int

	// AdvertiseAddr is the address announced to peers. Empty derives it from
	// the transport.
	AdvertiseAddr string

	// AdvertisePort is the port announced to peers. The default transport
	// uses it only when AdvertiseAddr is set.
	AdvertisePort int

	// ProtocolVersion is the protocol version spoken, within
	// [ProtocolVersionMin, ProtocolVersionMax].
	ProtocolVersion uint8

	// TCPTimeout bounds stream dials and each stream's I/O.
	TCPTimeout time.Duration

	// IndirectChecks is the number of peers asked to probe a node that did
	// not answer a direct ping. Zero disables indirect probes.
	IndirectChecks int

	// RetransmitMult scales how many times a broadcast is sent:
	// RetransmitMult × ceil(log10(N+1)).
	RetransmitMult int

	// SuspicionMult scales the suspicion timeout:
	// SuspicionMult × max(1, log10(N)) × ProbeInterval.
	SuspicionMult int

	// SuspicionMaxTimeoutMult bounds the suspicion timeout of a node without
	// confirmations: SuspicionMaxTimeoutMult × the minimum timeout.
	SuspicionMaxTimeoutMult int

	// PushPullInterval is the period of full state syncs with a random
	// node. Zero disables them.
	PushPullInterval time.Duration

	// ProbeInterval is the period of failure-detection probes. Zero
	// disables probing.
	ProbeInterval time.Duration

	// ProbeTimeout is how long to wait for a direct ack before probing
	// indirectly.
	ProbeTimeout time.Duration

	// DisableTcpPings turns off the TCP fallback probe.
	DisableTcpPings bool

	// DisableTcpPingsForNode, when non-nil, turns off the TCP fallback
	// probe for the nodes it reports true for.
	DisableTcpPingsForNode func(nodeName string) bool

	// AwarenessMaxMultiplier caps the local health score: probe intervals
	// and timeouts are scaled by up to this factor (Lifeguard §IV-A).
	AwarenessMaxMultiplier int

	// GossipInterval is the period of gossip rounds. Zero disables gossip.
	GossipInterval time.Duration

	// GossipNodes is the number of nodes gossiped to per round. Zero
	// disables gossip.
	GossipNodes int

	// GossipToTheDeadTime is how long dead nodes still receive gossip and
	// stay in the node table.
	GossipToTheDeadTime time.Duration

	// GossipVerifyIncoming, with encryption on, drops plaintext input.
	GossipVerifyIncoming bool

	// GossipVerifyOutgoing, with encryption on, encrypts output.
	GossipVerifyOutgoing bool

	// EnableCompression compresses packets (when that makes them smaller)
	// and streams.
	EnableCompression bool

	// SecretKey, when non-empty, is installed as the primary key of
	// Keyring. It must be 16, 24 or 32 bytes.
	SecretKey []byte

	// Keyring holds the encryption keys. Nil with an empty SecretKey means
	// no encryption.
	Keyring *Keyring

	// Delegate receives user messages and state. Nil means none.
	Delegate Delegate

	// DelegateProtocolVersion is the delegate protocol version spoken.
	DelegateProtocolVersion uint8

	// DelegateProtocolMin is the lowest delegate protocol version understood.
	DelegateProtocolMin uint8

	// DelegateProtocolMax is the highest delegate protocol version understood.
	DelegateProtocolMax uint8

	// Events receives membership changes. Nil means none.
	Events EventDelegate

	// Conflict is told about name conflicts. Nil means none.
	Conflict ConflictDelegate

	// Merge may veto merges during Join. Nil means none.
	Merge MergeDelegate

	// Ping attaches ack payloads and observes RTTs. Nil means none.
	Ping PingDelegate

	// Alive may veto alive messages. Nil means none.
	Alive AliveDelegate

	// DNSConfigPath is the resolv.conf used for the TCP-first DNS lookup of
	// join addresses.
	DNSConfigPath string

	// LogOutput is where logs are written; nil means os.Stderr. It cannot
	// be set together with Logger, and is ignored when Slog is set.
	LogOutput io.Writer

	// Logger receives the logs; nil means a logger on LogOutput. It cannot
	// be set together with LogOutput, and is ignored when Slog is set.
	Logger *log.Logger

	// HandoffQueueDepth is the capacity of each of the two inbound message
	// queues; messages beyond it are dropped. Zero drops every gossip
	// message.
	HandoffQueueDepth int

	// UDPBufferSize is the byte budget of one outbound packet.
	UDPBufferSize int

	// DeadNodeReclaimTime is how long a node must have been dead before its
	// name may be taken by another address. Zero means never.
	DeadNodeReclaimTime time.Duration

	// RequireNodeNames makes sends to an address without a node name fail.
	RequireNodeNames bool

	// CIDRsAllowed lists the networks members may come from. Nil or empty
	// allows all.
	CIDRsAllowed []net.IPNet

	// MetricLabels are added to every metric emitted.
	MetricLabels []metrics.Label

	// QueueCheckInterval is the period of the broadcast-queue depth sample.
	// Zero disables the sample.
	QueueCheckInterval time.Duration

	// MsgpackUseNewTimeFormat selects the msgpack time encoding. No
	// memberlist message carries a time, so it changes nothing on the wire;
	// it exists for compatibility.
	MsgpackUseNewTimeFormat bool

	// Slog, when not nil, receives the logs as structured records, and
	// Logger and LogOutput are ignored. Records carry their values as
	// attributes with stable keys: node (a node name), addr (a peer's
	// host:port), err, type (a message type number) and inc (an
	// incarnation). Problems with single packets or streams that a peer
	// can repeat are logged at slog.LevelDebug and counted in metrics; a
	// refused stream or push/pull is a slog.LevelWarn record at most once
	// a minute per cause, with the repeats held back since the previous
	// one as "suppressed". A nil Slog means Logger or
	// LogOutput, whose lines keep the "[LEVEL] memberlist: message" form
	// with the attributes appended as key=value.
	Slog *slog.Logger

	// MetricSink, when not nil, receives this node's metrics instead of the
	// go-metrics global instance, so that nodes in one process can be told
	// apart. Keys are those of the global instance, starting with
	// "memberlist". A *metrics.Metrics adds its own prefix, host name and
	// filters; a bare sink such as *metrics.InmemSink gets the keys as they
	// are, and timers as samples in milliseconds. A default NetTransport
	// created by Create also emits through it. Nil means the global
	// instance, looked up on every call.
	MetricSink metrics.MetricSink

	// RemergeInterval is the period at which the node tries to reach, with
	// a push/pull as Join makes, one member it holds as dead or one address
	// it joined through that is no live member's. Two sides of a healed
	// partition, each of which declared the other dead, so find each other
	// again. Each target waits RemergeInterval after its first try, then
	// twice that: a member dead for less than an hour stays there, others
	// and join addresses double up to 8 intervals. The 64 most recently dead
	// members are tried for 24 hours, join addresses for as long as the node
	// runs. At most one try is made per interval. Zero disables
	// re-merge, as in hashicorp/memberlist. It is not part of upstream's
	// Config.
	RemergeInterval time.Duration

	// UserBroadcastShare is the fraction, from 0 to 1, of the gossip
	// packets reserved for the Delegate's broadcasts while memberlist's own
	// messages would fill them. Memberlist's messages take what the
	// Delegate's leave, and the Delegate's what memberlist's leave, so no
	// space is wasted; the share only matters when both have more than
	// fits. The share is kept over many packets: what the Delegate does not
	// use of one packet is saved, up to a whole packet, so a message larger
	// than the share of one packet still goes out within a few. Zero reserves nothing: memberlist's own messages go first, as
	// in hashicorp/memberlist, and may starve the Delegate's in a large
	// cluster with many membership changes. It is not part of upstream's
	// Config.
	UserBroadcastShare float64
}

// ParseCIDRs parses each entry of v as a CIDR network. It returns the
// networks that parse, and an error naming every entry that does not.
// A nil v gives an empty slice.
func ParseCIDRs(v []string) ([]net.IPNet, error) {
	nets := make([]net.IPNet, 0, len(v))
	var errs []error
	for _, s := range v {
		s = strings.TrimSpace(s)
		_, n, err := net.ParseCIDR(s)
		if err != nil {
			errs = append(errs, fmt.Errorf("invalid cidr: %s", s))
			continue
		}
		nets = append(nets, *n)
	}
	return nets, errors.Join(errs...)
}

// DefaultLANConfig returns a Config suited to a local network.
func DefaultLANConfig() *Config {
	hostname, _ := os.Hostname()
	return &Config{
		Name:                    hostname,
		BindAddr:                "0.0.0.0",
		BindPort:                7946,
		AdvertiseAddr:           "",
		AdvertisePort:           7946,
		ProtocolVersion:         ProtocolVersion2Compatible,
		TCPTimeout:              10 * time.Second,
		IndirectChecks:          3,
		RetransmitMult:          4,
		SuspicionMult:           4,
		SuspicionMaxTimeoutMult: 6,
		PushPullInterval:        30 * time.Second,
		ProbeTimeout:            500 * time.Millisecond,
		ProbeInterval:           1 * time.Second,
		DisableTcpPings:         false,
		AwarenessMaxMultiplier:  8,
		GossipNodes:             3,
		GossipInterval:          200 * time.Millisecond,
		GossipToTheDeadTime:     30 * time.Second,
		GossipVerifyIncoming:    true,
		GossipVerifyOutgoing:    true,
		EnableCompression:       true,
		SecretKey:               nil,
		Keyring:                 nil,
		DNSConfigPath:           "/etc/resolv.conf",
		HandoffQueueDepth:       1024,
		UDPBufferSize:           1400,
		CIDRsAllowed:            nil,
		QueueCheckInterval:      30 * time.Second,
		RemergeInterval:         30 * time.Second,
		UserBroadcastShare:      0.25,
	}
}

// DefaultWANConfig returns a Config suited to a wide-area network.
func DefaultWANConfig() *Config {
	conf := DefaultLANConfig()
	conf.TCPTimeout = 30 * time.Second
	conf.SuspicionMult = 6
	conf.PushPullInterval = 60 * time.Second
	conf.ProbeTimeout = 3 * time.Second
	conf.ProbeInterval = 5 * time.Second
	conf.GossipNodes = 4
	conf.GossipInterval = 500 * time.Millisecond
	conf.GossipToTheDeadTime = 60 * time.Second
	conf.RemergeInterval = 60 * time.Second
	return conf
}

// DefaultLocalConfig returns a Config suited to a loopback or otherwise
// very fast and reliable network.
func DefaultLocalConfig() *Config {
	conf := DefaultLANConfig()
	conf.TCPTimeout = time.Second
	conf.IndirectChecks = 1
	conf.RetransmitMult = 2
	conf.SuspicionMult = 3
	conf.PushPullInterval = 15 * time.Second
	conf.ProbeTimeout = 200 * time.Millisecond
	conf.ProbeInterval = time.Second
	conf.GossipInterval = 100 * time.Millisecond
	conf.GossipToTheDeadTime = 15 * time.Second
	conf.RemergeInterval = 15 * time.Second
	return conf
}

// BuildVsnArray returns the six version bytes announced for the local node:
// protocol min, max and current, then delegate min, max and current.
func (conf *Config) BuildVsnArray() []uint8 {
	return []uint8{
		ProtocolVersionMin, ProtocolVersionMax, conf.ProtocolVersion,
		conf.DelegateProtocolMin, conf.DelegateProtocolMax, conf.DelegateProtocolVersion,
	}
}

// EncryptionEnabled reports whether a keyring with at least one key is set.
func (c *Config) EncryptionEnabled() bool {
	return c.Keyring != nil && c.Keyring.hasKeys()
}

// IPMustBeChecked reports whether CIDRsAllowed restricts addresses, which
// is when it is not empty.
func (c *Config) IPMustBeChecked() bool {
	return len(c.CIDRsAllowed) > 0
}

// IPAllowed returns nil when ip is within CIDRsAllowed or no restriction is
// configured, and an error otherwise.
func (c *Config) IPAllowed(ip net.IP) error {
	if !c.IPMustBeChecked() {
		return nil
	}
	for _, n := range c.CIDRsAllowed {
		if n.Contains(ip) {
			return nil
		}
	}
	return fmt.Errorf("%s is not allowed", ip)
}

// Validate reports every problem of the Config at once, each naming its
// field, or nil when Create can use it.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.Name == "" {
		bad("Name: must not be empty")
	}
	if c.ProtocolVersion < ProtocolVersionMin {
		bad("protocol version '%d' too low. Must be in range: [%d, %d]", c.ProtocolVersion, ProtocolVersionMin, ProtocolVersionMax)
	} else if c.ProtocolVersion > ProtocolVersionMax {
		bad("protocol version '%d' too high. Must be in range: [%d, %d]", c.ProtocolVersion, ProtocolVersionMin, ProtocolVersionMax)
	}
	if len(c.Label) > LabelMaxSize {
		bad("could not use %q as a label: too long", c.Label)
	}
	if len(c.SecretKey) > 0 {
		if err := ValidateKey(c.SecretKey); err != nil {
			bad("SecretKey: %w", err)
		}
	}
	if c.LogOutput != nil && c.Logger != nil {
		bad("cannot specify both LogOutput and Logger; please choose a single log configuration setting")
	}
	if c.BindPort < 0 || c.BindPort > 65535 {
		bad("BindPort: %d is not a port number", c.BindPort)
	}
	if c.AdvertisePort < 0 || c.AdvertisePort > 65535 {
		bad("AdvertisePort: %d is not a port number", c.AdvertisePort)
	}
	if !(c.UserBroadcastShare >= 0 && c.UserBroadcastShare <= 1) {
		bad("UserBroadcastShare: must be between 0 and 1 (%v)", c.UserBroadcastShare)
	}
	c.validateCounts(bad)
	return errors.Join(errs...)
}

func (c *Config) validateCounts(bad func(string, ...any)) {
	ints := []struct {
		name string
		v    int
	}{
		{"IndirectChecks", c.IndirectChecks},
		{"RetransmitMult", c.RetransmitMult},
		{"SuspicionMult", c.SuspicionMult},
		{"SuspicionMaxTimeoutMult", c.SuspicionMaxTimeoutMult},
		{"AwarenessMaxMultiplier", c.AwarenessMaxMultiplier},
		{"GossipNodes", c.GossipNodes},
		{"HandoffQueueDepth", c.HandoffQueueDepth},
		{"UDPBufferSize", c.UDPBufferSize},
	}
	for _, f := range ints {
		if f.v < 0 {
			bad("%s: must not be negative (%d)", f.name, f.v)
		}
	}
	durs := []struct {
		name string
		v    time.Duration
	}{
		{"TCPTimeout", c.TCPTimeout},
		{"PushPullInterval", c.PushPullInterval},
		{"ProbeInterval", c.ProbeInterval},
		{"ProbeTimeout", c.ProbeTimeout},
		{"GossipInterval", c.GossipInterval},
		{"GossipToTheDeadTime", c.GossipToTheDeadTime},
		{"DeadNodeReclaimTime", c.DeadNodeReclaimTime},
		{"QueueCheckInterval", c.QueueCheckInterval},
		{"RemergeInterval", c.RemergeInterval},
	}
	for _, f := range durs {
		if f.v < 0 {
			bad("%s: must not be negative (%s)", f.name, f.v)
		}
	}
}
