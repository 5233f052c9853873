package memberlist

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hashicorp/go-metrics"
	"go.uber.org/goleak"
)

// netLogBuf is a log destination that tests may read while a transport
// writes to it.
type netLogBuf struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *netLogBuf) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *netLogBuf) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// netTestTransport starts a NetTransport on addrs with an automatic port
// and shuts it down when the test ends.
func netTestTransport(t *testing.T, addrs ...string) (*NetTransport, *netLogBuf) {
	t.Helper()
	logs := &netLogBuf{}
	tr, err := NewNetTransport(&NetTransportConfig{BindAddrs: addrs, Logger: log.New(logs, "", 0)})
	if err != nil {
		t.Fatalf("NewNetTransport(%q): %v", addrs, err)
	}
	t.Cleanup(func() { conformShutdownWithin(t, tr) })
	return tr, logs
}

// netPair returns two NetTransports on 127.0.0.1.
func netPair(t *testing.T) (a, b NodeAwareTransport, aAddr, bAddr Address) {
	ta, _ := netTestTransport(t, "127.0.0.1")
	tb, _ := netTestTransport(t, "127.0.0.1")
	addr := func(tr *NetTransport) string {
		return net.JoinHostPort("127.0.0.1", strconv.Itoa(tr.GetAutoBindPort()))
	}
	return ta, tb, Address{Addr: addr(ta), Name: "a"}, Address{Addr: addr(tb), Name: "b"}
}

func TestNetTransport_Conformance(t *testing.T) {
	testTransportConformance(t, netPair)
}

func TestNetTransport_AutoPortShared(t *testing.T) {
	tr, _ := netTestTransport(t, "127.0.0.1")
	port := tr.GetAutoBindPort()
	udpPort := tr.udpListeners[0].LocalAddr().(*net.UDPAddr).Port
	if port == 0 || udpPort != port {
		t.Errorf("GetAutoBindPort = %d, UDP port %d", port, udpPort)
	}
}

func TestNetTransport_TwoBindAddrs(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	tr, err := NewNetTransport(&NetTransportConfig{BindAddrs: []string{"127.0.0.1", "127.0.0.2"}})
	if err != nil {
		t.Skipf("127.0.0.2 not usable here: %v", err)
	}
	defer goleak.VerifyNone(t, ignore)
	defer tr.Shutdown()
	port := tr.GetAutoBindPort()
	client, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	for _, ip := range []string{"127.0.0.1", "127.0.0.2"} {
		addr := net.JoinHostPort(ip, strconv.Itoa(port))
		if _, err := client.WriteTo([]byte(ip), &net.UDPAddr{IP: net.ParseIP(ip), Port: port}); err != nil {
			t.Fatal(err)
		}
		if p := conformRecvPacket(t, tr); string(p.Buf) != ip {
			t.Errorf("packet to %s = %q", addr, p.Buf)
		}
		conn, err := net.DialTimeout("tcp", addr, conformWait)
		if err != nil {
			t.Fatalf("dial %s: %v", addr, err)
		}
		in := conformRecvStream(t, tr)
		if in.LocalAddr().String() != addr {
			t.Errorf("stream accepted on %v, want %s", in.LocalAddr(), addr)
		}
		in.Close()
		conn.Close()
	}
	// Packets leave from the first listener.
	if _, err := tr.WriteTo([]byte("out"), client.LocalAddr().String()); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16)
	client.SetDeadline(time.Now().Add(conformWait))
	n, from, err := client.ReadFrom(buf)
	if err != nil || string(buf[:n]) != "out" || from.String() != net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) {
		t.Errorf("client read %q from %v: %v", buf[:n], from, err)
	}
}

// netPortFree reports whether both TCP and UDP can listen on 127.0.0.1:port.
func netPortFree(port int) bool {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	tcp, err := net.Listen("tcp", addr)
	if err != nil {
		return false
	}
	tcp.Close()
	udp, err := net.ListenPacket("udp", addr)
	if err != nil {
		return false
	}
	udp.Close()
	return true
}

