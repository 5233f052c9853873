package memberlist

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"os"
	"strconv"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
)

// logCallDepth is the calldepth given to log.Logger.Output so that a
// Lshortfile or Llongfile flag names the line that called a slog.Logger
// method (Debug, Info, Warn, Error, Log or LogAttrs) on newLogger's result:
// Output's caller is Handle, called by the slog.Logger's internal log
// method, called by the exported method.
const logCallDepth = 4

// logUnknownAddress is what the Log* helpers print for a missing address.
const logUnknownAddress = "from=<unknown address>"

// LogAddress returns "from=<addr>" for use in log lines, or
// "from=<unknown address>" when addr is nil.
func LogAddress(addr net.Addr) string {
	if addr == nil {
		return logUnknownAddress
	}
	return "from=" + addr.String()
}

// LogStringAddress returns "from=<addr>" for use in log lines, or
// "from=<unknown address>" when addr is empty.
func LogStringAddress(addr string) string {
	if addr == "" {
		return logUnknownAddress
	}
	return "from=" + addr
}

// LogConn returns LogAddress of the remote address of conn, or
// "from=<unknown address>" when conn is nil.
func LogConn(conn net.Conn) string {
	if conn == nil {
		return logUnknownAddress
	}
	return LogAddress(conn.RemoteAddr())
}

// validateLogConfig reports an error when both a log destination and a
// logger are configured (Config.LogOutput and Config.Logger).
func validateLogConfig(out io.Writer, l *log.Logger) error {
	if out != nil && l != nil {
		return errors.New("cannot specify both LogOutput and Logger; please choose a single log configuration setting")
	}
	return nil
}

// newLogger returns the library's internal logger. Its records are written
// through l, or when l is nil through log.New(out, "", log.LstdFlags) with
// out defaulting to os.Stderr, one line per record in the convention that
// hashicorp/logutils filters on:
//
//	[DEBUG] memberlist: <msg> key=value key="value with spaces"
//
// The tags are DEBUG, INFO, WARN and ERR (slog.LevelError and above).
// Nothing is filtered by level; a *log.Logger whose writer is io.Discard
// is cheap to log to.
func newLogger(out io.Writer, l *log.Logger) *slog.Logger {
	if l == nil {
		if out == nil {
			out = os.Stderr
		}
		l = log.New(out, "", log.LstdFlags)
	}
	return slog.New(&logTagHandler{shared: &logTagShared{logger: l}})
}

// logTagShared is the part of a logTagHandler that its derived handlers
// share.
type logTagShared struct {
	logger *log.Logger
	bufs   sync.Pool // of *[]byte
}

// logTagHandler is a slog.Handler that writes "[LEVEL] memberlist: msg
// k=v ..." lines through a *log.Logger. Handlers derived with WithAttrs
// and WithGroup share the logger. It is immutable after construction and
// safe for concurrent use (the *log.Logger serialises writes). It must be
// created by newLogger.
type logTagHandler struct {
	shared *logTagShared
	attrs  []byte // preformatted " k=v" pairs from WithAttrs
	group  string // key prefix from WithGroup, "" or ending in "."
}

// Enabled reports true for every level (filtering by tag is left to the
// writer, as upstream does with logutils), unless the *log.Logger writes
// to io.Discard.
func (h *logTagHandler) Enabled(context.Context, slog.Level) bool {
	return h.shared.logger.Writer() != io.Discard
}

// Handle formats r as one line and writes it through the *log.Logger.
func (h *logTagHandler) Handle(_ context.Context, r slog.Record) error {
	bp, _ := h.shared.bufs.Get().(*[]byte)
	if bp == nil {
		bp = new([]byte)
	}
	buf := append((*bp)[:0], logLevelTag(r.Level)...)
	buf = append(buf, " memberlist: "...)
	buf = append(buf, r.Message...)
	buf = append(buf, h.attrs...)
	r.Attrs(func(a slog.Attr) bool {
		buf = logAppendAttr(buf, h.group, a)
		return true
	})
	err := h.shared.logger.Output(logCallDepth, string(buf))
	if cap(buf) <= 16<<10 {
		*bp = buf
		h.shared.bufs.Put(bp)
	}
	return err
}

// WithAttrs returns a handler that adds attrs, under the current group, to
// every line.
func (h *logTagHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	h2 := *h
	h2.attrs = append([]byte(nil), h.attrs...)
	for _, a := range attrs {
		h2.attrs = logAppendAttr(h2.attrs, h.group, a)
	}
	return &h2
}

