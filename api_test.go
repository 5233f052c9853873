package memberlist

// This file pins the exported API to hashicorp/memberlist v0.7.0 as listed in
// ../shared/spec/memberlist-reference.md §1, item by item. It works at two
// levels:
//
//   - compile-time assertions (the var blocks below): a missing item, a
//     changed signature, a typed constant that should be untyped, or a
//     method with a value receiver where a pointer one is expected in a
//     method expression makes this file fail to build;
//   - TestAPI* tests: the same facts and the ones the compiler cannot check
//     (field order, exact field types, receiver kinds, exact interface
//     method sets, no extra exported identifiers), each failure naming the
//     item.
//
// Our additions to the exported API are listed in apiAllowedAdditions; any
// other exported identifier not in the reference fails
// TestAPIExportedIdentifiers.

import (
	"fmt"
	"go/ast"
	"go/build"
	"go/parser"
	"go/token"
	"io"
	"log"
	"log/slog"
	"net"
	"os"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	metrics "github.com/hashicorp/go-metrics"
)

// apiPkgPath is the import path of this package.
const apiPkgPath = "github.com/gossip-go/memberlist"

// ---------------------------------------------------------------------------
// §1.1 Constants: compile-time typedness checks.

// ProtocolVersionMin is typed uint8 (the type itself is checked in
// TestAPIConstants; an untyped constant would also pass this line).
var _ uint8 = ProtocolVersionMin

// The untyped constants must be assignable to several distinct types; a
// constant that has been given a type fails at least one of these lines.
var (
	_ int8    = ProtocolVersion2Compatible
	_ uint8   = ProtocolVersion2Compatible
	_ float64 = ProtocolVersion2Compatible

	_ int8    = ProtocolVersionMax
	_ uint8   = ProtocolVersionMax
	_ float64 = ProtocolVersionMax

	_ int16   = MetaMaxSize
	_ uint16  = MetaMaxSize
	_ float64 = MetaMaxSize

	_ uint8   = LabelMaxSize
	_ int16   = LabelMaxSize
	_ float64 = LabelMaxSize
)

var (
	_ NodeStateType = StateAlive
	_ NodeStateType = StateSuspect
	_ NodeStateType = StateDead
	_ NodeStateType = StateLeft

	_ NodeEventType = NodeJoin
	_ NodeEventType = NodeLeave
	_ NodeEventType = NodeUpdate
)

// ---------------------------------------------------------------------------
// §1.2 Package-level functions: exact signatures.

var (
	_ func(*Config) (*Memberlist, error)               = Create
	_ func() *Config                                   = DefaultLANConfig
	_ func() *Config                                   = DefaultWANConfig
	_ func() *Config                                   = DefaultLocalConfig
	_ func([]string) ([]net.IPNet, error)              = ParseCIDRs
	_ func([][]byte, []byte) (*Keyring, error)         = NewKeyring
	_ func([]byte) error                               = ValidateKey
	_ func(*NetTransportConfig) (*NetTransport, error) = NewNetTransport
	_ func([]byte, string) ([]byte, error)             = AddLabelHeaderToPacket
	_ func([]byte) ([]byte, string, error)             = RemoveLabelHeaderFromPacket
	_ func(net.Conn, string) error                     = AddLabelHeaderToStream
	_ func(net.Conn) (net.Conn, string, error)         = RemoveLabelHeaderFromStream
	_ func(net.Addr) string                            = LogAddress
	_ func(string) string                              = LogStringAddress
	_ func(net.Conn) string                            = LogConn
)

// ---------------------------------------------------------------------------
// §1.3 Methods: exact signatures via method expressions. A method expression
// on a value type (NoPingResponseError.Error) compiles only for a value
// receiver; for pointer receivers TestAPIMethodSets checks that the method
// is absent from the value type's method set.

var (
	_ func(*Config) []uint8       = (*Config).BuildVsnArray
	_ func(*Config) bool          = (*Config).EncryptionEnabled
	_ func(*Config, net.IP) error = (*Config).IPAllowed
	_ func(*Config) bool          = (*Config).IPMustBeChecked
	_ func(*Config) error         = (*Config).Validate // our addition

	_ func(*Memberlist, []string) (int, error)                   = (*Memberlist).Join
	_ func(*Memberlist) *Node                                    = (*Memberlist).LocalNode
	_ func(*Memberlist, time.Duration) error                     = (*Memberlist).UpdateNode
	_ func(*Memberlist, net.Addr, []byte) error                  = (*Memberlist).SendTo
	_ func(*Memberlist, Address, []byte) error                   = (*Memberlist).SendToAddress
	_ func(*Memberlist, *Node, []byte) error                     = (*Memberlist).SendToUDP
	_ func(*Memberlist, *Node, []byte) error                     = (*Memberlist).SendToTCP
	_ func(*Memberlist, *Node, []byte) error                     = (*Memberlist).SendBestEffort
	_ func(*Memberlist, *Node, []byte) error                     = (*Memberlist).SendReliable
	_ func(*Memberlist) []*Node                                  = (*Memberlist).Members
	_ func(*Memberlist) int                                      = (*Memberlist).NumMembers
	_ func(*Memberlist, time.Duration) error                     = (*Memberlist).Leave
	_ func(*Memberlist) int                                      = (*Memberlist).GetHealthScore
	_ func(*Memberlist) uint8                                    = (*Memberlist).ProtocolVersion
	_ func(*Memberlist) error                                    = (*Memberlist).Shutdown
	_ func(*Memberlist, string, net.Addr) (time.Duration, error) = (*Memberlist).Ping

	_ func(*Node) string  = (*Node).Address
	_ func(*Node) Address = (*Node).FullAddress
	_ func(*Node) string  = (*Node).String

	_ func(*ChannelEventDelegate, *Node) = (*ChannelEventDelegate).NotifyJoin
	_ func(*ChannelEventDelegate, *Node) = (*ChannelEventDelegate).NotifyLeave
	_ func(*ChannelEventDelegate, *Node) = (*ChannelEventDelegate).NotifyUpdate

	_ func(*Address) string = (*Address).String

	_ func(*Keyring, []byte) error = (*Keyring).AddKey
	_ func(*Keyring, []byte) error = (*Keyring).UseKey
	_ func(*Keyring, []byte) error = (*Keyring).RemoveKey
	_ func(*Keyring) [][]byte      = (*Keyring).GetKeys
	_ func(*Keyring) []byte        = (*Keyring).GetPrimaryKey

	_ func(NoPingResponseError) string = NoPingResponseError.Error // value receiver

	_ func(*TransmitLimitedQueue, Broadcast)         = (*TransmitLimitedQueue).QueueBroadcast
	_ func(*TransmitLimitedQueue, int, int) [][]byte = (*TransmitLimitedQueue).GetBroadcasts
	_ func(*TransmitLimitedQueue) int                = (*TransmitLimitedQueue).NumQueued
	_ func(*TransmitLimitedQueue)                    = (*TransmitLimitedQueue).Reset
	_ func(*TransmitLimitedQueue, int)               = (*TransmitLimitedQueue).Prune

	_ func(*NetTransport) int                                        = (*NetTransport).GetAutoBindPort
	_ func(*NetTransport, string, int) (net.IP, int, error)          = (*NetTransport).FinalAdvertiseAddr
	_ func(*NetTransport, []byte, string) (time.Time, error)         = (*NetTransport).WriteTo
	_ func(*NetTransport, []byte, Address) (time.Time, error)        = (*NetTransport).WriteToAddress
	_ func(*NetTransport) <-chan *Packet                             = (*NetTransport).PacketCh
	_ func(*NetTransport, net.Conn, net.Addr, time.Time, bool) error = (*NetTransport).IngestPacket
	_ func(*NetTransport, string, time.Duration) (net.Conn, error)   = (*NetTransport).DialTimeout
	_ func(*NetTransport, Address, time.Duration) (net.Conn, error)  = (*NetTransport).DialAddressTimeout
	_ func(*NetTransport) <-chan net.Conn                            = (*NetTransport).StreamCh
	_ func(*NetTransport, net.Conn) error                            = (*NetTransport).IngestStream
	_ func(*NetTransport) error                                      = (*NetTransport).Shutdown

	_ func(*MockNetwork, string) *MockTransport = (*MockNetwork).NewTransport

	_ func(*MockAddress) string = (*MockAddress).Network
	_ func(*MockAddress) string = (*MockAddress).String

	_ func(*MockTransport, string, int) (net.IP, int, error)          = (*MockTransport).FinalAdvertiseAddr
	_ func(*MockTransport, []byte, string) (time.Time, error)         = (*MockTransport).WriteTo
	_ func(*MockTransport, []byte, Address) (time.Time, error)        = (*MockTransport).WriteToAddress
	_ func(*MockTransport) <-chan *Packet                             = (*MockTransport).PacketCh
	_ func(*MockTransport, net.Conn, net.Addr, time.Time, bool) error = (*MockTransport).IngestPacket
	_ func(*MockTransport, string, time.Duration) (net.Conn, error)   = (*MockTransport).DialTimeout
	_ func(*MockTransport, Address, time.Duration) (net.Conn, error)  = (*MockTransport).DialAddressTimeout
	_ func(*MockTransport) <-chan net.Conn                            = (*MockTransport).StreamCh
	_ func(*MockTransport, net.Conn) error                            = (*MockTransport).IngestStream
	_ func(*MockTransport) error                                      = (*MockTransport).Shutdown
)

