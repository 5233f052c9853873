package memberlist

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hashicorp/go-metrics"
)

const (
	// netUDPPacketBufSize is the size of the buffer each UDP datagram is
	// read into: the largest datagram UDP can carry.
	netUDPPacketBufSize = 65536

	// netUDPRecvBufSize is the socket receive buffer NetTransport asks for
	// first; it halves the request until the OS accepts one.
	netUDPRecvBufSize = 2 * 1024 * 1024

	// netAcceptBackoffMin and netAcceptBackoffMax bound the pause after a
	// failed TCP accept.
	netAcceptBackoffMin = 5 * time.Millisecond
	netAcceptBackoffMax = time.Second
)

// errNetTransportShutdown is returned by NetTransport methods called after
// Shutdown.
var errNetTransportShutdown = withText(ErrShutdown, "net transport is shut down")

// NetTransportConfig configures a NetTransport.
type NetTransportConfig struct {
	// BindAddrs lists the IP addresses to listen on, TCP and UDP on each.
	// At least one is required. A string that does not parse as an IP
	// (including "" and bracketed IPv6 such as "[::1]") listens on all
	// interfaces. The first entry also decides FinalAdvertiseAddr.
	BindAddrs []string

	// BindPort is the port to listen on. Zero picks a free port for the
	// first TCP listener and uses it for every other listener; see
	// NetTransport.GetAutoBindPort.
	BindPort int

	// Logger receives the transport's log lines. Nil logs to os.Stderr
	// with the standard flags.
	Logger *log.Logger

	// MetricLabels are attached to the metrics the transport emits
	// (memberlist.udp.received). Nil attaches none.
	MetricLabels []metrics.Label
}

// NetTransport is the default Transport: UDP for packets and TCP for
// streams, with one listener of each kind per bind address, all on the
// same port.
//
// A NetTransport is created by NewNetTransport; the zero value is not
// usable. It is safe for concurrent use.
type NetTransport struct {
	bindAddrs    []string
	logger       *log.Logger
	metricLabels []metrics.Label // clipped, so that go-metrics' appends copy
	metricSink   metricSink      // the go-metrics global instance unless set

	readErrMu sync.Mutex // leaf lock
	readErr   warnLimit  // rate limit of the "Error reading UDP packet" lines

	// ifaceAddrs lists the host's interface addresses for
	// FinalAdvertiseAddr; tests replace it.
	ifaceAddrs func() ([]netIfaceAddr, error)

	packetCh     chan *Packet
	streamCh     chan net.Conn
	tcpListeners []*net.TCPListener
	udpListeners []*net.UDPConn

	shutdown     atomic.Bool
	shutdownCh   chan struct{}
	shutdownOnce sync.Once
	wg           sync.WaitGroup

	// dialCtx is cancelled by Shutdown, ending the dials in progress.
	dialCtx     context.Context
	cancelDials context.CancelFunc
}

var (
	_ NodeAwareTransport      = (*NetTransport)(nil)
	_ IngestionAwareTransport = (*NetTransport)(nil)
)

// NewNetTransport listens on every address of config.BindAddrs, TCP and
// UDP, and starts the goroutines that feed PacketCh and StreamCh. On error
// every listener already opened is closed again.
func NewNetTransport(config *NetTransportConfig) (*NetTransport, error) {
	return newNetTransport(config, globalMetrics{})
}

// newNetTransport is NewNetTransport with the sink to emit metrics to.
func newNetTransport(config *NetTransportConfig, sink metricSink) (*NetTransport, error) {
	if config == nil || len(config.BindAddrs) == 0 {
		return nil, errors.New("at least one bind address is required")
	}
	logger := config.Logger
	if logger == nil {
		logger = log.New(os.Stderr, "", log.LstdFlags)
	}
	t := &NetTransport{
		bindAddrs:    append([]string(nil), config.BindAddrs...),
		logger:       logger,
		metricLabels: slices.Clip(slices.Clone(config.MetricLabels)),
		metricSink:   sink,
		ifaceAddrs:   netSystemIfaceAddrs,
		packetCh:     make(chan *Packet),
		streamCh:     make(chan net.Conn),
		shutdownCh:   make(chan struct{}),
	}
	t.dialCtx, t.cancelDials = context.WithCancel(context.Background())
	if err := t.listen(config.BindPort); err != nil {
		t.closeListeners()
		return nil, err
	}
	for i := range t.tcpListeners {
		tcp, udp := t.tcpListeners[i], t.udpListeners[i]
		t.spawn(func() { t.acceptLoop(tcp) })
		t.spawn(func() { t.readLoop(udp) })
	}
	return t, nil
}

