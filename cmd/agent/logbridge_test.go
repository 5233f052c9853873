package main

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

func TestParseLibraryLine(t *testing.T) {
	tests := []struct {
		line  string
		level slog.Level
		msg   string
	}{
		{"[DEBUG] memberlist: Stream connection from=127.0.0.1:1", slog.LevelDebug, "Stream connection from=127.0.0.1:1"},
		{"[INFO] memberlist: Suspect a3 has failed", slog.LevelInfo, "Suspect a3 has failed"},
		{"[WARN] memberlist: Refuting an alive message node=a1 inc=3", slog.LevelWarn, "Refuting an alive message node=a1 inc=3"},
		{"[ERR] memberlist: Failed to send", slog.LevelError, "Failed to send"},
		{"[ERROR] memberlist: x", slog.LevelError, "x"},
		{"no tag at all", slog.LevelInfo, "no tag at all"},
		{"[TRACE] memberlist: odd", slog.LevelInfo, "[TRACE] memberlist: odd"},
	}
	for _, tt := range tests {
		level, msg := parseLibraryLine(tt.line)
		if level != tt.level || msg != tt.msg {
			t.Errorf("parseLibraryLine(%q) = %v, %q; want %v, %q", tt.line, level, msg, tt.level, tt.msg)
		}
	}
}

func TestLibraryLoggerFiltersAndTags(t *testing.T) {
	var buf bytes.Buffer
	l := libraryLogger(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo})))
	l.Print("[DEBUG] memberlist: hidden")
	l.Print("[WARN] memberlist: shown node=a2")
	out := buf.String()
	if strings.Contains(out, "hidden") {
		t.Errorf("a DEBUG line passed an INFO filter:\n%s", out)
	}
	if !strings.Contains(out, `level=WARN msg="shown node=a2" component=memberlist`) {
		t.Errorf("missing WARN record:\n%s", out)
	}
}