// Structs whose whole body the reference gives must accept unkeyed composite
// literals in declaration order (reference §1.5: "this matters for unkeyed
// composite literals"). Config's fields are upstream's, in order, followed
// by our additions. Typed zero values make a field of another type
// (int where time.Duration is expected, say) fail to compile.
var (
	_ = Config{
		"",                       // Name
		Transport(nil),           // Transport
		"",                       // Label
		false,                    // SkipInboundLabelCheck
		"",                       // BindAddr
		int(0),                   // BindPort
		"",                       // AdvertiseAddr
		int(0),                   // AdvertisePort
		uint8(0),                 // ProtocolVersion
		time.Duration(0),         // TCPTimeout
		int(0),                   // IndirectChecks
		int(0),                   // RetransmitMult
		int(0),                   // SuspicionMult
		int(0),                   // SuspicionMaxTimeoutMult
		time.Duration(0),         // PushPullInterval
		time.Duration(0),         // ProbeInterval
		time.Duration(0),         // ProbeTimeout
		false,                    // DisableTcpPings
		(func(string) bool)(nil), // DisableTcpPingsForNode
		int(0),                   // AwarenessMaxMultiplier
		time.Duration(0),         // GossipInterval
		int(0),                   // GossipNodes
		time.Duration(0),         // GossipToTheDeadTime
		false,                    // GossipVerifyIncoming
		false,                    // GossipVerifyOutgoing
		false,                    // EnableCompression
		[]byte(nil),              // SecretKey
		(*Keyring)(nil),          // Keyring
		Delegate(nil),            // Delegate
		uint8(0),                 // DelegateProtocolVersion
		uint8(0),                 // DelegateProtocolMin
		uint8(0),                 // DelegateProtocolMax
		EventDelegate(nil),       // Events
		ConflictDelegate(nil),    // Conflict
		MergeDelegate(nil),       // Merge
		PingDelegate(nil),        // Ping
		AliveDelegate(nil),       // Alive
		"",                       // DNSConfigPath
		io.Writer(nil),           // LogOutput
		(*log.Logger)(nil),       // Logger
		int(0),                   // HandoffQueueDepth
		int(0),                   // UDPBufferSize
		time.Duration(0),         // DeadNodeReclaimTime
		false,                    // RequireNodeNames
		[]net.IPNet(nil),         // CIDRsAllowed
		[]metrics.Label(nil),     // MetricLabels
		time.Duration(0),         // QueueCheckInterval
		false,                    // MsgpackUseNewTimeFormat
		// Our additions, after every upstream field: an unkeyed literal
		// written for upstream must add them (see COMPATIBILITY.md).
		(*slog.Logger)(nil),     // Slog
		metrics.MetricSink(nil), // MetricSink
		time.Duration(0),        // RemergeInterval
		float64(0),              // UserBroadcastShare
	}
	_ = Node{"", net.IP(nil), uint16(0), []byte(nil), NodeStateType(0),
		uint8(0), uint8(0), uint8(0), uint8(0), uint8(0), uint8(0)}
	_ = NodeEvent{NodeEventType(0), (*Node)(nil)}
	_ = ChannelEventDelegate{(chan<- NodeEvent)(nil)}
	_ = Address{"", ""}
	_ = Packet{[]byte(nil), net.Addr(nil), time.Time{}}
	_ = NetTransportConfig{[]string(nil), int(0), (*log.Logger)(nil), []metrics.Label(nil)}
	_ = TransmitLimitedQueue{NumNodes: (func() int)(nil), RetransmitMult: int(0)}
)

// ---------------------------------------------------------------------------
// §1.4 Interfaces: our concrete types satisfy them.

var (
	_ Transport               = (*NetTransport)(nil)
	_ NodeAwareTransport      = (*NetTransport)(nil)
	_ IngestionAwareTransport = (*NetTransport)(nil)
	_ Transport               = (*MockTransport)(nil)
	_ NodeAwareTransport      = (*MockTransport)(nil)
	_ IngestionAwareTransport = (*MockTransport)(nil)
	_ EventDelegate           = (*ChannelEventDelegate)(nil)
	_ net.Addr                = (*MockAddress)(nil)
	_ error                   = NoPingResponseError{}
	_ fmt.Stringer            = (*Address)(nil)
	_ fmt.Stringer            = (*Node)(nil)
)

// User types that implement exactly upstream's method sets (reference §1.4).
// Where an interface we export has more methods than upstream's, these stop
// compiling: user code written against hashicorp/memberlist must still
// satisfy our interfaces.

type apiUserTransport struct{}

func (apiUserTransport) FinalAdvertiseAddr(ip string, port int) (net.IP, int, error) {
	return nil, 0, nil
}
func (apiUserTransport) WriteTo(b []byte, addr string) (time.Time, error) { return time.Time{}, nil }
func (apiUserTransport) PacketCh() <-chan *Packet                         { return nil }
func (apiUserTransport) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	return nil, nil
}
func (apiUserTransport) StreamCh() <-chan net.Conn { return nil }
func (apiUserTransport) Shutdown() error           { return nil }

type apiUserNodeAwareTransport struct{ apiUserTransport }

func (apiUserNodeAwareTransport) WriteToAddress(b []byte, addr Address) (time.Time, error) {
	return time.Time{}, nil
}
func (apiUserNodeAwareTransport) DialAddressTimeout(addr Address, timeout time.Duration) (net.Conn, error) {
	return nil, nil
}

type apiUserIngestionAwareTransport struct{}