// listen opens the TCP and UDP listeners of every bind address on port,
// or on the first TCP listener's port when port is 0.
func (t *NetTransport) listen(port int) error {
	for _, addr := range t.bindAddrs {
		ip := net.ParseIP(addr)
		tcp, err := net.ListenTCP("tcp", &net.TCPAddr{IP: ip, Port: port})
		if err != nil {
			return fmt.Errorf("failed to start TCP listener on %q port %d: %w", addr, port, err)
		}
		t.tcpListeners = append(t.tcpListeners, tcp)
		if port == 0 {
			port = tcp.Addr().(*net.TCPAddr).Port
		}
		udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: ip, Port: port})
		if err != nil {
			return fmt.Errorf("failed to start UDP listener on %q port %d: %w", addr, port, err)
		}
		t.udpListeners = append(t.udpListeners, udp)
		if err := netSetUDPRecvBuf(udp.SetReadBuffer); err != nil {
			return err
		}
	}
	return nil
}

// netSetUDPRecvBuf asks set for a receive buffer of 2 MiB, halving the
// request after each refusal, and fails only when every size is refused.
func netSetUDPRecvBuf(set func(size int) error) error {
	var err error
	for size := netUDPRecvBufSize; size > 0; size /= 2 {
		if err = set(size); err == nil {
			return nil
		}
	}
	return fmt.Errorf("failed to resize UDP buffer: %w", err)
}

// spawn runs f on a goroutine that Shutdown waits for.
func (t *NetTransport) spawn(f func()) {
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		f()
	}()
}

// closeListeners closes every listener opened so far.
func (t *NetTransport) closeListeners() {
	for _, ln := range t.tcpListeners {
		ln.Close()
	}
	for _, conn := range t.udpListeners {
		conn.Close()
	}
}

// GetAutoBindPort returns the port the transport listens on, which is the
// one the OS chose when NetTransportConfig.BindPort was 0.
func (t *NetTransport) GetAutoBindPort() int {
	return t.tcpListeners[0].Addr().(*net.TCPAddr).Port
}

// FinalAdvertiseAddr returns the address to announce to peers. A non-empty
// ip is parsed (an IPv4 address is returned in its 4-byte form) and
// returned with port. With an empty ip the port is always the bound port
// and the IP is: when the first bind address is "0.0.0.0", the first
// private IPv4 address (RFC 1918 or RFC 6598) of an up, non-loopback
// interface, in 16-byte form; otherwise the first TCP listener's IP.
func (t *NetTransport) FinalAdvertiseAddr(ip string, port int) (net.IP, int, error) {
	if ip != "" {
		addr := net.ParseIP(ip)
		if addr == nil {
			return nil, 0, fmt.Errorf("failed to parse advertise address %q", ip)
		}
		if ip4 := addr.To4(); ip4 != nil {
			addr = ip4
		}
		return addr, port, nil
	}
	if t.bindAddrs[0] != "0.0.0.0" {
		return t.tcpListeners[0].Addr().(*net.TCPAddr).IP, t.GetAutoBindPort(), nil
	}
	cands, err := t.ifaceAddrs()
	if err != nil {
		return nil, 0, fmt.Errorf("failed to get interface addresses: %w", err)
	}
	addr := netPickPrivateIP(cands)
	if addr == nil {
		return nil, 0, errors.New("no private IP address found, and explicit IP not provided")
	}
	return addr.To16(), t.GetAutoBindPort(), nil
}

// netIfaceAddr is one address of a network interface, with the
// interface's flags.
type netIfaceAddr struct {
	flags net.Flags
	ip    net.IP
}

