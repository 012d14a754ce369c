// Package collector turns VoiceTrends call volume into Prometheus metrics:
// per-account pollers refresh the figures inside the API's budget and publish
// immutable snapshots, encoded once per change for the scrapes (see
// exposition), and Collect builds const metrics from them where needed.
package collector

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/voicetrends/voicetrends_exporter/internal/metric"
	"github.com/voicetrends/voicetrends_exporter/voicetrends"
)

// figureMetric is one row of metric.Figures with its descriptor.
type figureMetric struct {
	figure  voicetrends.Figure
	desc    *prometheus.Desc
	convert func(float64) float64
}

// figureMetrics drives the scrape of the figures, in metric.Figures' order.
var figureMetrics = func() []figureMetric {
	out := make([]figureMetric, 0, len(metric.Figures))
	for _, f := range metric.Figures {
		out = append(out, figureMetric{f.Figure, f.Desc(), f.Convert})
	}
	return out
}()

// The collector's other descriptors, from the metric table.
var (
	periodStartDesc    = metric.PeriodStart.Desc()
	upDesc             = metric.Up.Desc()
	loginDeferredDesc  = metric.LoginDeferred.Desc()
	refreshSuccessDesc = metric.LastRefreshSuccess.Desc()
	lastSuccessDesc    = metric.LastSuccess.Desc()
	zoneMismatchDesc   = metric.TimezoneMismatch.Desc()
	budgetDesc         = metric.BudgetRequests.Desc()
	intervalDesc       = metric.RefreshInterval.Desc()
	targetIntervalDesc = metric.TargetRefreshInterval.Desc()
	closedDesc         = metric.Closed.Desc()
	closureInfoDesc    = metric.ClosureInfo.Desc()
	nextClosureDesc    = metric.NextClosure.Desc()
	limitDesc          = metric.RateLimitLimit.Desc()
	remainingDesc      = metric.RateLimitRemaining.Desc()
	resetDesc          = metric.RateLimitReset.Desc()
)

// Request metrics are kept per account (see instrument.go) so that a removed
// account's series go with it; these are their options.
var (
	requestsOpts = prometheus.CounterOpts{Name: metric.APIRequests.Name, Help: metric.APIRequests.Help}
	durationOpts = prometheus.HistogramOpts{Name: metric.APIRequestDuration.Name, Help: metric.APIRequestDuration.Help,
		Buckets: metric.DurationBuckets}
)

// descs lists every descriptor the collector emits.
func descs() []*prometheus.Desc {
	out := []*prometheus.Desc{periodStartDesc, upDesc, loginDeferredDesc, zoneMismatchDesc, refreshSuccessDesc, lastSuccessDesc, targetIntervalDesc, budgetDesc, intervalDesc, closedDesc, closureInfoDesc, nextClosureDesc, limitDesc, remainingDesc, resetDesc}
	for _, f := range figureMetrics {
		out = append(out, f.desc)
	}
	ch := make(chan *prometheus.Desc, 2)
	newInstrumentation("").describe(ch)
	close(ch)
	for d := range ch {
		out = append(out, d)
	}
	return out
}
