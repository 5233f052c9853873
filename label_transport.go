package memberlist

import (
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"time"
)

// labelWrappedTransport adds the label header to every packet sent and to
// every stream dialled.
type labelWrappedTransport struct {
	NodeAwareTransport
	label string
}

// WriteToAddress sends buf with the label header prefixed.
func (t *labelWrappedTransport) WriteToAddress(buf []byte, addr Address) (time.Time, error) {
	buf, err := AddLabelHeaderToPacket(buf, t.label)
	if err != nil {
		return time.Time{}, fmt.Errorf("failed to add label header to packet: %w", err)
	}
	return t.NodeAwareTransport.WriteToAddress(buf, addr)
}

// WriteTo sends buf with the label header prefixed.
func (t *labelWrappedTransport) WriteTo(buf []byte, addr string) (time.Time, error) {
	return t.WriteToAddress(buf, Address{Addr: addr})
}

// DialAddressTimeout dials addr and writes the label header first.
func (t *labelWrappedTransport) DialAddressTimeout(addr Address, timeout time.Duration) (net.Conn, error) {
	conn, err := t.NodeAwareTransport.DialAddressTimeout(addr, timeout)
	if err != nil {
		return nil, err
	}
	if err := AddLabelHeaderToStream(conn, t.label); err != nil {
		conn.Close()
		return nil, fmt.Errorf("failed to add label header to stream: %w", err)
	}
	return conn, nil
}

// DialTimeout dials addr and writes the label header first.
func (t *labelWrappedTransport) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	return t.DialAddressTimeout(Address{Addr: addr}, timeout)
}

// isPublicIP reports whether ip is a globally routable unicast address, not
// in any special-purpose range (RFC 6890).
func isPublicIP(ip net.IP) bool {
	addr, ok := netip.AddrFromSlice(ip)
	if !ok {
		return false
	}
	addr = addr.Unmap()
	if !addr.IsGlobalUnicast() || addr.IsPrivate() {
		return false
	}
	for _, p := range specialPrefixes {
		if p.Contains(addr) {
			return false
		}
	}
	return true
}

// specialPrefixes are RFC 6890 special-purpose ranges that netip's
// predicates do not cover. The table is never modified.
var specialPrefixes = []netip.Prefix{
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("192.0.2.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("2001::/23"),
	netip.MustParsePrefix("2001:db8::/32"),
	netip.MustParsePrefix("2002::/16"),
}

// slogToStdLogger returns a *log.Logger whose lines go to l, for the
// transport, which takes a *log.Logger.
func slogToStdLogger(l *slog.Logger) *log.Logger {
	return log.New(stdLogWriter{l}, "", 0)
}

// stdLogWriter passes lines in the "[LEVEL] memberlist: msg" convention to
// a slog.Logger at the matching level.
type stdLogWriter struct{ l *slog.Logger }

var _ io.Writer = stdLogWriter{}

func (w stdLogWriter) Write(p []byte) (int, error) {
	msg := strings.TrimRight(string(p), "\n")
	level := slog.LevelInfo
	for _, tag := range stdLogTags {
		if rest, ok := strings.CutPrefix(msg, tag.prefix); ok {
			level, msg = tag.level, rest
			break
		}
	}
	msg = strings.TrimPrefix(msg, "memberlist: ")
	w.l.Log(context.Background(), level, msg)
	return len(p), nil
}

// stdLogTags maps the level tags of the "[LEVEL] memberlist: msg" convention
// to slog levels. The table is never modified.
var stdLogTags = []struct {
	prefix string
	level  slog.Level
}{
	{"[DEBUG] ", slog.LevelDebug},
	{"[INFO] ", slog.LevelInfo},
	{"[WARN] ", slog.LevelWarn},
	{"[ERR] ", slog.LevelError},
	{"[ERROR] ", slog.LevelError},
}