func TestNetTransport_BindErrors(t *testing.T) {
	for _, cfg := range []*NetTransportConfig{nil, {}, {BindAddrs: []string{}}} {
		if _, err := NewNetTransport(cfg); err == nil || err.Error() != "at least one bind address is required" {
			t.Errorf("NewNetTransport(%+v) = %v", cfg, err)
		}
	}

	// 192.0.2.0/24 is TEST-NET-1, assigned to no interface.
	_, err := NewNetTransport(&NetTransportConfig{BindAddrs: []string{"192.0.2.1"}})
	if err == nil || !strings.HasPrefix(err.Error(), `failed to start TCP listener on "192.0.2.1" port 0: `) {
		t.Errorf("bind to a foreign address: %v", err)
	}

	// The second address fails after the first chose the port: everything
	// opened is closed again.
	_, err = NewNetTransport(&NetTransportConfig{BindAddrs: []string{"127.0.0.1", "192.0.2.1"}})
	m := regexp.MustCompile(`^failed to start TCP listener on "192.0.2.1" port (\d+): `).FindStringSubmatch(fmt.Sprint(err))
	if m == nil {
		t.Fatalf("second bind address: %v", err)
	}
	if port, _ := strconv.Atoi(m[1]); port == 0 || !netPortFree(port) {
		t.Errorf("port %s chosen by the first listener is still in use or zero", m[1])
	}

	// UDP taken, TCP free.
	taken, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	port := taken.LocalAddr().(*net.UDPAddr).Port
	_, err = NewNetTransport(&NetTransportConfig{BindAddrs: []string{"127.0.0.1"}, BindPort: port})
	if want := fmt.Sprintf(`failed to start UDP listener on "127.0.0.1" port %d: `, port); err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("UDP port taken: %v, want prefix %q", err, want)
	}
	if l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port))); err != nil {
		t.Errorf("TCP listener left open after the UDP failure: %v", err)
	} else {
		l.Close()
	}
}