func (apiUserIngestionAwareTransport) IngestPacket(conn net.Conn, addr net.Addr, now time.Time, shouldClose bool) error {
	return nil
}
func (apiUserIngestionAwareTransport) IngestStream(conn net.Conn) error { return nil }

type apiUserDelegate struct{}

func (apiUserDelegate) NodeMeta(limit int) []byte                  { return nil }
func (apiUserDelegate) NotifyMsg([]byte)                           {}
func (apiUserDelegate) GetBroadcasts(overhead, limit int) [][]byte { return nil }
func (apiUserDelegate) LocalState(join bool) []byte                { return nil }
func (apiUserDelegate) MergeRemoteState(buf []byte, join bool)     {}

type apiUserEventDelegate struct{}

func (apiUserEventDelegate) NotifyJoin(*Node)   {}
func (apiUserEventDelegate) NotifyLeave(*Node)  {}
func (apiUserEventDelegate) NotifyUpdate(*Node) {}

type apiUserConflictDelegate struct{}

func (apiUserConflictDelegate) NotifyConflict(existing, other *Node) {}

type apiUserMergeDelegate struct{}

func (apiUserMergeDelegate) NotifyMerge(peers []*Node) error { return nil }

type apiUserAliveDelegate struct{}

func (apiUserAliveDelegate) NotifyAlive(peer *Node) error { return nil }

type apiUserPingDelegate struct{}

func (apiUserPingDelegate) AckPayload() []byte                                                { return nil }
func (apiUserPingDelegate) NotifyPingComplete(other *Node, rtt time.Duration, payload []byte) {}

type apiUserBroadcast struct{}

func (apiUserBroadcast) Invalidates(b Broadcast) bool { return false }
func (apiUserBroadcast) Message() []byte              { return nil }
func (apiUserBroadcast) Finished()                    {}

type apiUserNamedBroadcast struct{ apiUserBroadcast }

func (apiUserNamedBroadcast) Name() string { return "" }

type apiUserUniqueBroadcast struct{ apiUserBroadcast }

func (apiUserUniqueBroadcast) UniqueBroadcast() {}

var (
	_ Transport               = apiUserTransport{}
	_ Transport               = apiUserNodeAwareTransport{}
	_ NodeAwareTransport      = apiUserNodeAwareTransport{}
	_ IngestionAwareTransport = apiUserIngestionAwareTransport{}
	_ Delegate                = apiUserDelegate{}
	_ EventDelegate           = apiUserEventDelegate{}
	_ ConflictDelegate        = apiUserConflictDelegate{}
	_ MergeDelegate           = apiUserMergeDelegate{}
	_ AliveDelegate           = apiUserAliveDelegate{}
	_ PingDelegate            = apiUserPingDelegate{}
	_ Broadcast               = apiUserBroadcast{}
	_ Broadcast               = apiUserNamedBroadcast{}
	_ NamedBroadcast          = apiUserNamedBroadcast{}
	_ Broadcast               = apiUserUniqueBroadcast{}
	_ UniqueBroadcast         = apiUserUniqueBroadcast{}

	// The user types are accepted where the API takes the interfaces.
	_ = Config{
		Transport: apiUserTransport{},
		Delegate:  apiUserDelegate{},
		Events:    apiUserEventDelegate{},
		Conflict:  apiUserConflictDelegate{},
		Merge:     apiUserMergeDelegate{},
		Ping:      apiUserPingDelegate{},
		Alive:     apiUserAliveDelegate{},
	}
	_ = func(q *TransmitLimitedQueue) {
		q.QueueBroadcast(apiUserBroadcast{})
		q.QueueBroadcast(apiUserNamedBroadcast{})
		q.QueueBroadcast(apiUserUniqueBroadcast{})
	}
)

// ---------------------------------------------------------------------------
// Runtime checks.

// apiTypeString prints t with every named type qualified by its full
// package path, so that, for example, go-metrics' Label and armon's are
// told apart. Types of this package print as memberlist.T.
func apiTypeString(t reflect.Type) string {
	if t.Name() != "" {
		switch t.PkgPath() {
		case "":
			return t.Name()
		case apiPkgPath:
			return "memberlist." + t.Name()
		default:
			return t.PkgPath() + "." + t.Name()
		}
	}
	switch t.Kind() {
	case reflect.Pointer:
		return "*" + apiTypeString(t.Elem())
	case reflect.Slice:
		return "[]" + apiTypeString(t.Elem())
	case reflect.Array:
		return fmt.Sprintf("[%d]%s", t.Len(), apiTypeString(t.Elem()))
	case reflect.Map:
		return "map[" + apiTypeString(t.Key()) + "]" + apiTypeString(t.Elem())
	case reflect.Chan:
		switch t.ChanDir() {
		case reflect.RecvDir:
			return "<-chan " + apiTypeString(t.Elem())
		case reflect.SendDir:
			return "chan<- " + apiTypeString(t.Elem())
		default:
			return "chan " + apiTypeString(t.Elem())
		}
	case reflect.Func:
		return apiFuncString(t, 0)
	default:
		return t.String()
	}
}

// apiFuncString prints the func type t without its first skip parameters
// (skip is 1 to drop the receiver of a method of a concrete type).
func apiFuncString(t reflect.Type, skip int) string {
	var in []string
	for i := skip; i < t.NumIn(); i++ {
		s := apiTypeString(t.In(i))
		if t.IsVariadic() && i == t.NumIn()-1 {
			s = "..." + apiTypeString(t.In(i).Elem())
		}
		in = append(in, s)
	}
	var out []string
	for i := 0; i < t.NumOut(); i++ {
		out = append(out, apiTypeString(t.Out(i)))
	}
	s := "func(" + strings.Join(in, ", ") + ")"
	switch len(out) {
	case 0:
	case 1:
		s += " " + out[0]
	default:
		s += " (" + strings.Join(out, ", ") + ")"
	}
	return s
}

func TestAPIConstants(t *testing.T) {
	tests := []struct {
		name     string
		got      any // the constant, converted to its default type if untyped
		wantType reflect.Type
		want     int64
		gotInt   int64
	}{
		{"ProtocolVersionMin", ProtocolVersionMin, reflect.TypeFor[uint8](), 1, int64(ProtocolVersionMin)},
		{"ProtocolVersion2Compatible", ProtocolVersion2Compatible, reflect.TypeFor[int](), 2, int64(ProtocolVersion2Compatible)},
		{"ProtocolVersionMax", ProtocolVersionMax, reflect.TypeFor[int](), 5, int64(ProtocolVersionMax)},
		{"MetaMaxSize", MetaMaxSize, reflect.TypeFor[int](), 512, int64(MetaMaxSize)},
		{"LabelMaxSize", LabelMaxSize, reflect.TypeFor[int](), 255, int64(LabelMaxSize)},
		{"StateAlive", StateAlive, reflect.TypeFor[NodeStateType](), 0, int64(StateAlive)},
		{"StateSuspect", StateSuspect, reflect.TypeFor[NodeStateType](), 1, int64(StateSuspect)},
		{"StateDead", StateDead, reflect.TypeFor[NodeStateType](), 2, int64(StateDead)},
		{"StateLeft", StateLeft, reflect.TypeFor[NodeStateType](), 3, int64(StateLeft)},
		{"NodeJoin", NodeJoin, reflect.TypeFor[NodeEventType](), 0, int64(NodeJoin)},
		{"NodeLeave", NodeLeave, reflect.TypeFor[NodeEventType](), 1, int64(NodeLeave)},
		{"NodeUpdate", NodeUpdate, reflect.TypeFor[NodeEventType](), 2, int64(NodeUpdate)},
	}
	for _, tt := range tests {
		// An untyped integer constant stored in an interface has type int;
		// the compile-time block above checks that it is really untyped.
		if got := reflect.TypeOf(tt.got); got != tt.wantType {
			t.Errorf("const %s has type %s, want %s", tt.name, apiTypeString(got), apiTypeString(tt.wantType))
		}
		if tt.gotInt != tt.want {
			t.Errorf("const %s = %d, want %d", tt.name, tt.gotInt, tt.want)
		}
	}

	// NodeStateType and NodeEventType are defined types (not aliases) of
	// this package with underlying type int.
	for _, typ := range []reflect.Type{reflect.TypeFor[NodeStateType](), reflect.TypeFor[NodeEventType]()} {
		if typ.PkgPath() != apiPkgPath || typ.Kind() != reflect.Int {
			t.Errorf("type %s: got a %s named %q, want a defined type of this package with underlying int",
				typ, typ.Kind(), apiTypeString(typ))
		}
	}
}

