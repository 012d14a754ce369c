package collector

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

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
	// Label pairs are made once per target rather than once per scrape:
	// they dominate the cost of serving tens of thousands of series.
	figureLabels [2][]*dto.LabelPair // account, phone, period, window: current and previous
	healthLabels []*dto.LabelPair    // account, phone, period

	attempted    bool
	lastAttempt  time.Time
	lastOK       bool
	lastSuccess  time.Time
	lastErr      string               // the error's class, for logging once per change
	lastError    string               // the latest error in full, scrubbed of secrets
	buckets      []voicetrends.Bucket // the latest good answer, never mutated
	nextRollover time.Time            // due at once from then on
}

func newTarget(account string, k targetKey) target {
	p := string(k.period)
	return target{
		targetKey: k,
		figureLabels: [2][]*dto.LabelPair{
			prometheus.MakeLabelPairs(periodStartDesc, []string{account, k.phone, p, window.Current}),
			prometheus.MakeLabelPairs(periodStartDesc, []string{account, k.phone, p, window.Previous}),
		},
		healthLabels: prometheus.MakeLabelPairs(lastSuccessDesc, []string{account, k.phone, p}),
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
	zoneErr   error // the API's buckets are not midnights in location; nil when they are
	targets   []target

	lastError   string // the account's latest refresh error, scrubbed
	lastErrorAt time.Time
}

// gauge is a const gauge sample with label pairs made in advance. It is
// built at scrape time from a snapshot, like prometheus.MustNewConstMetric,
// and carries its own dto.Gauge so that writing it allocates nothing.
type gauge struct {
	desc   *prometheus.Desc
	labels []*dto.LabelPair
	value  float64
	out    dto.Gauge
}

// Desc implements prometheus.Metric.
func (g *gauge) Desc() *prometheus.Desc { return g.desc }

// Write implements prometheus.Metric; the label pairs are shared read-only,
// as client_golang's own const metrics share theirs.
func (g *gauge) Write(m *dto.Metric) error {
	g.out.Value = &g.value
	m.Label = g.labels
	m.Gauge = &g.out
	return nil
}
