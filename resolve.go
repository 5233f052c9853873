package memberlist

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// ipPort is one resolved join target: an IP address, a port and the
// optional node name given with it ("name/host:port").
type ipPort struct {
	ip       net.IP
	port     uint16
	nodeName string
}

// addrResolver turns the strings given to Join into dialable addresses.
//
// It first parses an optional "name/" prefix and a port, accepts literal IP
// addresses as they are, and otherwise asks the first nameserver of
// dnsConfigPath over TCP (so that large answers are not truncated), falling
// back to the system resolver when that gives nothing.
//
// The zero value skips the TCP step (no resolv.conf path), uses
// net.DefaultResolver and does not log. An addrResolver is safe for
// concurrent use as long as its fields are not changed.
type addrResolver struct {
	// dnsConfigPath is the resolv.conf(5) file whose first nameserver is
	// queried over TCP. Empty means no TCP query.
	dnsConfigPath string

	// lookupIP is the fallback lookup. Nil means
	// net.DefaultResolver.LookupIP(ctx, "ip", host).
	lookupIP func(ctx context.Context, host string) ([]net.IP, error)

	// logger receives the DEBUG lines about the TCP step. Nil means none.
	logger *slog.Logger
}

// resolveAddr resolves one Join address, "[name/]host[:port]", into every
// IP address the host stands for, each with the port and node name.
// defaultPort is used when the string carries no port (hasPort).
//
// A literal IP gives one result. A host name containing a dot is first
// looked up over TCP (tcpLookupIP); when that fails or finds nothing, the
// fallback lookup is used. ctx bounds both lookups: when it ends during the
// TCP query, resolveAddr returns that error (it wraps context.Canceled or
// context.DeadlineExceeded) without trying the fallback. Every IPv4 address
// in the result, including an IPv4-mapped IPv6 literal, is in its 4-byte
// form (upstream returns literals in the 16-byte form; both print and dial
// the same).
//
// Errors: "empty node name provided" for a leading "/"; the
// net.SplitHostPort error for a malformed host:port; the strconv.ParseUint
// error for a port that is not a 16-bit number; a *net.AddrError for an
// empty host (upstream passes "" to the system resolver and gets its "no
// such host"); otherwise the fallback lookup's error.
func (r *addrResolver) resolveAddr(ctx context.Context, hostStr string, defaultPort int) ([]ipPort, error) {
	nodeName, rest, err := resolveSplitNodeName(hostStr)
	if err != nil {
		return nil, err
	}
	hostPort := ensurePort(rest, defaultPort)
	host, portStr, err := net.SplitHostPort(hostPort)
	if err != nil {
		return nil, err
	}
	port64, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil {
		return nil, err
	}
	port := uint16(port64)
	if host == "" {
		return nil, &net.AddrError{Err: "missing host in address", Addr: hostStr}
	}

	if ip := net.ParseIP(host); ip != nil {
		return []ipPort{{ip: resolveCanonicalIP(ip), port: port, nodeName: nodeName}}, nil
	}

	ips, err := r.tcpLookupIP(ctx, host, port, nodeName)
	if err != nil {
		// Ask ctx, not err: the dns.Client's own dial timeout also
		// matches context.DeadlineExceeded, and it should fall back.
		if resolveContextEnded(ctx) != nil {
			return nil, err
		}
		r.debug("TCP-first lookup failed, falling back to UDP", logKeyAddr, hostPort, logKeyErr, err)
	}
	if len(ips) > 0 {
		return ips, nil
	}
	return r.fallbackLookup(ctx, host, port, nodeName)
}

// resolveSplitNodeName splits "name/rest" at the first "/". Without a "/"
// the name is empty and rest is s; a "/" at index 0 is an error.
func resolveSplitNodeName(s string) (name, rest string, err error) {
	i := strings.IndexByte(s, '/')
	switch {
	case i < 0:
		return "", s, nil
	case i == 0:
		return "", "", errors.New("empty node name provided")
	default:
		return s[:i], s[i+1:], nil
	}
}