// WithGroup returns a handler that prefixes the keys of later attributes
// with "name.". An empty name returns h.
func (h *logTagHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	h2 := *h
	h2.group = h.group + name + "."
	return &h2
}

// logLevelTag returns the bracketed tag for level.
func logLevelTag(level slog.Level) string {
	switch {
	case level < slog.LevelInfo:
		return "[DEBUG]"
	case level < slog.LevelWarn:
		return "[INFO]"
	case level < slog.LevelError:
		return "[WARN]"
	default:
		return "[ERR]"
	}
}

// logAppendAttr appends " prefix+key=value" for a, following the slog
// rules: an empty attribute is dropped, a group's members are appended
// with "key." added to the prefix (an empty group is dropped, a group with
// an empty key is inlined).
func logAppendAttr(buf []byte, prefix string, a slog.Attr) []byte {
	a.Value = a.Value.Resolve()
	if a.Equal(slog.Attr{}) {
		return buf
	}
	if a.Value.Kind() == slog.KindGroup {
		if a.Key != "" {
			prefix += a.Key + "."
		}
		for _, ga := range a.Value.Group() {
			buf = logAppendAttr(buf, prefix, ga)
		}
		return buf
	}
	buf = append(buf, ' ')
	start := len(buf)
	buf = append(buf, prefix...)
	buf = append(buf, a.Key...)
	buf = logQuoteFrom(buf, start)
	buf = append(buf, '=')
	start = len(buf)
	buf = logAppendValue(buf, a.Value)
	return logQuoteFrom(buf, start)
}

// logAppendValue appends the text of a resolved, non-group value.
func logAppendValue(buf []byte, v slog.Value) []byte {
	switch v.Kind() {
	case slog.KindString:
		return append(buf, v.String()...)
	case slog.KindInt64:
		return strconv.AppendInt(buf, v.Int64(), 10)
	case slog.KindUint64:
		return strconv.AppendUint(buf, v.Uint64(), 10)
	case slog.KindFloat64:
		return strconv.AppendFloat(buf, v.Float64(), 'g', -1, 64)
	case slog.KindBool:
		return strconv.AppendBool(buf, v.Bool())
	case slog.KindDuration:
		return append(buf, v.Duration().String()...)
	case slog.KindTime:
		return v.Time().AppendFormat(buf, time.RFC3339Nano)
	}
	switch x := v.Any().(type) {
	case nil:
		return append(buf, "<nil>"...)
	case error:
		return append(buf, x.Error()...)
	case fmt.Stringer:
		return append(buf, x.String()...)
	case []byte:
		return append(buf, x...)
	default:
		return fmt.Append(buf, x)
	}
}

// logQuoteFrom replaces buf[start:] with its Go-quoted form when it is
// empty or contains a space, a quote, an "=" or a non-printing character.
func logQuoteFrom(buf []byte, start int) []byte {
	if !logNeedsQuote(buf[start:]) {
		return buf
	}
	s := string(buf[start:])
	return strconv.AppendQuote(buf[:start], s)
}

// logNeedsQuote reports whether b must be quoted to stay one token.
func logNeedsQuote(b []byte) bool {
	if len(b) == 0 {
		return true
	}
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			if c <= ' ' || c == '"' || c == '=' || c == 0x7f {
				return true
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError || unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return true
		}
		i += size
	}
	return false
}

// The attribute keys of the library's log records. They are stable: log
// queries and handlers may depend on them.
const (
	logKeyNode = "node" // a node name
	logKeyAddr = "addr" // a peer's address, host:port
	logKeyErr  = "err"  // the error
	logKeyType = "type" // a message type number
	logKeyInc  = "inc"  // an incarnation number
)

// logAddr returns the addr attribute for a, empty when a is nil.
func logAddr(a net.Addr) slog.Attr {
	if a == nil {
		return slog.String(logKeyAddr, "")
	}
	return slog.String(logKeyAddr, a.String())
}

// logConnAddr returns the addr attribute for the remote end of conn.
func logConnAddr(conn net.Conn) slog.Attr {
	if conn == nil {
		return logAddr(nil)
	}
	return logAddr(conn.RemoteAddr())
}

// logErr returns the err attribute for err.
func logErr(err error) slog.Attr { return slog.Any(logKeyErr, err) }

// logNode returns the node attribute for name.
func logNode(name string) slog.Attr { return slog.String(logKeyNode, name) }