func TestAPIFunctions(t *testing.T) {
	tests := []struct {
		name string
		fn   any
		want string
	}{
		{"Create", Create, "func(*memberlist.Config) (*memberlist.Memberlist, error)"},
		{"DefaultLANConfig", DefaultLANConfig, "func() *memberlist.Config"},
		{"DefaultWANConfig", DefaultWANConfig, "func() *memberlist.Config"},
		{"DefaultLocalConfig", DefaultLocalConfig, "func() *memberlist.Config"},
		{"ParseCIDRs", ParseCIDRs, "func([]string) ([]net.IPNet, error)"},
		{"NewKeyring", NewKeyring, "func([][]uint8, []uint8) (*memberlist.Keyring, error)"},
		{"ValidateKey", ValidateKey, "func([]uint8) error"},
		{"NewNetTransport", NewNetTransport, "func(*memberlist.NetTransportConfig) (*memberlist.NetTransport, error)"},
		{"AddLabelHeaderToPacket", AddLabelHeaderToPacket, "func([]uint8, string) ([]uint8, error)"},
		{"RemoveLabelHeaderFromPacket", RemoveLabelHeaderFromPacket, "func([]uint8) ([]uint8, string, error)"},
		{"AddLabelHeaderToStream", AddLabelHeaderToStream, "func(net.Conn, string) error"},
		{"RemoveLabelHeaderFromStream", RemoveLabelHeaderFromStream, "func(net.Conn) (net.Conn, string, error)"},
		{"LogAddress", LogAddress, "func(net.Addr) string"},
		{"LogStringAddress", LogStringAddress, "func(string) string"},
		{"LogConn", LogConn, "func(net.Conn) string"},
	}
	for _, tt := range tests {
		if got := apiTypeString(reflect.TypeOf(tt.fn)); got != tt.want {
			t.Errorf("func %s has type %s, want %s", tt.name, got, tt.want)
		}
	}
}

// apiMethod is one method of a concrete type: its name, whether its
// receiver is a pointer, and its signature without the receiver.
type apiMethod struct {
	name string
	ptr  bool
	sig  string
}

// apiMethodSets lists, from reference §1.3, the exported methods of every
// exported concrete type. A type that is absent has no exported methods.
// apiAllowedAdditions names the methods we add.
var apiMethodSets = []struct {
	typ     reflect.Type
	methods []apiMethod
}{
	{reflect.TypeFor[Config](), []apiMethod{
		{"BuildVsnArray", true, "func() []uint8"},
		{"EncryptionEnabled", true, "func() bool"},
		{"IPAllowed", true, "func(net.IP) error"},
		{"IPMustBeChecked", true, "func() bool"},
	}},
	{reflect.TypeFor[Memberlist](), []apiMethod{
		{"Join", true, "func([]string) (int, error)"},
		{"LocalNode", true, "func() *memberlist.Node"},
		{"UpdateNode", true, "func(time.Duration) error"},
		{"SendTo", true, "func(net.Addr, []uint8) error"},
		{"SendToAddress", true, "func(memberlist.Address, []uint8) error"},
		{"SendToUDP", true, "func(*memberlist.Node, []uint8) error"},
		{"SendToTCP", true, "func(*memberlist.Node, []uint8) error"},
		{"SendBestEffort", true, "func(*memberlist.Node, []uint8) error"},
		{"SendReliable", true, "func(*memberlist.Node, []uint8) error"},
		{"Members", true, "func() []*memberlist.Node"},
		{"NumMembers", true, "func() int"},
		{"Leave", true, "func(time.Duration) error"},
		{"GetHealthScore", true, "func() int"},
		{"ProtocolVersion", true, "func() uint8"},
		{"Shutdown", true, "func() error"},
		{"Ping", true, "func(string, net.Addr) (time.Duration, error)"},
	}},
	{reflect.TypeFor[Node](), []apiMethod{
		{"Address", true, "func() string"},
		{"FullAddress", true, "func() memberlist.Address"},
		{"String", true, "func() string"},
	}},
	{reflect.TypeFor[NodeStateType](), nil},
	{reflect.TypeFor[NodeEventType](), nil},
	{reflect.TypeFor[NodeEvent](), nil},
	// The reference does not say which receiver ChannelEventDelegate's
	// methods have; the brief for this test says *ChannelEventDelegate.
	{reflect.TypeFor[ChannelEventDelegate](), []apiMethod{
		{"NotifyJoin", true, "func(*memberlist.Node)"},
		{"NotifyLeave", true, "func(*memberlist.Node)"},
		{"NotifyUpdate", true, "func(*memberlist.Node)"},
	}},
	{reflect.TypeFor[Address](), []apiMethod{
		{"String", true, "func() string"},
	}},
	{reflect.TypeFor[Packet](), nil},
	{reflect.TypeFor[Keyring](), []apiMethod{
		{"AddKey", true, "func([]uint8) error"},
		{"UseKey", true, "func([]uint8) error"},
		{"RemoveKey", true, "func([]uint8) error"},
		{"GetKeys", true, "func() [][]uint8"},
		{"GetPrimaryKey", true, "func() []uint8"},
	}},
	{reflect.TypeFor[NoPingResponseError](), []apiMethod{
		{"Error", false, "func() string"},
	}},
	{reflect.TypeFor[TransmitLimitedQueue](), []apiMethod{
		{"QueueBroadcast", true, "func(memberlist.Broadcast)"},
		{"GetBroadcasts", true, "func(int, int) [][]uint8"},
		{"NumQueued", true, "func() int"},
		{"Reset", true, "func()"},
		{"Prune", true, "func(int)"},
	}},
	{reflect.TypeFor[NetTransportConfig](), nil},
	{reflect.TypeFor[NetTransport](), []apiMethod{
		{"GetAutoBindPort", true, "func() int"},
		{"FinalAdvertiseAddr", true, "func(string, int) (net.IP, int, error)"},
		{"WriteTo", true, "func([]uint8, string) (time.Time, error)"},
		{"WriteToAddress", true, "func([]uint8, memberlist.Address) (time.Time, error)"},
		{"PacketCh", true, "func() <-chan *memberlist.Packet"},
		{"IngestPacket", true, "func(net.Conn, net.Addr, time.Time, bool) error"},
		{"DialTimeout", true, "func(string, time.Duration) (net.Conn, error)"},
		{"DialAddressTimeout", true, "func(memberlist.Address, time.Duration) (net.Conn, error)"},
		{"StreamCh", true, "func() <-chan net.Conn"},
		{"IngestStream", true, "func(net.Conn) error"},
		{"Shutdown", true, "func() error"},
	}},
	{reflect.TypeFor[MockNetwork](), []apiMethod{
		{"NewTransport", true, "func(string) *memberlist.MockTransport"},
	}},
	{reflect.TypeFor[MockAddress](), []apiMethod{
		{"Network", true, "func() string"},
		{"String", true, "func() string"},
	}},
	{reflect.TypeFor[MockTransport](), []apiMethod{
		{"FinalAdvertiseAddr", true, "func(string, int) (net.IP, int, error)"},
		{"WriteTo", true, "func([]uint8, string) (time.Time, error)"},
		{"WriteToAddress", true, "func([]uint8, memberlist.Address) (time.Time, error)"},
		{"PacketCh", true, "func() <-chan *memberlist.Packet"},
		{"IngestPacket", true, "func(net.Conn, net.Addr, time.Time, bool) error"},
		{"DialTimeout", true, "func(string, time.Duration) (net.Conn, error)"},
		{"DialAddressTimeout", true, "func(memberlist.Address, time.Duration) (net.Conn, error)"},
		{"StreamCh", true, "func() <-chan net.Conn"},
		{"IngestStream", true, "func(net.Conn) error"},
		{"Shutdown", true, "func() error"},
	}},
}

