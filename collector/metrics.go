// Package collector turns VoiceTrends call volume into Prometheus metrics:
// per-account pollers refresh the figures inside the API's budget and publish
// immutable snapshots, and scrapes build const metrics from the latest ones.
package collector

import (
	"sort"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"

	"github.com/voicetrends/voicetrends_exporter/collector/config"

	"github.com/voicetrends/voicetrends_exporter/voicetrends"
)

const namespace = "voicetrends"

var (
	figureLabels = []string{"account", "phone", "period", "window"}
	targetLabels = []string{"account", "phone", "period"}
	accountLabel = []string{"account"}
	limitLabels  = []string{"account", "group"}

	cached = " Cached from the VoiceTrends Call Volume API; refreshed every voicetrends_refresh_interval_seconds and at each period rollover."
)

// figureMetric maps one API series to the metric that serves it, in base units.
type figureMetric struct {
	figure  voicetrends.Figure
	desc    *prometheus.Desc
	convert func(float64) float64
}

func same(v float64) float64    { return v }
func minutes(v float64) float64 { return v * 60 }
func percent(v float64) float64 { return v / 100 }
func figureDesc(name, help string) *prometheus.Desc {
	d := prometheus.NewDesc(namespace+"_"+name, help+cached, figureLabels, nil)
	figureTexts[d] = [2]string{namespace + "_" + name, help + cached}
	return d
}

// figureTexts keeps the name and HELP text of each figure descriptor, which
// prometheus.Desc does not expose, for FigureMetrics.
var figureTexts = map[*prometheus.Desc][2]string{}

// FigureMetric is how one API figure is exported: the backfill writes the
// same names, HELP texts and units as a scrape.
type FigureMetric struct {
	Figure  voicetrends.Figure    // the API series
	Name    string                // the metric name, e.g. voicetrends_calls
	Help    string                // the HELP text
	Convert func(float64) float64 // from the API's unit to the metric's base unit
}

// FigureMetrics lists the figure metrics in the order a scrape emits them.
func FigureMetrics() []FigureMetric {
	out := make([]FigureMetric, 0, len(figureMetrics))
	for _, f := range figureMetrics {
		t := figureTexts[f.desc]
		out = append(out, FigureMetric{Figure: f.figure, Name: t[0], Help: t[1], Convert: f.convert})
	}
	return out
}

// PeriodStartMetric returns the name and HELP text of the gauge holding a
// window's period start as a Unix timestamp.
func PeriodStartMetric() (name, help string) {
	t := figureTexts[periodStartDesc]
	return t[0], t[1]
}

// FigureLabelNames returns the label names of the figure metrics and the
// period start, in order: account, phone, period, window.
func FigureLabelNames() []string { return append([]string(nil), figureLabels...) }

// figureMetrics is where each API figure is converted; the table drives both
// the scrape and the descriptors.
var figureMetrics = []figureMetric{
	{voicetrends.Calls, figureDesc("calls", "Calls in the window."), same},
	{voicetrends.CallMinutes, figureDesc("call_seconds", "Call time in the window, in seconds (VoiceTrends call minutes x 60)."), minutes},
	{voicetrends.Transfers, figureDesc("transfers", "Transferred calls in the window."), same},
	{voicetrends.TransferMinutes, figureDesc("transfer_seconds", "Transfer time in the window, in seconds (VoiceTrends transfer minutes x 60)."), minutes},
	{voicetrends.TransferRate, figureDesc("transfer_ratio", "Transfers divided by calls in the window, 0 to 1 (VoiceTrends transfer rate / 100)."), percent},
	{voicetrends.AverageCallLength, figureDesc("average_call_length_seconds", "Average call length in the window, in seconds."), same},
}

var (
	periodStartDesc = figureDesc("period_start_timestamp_seconds", "Start of the window's period (local midnight in the account's time zone) as a Unix timestamp.")

	upDesc = prometheus.NewDesc(namespace+"_up",
		"1 when the account's latest refresh succeeded, 0 when it failed or none has finished yet.", accountLabel, nil)
	refreshSuccessDesc = prometheus.NewDesc(namespace+"_last_refresh_success",
		"1 when the target's latest refresh succeeded, 0 when it failed.", targetLabels, nil)
	lastSuccessDesc = prometheus.NewDesc(namespace+"_last_success_timestamp_seconds",
		"When the target's figures were last refreshed successfully, as a Unix timestamp.", targetLabels, nil)
	zoneMismatchDesc = prometheus.NewDesc(namespace+"_timezone_mismatch",
		"1 when the API's buckets do not start at midnight in the account's configured timezone: the figures are withheld until timezone is set to the account's zone in VoiceTrends.", accountLabel, nil)
	budgetDesc = prometheus.NewDesc(namespace+"_budget_requests_per_window",
		"Data requests this exporter may spend per API rate-limit window (requests_per_window).", accountLabel, nil)
	intervalDesc = prometheus.NewDesc(namespace+"_refresh_interval_seconds",
		"Effective interval between two refreshes of one target: refresh_interval, stretched so that all targets fit the budget.", accountLabel, nil)
	limitDesc = prometheus.NewDesc(namespace+"_rate_limit_limit",
		"The API's request limit per window, from X-RateLimit-Limit on the latest response of the group.", limitLabels, nil)
	remainingDesc = prometheus.NewDesc(namespace+"_rate_limit_remaining",
		"Requests left in the API's window for every client of the account, from X-RateLimit-Remaining on the latest response of the group.", limitLabels, nil)
	resetDesc = prometheus.NewDesc(namespace+"_rate_limit_reset_timestamp_seconds",
		"When the API's window resets, from X-RateLimit-Reset on the latest response of the group, as a Unix timestamp.", limitLabels, nil)
)

// Request metrics are kept per account (see instrument.go) so that a removed
// account's series go with it; these are their options.
var (
	requestsOpts = prometheus.CounterOpts{
		Namespace: namespace, Name: "api_requests_total",
		Help: "Requests sent to the VoiceTrends API, by endpoint and HTTP status code (\"error\" when no response came back).",
	}
	requestsLabels = []string{"account", "endpoint", "code"}
	durationOpts   = prometheus.HistogramOpts{
		Namespace: namespace, Name: "api_request_duration_seconds",
		Help:    "Duration of requests to the VoiceTrends API, by endpoint.",
		Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30},
	}
	durationLabels = []string{"account", "endpoint"}
)

// descs lists every descriptor the collector emits.
func descs() []*prometheus.Desc {
	out := []*prometheus.Desc{periodStartDesc, upDesc, zoneMismatchDesc, refreshSuccessDesc, lastSuccessDesc, budgetDesc, intervalDesc, limitDesc, remainingDesc, resetDesc}
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

// ExporterName names the exporter in its build_info metric and its logs.
const ExporterName = "voicetrends_exporter"

// MetricNames returns the name of every voicetrends metric family the
// exporter exposes, taken from the descriptors of the collector, the reload
// status and the build info, sorted.
func MetricNames() []string {
	all := descs()
	ch := make(chan *prometheus.Desc, 8)
	go func() {
		(&config.Safe{}).Describe(ch)
		versioncollector.NewCollector(ExporterName).Describe(ch)
		close(ch)
	}()
	for d := range ch {
		all = append(all, d)
	}
	var names []string
	for _, d := range all {
		// Desc offers no getter; its String form is stable: Desc{fqName: "name", ...}.
		s := d.String()
		s = s[strings.Index(s, `"`)+1:]
		names = append(names, s[:strings.Index(s, `"`)])
	}
	sort.Strings(names)
	return names
}
