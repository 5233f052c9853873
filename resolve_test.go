package memberlist

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// resolveFormat renders results as "name|ip|port|bytes" lines, so that a
// 4-byte and a 16-byte IPv4 address compare as different.
func resolveFormat(ips []ipPort) string {
	var b strings.Builder
	for _, p := range ips {
		fmt.Fprintf(&b, "%s|%s|%d|%d\n", p.nodeName, p.ip, p.port, len(p.ip))
	}
	return b.String()
}

// resolveFakeLookup resolves a few fixed names and fails on others.
func resolveFakeLookup(_ context.Context, host string) ([]net.IP, error) {
	switch host {
	case "localhost":
		return []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")}, nil
	case "mongo", "db.example.test":
		return []net.IP{net.ParseIP("10.1.2.3")}, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

func TestResolveAddr(t *testing.T) {
	const defPort = 8301
	tests := []struct {
		in      string
		want    string // resolveFormat output
		wantErr string // substring; "" means no error
	}{
		{in: "localhost", want: "|127.0.0.1|8301|4\n|::1|8301|16\n"},
		{in: "localhost:80", want: "|127.0.0.1|80|4\n|::1|80|16\n"},
		{in: "db.example.test:7946", want: "|10.1.2.3|7946|4\n"},
		{in: "127.0.0.1", want: "|127.0.0.1|8301|4\n"},
		{in: "127.0.0.1:80", want: "|127.0.0.1|80|4\n"},
		{in: "::ffff:10.0.0.1", want: "|10.0.0.1|8301|4\n"},
		{in: "2001:db8:a0b:12f0::1", want: "|2001:db8:a0b:12f0::1|8301|16\n"},
		{in: "[2001:db8:a0b:12f0::1]", want: "|2001:db8:a0b:12f0::1|8301|16\n"},
		{in: "[2001:db8:a0b:12f0::1]:80", want: "|2001:db8:a0b:12f0::1|80|16\n"},
		{in: "2600:1f14:e22:1501:f9a:2e0c:a167:67e8", want: "|2600:1f14:e22:1501:f9a:2e0c:a167:67e8|8301|16\n"},
		{in: "::1", want: "|::1|8301|16\n"},
		{in: "[::1]", want: "|::1|8301|16\n"},
		{in: "[::1]:80", want: "|::1|80|16\n"},
		{in: "mongo/localhost:80", want: "mongo|127.0.0.1|80|4\nmongo|::1|80|16\n"},
		{in: "mongo/127.0.0.1", want: "mongo|127.0.0.1|8301|4\n"},
		{in: "mongo/[::1]:80", want: "mongo|::1|80|16\n"},
		{in: "mongo/2001:db8::1", want: "mongo|2001:db8::1|8301|16\n"},
		{in: "node-a/mongo", want: "node-a|10.1.2.3|8301|4\n"},
		{in: "/localhost", wantErr: "empty node name provided"},
		{in: "/", wantErr: "empty node name provided"},
		{in: "localhost:80000", wantErr: `strconv.ParseUint: parsing "80000": value out of range`},
		{in: "localhost:-1", wantErr: "strconv.ParseUint"},
		{in: "localhost:http", wantErr: "strconv.ParseUint"},
		{in: "127.0.0.1:", wantErr: "strconv.ParseUint"},
		{in: ":80", wantErr: "missing host"},
		{in: "mongo/:80", wantErr: "missing host"},
		{in: "[::1", wantErr: "missing ']'"},
		{in: "unknown.example.test", wantErr: "no such host"},
	}
	r := &addrResolver{lookupIP: resolveFakeLookup}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := r.resolveAddr(context.Background(), tt.in, defPort)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("resolveAddr(%q) error = %v, want one containing %q (results %v)", tt.in, err, tt.wantErr, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("resolveAddr(%q): %v", tt.in, err)
			}
			if s := resolveFormat(got); s != tt.want {
				t.Errorf("resolveAddr(%q) =\n%s want\n%s", tt.in, s, tt.want)
			}
		})
	}
}