func TestAPIMethodSets(t *testing.T) {
	for _, ts := range apiMethodSets {
		name := ts.typ.Name()
		ptr := reflect.PointerTo(ts.typ)
		want := map[string]apiMethod{}
		for _, m := range ts.methods {
			want[m.name] = m
		}
		for _, m := range ts.methods {
			pm, ok := ptr.MethodByName(m.name)
			if !ok {
				t.Errorf("method %s.%s is missing (want %s)", name, m.name, m.sig)
				continue
			}
			if got := apiFuncString(pm.Type, 1); got != m.sig {
				t.Errorf("method %s.%s has type %s, want %s", name, m.name, got, m.sig)
			}
			_, inValueSet := ts.typ.MethodByName(m.name)
			switch {
			case m.ptr && inValueSet:
				t.Errorf("method %s.%s has a value receiver, want a pointer receiver (*%s): %s{} must not have %s in its method set",
					name, m.name, name, name, m.name)
			case !m.ptr && !inValueSet:
				t.Errorf("method %s.%s has a pointer receiver, want a value receiver (%s)", name, m.name, name)
			}
		}
		for i := 0; i < ptr.NumMethod(); i++ {
			m := ptr.Method(i)
			if _, ok := want[m.Name]; ok || apiAllowedAdditions["method "+name+"."+m.Name] {
				continue
			}
			t.Errorf("method %s.%s (%s) is not in the reference nor in apiAllowedAdditions",
				name, m.Name, apiFuncString(m.Type, 1))
		}
	}
}

// apiField is one exported struct field and its type, printed by
// apiTypeString.
type apiField struct {
	name string
	typ  string
}

// apiStructs lists the exported fields of every exported struct, in
// declaration order, from reference §1.3 and §1.5. complete marks the
// structs whose whole body the reference gives: they must have no
// unexported fields either, or users' unkeyed composite literals break.
var apiStructs = []struct {
	typ      reflect.Type
	complete bool
	fields   []apiField
}{
	{reflect.TypeFor[Config](), true, []apiField{
		{"Name", "string"},
		{"Transport", "memberlist.Transport"},
		{"Label", "string"},
		{"SkipInboundLabelCheck", "bool"},
		{"BindAddr", "string"},
		{"BindPort", "int"},
		{"AdvertiseAddr", "string"},
		{"AdvertisePort", "int"},
		{"ProtocolVersion", "uint8"},
		{"TCPTimeout", "time.Duration"},
		{"IndirectChecks", "int"},
		{"RetransmitMult", "int"},
		{"SuspicionMult", "int"},
		{"SuspicionMaxTimeoutMult", "int"},
		{"PushPullInterval", "time.Duration"},
		{"ProbeInterval", "time.Duration"},
		{"ProbeTimeout", "time.Duration"},
		{"DisableTcpPings", "bool"},
		{"DisableTcpPingsForNode", "func(string) bool"},
		{"AwarenessMaxMultiplier", "int"},
		{"GossipInterval", "time.Duration"},
		{"GossipNodes", "int"},
		{"GossipToTheDeadTime", "time.Duration"},
		{"GossipVerifyIncoming", "bool"},
		{"GossipVerifyOutgoing", "bool"},
		{"EnableCompression", "bool"},
		{"SecretKey", "[]uint8"},
		{"Keyring", "*memberlist.Keyring"},
		{"Delegate", "memberlist.Delegate"},
		{"DelegateProtocolVersion", "uint8"},
		{"DelegateProtocolMin", "uint8"},
		{"DelegateProtocolMax", "uint8"},
		{"Events", "memberlist.EventDelegate"},
		{"Conflict", "memberlist.ConflictDelegate"},
		{"Merge", "memberlist.MergeDelegate"},
		{"Ping", "memberlist.PingDelegate"},
		{"Alive", "memberlist.AliveDelegate"},
		{"DNSConfigPath", "string"},
		{"LogOutput", "io.Writer"},
		{"Logger", "*log.Logger"},
		{"HandoffQueueDepth", "int"},
		{"UDPBufferSize", "int"},
		{"DeadNodeReclaimTime", "time.Duration"},
		{"RequireNodeNames", "bool"},
		{"CIDRsAllowed", "[]net.IPNet"},
		{"MetricLabels", "[]github.com/hashicorp/go-metrics.Label"},
		{"QueueCheckInterval", "time.Duration"},
		{"MsgpackUseNewTimeFormat", "bool"},
	}},
	{reflect.TypeFor[Node](), true, []apiField{
		{"Name", "string"},
		{"Addr", "net.IP"},
		{"Port", "uint16"},
		{"Meta", "[]uint8"},
		{"State", "memberlist.NodeStateType"},
		{"PMin", "uint8"},
		{"PMax", "uint8"},
		{"PCur", "uint8"},
		{"DMin", "uint8"},
		{"DMax", "uint8"},
		{"DCur", "uint8"},
	}},
	{reflect.TypeFor[NodeEvent](), true, []apiField{
		{"Event", "memberlist.NodeEventType"},
		{"Node", "*memberlist.Node"},
	}},
	{reflect.TypeFor[ChannelEventDelegate](), true, []apiField{
		{"Ch", "chan<- memberlist.NodeEvent"},
	}},
	{reflect.TypeFor[Address](), true, []apiField{
		{"Addr", "string"},
		{"Name", "string"},
	}},
	{reflect.TypeFor[Packet](), true, []apiField{
		{"Buf", "[]uint8"},
		{"From", "net.Addr"},
		{"Timestamp", "time.Time"},
	}},
	{reflect.TypeFor[NetTransportConfig](), true, []apiField{
		{"BindAddrs", "[]string"},
		{"BindPort", "int"},
		{"Logger", "*log.Logger"},
		{"MetricLabels", "[]github.com/hashicorp/go-metrics.Label"},
	}},
	{reflect.TypeFor[TransmitLimitedQueue](), false, []apiField{
		{"NumNodes", "func() int"},
		{"RetransmitMult", "int"},
	}},
	// Structs with unexported fields only.
	{reflect.TypeFor[Memberlist](), false, nil},
	{reflect.TypeFor[Keyring](), false, nil},
	{reflect.TypeFor[NoPingResponseError](), false, nil},
	{reflect.TypeFor[NetTransport](), false, nil},
	{reflect.TypeFor[MockNetwork](), false, nil},
	{reflect.TypeFor[MockAddress](), false, nil},
	{reflect.TypeFor[MockTransport](), false, nil},
}

