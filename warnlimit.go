package memberlist

import (
	"log/slog"
	"sync"
	"time"
)

// warnEvery is the shortest time between two warnings of one cause about
// problems a peer can cause over and over (a refused stream, say): an
// operator hears of the problem once a minute, with a count of the
// repeats, and a flood cannot fill the log.
const warnEvery = time.Minute

// warnLimit is the rate limit of the warnings of one cause. Its zero value
// has logged nothing yet.
type warnLimit struct {
	last       time.Time // when a warning was last logged; zero if never
	suppressed int       // warnings held back since then
}

// next decides whether a warning at now is logged, given that one is
// logged at most every every. It returns the new state, whether to log,
// and, when logging, how many warnings were held back since the last one.
func (w warnLimit) next(now time.Time, every time.Duration) (warnLimit, bool, int) {
	if !w.last.IsZero() && now.Sub(w.last) < every {
		w.suppressed++
		return w, false, 0
	}
	return warnLimit{last: now}, true, w.suppressed
}

// warnCause names a problem whose warnings are rate-limited together.
type warnCause uint8

const (
	warnPushPullCap   warnCause = iota // too many pending push/pulls
	warnStreamLabel                    // a stream with another label
	warnStreamReceive                  // a stream that does not decrypt or decode
	warnRemoteState                    // a push/pull whose state cannot be read
	warnRemoteMerge                    // a push/pull whose state is not merged
	warnRemoteLarge                    // a push/pull state above remoteStateWarnSize
	warnRejectedNode                   // an alive from an address CIDRsAllowed refuses
	warnConflict                       // an alive claiming a known name at another address
	warnBadAlive                       // an alive without valid versions, or refused by the AliveDelegate
	numWarnCauses
)

// warnLimiter holds the rate limits of the warnings of each cause. Its
// zero value has logged nothing; it is safe for concurrent use.
type warnLimiter struct {
	mu     sync.Mutex // leaf lock
	causes [numWarnCauses]warnLimit
}

// allow reports whether a warning of cause c at now is logged and, if so,
// how many of its cause were held back since the last.
func (l *warnLimiter) allow(c warnCause, now time.Time) (bool, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var ok bool
	var n int
	l.causes[c], ok, n = l.causes[c].next(now, warnEvery)
	return ok, n
}

// warnLevel returns the level at which to log, now, a warning of cause c
// with attrs: slog.LevelWarn, or slog.LevelDebug when one of its cause was
// logged at WARN less than warnEvery ago. A WARN that follows held-back
// ones gets their number as the attribute "suppressed". The caller logs
// the record itself, so that a Logger with Lshortfile names its line.
func (m *Memberlist) warnLevel(c warnCause, attrs ...slog.Attr) (slog.Level, []slog.Attr) {
	ok, n := m.warns.allow(c, time.Now())
	if !ok {
		return slog.LevelDebug, attrs
	}
	if n > 0 {
		attrs = append(attrs, slog.Int("suppressed", n))
	}
	return slog.LevelWarn, attrs
}

// limitedLevel returns the level and the arguments to log, now, a record of
// cause c at level with args: level and args when none of its cause was
// logged loud less than warnEvery ago (with the number held back since as
// "suppressed", if any), slog.LevelDebug and args otherwise.
func (m *Memberlist) limitedLevel(c warnCause, level slog.Level, args []any) (slog.Level, []any) {
	ok, n := m.warns.allow(c, time.Now())
	if !ok {
		return slog.LevelDebug, args
	}
	if n > 0 {
		args = append(args, slog.Int("suppressed", n))
	}
	return level, args
}