func TestResolveAddr_ErrorTypes(t *testing.T) {
	r := &addrResolver{lookupIP: resolveFakeLookup}
	_, err := r.resolveAddr(context.Background(), "localhost:80000", 1)
	var numErr *strconv.NumError
	if !errors.As(err, &numErr) || numErr.Func != "ParseUint" {
		t.Errorf("port error = %#v, want a *strconv.NumError from ParseUint", err)
	}
	_, err = r.resolveAddr(context.Background(), "[::1", 1)
	var addrErr *net.AddrError
	if !errors.As(err, &addrErr) {
		t.Errorf("bracket error = %#v, want the *net.AddrError of net.SplitHostPort", err)
	}
}

// TestResolveAddr_DefaultLookup uses the real resolver for "localhost".
func TestResolveAddr_DefaultLookup(t *testing.T) {
	var r addrResolver
	got, err := r.resolveAddr(context.Background(), "localhost", 7946)
	if err != nil {
		t.Skipf("the system cannot resolve localhost: %v", err)
	}
	for _, p := range got {
		if !p.ip.IsLoopback() || p.port != 7946 {
			t.Errorf("localhost resolved to %v:%d", p.ip, p.port)
		}
	}
}

func TestHasPort(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"", false},
		{"localhost", false},
		{"localhost:80", true},
		{"127.0.0.1", false},
		{"127.0.0.1:80", true},
		{":80", true},
		{"::1", false},
		{"[::1]", false},
		{"[::1]:80", true},
		{"2001:db8::1", false},
		{"[2001:db8::1]:7946", true},
		{"[2001:db8::1]:", true},
		{"a:b:c", false},
	}
	for _, tt := range tests {
		if got := hasPort(tt.in); got != tt.want {
			t.Errorf("hasPort(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestEnsurePort(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"1.2.3.4", "1.2.3.4:8301"},
		{"1.2.3.4:1234", "1.2.3.4:1234"},
		{"localhost", "localhost:8301"},
		{"localhost:1234", "localhost:1234"},
		{"2600:1f14:e22:1501:f9a:2e0c:a167:67e8", "[2600:1f14:e22:1501:f9a:2e0c:a167:67e8]:8301"},
		{"[2600:1f14:e22:1501:f9a:2e0c:a167:67e8]", "[2600:1f14:e22:1501:f9a:2e0c:a167:67e8]:8301"},
		{"[2600:1f14:e22:1501:f9a:2e0c:a167:67e8]:1234", "[2600:1f14:e22:1501:f9a:2e0c:a167:67e8]:1234"},
		{"::1", "[::1]:8301"},
		{"[::1]", "[::1]:8301"},
		{"[::1]:1234", "[::1]:1234"},
	}
	for _, tt := range tests {
		if got := ensurePort(tt.in, 8301); got != tt.want {
			t.Errorf("ensurePort(%q, 8301) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestJoinHostPort(t *testing.T) {
	tests := []struct {
		host string
		port uint16
		want string
	}{
		{"127.0.0.1", 7946, "127.0.0.1:7946"},
		{"::1", 65535, "[::1]:65535"},
		{"node.example", 0, "node.example:0"},
	}
	for _, tt := range tests {
		if got := joinHostPort(tt.host, tt.port); got != tt.want {
			t.Errorf("joinHostPort(%q, %d) = %q, want %q", tt.host, tt.port, got, tt.want)
		}
	}
}

func TestTCPDNSServerAddr(t *testing.T) {
	tests := []struct {
		servers []string
		port    string
		want    string
	}{
		{[]string{"10.0.0.2", "10.0.0.3"}, "53", "10.0.0.2:53"},
		{[]string{"10.0.0.2"}, "", "10.0.0.2:53"},
		{[]string{"10.0.0.2"}, "5353", "10.0.0.2:5353"},
		{[]string{"127.0.0.1:8600"}, "53", "127.0.0.1:8600"},
		{[]string{"::1"}, "53", "[::1]:53"},
		{[]string{"fe80::1%eth0"}, "53", "[fe80::1%eth0]:53"},
		{[]string{"[::1]:8600"}, "53", "[::1]:8600"},
	}
	for _, tt := range tests {
		got, err := tcpDNSServerAddr(&dns.ClientConfig{Servers: tt.servers, Port: tt.port})
		if err != nil || got != tt.want {
			t.Errorf("tcpDNSServerAddr(%v, %q) = %q, %v; want %q", tt.servers, tt.port, got, err, tt.want)
		}
	}
	if _, err := tcpDNSServerAddr(&dns.ClientConfig{Port: "53"}); err == nil {
		t.Error("tcpDNSServerAddr with no servers: want an error")
	}
}

// resolveTestDNS is a miekg/dns TCP server on 127.0.0.1 that answers
// "join.service.consul." (any type) with a CNAME, an A and an AAAA record
// and everything else with NXDOMAIN. It is shut down when the test ends.
type resolveTestDNS struct {
	addr    string
	queries atomic.Int32
	mu      sync.Mutex
	last    dns.Question
}

func startResolveTestDNS(t *testing.T) *resolveTestDNS {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &resolveTestDNS{addr: ln.Addr().String()}
	started := make(chan struct{})
	srv := &dns.Server{
		Listener:          ln,
		Handler:           dns.HandlerFunc(s.serve),
		NotifyStartedFunc: func() { close(started) },
	}
	done := make(chan error, 1)
	go func() { done <- srv.ActivateAndServe() }()
	select {
	case <-started:
	case err := <-done:
		t.Fatalf("DNS server failed to start: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("DNS server did not start within 10s")
	}
	t.Cleanup(func() {
		if err := srv.Shutdown(); err != nil {
			t.Errorf("DNS server shutdown: %v", err)
		}
		<-done
	})
	return s
}

func (s *resolveTestDNS) serve(w dns.ResponseWriter, req *dns.Msg) {
	s.queries.Add(1)
	m := new(dns.Msg)
	m.SetReply(req)
	if len(req.Question) == 1 {
		q := req.Question[0]
		s.mu.Lock()
		s.last = q
		s.mu.Unlock()
		if q.Name == "join.service.consul." && q.Qtype == dns.TypeANY {
			hdr := func(t uint16) dns.RR_Header {
				return dns.RR_Header{Name: q.Name, Rrtype: t, Class: dns.ClassINET, Ttl: 30}
			}
			m.Answer = []dns.RR{
				&dns.CNAME{Hdr: hdr(dns.TypeCNAME), Target: "other.service.consul."},
				&dns.A{Hdr: hdr(dns.TypeA), A: net.ParseIP("127.0.0.1")},
				&dns.AAAA{Hdr: hdr(dns.TypeAAAA), AAAA: net.ParseIP("2001:db8:a0b:12f0::1")},
			}
		} else {
			m.Rcode = dns.RcodeNameError
		}
	}
	_ = w.WriteMsg(m)
}

func (s *resolveTestDNS) lastQuestion() dns.Question {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last
}

// resolveWriteConf writes a resolv.conf naming server and returns its path.
func resolveWriteConf(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "resolv.conf")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestResolveAddr_TCPFirst(t *testing.T) {
	srv := startResolveTestDNS(t)
	conf := resolveWriteConf(t, "# test\nnameserver "+srv.addr+"\nnameserver 192.0.2.1\n")
	var logBuf bytes.Buffer
	r := &addrResolver{
		dnsConfigPath: conf,
		lookupIP: func(_ context.Context, host string) ([]net.IP, error) {
			t.Errorf("fallback lookup called for %q", host)
			return nil, errors.New("unexpected")
		},
		logger: newLogger(nil, log.New(&logBuf, "", 0)),
	}
	tests := []struct{ in, want string }{
		{"join.service.consul", "|127.0.0.1|8301|4\n|2001:db8:a0b:12f0::1|8301|16\n"},
		{"join.service.consul.", "|127.0.0.1|8301|4\n|2001:db8:a0b:12f0::1|8301|16\n"},
		{"node1/join.service.consul:1234", "node1|127.0.0.1|1234|4\nnode1|2001:db8:a0b:12f0::1|1234|16\n"},
	}
	for _, tt := range tests {
		got, err := r.resolveAddr(context.Background(), tt.in, 8301)
		if err != nil {
			t.Fatalf("resolveAddr(%q): %v", tt.in, err)
		}
		if s := resolveFormat(got); s != tt.want {
			t.Errorf("resolveAddr(%q) =\n%s want\n%s", tt.in, s, tt.want)
		}
		q := srv.lastQuestion()
		if q.Name != "join.service.consul." || q.Qtype != dns.TypeANY || q.Qclass != dns.ClassINET {
			t.Errorf("query for %q was %v, want join.service.consul. IN ANY", tt.in, q.String())
		}
	}
	if n := srv.queries.Load(); n != int32(len(tests)) {
		t.Errorf("DNS server saw %d queries, want %d", n, len(tests))
	}
	want := "[DEBUG] memberlist: Ignoring CNAME RR in TCP-first answer host=join.service.consul cname=other.service.consul.\n"
	if !strings.HasPrefix(logBuf.String(), want) {
		t.Errorf("log = %q, want it to start with %q", logBuf.String(), want)
	}
}

// resolveStartTCP starts a TCP listener on 127.0.0.1 whose accepted
// connections are closed at once (hold false) or held open without a reply
// until the test ends (hold true). accepted receives a value per accepted
// connection.
func resolveStartTCP(t *testing.T, hold bool) (addr string, accepted <-chan struct{}) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	acc := make(chan struct{}, 16)
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if hold {
				conns = append(conns, c)
			} else {
				c.Close()
			}
			select {
			case acc <- struct{}{}:
			default:
			}
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String(), acc
}

// resolveFallbackIPs returns what the fake fallback lookups return.
func resolveFallbackIPs() []net.IP { return []net.IP{net.ParseIP("192.0.2.7")} }

func TestResolveAddr_Fallback(t *testing.T) {
	srv := startResolveTestDNS(t)
	closing, _ := resolveStartTCP(t, false)
	refused := resolveRefusedAddr(t)
	ignoreCtx := func(context.Context, string) ([]net.IP, error) { return resolveFallbackIPs(), nil }
	tests := []struct {
		name    string
		conf    string // resolv.conf content; "-" means a missing file
		host    string
		timeout time.Duration
	}{
		{"server closes the connection", "nameserver " + closing + "\n", "join.example.test", 10 * time.Second},
		{"connection refused", "nameserver " + refused + "\n", "join.example.test", 5 * time.Second},
		{"NXDOMAIN", "nameserver " + srv.addr + "\n", "nope.service.consul", 10 * time.Second},
		{"no nameserver", "search example.test\n", "join.example.test", 10 * time.Second},
		{"missing resolv.conf", "-", "join.example.test", 10 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conf := filepath.Join(t.TempDir(), "missing")
			if tt.conf != "-" {
				conf = resolveWriteConf(t, tt.conf)
			}
			var logBuf bytes.Buffer
			r := &addrResolver{dnsConfigPath: conf, lookupIP: ignoreCtx, logger: newLogger(nil, log.New(&logBuf, "", 0))}
			ctx, cancel := context.WithTimeout(context.Background(), tt.timeout)
			defer cancel()
			got, err := r.resolveAddr(ctx, "n/"+tt.host, 7946)
			if err != nil {
				t.Fatalf("resolveAddr: %v", err)
			}
			if s, want := resolveFormat(got), "n|192.0.2.7|7946|4\n"; s != want {
				t.Errorf("resolveAddr = %q, want %q", s, want)
			}
			wantLog := "[DEBUG] memberlist: TCP-first lookup failed, falling back to UDP addr=" + tt.host + ":7946 err="
			if !strings.HasPrefix(logBuf.String(), wantLog) {
				t.Errorf("log = %q, want prefix %q", logBuf.String(), wantLog)
			}
		})
	}
}

func TestResolveAddr_NoDotSkipsTCP(t *testing.T) {
	srv := startResolveTestDNS(t)
	r := &addrResolver{
		dnsConfigPath: resolveWriteConf(t, "nameserver "+srv.addr+"\n"),
		lookupIP:      resolveFakeLookup,
	}
	got, err := r.resolveAddr(context.Background(), "mongo", 1)
	if err != nil || resolveFormat(got) != "|10.1.2.3|1|4\n" {
		t.Fatalf("resolveAddr(mongo) = %v, %v", got, err)
	}
	if n := srv.queries.Load(); n != 0 {
		t.Errorf("DNS server saw %d queries for a dotless name, want 0", n)
	}
}

// resolveRefusedAddr returns a 127.0.0.1 address where nothing listens.
func resolveRefusedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// resolveNoFallback returns a fallback lookup that fails the test if used.
func resolveNoFallback(t *testing.T) func(context.Context, string) ([]net.IP, error) {
	return func(_ context.Context, host string) ([]net.IP, error) {
		t.Errorf("fallback lookup called for %q after the context ended", host)
		return resolveFallbackIPs(), nil
	}
}

// TestResolveAddr_Deadline: a nameserver that never answers holds the
// lookup only until ctx's deadline, and the fallback is then not tried.
func TestResolveAddr_Deadline(t *testing.T) {
	silent, _ := resolveStartTCP(t, true)
	r := &addrResolver{dnsConfigPath: resolveWriteConf(t, "nameserver "+silent+"\n"), lookupIP: resolveNoFallback(t)}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	got, err := r.resolveAddr(ctx, "join.example.test", 1)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("resolveAddr = %v, %v; want context.DeadlineExceeded", got, err)
	}
	if elapsed := time.Since(start); elapsed > 1500*time.Millisecond {
		t.Errorf("resolveAddr took %v with a 50ms deadline", elapsed)
	}
}

// TestResolveAddr_Cancel: cancelling ctx while the nameserver is silent
// ends the lookup at once.
func TestResolveAddr_Cancel(t *testing.T) {
	silent, accepted := resolveStartTCP(t, true)
	r := &addrResolver{dnsConfigPath: resolveWriteConf(t, "nameserver "+silent+"\n"), lookupIP: resolveNoFallback(t)}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type result struct {
		ips []ipPort
		err error
	}
	res := make(chan result, 1)
	go func() {
		ips, err := r.resolveAddr(ctx, "join.example.test", 1)
		res <- result{ips, err}
	}()
	deadline := time.After(10 * time.Second)
	select {
	case <-accepted:
	case <-deadline:
		t.Fatal("the lookup did not connect within 10s")
	}
	cancel()
	select {
	case got := <-res:
		if !errors.Is(got.err, context.Canceled) {
			t.Errorf("resolveAddr after cancel = %v, %v; want context.Canceled", got.ips, got.err)
		}
	case <-deadline:
		t.Fatal("resolveAddr did not return within 10s of cancel")
	}
}

// TestResolveAddr_CancelledBeforeStart: an ended ctx stops the TCP step at
// the dial, but a literal IP needs no lookup.
func TestResolveAddr_CancelledBeforeStart(t *testing.T) {
	srv := startResolveTestDNS(t)
	r := &addrResolver{dnsConfigPath: resolveWriteConf(t, "nameserver "+srv.addr+"\n"), lookupIP: resolveNoFallback(t)}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if got, err := r.resolveAddr(ctx, "join.service.consul", 1); !errors.Is(err, context.Canceled) {
		t.Errorf("resolveAddr(cancelled) = %v, %v; want context.Canceled", got, err)
	}
	if got, err := r.resolveAddr(ctx, "10.0.0.1:2", 1); err != nil || resolveFormat(got) != "|10.0.0.1|2|4\n" {
		t.Errorf("resolveAddr(cancelled, literal) = %v, %v", got, err)
	}
}

// resolveLagCtx has a deadline but, like a context whose timer has not yet
// fired, reports no error.
type resolveLagCtx struct {
	context.Context
	deadline time.Time
}

func (c resolveLagCtx) Deadline() (time.Time, bool) { return c.deadline, true }

func TestResolveContextEnded(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	expired, cancel2 := context.WithDeadline(context.Background(), time.Unix(1, 0))
	defer cancel2()
	future, cancel3 := context.WithTimeout(context.Background(), time.Hour)
	defer cancel3()
	tests := []struct {
		name string
		ctx  context.Context
		want error
	}{
		{"background", context.Background(), nil},
		{"future deadline", future, nil},
		{"cancelled", cancelled, context.Canceled},
		{"expired", expired, context.DeadlineExceeded},
		{"deadline passed, timer not fired", resolveLagCtx{Context: context.Background(), deadline: time.Unix(1, 0)}, context.DeadlineExceeded},
	}
	for _, tt := range tests {
		if got := resolveContextEnded(tt.ctx); got != tt.want {
			t.Errorf("%s: resolveContextEnded = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestTCPDNSContextError(t *testing.T) {
	base := errors.New("i/o timeout")
	live := context.Background()
	if got := tcpDNSContextError(live, base); got != base {
		t.Errorf("live ctx: %v", got)
	}
	past, cancel := context.WithDeadline(context.Background(), time.Unix(1, 0))
	defer cancel()
	if got := tcpDNSContextError(past, base); !errors.Is(got, context.DeadlineExceeded) || !errors.Is(got, base) {
		t.Errorf("expired ctx: %v", got)
	}
	lagging := resolveLagCtx{Context: context.Background(), deadline: time.Unix(1, 0)}
	if got := tcpDNSContextError(lagging, base); !errors.Is(got, context.DeadlineExceeded) {
		t.Errorf("deadline passed, Err not yet set: %v", got)
	}
	done, cancel2 := context.WithCancel(context.Background())
	cancel2()
	if got := tcpDNSContextError(done, context.Canceled); got != context.Canceled {
		t.Errorf("already a ctx error: %v", got)
	}
}

func TestTCPLookupIP_Skipped(t *testing.T) {
	r := &addrResolver{}
	ips, err := r.tcpLookupIP(context.Background(), "join.example.test", 1, "")
	if ips != nil || err != nil {
		t.Errorf("tcpLookupIP without a resolv.conf = %v, %v; want nil, nil", ips, err)
	}
	r.dnsConfigPath = filepath.Join(t.TempDir(), "missing")
	ips, err = r.tcpLookupIP(context.Background(), "localhost", 1, "")
	if ips != nil || err != nil {
		t.Errorf("tcpLookupIP for a dotless name = %v, %v; want nil, nil", ips, err)
	}
}

func FuzzResolveAddr(f *testing.F) {
	for _, s := range []string{
		"localhost", "localhost:80", "127.0.0.1", "[::1]", "[::1]:80", "::1",
		"mongo/localhost:80", "/x", "localhost:80000", ":80", "[::1", "a/b/c", "[[::]]:1",
	} {
		f.Add(s, 8301)
	}
	lookup := func(_ context.Context, host string) ([]net.IP, error) {
		if host == "" {
			return nil, errors.New("empty host reached the lookup")
		}
		return []net.IP{net.IPv4(192, 0, 2, 1)}, nil
	}
	f.Fuzz(func(t *testing.T, s string, port int) {
		r := &addrResolver{lookupIP: lookup}
		got, err := r.resolveAddr(context.Background(), s, port)
		if err != nil {
			if got != nil {
				t.Errorf("resolveAddr(%q) returned results with error %v", s, err)
			}
			return
		}
		if len(got) == 0 {
			t.Fatalf("resolveAddr(%q) returned no results and no error", s)
		}
		for _, p := range got {
			if len(p.ip) != net.IPv4len && len(p.ip) != net.IPv6len {
				t.Errorf("resolveAddr(%q) gave IP %v of length %d", s, p.ip, len(p.ip))
			}
			if p.ip.To4() != nil && len(p.ip) != net.IPv4len {
				t.Errorf("resolveAddr(%q) gave IPv4 %v in 16-byte form", s, p.ip)
			}
			if strings.Contains(p.nodeName, "/") {
				t.Errorf("resolveAddr(%q) gave node name %q containing '/'", s, p.nodeName)
			}
		}
	})
}