func TestAPIStructFields(t *testing.T) {
	for _, ts := range apiStructs {
		name := ts.typ.Name()
		if ts.typ.Kind() != reflect.Struct || ts.typ.PkgPath() != apiPkgPath {
			t.Errorf("type %s is %s, want a struct type defined in this package", name, apiTypeString(ts.typ))
			continue
		}
		var got []apiField
		var unexported []string
		for i := 0; i < ts.typ.NumField(); i++ {
			f := ts.typ.Field(i)
			if f.Anonymous {
				t.Errorf("struct %s embeds %s; the reference embeds nothing", name, apiTypeString(f.Type))
			}
			if !f.IsExported() {
				unexported = append(unexported, f.Name)
				continue
			}
			got = append(got, apiField{f.Name, apiTypeString(f.Type)})
		}
		if ts.complete && len(unexported) > 0 {
			t.Errorf("struct %s has unexported fields %v; the reference has none (unkeyed composite literals break)",
				name, unexported)
		}
		if slices.Equal(got, ts.fields) {
			continue
		}
		gotByName := map[string]apiField{}
		for _, f := range got {
			gotByName[f.name] = f
		}
		wantByName := map[string]bool{}
		for _, f := range ts.fields {
			wantByName[f.name] = true
			g, ok := gotByName[f.name]
			switch {
			case !ok:
				t.Errorf("field %s.%s is missing (want type %s)", name, f.name, f.typ)
			case g.typ != f.typ:
				t.Errorf("field %s.%s has type %s, want %s", name, f.name, g.typ, f.typ)
			}
		}
		for _, f := range got {
			if !wantByName[f.name] && !apiAllowedAdditions["field "+name+"."+f.name] {
				t.Errorf("field %s.%s (%s) is not in the reference nor in apiAllowedAdditions", name, f.name, f.typ)
			}
		}
		var gotNames, wantNames []string
		for _, f := range got {
			if wantByName[f.name] {
				gotNames = append(gotNames, f.name)
			}
		}
		for _, f := range ts.fields {
			if _, ok := gotByName[f.name]; ok {
				wantNames = append(wantNames, f.name)
			}
		}
		for i := range gotNames {
			if gotNames[i] != wantNames[i] {
				t.Errorf("field %s.%s is out of order: exported field #%d is %s, want %s",
					name, gotNames[i], i, gotNames[i], wantNames[i])
			}
		}
	}
}

// apiInterfaces lists the full method set (embedded interfaces expanded) of
// every exported interface, from reference §1.4.
var apiInterfaces = []struct {
	typ     reflect.Type
	methods []apiField // name and signature
}{
	{reflect.TypeFor[Transport](), []apiField{
		{"FinalAdvertiseAddr", "func(string, int) (net.IP, int, error)"},
		{"WriteTo", "func([]uint8, string) (time.Time, error)"},
		{"PacketCh", "func() <-chan *memberlist.Packet"},
		{"DialTimeout", "func(string, time.Duration) (net.Conn, error)"},
		{"StreamCh", "func() <-chan net.Conn"},
		{"Shutdown", "func() error"},
	}},
	{reflect.TypeFor[NodeAwareTransport](), []apiField{
		{"FinalAdvertiseAddr", "func(string, int) (net.IP, int, error)"},
		{"WriteTo", "func([]uint8, string) (time.Time, error)"},
		{"PacketCh", "func() <-chan *memberlist.Packet"},
		{"DialTimeout", "func(string, time.Duration) (net.Conn, error)"},
		{"StreamCh", "func() <-chan net.Conn"},
		{"Shutdown", "func() error"},
		{"WriteToAddress", "func([]uint8, memberlist.Address) (time.Time, error)"},
		{"DialAddressTimeout", "func(memberlist.Address, time.Duration) (net.Conn, error)"},
	}},
	{reflect.TypeFor[IngestionAwareTransport](), []apiField{
		{"IngestPacket", "func(net.Conn, net.Addr, time.Time, bool) error"},
		{"IngestStream", "func(net.Conn) error"},
	}},
	{reflect.TypeFor[Delegate](), []apiField{
		{"NodeMeta", "func(int) []uint8"},
		{"NotifyMsg", "func([]uint8)"},
		{"GetBroadcasts", "func(int, int) [][]uint8"},
		{"LocalState", "func(bool) []uint8"},
		{"MergeRemoteState", "func([]uint8, bool)"},
	}},
	{reflect.TypeFor[EventDelegate](), []apiField{
		{"NotifyJoin", "func(*memberlist.Node)"},
		{"NotifyLeave", "func(*memberlist.Node)"},
		{"NotifyUpdate", "func(*memberlist.Node)"},
	}},
	{reflect.TypeFor[ConflictDelegate](), []apiField{
		{"NotifyConflict", "func(*memberlist.Node, *memberlist.Node)"},
	}},
	{reflect.TypeFor[MergeDelegate](), []apiField{
		{"NotifyMerge", "func([]*memberlist.Node) error"},
	}},
	{reflect.TypeFor[AliveDelegate](), []apiField{
		{"NotifyAlive", "func(*memberlist.Node) error"},
	}},
	{reflect.TypeFor[PingDelegate](), []apiField{
		{"AckPayload", "func() []uint8"},
		{"NotifyPingComplete", "func(*memberlist.Node, time.Duration, []uint8)"},
	}},
	{reflect.TypeFor[Broadcast](), []apiField{
		{"Invalidates", "func(memberlist.Broadcast) bool"},
		{"Message", "func() []uint8"},
		{"Finished", "func()"},
	}},
	{reflect.TypeFor[NamedBroadcast](), []apiField{
		{"Invalidates", "func(memberlist.Broadcast) bool"},
		{"Message", "func() []uint8"},
		{"Finished", "func()"},
		{"Name", "func() string"},
	}},
	{reflect.TypeFor[UniqueBroadcast](), []apiField{
		{"Invalidates", "func(memberlist.Broadcast) bool"},
		{"Message", "func() []uint8"},
		{"Finished", "func()"},
		{"UniqueBroadcast", "func()"},
	}},
}

func TestAPIInterfaces(t *testing.T) {
	for _, ti := range apiInterfaces {
		name := ti.typ.Name()
		if ti.typ.Kind() != reflect.Interface || ti.typ.PkgPath() != apiPkgPath {
			t.Errorf("type %s is %s, want an interface type defined in this package", name, apiTypeString(ti.typ))
			continue
		}
		want := map[string]string{}
		for _, m := range ti.methods {
			want[m.name] = m.typ
			got, ok := ti.typ.MethodByName(m.name)
			switch {
			case !ok:
				t.Errorf("interface %s lacks method %s %s", name, m.name, m.typ)
			case apiFuncString(got.Type, 0) != m.typ:
				t.Errorf("interface %s method %s has type %s, want %s", name, m.name, apiFuncString(got.Type, 0), m.typ)
			}
		}
		// NumMethod of an interface type counts unexported methods too; an
		// extra method of either kind stops user types from implementing it.
		for i := 0; i < ti.typ.NumMethod(); i++ {
			m := ti.typ.Method(i)
			if _, ok := want[m.Name]; !ok {
				t.Errorf("interface %s has method %s %s that upstream's lacks: user implementations of upstream's %s no longer satisfy it",
					name, m.Name, apiFuncString(m.Type, 0), name)
			}
		}
	}
}

