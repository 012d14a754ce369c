// Package metric is the exporter's metric table, as data: every family's
// name, HELP text and labels, and how each API figure converts to base
// units. The collector builds its descriptors from it and the backfill
// writes the same names and units, so that history and live data are one.
package metric

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/voicetrends/voicetrends_exporter/voicetrends"
)

// ExporterName names the exporter in its build_info metric and its logs.
const ExporterName = "voicetrends_exporter"

// The values of the window label.
const (
	Current  = "current"  // the period in progress, to date
	Previous = "previous" // the last complete period
)

// Family is one metric family as data.
type Family struct {
	Name   string
	Help   string
	Labels []string
}

// Desc returns the family's descriptor.
func (f Family) Desc() *prometheus.Desc { return prometheus.NewDesc(f.Name, f.Help, f.Labels, nil) }

// Figure is how one API figure is exported.
type Figure struct {
	Family
	Figure  voicetrends.Figure    // the API series
	Convert func(float64) float64 // from the API's unit to the family's base unit
}

// Label sets.
var (
	FigureLabels   = []string{"account", "phone", "period", "window"} // figures and the period start
	TargetLabels   = []string{"account", "phone", "period"}           // per-target health
	AccountLabel   = []string{"account"}
	ClosureLabels  = []string{"account", "name", "observed"} // today's closure
	LimitLabels    = []string{"account", "group"}            // rate-limit headers, by group: data or auth
	RequestLabels  = []string{"account", "endpoint", "code"}
	DurationLabels = []string{"account", "endpoint"}
)

const cached = " Cached from the VoiceTrends Call Volume API; refreshed every voicetrends_refresh_interval_seconds and at each period rollover."

func same(v float64) float64    { return v }
func minutes(v float64) float64 { return v * 60 }
func percent(v float64) float64 { return v / 100 }

func figure(f voicetrends.Figure, name, help string, convert func(float64) float64) Figure {
	return Figure{Family{"voicetrends_" + name, help + cached, FigureLabels}, f, convert}
}

// Figures lists the figure families in the order a scrape emits them: where
// each API figure is converted.
var Figures = []Figure{
	figure(voicetrends.Calls, "calls", "Calls in the window.", same),
	figure(voicetrends.CallMinutes, "call_seconds", "Call time in the window, in seconds (VoiceTrends call minutes x 60).", minutes),
	figure(voicetrends.Transfers, "transfers", "Transferred calls in the window.", same),
	figure(voicetrends.TransferMinutes, "transfer_seconds", "Transfer time in the window, in seconds (VoiceTrends transfer minutes x 60).", minutes),
	figure(voicetrends.TransferRate, "transfer_ratio", "Transfers divided by calls in the window, 0 to 1 (VoiceTrends transfer rate / 100).", percent),
	figure(voicetrends.AverageCallLength, "average_call_length_seconds", "Average call length in the window, in seconds.", same),
}

