package collector

import (
	"time"

	"github.com/voicetrends/voicetrends_exporter/internal/closure"
	"github.com/voicetrends/voicetrends_exporter/voicetrends"
)

// targetKey names a target within its account: a phone and a period, or a
// phone alone for a derived target (derive_periods), which serves every
// configured period.
type targetKey struct {
	phone   string
	period  voicetrends.Period // empty when derived
	derived bool
}

// target is one (account, phone, period), or with derive_periods one
// (account, phone): one request per refresh. Its state is a value: a
// poller replaces it whole, and snapshots share it read-only.
type target struct {
	targetKey
	periods []voicetrends.Period // the periods served: its own, or every configured one when derived

	attempted    bool
	unreachable  bool // not attempted yet, but the account cannot reach the API: shown as failing
	lastAttempt  time.Time
	failures     int // attempts in a row that failed in a way worth retrying (see retryable)
	lastOK       bool
	lastSuccess  time.Time
	lastErr      string                 // the error's class, for logging once per change
	lastError    string                 // the latest error in full, scrubbed of secrets
	buckets      [][]voicetrends.Bucket // per period served, the latest good answer; never mutated
	days         []voicetrends.Bucket   // derived: the daily buckets of the latest good answer
	nextRollover time.Time              // due at once from then on
	interval     time.Duration          // its own interval under the square-root schedule; zero: the account's
	rev          *revision              // replaced whenever the fields above change
}

func newTarget(k targetKey, periods []voicetrends.Period) target {
	if !k.derived {
		periods = []voicetrends.Period{k.period}
	}
	return target{targetKey: k, periods: periods, rev: new(revision)}
}

// periodLabel names the target's periods in logs.
func (k targetKey) periodLabel() string {
	if k.derived {
		return "all (derive_periods)"
	}
	return string(k.period)
}

// next returns when the target next wants a refresh, and whether that is a
// retry of a failure, before its turn.
func (t *target) next(interval time.Duration) (time.Time, bool) {
	interval = t.own(interval)
	turn := t.due(interval)
	if !t.attempted || t.failures == 0 {
		return turn, false
	}
	if retry := t.lastAttempt.Add(retryAfter(t.failures, interval)); retry.Before(turn) {
		return retry, true
	}
	return turn, false
}

// own returns the target's own interval, or the account's interval until
// the schedule gives it one.
func (t *target) own(account time.Duration) time.Duration {
	if t.interval > 0 {
		return t.interval
	}
	return account
}

// due returns when the target's turn comes: an interval after its latest
// attempt, or its period's rollover.
func (t *target) due(interval time.Duration) time.Time {
	if !t.attempted {
		return time.Time{}
	}
	d := t.lastAttempt.Add(interval)
	if !t.nextRollover.IsZero() && t.nextRollover.Before(d) {
		d = t.nextRollover
	}
	return d
}

// accountSnapshot is what one scrape serves of an account: immutable once
// published, swapped in whole after each refresh.
type accountSnapshot struct {
	name      string
	location  *time.Location
	maxAge    time.Duration
	perWindow int
	interval  time.Duration
	up        bool
	tried     bool
	zoneErr   error // the API's buckets are not midnights in location; nil when they are
	targets   []target
	weekStart *time.Weekday // derive_periods: the week's first day, nil while unknown
	weekNext  time.Time     // derive_periods: when the week's first day is next asked for

	lastError   string // the account's latest refresh error, scrubbed
	lastErrorAt time.Time

	loginDeferred      string // why the client paces its logins; "" while it does not
	loginDeferredUntil time.Time

	closures *closure.Calendar // the account's closed days; nil: never closed
}