func TestAPIImplements(t *testing.T) {
	tests := []struct {
		typ   reflect.Type
		iface reflect.Type
	}{
		{reflect.TypeFor[*NetTransport](), reflect.TypeFor[Transport]()},
		{reflect.TypeFor[*NetTransport](), reflect.TypeFor[NodeAwareTransport]()},
		{reflect.TypeFor[*NetTransport](), reflect.TypeFor[IngestionAwareTransport]()},
		{reflect.TypeFor[*MockTransport](), reflect.TypeFor[Transport]()},
		{reflect.TypeFor[*MockTransport](), reflect.TypeFor[NodeAwareTransport]()},
		{reflect.TypeFor[*MockTransport](), reflect.TypeFor[IngestionAwareTransport]()},
		{reflect.TypeFor[*ChannelEventDelegate](), reflect.TypeFor[EventDelegate]()},
		{reflect.TypeFor[*MockAddress](), reflect.TypeFor[net.Addr]()},
		{reflect.TypeFor[NoPingResponseError](), reflect.TypeFor[error]()},
		{reflect.TypeFor[*NoPingResponseError](), reflect.TypeFor[error]()},

		// User types with exactly upstream's method sets.
		{reflect.TypeFor[apiUserTransport](), reflect.TypeFor[Transport]()},
		{reflect.TypeFor[apiUserNodeAwareTransport](), reflect.TypeFor[Transport]()},
		{reflect.TypeFor[apiUserNodeAwareTransport](), reflect.TypeFor[NodeAwareTransport]()},
		{reflect.TypeFor[apiUserIngestionAwareTransport](), reflect.TypeFor[IngestionAwareTransport]()},
		{reflect.TypeFor[apiUserDelegate](), reflect.TypeFor[Delegate]()},
		{reflect.TypeFor[apiUserEventDelegate](), reflect.TypeFor[EventDelegate]()},
		{reflect.TypeFor[apiUserConflictDelegate](), reflect.TypeFor[ConflictDelegate]()},
		{reflect.TypeFor[apiUserMergeDelegate](), reflect.TypeFor[MergeDelegate]()},
		{reflect.TypeFor[apiUserAliveDelegate](), reflect.TypeFor[AliveDelegate]()},
		{reflect.TypeFor[apiUserPingDelegate](), reflect.TypeFor[PingDelegate]()},
		{reflect.TypeFor[apiUserBroadcast](), reflect.TypeFor[Broadcast]()},
		{reflect.TypeFor[apiUserNamedBroadcast](), reflect.TypeFor[NamedBroadcast]()},
		{reflect.TypeFor[apiUserUniqueBroadcast](), reflect.TypeFor[UniqueBroadcast]()},
	}
	for _, tt := range tests {
		if !tt.typ.Implements(tt.iface) {
			t.Errorf("%s does not implement %s", apiTypeString(tt.typ), apiTypeString(tt.iface))
		}
	}

	// A value Address has no String method: it has a pointer receiver, and
	// fmt prints an Address value as a struct (MockTransport's "no route to
	// {...}" error depends on it).
	if reflect.TypeFor[Address]().Implements(reflect.TypeFor[fmt.Stringer]()) {
		t.Errorf("memberlist.Address (a value) implements fmt.Stringer; String must have a pointer receiver")
	}
}

// apiReference lists every exported identifier of reference §1: top-level
// declarations as "const X", "var X", "func X", "type X", and methods of
// exported types as "method T.M" (whatever the receiver kind).
var apiReference = []string{
	// §1.1
	"const ProtocolVersionMin", "const ProtocolVersion2Compatible", "const ProtocolVersionMax",
	"const MetaMaxSize", "const LabelMaxSize",
	"const StateAlive", "const StateSuspect", "const StateDead", "const StateLeft",
	"const NodeJoin", "const NodeLeave", "const NodeUpdate",
	// §1.1: no exported package-level variables.

	// §1.2
	"func Create", "func DefaultLANConfig", "func DefaultWANConfig", "func DefaultLocalConfig",
	"func ParseCIDRs", "func NewKeyring", "func ValidateKey", "func NewNetTransport",
	"func AddLabelHeaderToPacket", "func RemoveLabelHeaderFromPacket",
	"func AddLabelHeaderToStream", "func RemoveLabelHeaderFromStream",
	"func LogAddress", "func LogStringAddress", "func LogConn",

	// §1.3 types
	"type Config", "type Memberlist", "type Node", "type NodeStateType", "type NodeEventType",
	"type NodeEvent", "type ChannelEventDelegate", "type Address", "type Packet", "type Keyring",
	"type NoPingResponseError", "type TransmitLimitedQueue", "type NetTransportConfig",
	"type NetTransport", "type MockNetwork", "type MockAddress", "type MockTransport",
	// §1.4 interfaces
	"type Transport", "type NodeAwareTransport", "type IngestionAwareTransport", "type Delegate",
	"type EventDelegate", "type ConflictDelegate", "type MergeDelegate", "type AliveDelegate",
	"type PingDelegate", "type Broadcast", "type NamedBroadcast", "type UniqueBroadcast",

	// §1.3 methods
	"method Config.BuildVsnArray", "method Config.EncryptionEnabled", "method Config.IPAllowed",
	"method Config.IPMustBeChecked",
	"method Memberlist.Join", "method Memberlist.LocalNode", "method Memberlist.UpdateNode",
	"method Memberlist.SendTo", "method Memberlist.SendToAddress", "method Memberlist.SendToUDP",
	"method Memberlist.SendToTCP", "method Memberlist.SendBestEffort", "method Memberlist.SendReliable",
	"method Memberlist.Members", "method Memberlist.NumMembers", "method Memberlist.Leave",
	"method Memberlist.GetHealthScore", "method Memberlist.ProtocolVersion", "method Memberlist.Shutdown",
	"method Memberlist.Ping",
	"method Node.Address", "method Node.FullAddress", "method Node.String",
	"method ChannelEventDelegate.NotifyJoin", "method ChannelEventDelegate.NotifyLeave",
	"method ChannelEventDelegate.NotifyUpdate",
	"method Address.String",
	"method Keyring.AddKey", "method Keyring.UseKey", "method Keyring.RemoveKey",
	"method Keyring.GetKeys", "method Keyring.GetPrimaryKey",
	"method NoPingResponseError.Error",
	"method TransmitLimitedQueue.QueueBroadcast", "method TransmitLimitedQueue.GetBroadcasts",
	"method TransmitLimitedQueue.NumQueued", "method TransmitLimitedQueue.Reset",
	"method TransmitLimitedQueue.Prune",
	"method NetTransport.GetAutoBindPort", "method NetTransport.FinalAdvertiseAddr",
	"method NetTransport.WriteTo", "method NetTransport.WriteToAddress", "method NetTransport.PacketCh",
	"method NetTransport.IngestPacket", "method NetTransport.DialTimeout",
	"method NetTransport.DialAddressTimeout", "method NetTransport.StreamCh",
	"method NetTransport.IngestStream", "method NetTransport.Shutdown",
	"method MockNetwork.NewTransport",
	"method MockAddress.Network", "method MockAddress.String",
	"method MockTransport.FinalAdvertiseAddr", "method MockTransport.WriteTo",
	"method MockTransport.WriteToAddress", "method MockTransport.PacketCh",
	"method MockTransport.IngestPacket", "method MockTransport.DialTimeout",
	"method MockTransport.DialAddressTimeout", "method MockTransport.StreamCh",
	"method MockTransport.IngestStream", "method MockTransport.Shutdown",
}

