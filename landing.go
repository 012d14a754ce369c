package main

import (
	"bytes"
	"html/template"
	"io"
	"net/http"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/common/model"
	"github.com/prometheus/common/version"

	"github.com/voicetrends/voicetrends_exporter/collector"
)

// The landing page says what is wrong, per account, without JavaScript:
// it is rendered on each request from the exporter's snapshots.

// maxFailingShown bounds the failing targets listed per account, so that a
// large account with a bad day still gets a readable page.
const maxFailingShown = 50

// landingData is what the template renders.
type landingData struct {
	Version       string
	TelemetryPath string
	Now           time.Time
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
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>VoiceTrends Exporter</title>
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
</style>
</head>
<body>
<h1>VoiceTrends Exporter</h1>
<p class="meta">Prometheus exporter for Plum Voice VoiceTrends call volume · version {{with .Version}}{{.}}{{else}}unknown{{end}} · page rendered {{stamp .Now}}</p>
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
{{- if .Up}}<td class="state up">up</td>{{else if .Tried}}<td class="state down">down</td>{{else}}<td class="state starting">starting</td>{{end}}
<td class="budget">{{.Spent}} of {{.Budget}} <small>(window ends {{utc .WindowEnd}})</small>{{if .LoginDeferred}}<br><small class="deferred">logins deferred until {{utc .LoginDeferredUntil}}: {{.LoginDeferred}}</small>{{end}}</td>
<td class="interval">every {{dur .Plan.Interval}}{{if .Plan.Stretched}} <span class="stretched">(stretched from {{dur .Plan.RefreshInterval}} by the budget)</span>{{end}}</td>
<td class="failing">{{len .Failing}} of {{.Plan.Targets}}</td>
<td class="last-error">{{if .Timezone}}<span class="error">wrong timezone: {{.Timezone}}</span>{{else if .LastError}}<span class="error">{{.LastError}}</span> ({{age $.Now .LastErrorAt}}){{else}}<span class="none">none</span>{{end}}</td>
</tr>
{{- end}}
</tbody>
</table>
{{- range .Accounts}}{{if .Failing}}
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
{{- end}}{{end}}
{{- end}}
</body>
</html>
`))

// landingHandler serves the landing page; now is the page's clock.
func landingHandler(exporter *collector.Exporter, telemetryPath string, now func() time.Time, logger log.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		var buf bytes.Buffer
		data := landingData{Version: version.Version, TelemetryPath: telemetryPath, Now: now(), Accounts: exporter.Status()}
		if err := renderLanding(&buf, data); err != nil {
			level.Error(logger).Log("msg", "rendering the landing page", "err", err)
			http.Error(w, "cannot render the landing page", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(buf.Bytes())
	})
}

// renderLanding writes the page of data.
func renderLanding(w io.Writer, data landingData) error { return landingTemplate.Execute(w, data) }