func TestNetTransport_NilLogger(t *testing.T) {
	tr, err := NewNetTransport(&NetTransportConfig{BindAddrs: []string{"127.0.0.1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Shutdown()
	if tr.logger == nil {
		t.Error("nil Logger not replaced by a default")
	}
}

func TestNetTransport_Ingest(t *testing.T) {
	tr, _ := netTestTransport(t, "127.0.0.1")
	from := &net.UDPAddr{IP: net.IPv4(10, 0, 0, 1), Port: 7946}
	now := time.Unix(100, 0)

	r, w := net.Pipe()
	w.Close()
	err := tr.IngestPacket(r, from, now, true)
	if err == nil || err.Error() != "packet too short (0 bytes) from=10.0.0.1:7946" {
		t.Errorf("IngestPacket(empty) = %v", err)
	}

	r, w = net.Pipe()
	go func() {
		w.Write([]byte("hello"))
		w.Close()
	}()
	errc := make(chan error, 1)
	go func() { errc <- tr.IngestPacket(r, from, now, true) }()
	p := conformRecvPacket(t, tr)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if string(p.Buf) != "hello" || p.From != from || !p.Timestamp.Equal(now) {
		t.Errorf("ingested %q from %v at %v", p.Buf, p.From, p.Timestamp)
	}

	c1, c2 := net.Pipe()
	defer c1.Close()
	defer c2.Close()
	go func() { errc <- tr.IngestStream(c1) }()
	if got := conformRecvStream(t, tr); got != c1 {
		t.Errorf("IngestStream delivered %v", got)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}

	// Nobody reads after Shutdown: both must return instead of blocking.
	tr.Shutdown()
	if err := tr.IngestStream(c1); !errors.Is(err, errNetTransportShutdown) {
		t.Errorf("IngestStream after Shutdown = %v", err)
	}
	r, w = net.Pipe()
	go func() {
		w.Write([]byte("late"))
		w.Close()
	}()
	if err := tr.IngestPacket(r, from, now, true); !errors.Is(err, errNetTransportShutdown) {
		t.Errorf("IngestPacket after Shutdown = %v", err)
	}
	if _, err := tr.DialTimeout("127.0.0.1:1", time.Second); !errors.Is(err, errNetTransportShutdown) {
		t.Errorf("DialTimeout after Shutdown = %v", err)
	}
}

func TestNetTransport_ShortPacketAndMetric(t *testing.T) {
	sink := metrics.NewInmemSink(time.Hour, time.Hour)
	conf := metrics.DefaultConfig("")
	conf.EnableHostname = false
	conf.EnableRuntimeMetrics = false
	m, err := metrics.New(conf, sink)
	if err != nil {
		t.Fatal(err)
	}
	logs := &netLogBuf{}
	tr, err := newNetTransport(&NetTransportConfig{
		BindAddrs:    []string{"127.0.0.1"},
		Logger:       log.New(logs, "", 0),
		MetricLabels: []metrics.Label{{Name: "dc", Value: "east"}},
	}, m)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Shutdown()

	client, err := net.DialUDP("udp", nil, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: tr.GetAutoBindPort()})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	client.Write(nil)
	client.Write([]byte("abc"))
	if p := conformRecvPacket(t, tr); string(p.Buf) != "abc" || p.From.String() != client.LocalAddr().String() {
		t.Fatalf("received %q from %v", p.Buf, p.From)
	}
	want := "[DEBUG] memberlist: UDP packet too short (0 bytes) from=" + client.LocalAddr().String() + "\n"
	if got := logs.String(); got != want {
		t.Errorf("log = %q, want %q", got, want)
	}
	c, ok := sink.Data()[0].Counters["memberlist.udp.received;dc=east"]
	if !ok || c.Count != 1 || c.Sum != 3 {
		t.Errorf("memberlist.udp.received = %+v (found %v), want one sample of 3 bytes", c, ok)
	}
}

func TestNetAcceptBackoff(t *testing.T) {
	ms := time.Millisecond
	tests := []struct{ prev, want time.Duration }{
		{0, 5 * ms}, {-ms, 5 * ms}, {5 * ms, 10 * ms}, {10 * ms, 20 * ms},
		{320 * ms, 640 * ms}, {640 * ms, time.Second}, {time.Second, time.Second},
	}
	for _, tc := range tests {
		if got := netAcceptBackoff(tc.prev); got != tc.want {
			t.Errorf("netAcceptBackoff(%v) = %v, want %v", tc.prev, got, tc.want)
		}
	}
}

// netScriptedListener returns scripted Accept results, then blocks until
// closed. It records the time of every Accept call.
type netScriptedListener struct {
	net.Listener
	script []error // nil entries accept a connection
	closed chan struct{}

	mu    sync.Mutex
	calls []time.Duration
	start time.Time
}

func (l *netScriptedListener) Accept() (net.Conn, error) {
	l.mu.Lock()
	i := len(l.calls)
	l.calls = append(l.calls, time.Since(l.start))
	l.mu.Unlock()
	if i >= len(l.script) {
		<-l.closed
		return nil, net.ErrClosed
	}
	if err := l.script[i]; err != nil {
		return nil, err
	}
	c1, c2 := net.Pipe()
	c2.Close()
	return c1, nil
}

// netAcceptHarness returns a NetTransport with only what acceptLoop needs.
func netAcceptHarness(logs *netLogBuf) *NetTransport {
	return &NetTransport{
		logger:     log.New(logs, "", 0),
		streamCh:   make(chan net.Conn, 16),
		shutdownCh: make(chan struct{}),
	}
}

func TestNetTransport_AcceptBackoffResets(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		boom := errors.New("boom")
		l := &netScriptedListener{script: []error{boom, boom, boom, nil, boom, boom}, closed: make(chan struct{}), start: time.Now()}
		logs := &netLogBuf{}
		tr := netAcceptHarness(logs)
		tr.spawn(func() { tr.acceptLoop(l) })
		<-time.After(time.Minute) // virtual time
		tr.shutdown.Store(true)
		close(tr.shutdownCh)
		close(l.closed)
		tr.wg.Wait()
		ms := time.Millisecond
		want := []time.Duration{0, 5 * ms, 15 * ms, 35 * ms, 35 * ms, 40 * ms, 50 * ms}
		if fmt.Sprint(l.calls) != fmt.Sprint(want) {
			t.Errorf("Accept called at %v, want %v", l.calls, want)
		}
		if n := strings.Count(logs.String(), "[ERR] memberlist: Error accepting TCP connection: boom\n"); n != 5 {
			t.Errorf("%d accept errors logged, want 5:\n%s", n, logs)
		}
		if len(tr.streamCh) != 1 {
			t.Errorf("%d streams delivered, want 1", len(tr.streamCh))
		}
	})
}

// The upstream test allows more than 8 and fewer than 14 log lines for 4 s
// of failing accepts; on virtual time the count is exactly 11.
func TestNetTransport_AcceptBackoffBounds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		script := make([]error, 100)
		for i := range script {
			script[i] = errors.New("boom")
		}
		l := &netScriptedListener{script: script, closed: make(chan struct{}), start: time.Now()}
		logs := &netLogBuf{}
		tr := netAcceptHarness(logs)
		tr.spawn(func() { tr.acceptLoop(l) })
		<-time.After(4 * time.Second) // virtual time
		tr.Shutdown()
		if n := strings.Count(logs.String(), "\n"); n != 11 {
			t.Errorf("%d lines logged in 4s, want 11", n)
		}
	})
}

