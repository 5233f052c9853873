package main

import "log/slog"

// libraryLogger returns the logger for memberlist.Config.Slog: the
// library's records go to l's handler, so the agent's -log-level filters
// them too, with the attribute component=memberlist.
func libraryLogger(l *slog.Logger) *slog.Logger {
	return l.With("component", "memberlist")
}