// netSystemIfaceAddrs lists the addresses of the host's interfaces.
func netSystemIfaceAddrs() ([]netIfaceAddr, error) {
	ifaces, err := net.Interfaces()
	if err != nil {
		return nil, err
	}
	var out []netIfaceAddr
	for _, ifc := range ifaces {
		addrs, err := ifc.Addrs()
		if err != nil {
			return nil, err
		}
		for _, a := range addrs {
			switch v := a.(type) {
			case *net.IPNet:
				out = append(out, netIfaceAddr{flags: ifc.Flags, ip: v.IP})
			case *net.IPAddr:
				out = append(out, netIfaceAddr{flags: ifc.Flags, ip: v.IP})
			}
		}
	}
	return out, nil
}

// netPickPrivateIP returns the first candidate that is a private IPv4
// address on an interface that is up and not a loopback, or nil.
func netPickPrivateIP(cands []netIfaceAddr) net.IP {
	for _, c := range cands {
		if c.flags&net.FlagUp == 0 || c.flags&net.FlagLoopback != 0 {
			continue
		}
		if netIsPrivateIPv4(c.ip) {
			return c.ip.To4()
		}
	}
	return nil
}

// netIsPrivateIPv4 reports whether ip is in 10/8, 172.16/12, 192.168/16
// (RFC 1918) or 100.64/10 (RFC 6598, carrier-grade NAT).
func netIsPrivateIPv4(ip net.IP) bool {
	ip4 := ip.To4()
	if ip4 == nil {
		return false
	}
	switch {
	case ip4[0] == 10:
		return true
	case ip4[0] == 172:
		return ip4[1]&0xf0 == 16
	case ip4[0] == 192:
		return ip4[1] == 168
	case ip4[0] == 100:
		return ip4[1]&0xc0 == 64
	}
	return false
}

// WriteTo sends b to addr as one UDP datagram from the first UDP listener.
func (t *NetTransport) WriteTo(b []byte, addr string) (time.Time, error) {
	return t.WriteToAddress(b, Address{Addr: addr})
}

// WriteToAddress sends b to a.Addr as one UDP datagram from the first UDP
// listener; a.Name is ignored. It returns the time of the write.
func (t *NetTransport) WriteToAddress(b []byte, a Address) (time.Time, error) {
	udpAddr, err := net.ResolveUDPAddr("udp", a.Addr)
	if err != nil {
		return time.Time{}, err
	}
	_, err = t.udpListeners[0].WriteTo(b, udpAddr)
	if errors.Is(err, syscall.EMSGSIZE) {
		err = alsoMatches(err, ErrMessageTooLarge)
	}
	return time.Now(), err
}

// PacketCh returns the channel of inbound UDP packets. It is never closed.
func (t *NetTransport) PacketCh() <-chan *Packet {
	return t.packetCh
}

// DialTimeout opens a TCP connection to addr.
func (t *NetTransport) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	return t.DialAddressTimeout(Address{Addr: addr}, timeout)
}

// DialAddressTimeout opens a TCP connection to a.Addr, waiting at most
// timeout (zero means no timeout); a.Name is ignored. It fails after
// Shutdown, and a dial in progress fails when Shutdown is called, so a
// Join to an address that drops SYNs does not hold Shutdown up.
func (t *NetTransport) DialAddressTimeout(a Address, timeout time.Duration) (net.Conn, error) {
	if t.shutdown.Load() {
		return nil, errNetTransportShutdown
	}
	ctx := t.dialCtx
	if ctx == nil {
		ctx = context.Background()
	}
	dialer := net.Dialer{Timeout: timeout}
	return dialer.DialContext(ctx, "tcp", a.Addr)
}

// StreamCh returns the channel of inbound TCP connections. It is never
// closed.
func (t *NetTransport) StreamCh() <-chan net.Conn {
	return t.streamCh
}

// IngestPacket reads all of conn and delivers it on PacketCh as a packet
// from addr received at now, closing conn first when shouldClose is set.
// It blocks until the packet is read from PacketCh or the transport shuts
// down.
func (t *NetTransport) IngestPacket(conn net.Conn, addr net.Addr, now time.Time, shouldClose bool) error {
	buf, err := readIngestedPacket(conn, addr, shouldClose)
	if err != nil {
		return err
	}
	select {
	case t.packetCh <- &Packet{Buf: buf, From: addr, Timestamp: now}:
		return nil
	case <-t.shutdownCh:
		return errNetTransportShutdown
	}
}