func TestNetTransport_FinalAdvertiseAddr(t *testing.T) {
	tr, _ := netTestTransport(t, "127.0.0.1")
	port := tr.GetAutoBindPort()
	tests := []struct {
		ip       string
		port     int
		wantIP   net.IP
		wantPort int
		wantErr  string
	}{
		{ip: "10.1.2.3", port: 99, wantIP: net.IP{10, 1, 2, 3}, wantPort: 99},
		{ip: "::1", port: 7, wantIP: net.IPv6loopback, wantPort: 7},
		{ip: "::ffff:10.1.2.3", port: 7, wantIP: net.IP{10, 1, 2, 3}, wantPort: 7},
		{ip: "bogus", port: 1, wantErr: `failed to parse advertise address "bogus"`},
		{ip: "", port: 1234, wantIP: net.IP{127, 0, 0, 1}, wantPort: port},
	}
	for _, tc := range tests {
		ip, p, err := tr.FinalAdvertiseAddr(tc.ip, tc.port)
		if tc.wantErr != "" {
			if err == nil || err.Error() != tc.wantErr {
				t.Errorf("FinalAdvertiseAddr(%q) error = %v, want %q", tc.ip, err, tc.wantErr)
			}
			continue
		}
		if err != nil || !bytes.Equal(ip, tc.wantIP) || p != tc.wantPort {
			t.Errorf("FinalAdvertiseAddr(%q, %d) = %v (%d bytes), %d, %v; want %v, %d",
				tc.ip, tc.port, ip, len(ip), p, err, tc.wantIP, tc.wantPort)
		}
	}
}

func TestNetTransport_FinalAdvertiseAddrAnyIPv4(t *testing.T) {
	tr, _ := netTestTransport(t, "0.0.0.0")
	port := tr.GetAutoBindPort()
	tests := []struct {
		addrs   []netIfaceAddr
		err     error
		wantIP  net.IP
		wantErr string
	}{
		{
			addrs: []netIfaceAddr{
				{net.FlagUp | net.FlagLoopback, net.IPv4(10, 0, 0, 1)},
				{net.FlagUp, net.IPv4(192, 168, 1, 5)},
			},
			wantIP: net.IPv4(192, 168, 1, 5), // 16-byte form
		},
		{err: errors.New("boom"), wantErr: "failed to get interface addresses: boom"},
		{
			addrs:   []netIfaceAddr{{net.FlagUp, net.IPv4(8, 8, 8, 8)}},
			wantErr: "no private IP address found, and explicit IP not provided",
		},
	}
	for i, tc := range tests {
		tr.ifaceAddrs = func() ([]netIfaceAddr, error) { return tc.addrs, tc.err }
		ip, p, err := tr.FinalAdvertiseAddr("", 99)
		if tc.wantErr != "" {
			if err == nil || err.Error() != tc.wantErr {
				t.Errorf("case %d: error %v, want %q", i, err, tc.wantErr)
			}
			continue
		}
		if err != nil || !bytes.Equal(ip, tc.wantIP) || p != port {
			t.Errorf("case %d: %v (%d bytes), %d, %v; want %v, %d", i, ip, len(ip), p, err, tc.wantIP, port)
		}
	}
	if _, err := netSystemIfaceAddrs(); err != nil {
		t.Errorf("netSystemIfaceAddrs: %v", err)
	}
}

