package memberlist

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log"
	"log/slog"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestLogging_Address(t *testing.T) {
	tests := []struct {
		addr net.Addr
		want string
	}{
		{nil, "from=<unknown address>"},
		{&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 7946}, "from=127.0.0.1:7946"},
		{&net.UDPAddr{IP: net.ParseIP("::1"), Port: 53}, "from=[::1]:53"},
	}
	for _, tt := range tests {
		if got := LogAddress(tt.addr); got != tt.want {
			t.Errorf("LogAddress(%v) = %q, want %q", tt.addr, got, tt.want)
		}
	}
	if got := LogStringAddress(""); got != "from=<unknown address>" {
		t.Errorf(`LogStringAddress("") = %q`, got)
	}
	if got := LogStringAddress("10.0.0.1:1"); got != "from=10.0.0.1:1" {
		t.Errorf(`LogStringAddress("10.0.0.1:1") = %q`, got)
	}
}

// logNilRemoteConn is a net.Conn whose RemoteAddr is nil.
type logNilRemoteConn struct{ net.Conn }

func (logNilRemoteConn) RemoteAddr() net.Addr { return nil }

func TestLogging_Conn(t *testing.T) {
	if got := LogConn(nil); got != "from=<unknown address>" {
		t.Errorf("LogConn(nil) = %q", got)
	}
	if got := LogConn(logNilRemoteConn{}); got != "from=<unknown address>" {
		t.Errorf("LogConn(conn with nil RemoteAddr) = %q", got)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if got, want := LogConn(conn), "from="+ln.Addr().String(); got != want {
		t.Errorf("LogConn = %q, want %q", got, want)
	}
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if got := LogConn(a); got != "from=pipe" {
		t.Errorf("LogConn(pipe) = %q, want from=pipe", got)
	}
}

func TestValidateLogConfig(t *testing.T) {
	var buf bytes.Buffer
	l := log.New(&buf, "", 0)
	if err := validateLogConfig(nil, nil); err != nil {
		t.Errorf("neither: %v", err)
	}
	if err := validateLogConfig(&buf, nil); err != nil {
		t.Errorf("LogOutput only: %v", err)
	}
	if err := validateLogConfig(nil, l); err != nil {
		t.Errorf("Logger only: %v", err)
	}
	err := validateLogConfig(&buf, l)
	const want = "cannot specify both LogOutput and Logger; please choose a single log configuration setting"
	if err == nil || err.Error() != want {
		t.Errorf("both: %v, want %q", err, want)
	}
}

// logTestStringer is a fmt.Stringer value.
type logTestStringer struct{}

func (logTestStringer) String() string { return "stringer value" }

// logTestValuer is a slog.LogValuer that expands to a group.
type logTestValuer struct{}

func (logTestValuer) LogValue() slog.Value {
	return slog.GroupValue(slog.String("name", "n1"), slog.Int("port", 7946))
}

func TestNewLogger_Format(t *testing.T) {
	var buf bytes.Buffer
	logger := newLogger(nil, log.New(&buf, "", 0))
	ts := time.Date(2024, 5, 6, 7, 8, 9, 10, time.UTC)
	tests := []struct {
		level slog.Level
		msg   string
		args  []any
		want  string
	}{
		{slog.LevelDebug, "Stream connection", []any{"from", "127.0.0.1:1"}, "[DEBUG] memberlist: Stream connection from=127.0.0.1:1"},
		{slog.LevelDebug - 4, "very verbose", nil, "[DEBUG] memberlist: very verbose"},
		{slog.LevelInfo, "Suspect n1 has failed, no acks received", nil, "[INFO] memberlist: Suspect n1 has failed, no acks received"},
		{slog.LevelInfo + 1, "between", nil, "[INFO] memberlist: between"},
		{slog.LevelWarn, "Refuting", []any{"node", "n1", "inc", 7}, "[WARN] memberlist: Refuting node=n1 inc=7"},
		{slog.LevelError, "Failed push/pull", []any{"error", errors.New("remote error: EOF")}, `[ERR] memberlist: Failed push/pull error="remote error: EOF"`},
		{slog.LevelError + 4, "worse", nil, "[ERR] memberlist: worse"},
		{slog.LevelInfo, "kinds", []any{
			"u", uint64(18446744073709551615), "f", 1.5, "b", true, "d", 1500 * time.Millisecond,
			"t", ts, "s", logTestStringer{}, "nil", nil, "bytes", []byte("abc"), "slice", []int{1, 2},
		}, `[INFO] memberlist: kinds u=18446744073709551615 f=1.5 b=true d=1.5s t=2024-05-06T07:08:09.00000001Z s="stringer value" nil=<nil> bytes=abc slice="[1 2]"`},
		{slog.LevelInfo, "quoting", []any{"empty", "", "eq", "a=b", "quote", `say "hi"`, "nl", "a\nb", "uni", "héllo", "bad", "\xff"},
			`[INFO] memberlist: quoting empty="" eq="a=b" quote="say \"hi\"" nl="a\nb" uni=héllo bad="\xff"`},
		{slog.LevelInfo, "groups", []any{slog.Group("peer", "name", "n2", slog.Group("addr", "port", 1)), slog.Group("empty"), slog.Group("", "inline", 1), slog.Attr{}},
			"[INFO] memberlist: groups peer.name=n2 peer.addr.port=1 inline=1"},
		{slog.LevelInfo, "valuer", []any{"node", logTestValuer{}}, "[INFO] memberlist: valuer node.name=n1 node.port=7946"},
		{slog.LevelInfo, "bad key", []any{"a key", 1}, `[INFO] memberlist: bad key "a key"=1`},
	}
	for _, tt := range tests {
		buf.Reset()
		logger.Log(context.Background(), tt.level, tt.msg, tt.args...)
		if got := strings.TrimSuffix(buf.String(), "\n"); got != tt.want {
			t.Errorf("level %v %q:\n got %s\nwant %s", tt.level, tt.msg, got, tt.want)
		}
	}
}

func TestNewLogger_WithAttrsAndGroup(t *testing.T) {
	var buf bytes.Buffer
	base := newLogger(nil, log.New(&buf, "", 0))
	l1 := base.With("node", "n1")
	l2 := l1.WithGroup("push").With("peer", "n2").WithGroup("")
	l3 := l2.WithGroup("stats")
	l1.Info("one", "k", 1)
	l2.Info("two", "k", 2)
	l3.Warn("three", "k", 3, slog.Group("g", "x", 4))
	base.Error("four")
	want := "[INFO] memberlist: one node=n1 k=1\n" +
		"[INFO] memberlist: two node=n1 push.peer=n2 push.k=2\n" +
		"[WARN] memberlist: three node=n1 push.peer=n2 push.stats.k=3 push.stats.g.x=4\n" +
		"[ERR] memberlist: four\n"
	if buf.String() != want {
		t.Errorf("got\n%s\nwant\n%s", buf.String(), want)
	}
	if h := base.Handler(); h.WithAttrs(nil) != h || h.WithGroup("") != h {
		t.Error("WithAttrs(nil) and WithGroup(\"\") should return the handler itself")
	}
}

func TestNewLogger_Destinations(t *testing.T) {
	var out bytes.Buffer
	newLogger(&out, nil).Info("hello")
	// log.LstdFlags: "2009/01/23 01:23:23 [INFO] memberlist: hello"
	re := regexp.MustCompile(`^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[INFO\] memberlist: hello\n$`)
	if !re.MatchString(out.String()) {
		t.Errorf("LogOutput line = %q", out.String())
	}

	var custom bytes.Buffer
	newLogger(nil, log.New(&custom, "pfx ", log.Lmsgprefix)).Warn("w")
	if got := custom.String(); got != "pfx [WARN] memberlist: w\n" {
		t.Errorf("Logger line = %q", got)
	}

	var file bytes.Buffer
	newLogger(nil, log.New(&file, "", log.Lshortfile)).Info("where")
	if got := file.String(); !strings.HasPrefix(got, "logging_test.go:") {
		t.Errorf("Lshortfile line = %q, want it to name this file", got)
	}

	if h := newLogger(nil, nil).Handler(); !h.Enabled(context.Background(), slog.LevelDebug-8) {
		t.Error("the default logger should be enabled for every level")
	}
	discard := newLogger(nil, log.New(io.Discard, "", 0))
	if discard.Enabled(context.Background(), slog.LevelError) {
		t.Error("a logger writing to io.Discard should report not enabled")
	}
}

func TestNewLogger_Concurrent(t *testing.T) {
	var buf bytes.Buffer // written only through log.Logger, which serialises writes
	logger := newLogger(nil, log.New(&buf, "", 0))
	const goroutines, lines = 8, 200
	var wg sync.WaitGroup
	for g := range goroutines {
		l := logger.With("g", g)
		if g%2 == 1 {
			l = l.WithGroup("odd")
		}
		wg.Go(func() {
			for i := range lines {
				l.Debug("concurrent line", "i", i, "text", "has space")
			}
		})
	}
	wg.Wait()
	got := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(got) != goroutines*lines {
		t.Fatalf("got %d lines, want %d", len(got), goroutines*lines)
	}
	re := regexp.MustCompile(`^\[DEBUG\] memberlist: concurrent line g=(\d) (odd\.)?i=(\d+) (odd\.)?text="has space"$`)
	counts := make(map[string]int)
	for _, line := range got {
		m := re.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("malformed line %q", line)
		}
		g, _ := strconv.Atoi(m[1])
		if (m[2] != "") != (g%2 == 1) || m[2] != m[4] {
			t.Fatalf("wrong group in line %q", line)
		}
		counts[m[1]]++
	}
	for g := range goroutines {
		if n := counts[strconv.Itoa(g)]; n != lines {
			t.Errorf("goroutine %d wrote %d lines, want %d", g, n, lines)
		}
	}
}

