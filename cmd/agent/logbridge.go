package main

import (
	"bytes"
	"context"
	"log"
	"log/slog"
	"strings"
)

// libraryLogger returns a *log.Logger for memberlist.Config.Logger whose
// lines become records of l. The library writes one line per record,
// "[LEVEL] memberlist: message key=value ...", with the tags DEBUG, INFO,
// WARN and ERR; each line is logged at the matching slog level with the
// text after the prefix as its message and the attribute
// component=memberlist.
func libraryLogger(l *slog.Logger) *log.Logger {
	return log.New(libraryLogWriter{l.With("component", "memberlist")}, "", 0)
}

// libraryLogWriter is the io.Writer behind libraryLogger. It is safe for
// concurrent use.
type libraryLogWriter struct{ logger *slog.Logger }

// Write logs each line of p and reports len(p): a line it cannot parse is
// logged at INFO as it is, never dropped.
func (w libraryLogWriter) Write(p []byte) (int, error) {
	for line := range bytes.Lines(p) {
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			continue
		}
		level, msg := parseLibraryLine(string(line))
		if w.logger.Enabled(context.Background(), level) {
			w.logger.Log(context.Background(), level, msg)
		}
	}
	return len(p), nil
}

// libraryLevels maps the library's level tags to slog levels.
var libraryLevels = [...]struct {
	tag   string
	level slog.Level
}{
	{"[DEBUG]", slog.LevelDebug},
	{"[INFO]", slog.LevelInfo},
	{"[WARN]", slog.LevelWarn},
	{"[ERR]", slog.LevelError},
	{"[ERROR]", slog.LevelError},
}

// parseLibraryLine returns the level and message of one library log line.
// A line without a known tag is INFO and its message is the whole line.
func parseLibraryLine(line string) (slog.Level, string) {
	for _, l := range libraryLevels {
		rest, ok := strings.CutPrefix(line, l.tag)
		if !ok {
			continue
		}
		rest = strings.TrimPrefix(rest, " ")
		rest = strings.TrimPrefix(rest, "memberlist: ")
		return l.level, rest
	}
	return slog.LevelInfo, line
}
