package collector

import (
	"time"

	"github.com/voicetrends/voicetrends_exporter/collector/window"
	"github.com/voicetrends/voicetrends_exporter/voicetrends"
)

// targetKey names a target within its account.
type targetKey struct {
	phone  string
	period voicetrends.Period
}

// target is one (account, phone, period): one request per refresh. Its state
// is a value: a poller replaces it whole, and snapshots share it read-only.
type target struct {
	targetKey
	figureLabels [2][]string // label values for window current and previous
	healthLabels []string    // account, phone, period

	attempted    bool
	lastAttempt  time.Time
	lastOK       bool
	lastSuccess  time.Time
	lastErr      string
	buckets      []voicetrends.Bucket // the latest good answer, never mutated
	nextRollover time.Time            // due at once from then on
}

func newTarget(account string, k targetKey) target {
	p := string(k.period)
	return target{
		targetKey: k,
		figureLabels: [2][]string{
			{account, k.phone, p, window.Current},
			{account, k.phone, p, window.Previous},
		},
		healthLabels: []string{account, k.phone, p},
	}
}

// due returns when the target next wants a refresh.
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
	targets   []target
}