// IngestStream delivers conn on StreamCh. It blocks until conn is read
// from StreamCh or the transport shuts down.
func (t *NetTransport) IngestStream(conn net.Conn) error {
	select {
	case t.streamCh <- conn:
		return nil
	case <-t.shutdownCh:
		return errNetTransportShutdown
	}
}

// Shutdown closes every listener, makes the dials in progress fail, and
// returns once the transport's goroutines have exited. Connections already handed out through StreamCh
// stay open; one accepted but not yet handed out is closed. PacketCh and
// StreamCh are not closed. Later calls do nothing and return nil.
func (t *NetTransport) Shutdown() error {
	t.shutdownOnce.Do(func() {
		t.shutdown.Store(true)
		close(t.shutdownCh)
		if t.cancelDials != nil {
			t.cancelDials()
		}
		t.closeListeners()
	})
	t.wg.Wait()
	return nil
}

// acceptLoop hands each connection accepted on ln to StreamCh until
// Shutdown, pausing after accept errors (netAcceptBackoff).
func (t *NetTransport) acceptLoop(ln net.Listener) {
	var delay time.Duration
	for {
		conn, err := ln.Accept()
		if err != nil {
			if t.shutdown.Load() {
				return
			}
			delay = netAcceptBackoff(delay)
			t.logger.Printf("[ERR] memberlist: Error accepting TCP connection: %v", err)
			if !t.pause(delay) {
				return
			}
			continue
		}
		delay = 0
		select {
		case t.streamCh <- conn:
		case <-t.shutdownCh:
			conn.Close()
			return
		}
	}
}

// netAcceptBackoff returns the pause after a failed accept, given the
// previous pause (zero after a success): 5 ms, then doubling up to 1 s.
func netAcceptBackoff(prev time.Duration) time.Duration {
	if prev <= 0 {
		return netAcceptBackoffMin
	}
	return min(2*prev, netAcceptBackoffMax)
}

// pause waits for d and reports whether the transport is still running.
func (t *NetTransport) pause(d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-t.shutdownCh:
		return false
	}
}

// readLoop hands each datagram read from conn to PacketCh until Shutdown.
// Each packet gets its own copy of the bytes, timestamped right after the
// read.
func (t *NetTransport) readLoop(conn net.PacketConn) {
	buf := make([]byte, netUDPPacketBufSize)
	for {
		n, addr, err := conn.ReadFrom(buf)
		ts := time.Now()
		if err != nil {
			if t.shutdown.Load() || errors.Is(err, net.ErrClosed) {
				return
			}
			t.logReadError(err)
			continue
		}
		if n < 1 {
			// An empty datagram, which anyone can send: counted, and
			// logged at debug so that a flood cannot fill the log.
			t.metricSink.IncrCounterWithLabels(keyUDPDecodeFailed, 1, t.metricLabels)
			t.logger.Printf("[DEBUG] memberlist: UDP packet too short (%d bytes) %s", n, LogAddress(addr))
			continue
		}
		t.countUDPReceived(n)
		pkt := &Packet{Buf: bytes.Clone(buf[:n]), From: addr, Timestamp: ts}
		select {
		case t.packetCh <- pkt:
		case <-t.shutdownCh:
			return
		}
	}
}

// logReadError logs a failed read from a UDP socket: at ERR at most once
// per warnEvery, with the number of errors held back since the previous
// line, and at DEBUG in between. A read error can repeat for every packet
// (an ICMP error on some systems), and the loop does not pause after one.
func (t *NetTransport) logReadError(err error) {
	t.readErrMu.Lock()
	var ok bool
	var n int
	t.readErr, ok, n = t.readErr.next(time.Now(), warnEvery)
	t.readErrMu.Unlock()
	switch {
	case !ok:
		t.logger.Printf("[DEBUG] memberlist: Error reading UDP packet: %v", err)
	case n > 0:
		t.logger.Printf("[ERR] memberlist: Error reading UDP packet: %v suppressed=%d", err, n)
	default:
		t.logger.Printf("[ERR] memberlist: Error reading UDP packet: %v", err)
	}
}

// countUDPReceived adds n bytes to the memberlist.udp.received counter.
func (t *NetTransport) countUDPReceived(n int) {
	t.metricSink.IncrCounterWithLabels(keyUDPReceived, float32(n), t.metricLabels)
}