// The other families of the collector.
var (
	PeriodStart = Family{"voicetrends_period_start_timestamp_seconds",
		"Start of the window's period (local midnight in the account's time zone) as a Unix timestamp." + cached, FigureLabels}
	Up = Family{"voicetrends_up",
		"1 when the exporter can talk to the API for the account (logins, credentials, transport, no 5xx), 0 when it cannot or no refresh has finished yet. One target's own errors show in voicetrends_last_refresh_success instead.", AccountLabel}
	LastRefreshSuccess = Family{"voicetrends_last_refresh_success",
		"1 when the target's latest refresh succeeded, 0 when it failed.", TargetLabels}
	LastSuccess = Family{"voicetrends_last_success_timestamp_seconds",
		"When the target's figures were last refreshed successfully, as a Unix timestamp.", TargetLabels}
	LoginDeferred = Family{"voicetrends_login_deferred",
		"1 while the exporter holds its logins back to stay inside the account's login budget (its own pacing, not a failure of the API: voicetrends_up stays 1 while the API answers), 0 otherwise.", AccountLabel}
	TimezoneMismatch = Family{"voicetrends_timezone_mismatch",
		"1 when the API's buckets do not start at midnight in the account's configured timezone: the figures are withheld until timezone is set to the account's zone in VoiceTrends.", AccountLabel}
	BudgetRequests = Family{"voicetrends_budget_requests_per_window",
		"Data requests this exporter may spend per API rate-limit window (requests_per_window).", AccountLabel}
	RefreshInterval = Family{"voicetrends_refresh_interval_seconds",
		"Effective interval between two refreshes of one target round-robin: refresh_interval, stretched so that all targets fit the budget. Under schedule sqrt each target's own is voicetrends_target_refresh_interval_seconds.", AccountLabel}
	TargetRefreshInterval = Family{"voicetrends_target_refresh_interval_seconds",
		"The target's own interval between two refreshes: under the square-root schedule busy numbers get shorter ones than quiet ones; else the effective refresh interval.", TargetLabels}
	Closed = Family{"voicetrends_closed",
		"1 through each local day (in the account's timezone) that its closed key closes (holidays and dates, less open), else 0. Flips at local midnight.", AccountLabel}
	ClosureInfo = Family{"voicetrends_closure_info",
		"1 while the account is closed today: name is the holiday's name in its own language (closed.dates for a listed date), observed is true on a holiday's observed or substitute day.", ClosureLabels}
	NextClosure = Family{"voicetrends_next_closure_timestamp_seconds",
		"Start (local midnight) of the account's next closed day after today, within a year, as a Unix timestamp; absent when there is none.", AccountLabel}
	RateLimitLimit = Family{"voicetrends_rate_limit_limit",
		"The API's request limit per window, from X-RateLimit-Limit on the latest response of the group.", LimitLabels}
	RateLimitRemaining = Family{"voicetrends_rate_limit_remaining",
		"Requests left in the API's window for every client of the account, from X-RateLimit-Remaining on the latest response of the group.", LimitLabels}
	RateLimitReset = Family{"voicetrends_rate_limit_reset_timestamp_seconds",
		"When the API's window resets, from X-RateLimit-Reset on the latest response of the group, as a Unix timestamp.", LimitLabels}
	APIRequests = Family{"voicetrends_api_requests_total",
		"Requests sent to the VoiceTrends API, by endpoint and HTTP status code (\"error\" when no response came back).", RequestLabels}
	APIRequestDuration = Family{"voicetrends_api_request_duration_seconds",
		"Duration of requests to the VoiceTrends API, by endpoint.", DurationLabels}
)

// The families of the configuration holder and of client_golang's version
// collector, which the daemon registers beside the collector.
var (
	ConfigReloadSuccess = Family{"voicetrends_config_last_reload_successful",
		"Whether the last configuration reload attempt was successful (1) or not (0).", nil}
	ConfigReloadTimestamp = Family{"voicetrends_config_last_reload_success_timestamp_seconds",
		"Timestamp of the last successful configuration reload.", nil}
	// BuildInfo is made by client_golang's version collector, named after ExporterName.
	BuildInfo = Family{ExporterName + "_build_info",
		"A metric with a constant '1' value labeled by version, revision, branch, goversion from which " + ExporterName + " was built, and the goos and goarch for the build.",
		[]string{"branch", "goarch", "goos", "goversion", "revision", "tags", "version"}}
)

// DurationBuckets are the API request duration histogram's buckets.
var DurationBuckets = []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30}

// Families lists every family of the collector.
func Families() []Family {
	out := []Family{PeriodStart, Up, LoginDeferred, TimezoneMismatch, LastRefreshSuccess, LastSuccess, TargetRefreshInterval, BudgetRequests, RefreshInterval,
		Closed, ClosureInfo, NextClosure,
		RateLimitLimit, RateLimitRemaining, RateLimitReset, APIRequests, APIRequestDuration}
	for _, f := range Figures {
		out = append(out, f.Family)
	}
	return out
}

// Served lists every family the daemon serves of its own: the collector's,
// the configuration holder's and the build info (not go_* and process_*).
func Served() []Family {
	return append(Families(), ConfigReloadSuccess, ConfigReloadTimestamp, BuildInfo)
}