// apiAllowedAdditions are the exported identifiers we add to upstream's API.
// Each is documented at its declaration.
var apiAllowedAdditions = map[string]bool{
	"type MockLinkFaults":                 true,
	"method MockNetwork.SetSeed":          true,
	"method MockNetwork.SetLink":          true,
	"method MockNetwork.SetAllLinks":      true,
	"method MockNetwork.Block":            true,
	"method MockNetwork.Unblock":          true,
	"method MockNetwork.Partition":        true,
	"method MockNetwork.Heal":             true,
	"method MockNetwork.SetCapture":       true,
	"method MockTransport.DroppedPackets": true,
	"type MockStreamFault":                true,
	"const MockStreamOK":                  true,
	"const MockStreamRefuse":              true,
	"const MockStreamHang":                true,
	"const MockStreamReset":               true,
	"const MockStreamStall":               true,
	"method MockStreamFault.String":       true,
	"type MockNodeFaults":                 true,
	"method MockNetwork.SetNode":          true,
	"method MockNetwork.Pause":            true,
	"method MockNetwork.Resume":           true,
	"type MockLinkStats":                  true,
	"method MockNetwork.LinkStats":        true,
	"method MockNetwork.TotalStats":       true,
	"method MockNetwork.ResetStats":       true,
	"method MockNetwork.Restart":          true,
	"type MemberState":                    true,
	"method NodeStateType.String":         true,
	"method Memberlist.MemberStates":      true,
	"method Config.Validate":              true,
	"var ErrShutdown":                     true,
	"var ErrNoSeedReachable":              true,
	"var ErrLabelMismatch":                true,
	"var ErrMessageTooLarge":              true,
	"var ErrInvalidKeySize":               true,
	"var ErrEmptyPrimaryKey":              true,
	"var ErrKeyNotFound":                  true,
	"var ErrRemovePrimaryKey":             true,
	"var ErrKeyringEmpty":                 true,
	"var ErrNoKeyDecrypts":                true,
	"method Memberlist.JoinContext":       true,
	"field Config.Slog":                   true,
	"field Config.MetricSink":             true,
	"type StreamFailure":                  true,
	"method Memberlist.StreamFailures":    true,
	"field Config.RemergeInterval":        true,
	"field Config.UserBroadcastShare":     true,
}

// apiAdditionStructs lists, in declaration order, the exported fields of
// the structs we add (apiAllowedAdditions names only types, constants and
// methods), so that a field cannot be renamed or dropped unnoticed.
var apiAdditionStructs = []struct {
	typ    reflect.Type
	fields []apiField
}{
	{reflect.TypeFor[MockLinkFaults](), []apiField{
		{"Loss", "float64"}, {"Duplicate", "float64"}, {"Delay", "time.Duration"},
		{"Jitter", "time.Duration"}, {"Stream", "memberlist.MockStreamFault"}, {"StreamResetAfter", "int"},
	}},
	{reflect.TypeFor[MockNodeFaults](), []apiField{
		{"InLoss", "float64"}, {"OutLoss", "float64"},
		{"Streams", "memberlist.MockStreamFault"}, {"StreamResetAfter", "int"},
	}},
	{reflect.TypeFor[MockLinkStats](), []apiField{
		{"PacketsSent", "uint64"}, {"BytesSent", "uint64"}, {"PacketsDelivered", "uint64"},
		{"PacketsLost", "uint64"}, {"PacketsCut", "uint64"}, {"PacketsOverflow", "uint64"},
		{"PacketsPaused", "uint64"}, {"StreamsOpened", "uint64"}, {"StreamsRefused", "uint64"},
		{"StreamsReset", "uint64"},
	}},
	{reflect.TypeFor[StreamFailure](), []apiField{
		{"Node", "string"}, {"Cause", "string"}, {"Since", "time.Time"}, {"Failures", "int"},
	}},
}

func TestAPIAdditionStructFields(t *testing.T) {
	for _, ts := range apiAdditionStructs {
		if !apiAllowedAdditions["type "+ts.typ.Name()] {
			t.Errorf("type %s is not in apiAllowedAdditions", ts.typ.Name())
		}
		var got []apiField
		for i := 0; i < ts.typ.NumField(); i++ {
			if f := ts.typ.Field(i); f.IsExported() {
				got = append(got, apiField{f.Name, apiTypeString(f.Type)})
			}
		}
		if !slices.Equal(got, ts.fields) {
			t.Errorf("fields of %s:\n got %v\nwant %v", ts.typ.Name(), got, ts.fields)
		}
	}
}

// apiDeclared parses the package's non-test Go files in the current
// directory that the default build context selects and returns its
// exported identifiers in the form of apiReference.
func apiDeclared(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	seen := map[string]bool{}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		if ok, err := build.Default.MatchFile(".", name); err != nil {
			t.Fatalf("%s: %v", name, err)
		} else if !ok {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		if f.Name.Name != "memberlist" {
			continue
		}
		for _, decl := range f.Decls {
			switch d := decl.(type) {
			case *ast.FuncDecl:
				if !d.Name.IsExported() {
					continue
				}
				if d.Recv == nil {
					seen["func "+d.Name.Name] = true
					continue
				}
				if recv := apiRecvName(d.Recv.List[0].Type); ast.IsExported(recv) {
					seen["method "+recv+"."+d.Name.Name] = true
				}
			case *ast.GenDecl:
				for _, spec := range d.Specs {
					switch s := spec.(type) {
					case *ast.TypeSpec:
						if s.Name.IsExported() {
							seen["type "+s.Name.Name] = true
						}
					case *ast.ValueSpec:
						for _, n := range s.Names {
							if n.IsExported() {
								seen[d.Tok.String()+" "+n.Name] = true
							}
						}
					}
				}
			}
		}
	}
	var out []string
	for k := range seen {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// apiRecvName returns the type name of a method receiver expression: T, *T,
// T[P] or *T[P].
func apiRecvName(e ast.Expr) string {
	for {
		switch x := e.(type) {
		case *ast.StarExpr:
			e = x.X
		case *ast.ParenExpr:
			e = x.X
		case *ast.IndexExpr:
			e = x.X
		case *ast.IndexListExpr:
			e = x.X
		case *ast.Ident:
			return x.Name
		default:
			return ""
		}
	}
}

func TestAPIExportedIdentifiers(t *testing.T) {
	declared := apiDeclared(t)
	have := map[string]bool{}
	for _, d := range declared {
		have[d] = true
	}
	want := map[string]bool{}
	for _, r := range apiReference {
		if want[r] {
			t.Errorf("apiReference lists %q twice", r)
		}
		want[r] = true
	}
	var missing, extra []string
	for _, r := range apiReference {
		if !have[r] {
			missing = append(missing, r)
		}
	}
	for _, d := range declared {
		if !want[d] && !apiAllowedAdditions[d] {
			extra = append(extra, d)
		}
	}
	sort.Strings(missing)
	for _, m := range missing {
		t.Errorf("MISSING: %s (in reference §1, not declared)", m)
	}
	for _, e := range extra {
		t.Errorf("EXTRA: %s (exported, but neither in reference §1 nor in apiAllowedAdditions)", e)
	}
	for a := range apiAllowedAdditions {
		if !have[a] && !strings.HasPrefix(a, "field ") { // fields: TestAPIStructFields
			t.Errorf("apiAllowedAdditions lists %s, which is not declared; remove it", a)
		}
	}
}
