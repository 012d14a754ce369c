package collector

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/voicetrends/voicetrends_exporter/internal/calendar"
	"github.com/voicetrends/voicetrends_exporter/internal/metric"
	"github.com/voicetrends/voicetrends_exporter/voicetrends"
)

// The families a snapshot serves, by index into snapshotDescs: the
// account's own, the per-target ones, then the figures in metric.Figures'
// order.
const (
	famUp = iota
	famLoginDeferred
	famZoneMismatch
	famBudget
	famInterval
	famClosed
	famClosureInfo
	famNextClosure
	famRefreshSuccess
	famLastSuccess
	famTargetInterval
	famPeriodStart
	famFigures // the first figure family
)

// snapshotDescs are the descriptors of the snapshot's families, by index.
var snapshotDescs = func() []*prometheus.Desc {
	out := []*prometheus.Desc{upDesc, loginDeferredDesc, zoneMismatchDesc, budgetDesc, intervalDesc, closedDesc, closureInfoDesc, nextClosureDesc, refreshSuccessDesc, lastSuccessDesc, targetIntervalDesc, periodStartDesc}
	for _, f := range figureMetrics {
		out = append(out, f.desc)
	}
	return out
}()

// snapshotFamilies are the metric table's rows of snapshotDescs.
var snapshotFamilies = func() []metric.Family {
	out := []metric.Family{metric.Up, metric.LoginDeferred, metric.TimezoneMismatch, metric.BudgetRequests, metric.RefreshInterval,
		metric.Closed, metric.ClosureInfo, metric.NextClosure, metric.LastRefreshSuccess, metric.LastSuccess, metric.TargetRefreshInterval, metric.PeriodStart}
	for _, f := range metric.Figures {
		out = append(out, f.Family)
	}
	return out
}()

// emit receives one gauge sample of family fam (an index of snapshotDescs),
// its label values in the family's label order.
type emit func(fam int, value float64, labels ...string)

// accountSamples emits the account's own gauges on the local date today.
func (s *accountSnapshot) accountSamples(today voicetrends.Date, out emit) {
	out(famUp, boolValue(s.up), s.name)
	out(famLoginDeferred, boolValue(s.loginDeferred != ""), s.name)
	out(famZoneMismatch, boolValue(s.zoneErr != nil), s.name)
	out(famBudget, float64(s.perWindow), s.name)
	out(famInterval, s.interval.Seconds(), s.name)
	s.closureSamples(today, out)
}

// withdrawn reports whether t's figures are too old, at now, to pass for
// the present.
func (s *accountSnapshot) withdrawn(t *target, now time.Time) bool {
	return !t.lastSuccess.IsZero() && now.Sub(t.lastSuccess) > s.maxAgeOf(t)
}

// maxAgeOf is how long t's figures are served after its last success: the
// effective max_data_age, and at least twice t's own interval, so that
// figures do not blink out between two refreshes of a quiet number.
func (s *accountSnapshot) maxAgeOf(t *target) time.Duration {
	return max(s.maxAge, 2*t.interval)
}

// viewSamples emits what t serves of its vi-th period on today, its
// figures left out when withdrawn.
func (s *accountSnapshot) viewSamples(t *target, vi int, today voicetrends.Date, withdrawn bool, out emit) {
	if !t.attempted && !t.unreachable {
		return
	}
	p := t.periods[vi]
	period := string(p)
	out(famRefreshSuccess, boolValue(t.lastOK), s.name, t.phone, period)
	out(famTargetInterval, t.own(s.interval).Seconds(), s.name, t.phone, period)
	if t.lastSuccess.IsZero() {
		return
	}
	out(famLastSuccess, float64(t.lastSuccess.UnixNano())/1e9, s.name, t.phone, period)
	if withdrawn || vi >= len(t.buckets) {
		return
	}
	// Current and previous are chosen when served, not at refresh time, so that a
	// bucket never passes for the current period after its period has ended.
	cur, prev := calendar.Select(p, today, s.location, t.buckets[vi])
	for w, b := range [2]*voicetrends.Bucket{cur, prev} {
		if b == nil {
			continue
		}
		win := windowNames[w]
		out(famPeriodStart, float64(b.Start.Unix()), s.name, t.phone, period, win)
		for i, f := range figureMetrics {
			if v, ok := b.Get(f.figure); ok {
				out(famFigures+i, f.convert(v), s.name, t.phone, period, win)
			}
		}
	}
}

// collect emits the snapshot's samples as seen at now, as const metrics.
func (s *accountSnapshot) collect(ch chan<- prometheus.Metric, now time.Time) {
	out := func(fam int, value float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(snapshotDescs[fam], prometheus.GaugeValue, value, labels...)
	}
	today := voicetrends.DateIn(now, s.location)
	s.accountSamples(today, out)
	for i := range s.targets {
		t := &s.targets[i]
		withdrawn := s.withdrawn(t, now)
		for vi := range t.periods {
			s.viewSamples(t, vi, today, withdrawn, out)
		}
	}
}

// revision stands for one state of a target: the poller gives a target
// a new one whenever the target changes, so that the encoding of the
// exposition reuses the pieces of the targets that did not change.
type revision struct{ _ byte } // not zero-sized: each new one is distinct

// windowNames are the values of the window label, current first.
var windowNames = [2]string{metric.Current, metric.Previous}