// fallbackLookup resolves host with r.lookupIP (or the default resolver)
// and pairs every address with port and nodeName.
func (r *addrResolver) fallbackLookup(ctx context.Context, host string, port uint16, nodeName string) ([]ipPort, error) {
	lookup := r.lookupIP
	if lookup == nil {
		lookup = resolveDefaultLookupIP
	}
	ips, err := lookup(ctx, host)
	if err != nil {
		return nil, err
	}
	if len(ips) == 0 {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	out := make([]ipPort, 0, len(ips))
	for _, ip := range ips {
		out = append(out, ipPort{ip: resolveCanonicalIP(ip), port: port, nodeName: nodeName})
	}
	return out, nil
}

// resolveDefaultLookupIP is the fallback lookup used when none is set.
func resolveDefaultLookupIP(ctx context.Context, host string) ([]net.IP, error) {
	return net.DefaultResolver.LookupIP(ctx, "ip", host)
}

// resolveCanonicalIP returns ip in its 4-byte form when it is an IPv4
// address, and unchanged otherwise.
func resolveCanonicalIP(ip net.IP) net.IP {
	if v4 := ip.To4(); v4 != nil {
		return v4
	}
	return ip
}

// debug logs at DEBUG level when r has a logger.
func (r *addrResolver) debug(msg string, args ...any) {
	if r.logger != nil {
		r.logger.Debug(msg, args...)
	}
}

// hasPort reports whether s carries a port. When the last "[" is at index 0
// (a bracketed IPv6 address), a port is present if the last ":" comes after
// the last "]"; otherwise a port is present if s has exactly one ":" (so a
// bare IPv6 address has none).
func hasPort(s string) bool {
	if strings.LastIndexByte(s, '[') == 0 {
		return strings.LastIndexByte(s, ':') > strings.LastIndexByte(s, ']')
	}
	return strings.Count(s, ":") == 1
}

// ensurePort returns s unchanged when it has a port (hasPort); otherwise it
// strips any "[" and "]" around s and joins it with port, bracketing an
// IPv6 address: "1.2.3.4" → "1.2.3.4:port", "::1" and "[::1]" → "[::1]:port".
func ensurePort(s string, port int) string {
	if hasPort(s) {
		return s
	}
	s = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	return net.JoinHostPort(s, strconv.Itoa(port))
}

// joinHostPort is net.JoinHostPort with a numeric port.
func joinHostPort(host string, port uint16) string {
	return net.JoinHostPort(host, strconv.FormatUint(uint64(port), 10))
}

// tcpLookupIP asks the first nameserver of r.dnsConfigPath, over TCP, for
// any records of host and returns its A and AAAA answers with defaultPort
// and nodeName (CNAME answers are logged and ignored). It does nothing and
// returns nil, nil when host has no dot or r.dnsConfigPath is empty. The
// query is bounded by ctx and by the dns.Client default timeouts (2 s each
// for dial, write and read); cancelling ctx aborts it.
func (r *addrResolver) tcpLookupIP(ctx context.Context, host string, defaultPort uint16, nodeName string) ([]ipPort, error) {
	if !strings.Contains(host, ".") || r.dnsConfigPath == "" {
		return nil, nil
	}
	cfg, err := dns.ClientConfigFromFile(r.dnsConfigPath)
	if err != nil {
		return nil, err
	}
	server, err := tcpDNSServerAddr(cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", r.dnsConfigPath, err)
	}
	query := new(dns.Msg)
	query.SetQuestion(dns.Fqdn(host), dns.TypeANY)
	reply, err := tcpDNSExchange(ctx, query, server)
	if err != nil {
		return nil, err
	}
	if reply.Rcode != dns.RcodeSuccess {
		return nil, fmt.Errorf("DNS server %s answered %s for %s",
			server, dns.RcodeToString[reply.Rcode], query.Question[0].Name)
	}
	var out []ipPort
	for _, rr := range reply.Answer {
		var ip net.IP
		switch rr := rr.(type) {
		case *dns.A:
			ip = rr.A
		case *dns.AAAA:
			ip = rr.AAAA
		case *dns.CNAME:
			r.debug("Ignoring CNAME RR in TCP-first answer", "host", host, "cname", rr.Target)
		}
		if ip != nil {
			out = append(out, ipPort{ip: resolveCanonicalIP(ip), port: defaultPort, nodeName: nodeName})
		}
	}
	return out, nil
}

// tcpDNSServerAddr returns the host:port of the first nameserver in cfg,
// adding cfg.Port (default "53") when the entry has none.
func tcpDNSServerAddr(cfg *dns.ClientConfig) (string, error) {
	if len(cfg.Servers) == 0 {
		return "", errors.New("no nameserver configured")
	}
	server := cfg.Servers[0]
	if hasPort(server) {
		return server, nil
	}
	port := cfg.Port
	if port == "" {
		port = "53"
	}
	server = strings.TrimSuffix(strings.TrimPrefix(server, "["), "]")
	return net.JoinHostPort(server, port), nil
}

// tcpDNSExchange sends query to server over TCP and reads the reply. The
// dial and the exchange honour ctx's deadline, and cancelling ctx closes
// the connection, which ends a pending read. An error caused by ctx wraps
// context.Canceled or context.DeadlineExceeded.
func tcpDNSExchange(ctx context.Context, query *dns.Msg, server string) (*dns.Msg, error) {
	client := dns.Client{Net: "tcp"}
	conn, err := client.DialContext(ctx, server)
	if err != nil {
		return nil, tcpDNSContextError(ctx, err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	reply, _, err := client.ExchangeWithConnContext(ctx, query, conn)
	if err != nil {
		return nil, tcpDNSContextError(ctx, err)
	}
	return reply, nil
}

// tcpDNSContextError returns err, wrapped with the error of ctx when ctx
// has ended (resolveContextEnded).
func tcpDNSContextError(ctx context.Context, err error) error {
	ctxErr := resolveContextEnded(ctx)
	if ctxErr == nil || errors.Is(err, ctxErr) {
		return err
	}
	return fmt.Errorf("%w (%w)", ctxErr, err)
}

// resolveContextEnded returns ctx.Err(), or context.DeadlineExceeded when
// ctx's deadline has passed but ctx has not reported it yet (a connection
// deadline set from ctx can expire a moment before ctx's own timer fires).
// It returns nil while ctx is live.
func resolveContextEnded(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if deadline, ok := ctx.Deadline(); ok && !time.Now().Before(deadline) {
		return context.DeadlineExceeded
	}
	return nil
}
