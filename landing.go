package main

import (
	"bytes"
	"html/template"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/common/model"
	"github.com/prometheus/common/version"

	"github.com/voicetrends/voicetrends_exporter/collector"
	"github.com/voicetrends/voicetrends_exporter/voicetrends"
)

// The landing page says what is wrong, per account, and whether calls are
// flowing, without JavaScript or anything fetched from elsewhere: it is
// rendered on each request from the exporter's snapshots, and a meta
// refresh reloads it.

// maxFailingShown bounds the targets listed per account in each table, so
// that a large account with a bad day still gets a readable page.
const maxFailingShown = 50

// landingRefresh is how often the page reloads itself: often enough to
// watch a refresh land, rarely enough to cost nothing.
const landingRefresh = 30 * time.Second

// landingData is what the template renders.
type landingData struct {
	Version       string
	TelemetryPath string
	Now           time.Time
	Demo          bool // the figures come from the built-in simulator
	Refresh       time.Duration
	Accounts      []collector.AccountStatus
}

var landingTemplate = template.Must(template.New("landing").Funcs(template.FuncMap{
	"age": func(now, t time.Time) string {
		if t.IsZero() {
			return "never"
		}
		return model.Duration(now.Sub(t).Truncate(time.Second)).String() + " ago"
	},
	"dur":   func(d time.Duration) string { return model.Duration(d).String() },
	"utc":   func(t time.Time) string { return t.UTC().Format("15:04:05 UTC") },
	"stamp": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"first": func(ts []collector.TargetStatus) []collector.TargetStatus { return ts[:min(len(ts), maxFailingShown)] },
	"more":  func(ts []collector.TargetStatus) int { return max(0, len(ts)-maxFailingShown) },
	"until": func(now, t time.Time) string {
		if !t.After(now) {
			return "due now"
		}
		return "in " + model.Duration(t.Sub(now).Truncate(time.Second)).String() + " (" + t.UTC().Format("15:04:05 UTC") + ")"
	},
	"seconds": func(d time.Duration) int { return int(d.Seconds()) },
	"join":    strings.Join,
	"has":     slices.Contains[[]string],
	"figure":  figure,
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="{{seconds .Refresh}}">
<title>{{if .Demo}}[DEMO] {{end}}VoiceTrends Exporter</title>
<style>
body { font-family: system-ui, sans-serif; margin: 1.5em auto; max-width: 70em; padding: 0 1em; color: #222; }
h1 { margin-bottom: 0.2em; }
.meta { color: #666; margin-top: 0; }
nav a { margin-right: 1em; }
table { border-collapse: collapse; width: 100%; margin: 0.5em 0 1.5em; }
th, td { text-align: left; padding: 0.35em 0.6em; border-bottom: 1px solid #ddd; vertical-align: top; }
th { background: #f4f4f4; }
.up { color: #176f2c; font-weight: bold; }
.down { color: #b00020; font-weight: bold; }
.starting { color: #8a6d00; font-weight: bold; }
.error { font-family: ui-monospace, monospace; font-size: 0.9em; word-break: break-word; }
.stretched { color: #8a6d00; }
.none, small, .more { color: #666; }
.banner { background: #fff3cd; border: 2px solid #b58900; padding: 0.6em 1em; font-weight: bold; }
dl.facts { display: grid; grid-template-columns: max-content auto; gap: 0.2em 1em; }
dl.facts dt { font-weight: bold; }
dl.facts dd { margin: 0; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
th.day { text-align: center; }
</style>
</head>
<body>
{{- if .Demo}}
<p class="banner" id="demo-banner" role="alert">Demo mode: every figure on this page and on /metrics is synthetic, made up by the built-in API simulator. No real VoiceTrends account is polled.</p>
{{- end}}
<h1>VoiceTrends Exporter</h1>
<p class="meta">Prometheus exporter for Plum Voice VoiceTrends call volume · version {{with .Version}}{{.}}{{else}}unknown{{end}} · page rendered {{stamp .Now}}, reloads every {{dur .Refresh}}</p>
<nav><a href="{{.TelemetryPath}}">Metrics</a><a href="/-/healthy">Health</a><a href="/-/ready">Readiness</a></nav>
<h2>Accounts</h2>
{{- if not .Accounts}}
<p class="none">No account is configured.</p>
{{- else}}
<table id="accounts">
<thead><tr><th>Account</th><th>State</th><th>Budget spent this window</th><th>Refresh interval</th><th>Failing targets</th><th>Last error</th></tr></thead>
<tbody>
{{- range .Accounts}}
<tr id="account-{{.Name}}">
<td class="name">{{.Name}}</td>
{{- if .Stopping}}<td class="state stopping">stopping</td>{{else if .Up}}<td class="state up">up</td>{{else if .Tried}}<td class="state down">down</td>{{else}}<td class="state starting">starting</td>{{end}}
<td class="budget">{{.Spent}} of {{.Budget}} <small>(window ends {{utc .WindowEnd}})</small>{{if .LoginDeferred}}<br><small class="deferred">logins deferred until {{utc .LoginDeferredUntil}}: {{.LoginDeferred}}</small>{{end}}</td>
<td class="interval">every {{dur .Plan.Interval}}{{if .Plan.Stretched}} <span class="stretched">(stretched from {{dur .Plan.RefreshInterval}} by the budget)</span>{{end}}</td>
<td class="failing">{{len .Failing}} of {{.Plan.Targets}}</td>
<td class="last-error">{{if .Timezone}}<span class="error">wrong timezone: {{.Timezone}}</span>{{else if .LastError}}<span class="error">{{.LastError}}</span> ({{age $.Now .LastErrorAt}}){{else}}<span class="none">none</span>{{end}}</td>
</tr>
{{- end}}
</tbody>
</table>
{{- range .Accounts}}
<section class="account" id="detail-{{.Name}}">
<h2>{{.Name}}</h2>
<dl class="facts">
<dt>Time zone</dt><dd class="zone">{{.Zone}}</dd>
<dt>Numbers</dt><dd class="phones">{{join .Phones ", "}}</dd>
<dt>Periods</dt><dd class="periods">{{join .Periods ", "}}{{if .Plan.DerivePeriods}} (derive_periods: one day request per number serves all){{end}}</dd>
<dt>Closed days</dt><dd class="closed">{{with .Closures}}{{if not .Configured}}<span class="none">none configured</span>{{else}}{{if .Today}}<strong>closed today</strong>: {{.Today}}{{else}}open today{{end}} · next closure: {{with .Next}}{{.}}{{else}}none within a year{{end}}{{with .Holidays}} <small>(holidays {{.}})</small>{{end}}{{end}}{{end}}</dd>
<dt>Oldest figures</dt><dd class="oldest">{{if .Oldest.IsZero}}none yet{{else}}fetched {{age $.Now .Oldest}}{{end}}{{with .Never}} · {{.}} target(s) without figures yet{{end}}</dd>
</dl>
{{- if .Numbers}}
<table class="numbers" id="numbers-{{.Name}}">
<thead><tr><th rowspan="2">Number</th><th class="day" colspan="3">Today so far</th><th class="day" colspan="3">Yesterday</th></tr>
<tr><th>Calls</th><th>Transfers</th><th>Transfer rate</th><th>Calls</th><th>Transfers</th><th>Transfer rate</th></tr></thead>
<tbody>
{{- range .Numbers}}
<tr>
<td class="phone">{{.Phone}}</td>
<td class="num today-calls">{{figure .Today "calls"}}</td>
<td class="num today-transfers">{{figure .Today "transfers"}}</td>
<td class="num today-rate">{{figure .Today "rate"}}</td>
<td class="num yesterday-calls">{{figure .Yesterday "calls"}}</td>
<td class="num yesterday-transfers">{{figure .Yesterday "transfers"}}</td>
<td class="num yesterday-rate">{{figure .Yesterday "rate"}}</td>
</tr>
{{- end}}
</tbody>
</table>
<p class="none"><small>As the exporter holds them (the day figures of its latest refresh); – where it holds none: not fetched yet, older than max_data_age, or not sent by the API.</small></p>
{{- else if not (has .Periods "day")}}
<p class="none">Today's and yesterday's figures need the day period in periods.</p>
{{- end}}
{{- if .Targets}}
<table class="targets" id="targets-{{.Name}}">
<thead><tr><th>Number</th><th>Period</th><th>Last success</th><th>Next refresh</th><th>Refreshed every</th></tr></thead>
<tbody>
{{- range first .Targets}}
<tr>
<td class="phone">{{.Phone}}</td>
<td class="period">{{.Period}}</td>
<td class="success">{{age $.Now .LastSuccess}}</td>
<td class="next">{{until $.Now .NextRefresh}}{{if .Retry}}, a retry{{end}}</td>
<td class="every">{{dur .Interval}}</td>
</tr>
{{- end}}
</tbody>
</table>
{{- with more .Targets}}
<p class="more">… and {{.}} more targets.</p>
{{- end}}
{{- end}}
{{- if .Failing}}
<h3>{{.Name}}: failing targets</h3>
<table class="failing-targets" id="failing-{{.Name}}">
<thead><tr><th>Phone</th><th>Period</th><th>Last error</th><th>Failed</th><th>Last success</th></tr></thead>
<tbody>
{{- range first .Failing}}
<tr>
<td class="phone">{{.Phone}}</td>
<td class="period">{{.Period}}</td>
<td class="error">{{.LastError}}</td>
<td class="attempt">{{age $.Now .LastAttempt}}</td>
<td class="success">{{age $.Now .LastSuccess}}</td>
</tr>
{{- end}}
</tbody>
</table>
{{- with more .Failing}}
<p class="more">… and {{.}} more failing targets: see <code>voicetrends_last_refresh_success == 0</code> on the metrics.</p>
{{- end}}
{{- end}}
</section>
{{- end}}
{{- end}}
</body>
</html>
`))

// landingHandler serves the landing page, on the exporter's clock.
func landingHandler(exporter *collector.Exporter, telemetryPath string, demo bool, logger log.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		var buf bytes.Buffer
		data := landingData{Version: version.Version, TelemetryPath: telemetryPath, Now: exporter.Now(), Demo: demo, Refresh: landingRefresh, Accounts: exporter.Status()}
		if err := renderLanding(&buf, data); err != nil {
			level.Error(logger).Log("msg", "rendering the landing page", "err", err)
			http.Error(w, "cannot render the landing page", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(buf.Bytes())
	})
}

// pageFigures are the figures the page shows, by the template's names.
var pageFigures = map[string]voicetrends.Figure{"calls": voicetrends.Calls, "transfers": voicetrends.Transfers, "rate": voicetrends.TransferRate}

// figure formats one of a day bucket's figures for the page: a count, or
// the transfer rate in percent with VoiceTrends' one decimal; "–" when the
// exporter holds no such figure.
func figure(b *voicetrends.Bucket, which string) string {
	f := pageFigures[which]
	if b == nil {
		return "–"
	}
	v, ok := b.Get(f)
	switch {
	case !ok:
		return "–"
	case f == voicetrends.TransferRate:
		return strconv.FormatFloat(v, 'f', 1, 64) + " %"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// renderLanding writes the page of data.
func renderLanding(w io.Writer, data landingData) error { return landingTemplate.Execute(w, data) }
