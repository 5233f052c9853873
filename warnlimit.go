package memberlist

import (
	"context"
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

// warnLimited logs msg at WARN unless a warning of cause c was logged less
// than warnEvery ago, in which case it logs it at DEBUG. A warning carries
// the number held back since the previous one as "suppressed".
func (m *Memberlist) warnLimited(c warnCause, msg string, attrs ...slog.Attr) {
	ok, n := m.warns.allow(c, time.Now())
	level := slog.LevelDebug
	if ok {
		level = slog.LevelWarn
		if n > 0 {
			attrs = append(attrs, slog.Int("suppressed", n))
		}
	}
	m.logger.LogAttrs(context.Background(), level, msg, attrs...)
}