func TestLogLevelTag(t *testing.T) {
	tests := []struct {
		level slog.Level
		want  string
	}{
		{slog.LevelDebug - 1, "[DEBUG]"}, {slog.LevelDebug, "[DEBUG]"}, {slog.LevelInfo - 1, "[DEBUG]"},
		{slog.LevelInfo, "[INFO]"}, {slog.LevelWarn - 1, "[INFO]"},
		{slog.LevelWarn, "[WARN]"}, {slog.LevelError - 1, "[WARN]"},
		{slog.LevelError, "[ERR]"}, {slog.LevelError + 8, "[ERR]"},
	}
	for _, tt := range tests {
		if got := logLevelTag(tt.level); got != tt.want {
			t.Errorf("logLevelTag(%v) = %q, want %q", tt.level, got, tt.want)
		}
	}
}

// logCountWriter counts the bytes written to it.
type logCountWriter struct{ n int }

func (w *logCountWriter) Write(p []byte) (int, error) { w.n += len(p); return len(p), nil }

func BenchmarkNewLogger(b *testing.B) {
	b.Run("written", func(b *testing.B) {
		logger := newLogger(nil, log.New(&logCountWriter{}, "", log.LstdFlags)).With("node", "n1")
		b.ReportAllocs()
		for b.Loop() {
			logger.Debug("Initiating push/pull sync", "peer", "n2", "addr", "10.0.0.2:7946", "inc", 42)
		}
	})
	b.Run("discard", func(b *testing.B) {
		logger := newLogger(nil, log.New(io.Discard, "", log.LstdFlags))
		b.ReportAllocs()
		for b.Loop() {
			logger.Debug("Initiating push/pull sync", "peer", "n2", "addr", "10.0.0.2:7946", "inc", 42)
		}
	})
}