func TestNetPickPrivateIP(t *testing.T) {
	up := net.FlagUp
	tests := []struct {
		name  string
		cands []netIfaceAddr
		want  net.IP
	}{
		{"none", nil, nil},
		{"loopback interface", []netIfaceAddr{{up | net.FlagLoopback, net.IPv4(10, 0, 0, 1)}}, nil},
		{"down interface", []netIfaceAddr{{0, net.IPv4(10, 0, 0, 1)}}, nil},
		{"public then private", []netIfaceAddr{{up, net.IPv4(8, 8, 8, 8)}, {up, net.IPv4(172, 16, 0, 1)}}, net.IP{172, 16, 0, 1}},
		{"first private wins", []netIfaceAddr{{up, net.IPv4(100, 64, 0, 1)}, {up, net.IPv4(10, 0, 0, 1)}}, net.IP{100, 64, 0, 1}},
		{"IPv6 ignored", []netIfaceAddr{{up, net.ParseIP("fd00::1")}, {up, net.ParseIP("10.2.3.4")}}, net.IP{10, 2, 3, 4}},
		{"link-local", []netIfaceAddr{{up, net.IPv4(169, 254, 1, 1)}}, nil},
	}
	for _, tc := range tests {
		if got := netPickPrivateIP(tc.cands); !bytes.Equal(got, tc.want) {
			t.Errorf("%s: netPickPrivateIP = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestNetIsPrivateIPv4(t *testing.T) {
	tests := []struct {
		ip   string
		want bool
	}{
		{"10.0.0.0", true}, {"10.255.255.255", true}, {"11.0.0.1", false},
		{"172.15.255.255", false}, {"172.16.0.0", true}, {"172.31.255.255", true}, {"172.32.0.0", false},
		{"192.168.0.1", true}, {"192.167.255.255", false}, {"192.169.0.0", false},
		{"100.63.255.255", false}, {"100.64.0.0", true}, {"100.127.255.255", true}, {"100.128.0.0", false},
		{"127.0.0.1", false}, {"169.254.0.1", false}, {"8.8.8.8", false},
		{"::ffff:10.0.0.1", true}, {"fd00::1", false}, {"::1", false},
	}
	for _, tc := range tests {
		if got := netIsPrivateIPv4(net.ParseIP(tc.ip)); got != tc.want {
			t.Errorf("netIsPrivateIPv4(%s) = %v, want %v", tc.ip, got, tc.want)
		}
	}
	if netIsPrivateIPv4(nil) {
		t.Error("netIsPrivateIPv4(nil) = true")
	}
}

func TestNetSetUDPRecvBuf(t *testing.T) {
	var tried []int
	accept512K := func(n int) error {
		tried = append(tried, n)
		if n > 512*1024 {
			return errors.New("too big")
		}
		return nil
	}
	if err := netSetUDPRecvBuf(accept512K); err != nil || fmt.Sprint(tried) != "[2097152 1048576 524288]" {
		t.Errorf("tried %v, err %v", tried, err)
	}
	tried = nil
	refuse := func(n int) error {
		tried = append(tried, n)
		return errors.New("no")
	}
	err := netSetUDPRecvBuf(refuse)
	if err == nil || !strings.HasPrefix(err.Error(), "failed to resize UDP buffer") {
		t.Errorf("all refused: %v", err)
	}
	if len(tried) != 22 || tried[len(tried)-1] != 1 {
		t.Errorf("tried %d sizes ending at %d, want 22 ending at 1", len(tried), tried[len(tried)-1])
	}
}

// An unparsable bind address such as "[::1]" listens on every interface
// and advertises the unspecified address, as upstream does.
func TestNetTransport_UnparsableBindAddr(t *testing.T) {
	tr, _ := netTestTransport(t, "[::1]")
	ip, port, err := tr.FinalAdvertiseAddr("", 0)
	if err != nil || !ip.IsUnspecified() || port != tr.GetAutoBindPort() {
		t.Errorf("FinalAdvertiseAddr = %v, %d, %v; want the unspecified address and port %d", ip, port, err, tr.GetAutoBindPort())
	}
}

func BenchmarkNetTransport_Packet(b *testing.B) {
	tr, err := NewNetTransport(&NetTransportConfig{BindAddrs: []string{"127.0.0.1"}, Logger: log.New(io.Discard, "", 0)})
	if err != nil {
		b.Fatal(err)
	}
	defer tr.Shutdown()
	to := Address{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(tr.GetAutoBindPort()))}
	msg := make([]byte, 1400)
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		if _, err := tr.WriteToAddress(msg, to); err != nil {
			b.Fatal(err)
		}
		<-tr.PacketCh()
	}
}

// TestNetTransport_ShutdownCancelsDial dials an address that drops SYNs,
// with a minute's timeout, and shuts the transport down: the dial must
// fail then, or a Join to such an address holds Memberlist.Shutdown up
// until the dial times out.
func TestNetTransport_ShutdownCancelsDial(t *testing.T) {
	addr, dialing := hangingLoopbackAddr(t)
	tr, _ := netTestTransport(t, "127.0.0.1")
	done := make(chan error, 1)
	go func() {
		conn, err := tr.DialAddressTimeout(Address{Addr: addr}, time.Minute)
		if conn != nil {
			conn.Close()
		}
		done <- err
	}()
	deadline := time.Now().Add(conformWait)
	for !dialing() {
		if time.Now().After(deadline) {
			t.Fatal("the dial did not start")
		}
		<-time.After(5 * time.Millisecond)
	}
	tr.Shutdown()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("dial to an address that drops SYNs succeeded")
		}
	case <-time.After(conformWait):
		t.Fatalf("dial still running %v after Shutdown", conformWait)
	}
}
