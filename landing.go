package main

import (
	"bytes"
	"fmt"
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

// failingShown is how many failing targets an account lists before the
// rest collapse under a count, so that a bad day at 300 numbers still shows
// what is wrong at a glance; none is left out.
const failingShown = 10

// topNumbers is how many numbers an account shows, the busiest by today's
// calls, before the rest collapse under a count (ALL comes first, besides).
const topNumbers = 10

// landingRefresh is how often the page reloads itself: often enough to
// watch a refresh land, rarely enough to cost nothing.
const landingRefresh = 30 * time.Second

// zoneTime is how the page writes an account's instants: in its zone, with
// the offset, so that nobody converts from UTC in their head.
const zoneTime = "2006-01-02 15:04 -07:00"

// landingData is what the template renders.
type landingData struct {
	Version       string
	TelemetryPath string
	Now           time.Time
	Demo          bool // the figures come from the built-in simulator
	Refresh       time.Duration
	Accounts      []collector.AccountStatus
}

// landingView is landingData laid out for the page: what is wrong first,
// then each account's summary, busiest numbers and the rest collapsed.
type landingView struct {
	landingData
	Accounts []accountView
	Wrong    int // problems of all accounts
}

// accountView is one account as the page lays it out.
type accountView struct {
	collector.AccountStatus
	Problems                 []problem
	FailingHead, FailingRest []collector.TargetStatus
	Top, Rest                []collector.NumberStatus // the busiest numbers by today's calls, and the others
	Total                    int                      // the account's targets
	Pending                  int                      // targets neither ok nor failing: not tried yet
	Fastest, Slowest         time.Duration            // the range of the targets' own intervals
}

// problem is one thing wrong with an account; Kind is its CSS class.
type problem struct{ Kind, Text string }

// at writes t in loc (UTC when nil) with the offset.
func at(loc *time.Location, t time.Time) string {
	if loc == nil {
		loc = time.UTC
	}
	return t.In(loc).Format(zoneTime)
}

// layout lays data out for the page.
func layout(data landingData) landingView {
	v := landingView{landingData: data, Accounts: make([]accountView, 0, len(data.Accounts))}
	for _, st := range data.Accounts {
		a := accountView{AccountStatus: st}
		a.FailingHead = st.Failing[:min(len(st.Failing), failingShown)]
		a.FailingRest = st.Failing[len(a.FailingHead):]
		// Before the first snapshot the plan knows how many targets there are.
		a.Total = max(st.Plan.Targets, len(st.Targets))
		a.Pending = max(0, a.Total-st.OK-len(st.Failing))
		for i, t := range st.Targets {
			if i == 0 || t.Interval < a.Fastest {
				a.Fastest = t.Interval
			}
			a.Slowest = max(a.Slowest, t.Interval)
		}
		a.Top, a.Rest = busiest(st.Numbers)
		a.Problems = problems(st, a.Total)
		v.Wrong += len(a.Problems)
		v.Accounts = append(v.Accounts, a)
	}
	return v
}

// problems lists what is wrong with the account of total targets, or
// worth knowing first.
func problems(st collector.AccountStatus, total int) []problem {
	var out []problem
	if st.Tried && !st.Up && !st.Stopping {
		down := "down"
		if st.LastError != "" {
			down += ": " + st.LastError
		}
		out = append(out, problem{"down", down})
	}
	if st.Timezone != "" {
		out = append(out, problem{"zone", "wrong timezone, figures withheld: " + st.Timezone})
	}
	if st.LoginDeferred != "" {
		out = append(out, problem{"deferred", "logins deferred until " + at(st.Location, st.LoginDeferredUntil) + ": " + st.LoginDeferred})
	}
	if n := len(st.Failing); n > 0 {
		out = append(out, problem{"failing", fmt.Sprintf("%d of %d targets failing", n, total)})
	}
	if st.Stale > 0 {
		out = append(out, problem{"stale", fmt.Sprintf("%d targets' figures older than max_data_age, withdrawn from the metrics", st.Stale)})
	}
	if c := st.Closures.Today; c != nil {
		out = append(out, problem{"closed", "closed today: " + c.String()})
	}
	return out
}

// busiest splits numbers into ALL and the topNumbers busiest by today's
// calls, then the rest, each busiest first; numbers without today's calls
// last, as configured.
func busiest(numbers []collector.NumberStatus) (top, rest []collector.NumberStatus) {
	calls := func(n collector.NumberStatus) (float64, bool) {
		if n.Today == nil {
			return 0, false
		}
		return n.Today.Get(voicetrends.Calls)
	}
	var all, ranked []collector.NumberStatus
	for _, n := range numbers {
		if n.Phone == voicetrends.AllPhones {
			all = append(all, n)
		} else {
			ranked = append(ranked, n)
		}
	}
	slices.SortStableFunc(ranked, func(a, b collector.NumberStatus) int {
		ca, oka := calls(a)
		cb, okb := calls(b)
		switch {
		case oka != okb:
			if oka {
				return -1
			}
			return 1
		case ca > cb:
			return -1
		case ca < cb:
			return 1
		}
		return 0
	})
	cut := min(len(ranked), topNumbers)
	return append(all, ranked[:cut]...), ranked[cut:]
}

// rowWriter writes a table's rows, each cell's text escaped, for the
// template to insert: the long tables (903 targets at 300 numbers) are
// written here because the template's reflection costs microseconds a cell
// (BenchmarkStatusPage300).
type rowWriter struct{ b strings.Builder }

// rowBytes is about the length of a row, to size a table's at once.
const rowBytes = 256

// row starts a row, ending the one before.
func (w *rowWriter) row() {
	if w.b.Len() > 0 {
		w.b.WriteString("</tr>")
	}
	w.b.WriteString("\n<tr>")
}

// cell writes a cell of class (trusted, a constant) holding text.
func (w *rowWriter) cell(class, text string) {
	w.b.WriteString(`<td class="`)
	w.b.WriteString(class)
	w.b.WriteString(`">`)
	w.b.WriteString(template.HTMLEscapeString(text))
	w.b.WriteString("</td>")
}

// html ends the last row and returns the rows, escaped by cell.
func (w *rowWriter) html() template.HTML {
	if w.b.Len() == 0 {
		return ""
	}
	w.b.WriteString("</tr>")
	return template.HTML(w.b.String()) // #nosec G203 -- every text went through HTMLEscapeString
}

// writeRows writes one row per item, its cells written by cells.
func writeRows[T any](items []T, cells func(*rowWriter, T)) template.HTML {
	var w rowWriter
	w.b.Grow(len(items) * rowBytes)
	for _, item := range items {
		w.row()
		cells(&w, item)
	}
	return w.html()
}

// failingRows are the rows of failing targets.
func failingRows(now time.Time, ts []collector.TargetStatus) template.HTML {
	return writeRows(ts, func(w *rowWriter, t collector.TargetStatus) {
		w.cell("phone", t.Phone)
		w.cell("period", t.Period)
		w.cell("error", t.LastError)
		w.cell("attempt", age(now, t.LastAttempt))
		w.cell("success", age(now, t.LastSuccess))
	})
}

// numberRows are the rows of numbers' day figures.
func numberRows(ns []collector.NumberStatus) template.HTML {
	return writeRows(ns, func(w *rowWriter, n collector.NumberStatus) {
		w.cell("phone", n.Phone)
		w.cell("num today-calls", figure(n.Today, voicetrends.Calls))
		w.cell("num today-transfers", figure(n.Today, voicetrends.Transfers))
		w.cell("num today-rate", figure(n.Today, voicetrends.TransferRate))
		w.cell("num yesterday-calls", figure(n.Yesterday, voicetrends.Calls))
		w.cell("num yesterday-transfers", figure(n.Yesterday, voicetrends.Transfers))
		w.cell("num yesterday-rate", figure(n.Yesterday, voicetrends.TransferRate))
		w.cell("every", dur(n.Interval))
	})
}

// targetRows are the rows of every target, their times in loc.
func targetRows(now time.Time, loc *time.Location, ts []collector.TargetStatus) template.HTML {
	return writeRows(ts, func(w *rowWriter, t collector.TargetStatus) {
		next := until(now, loc, t.NextRefresh)
		if t.Retry {
			next += ", a retry"
		}
		w.cell("phone", t.Phone)
		w.cell("period", t.Period)
		w.cell("success", age(now, t.LastSuccess))
		w.cell("next", next)
		w.cell("every", dur(t.Interval))
	})
}

// age says how long before now t was, or "never" for zero.
func age(now, t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return model.Duration(now.Sub(t).Truncate(time.Second)).String() + " ago"
}

// dur writes d as Prometheus does.
func dur(d time.Duration) string { return model.Duration(d).String() }

// until says when t comes after now, in loc, or "due now".
func until(now time.Time, loc *time.Location, t time.Time) string {
	if !t.After(now) {
		return "due now"
	}
	return "in " + model.Duration(t.Sub(now).Truncate(time.Second)).String() + " (" + at(loc, t) + ")"
}

var landingTemplate = template.Must(template.New("landing").Funcs(template.FuncMap{
	"age":         age,
	"dur":         dur,
	"at":          at,
	"stamp":       func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"failingRows": failingRows,
	"numberRows":  numberRows,
	"targetRows":  targetRows,
	"many":        func(phones []string) bool { return len(phones) > topNumbers },
	"seconds":     func(d time.Duration) int { return int(d.Seconds()) },
	"join":        strings.Join,
	"has":         slices.Contains[[]string],
}).Parse(`{{define "failing"}}
<thead><tr><th>Phone</th><th>Period</th><th>Last error</th><th>Failed</th><th>Last success</th></tr></thead>
{{- end}}
{{- define "numbers"}}
<thead><tr><th rowspan="2">Number</th><th class="day" colspan="3">Today so far</th><th class="day" colspan="3">Yesterday</th><th rowspan="2">Refreshed every</th></tr>
<tr><th>Calls</th><th>Transfers</th><th>Transfer rate</th><th>Calls</th><th>Transfers</th><th>Transfer rate</th></tr></thead>
{{- end}}
{{- define "page"}}<!DOCTYPE html>
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
#attention .account-problems { border-left: 4px solid #b00020; padding-left: 1em; margin-bottom: 1em; }
ul.problems li.failing, ul.problems li.down, ul.problems li.zone { color: #b00020; font-weight: bold; }
ul.problems li.stale, ul.problems li.deferred, ul.problems li.closed { color: #8a6d00; font-weight: bold; }
details { margin: 0.5em 0 1.5em; }
summary { cursor: pointer; font-weight: bold; }
dl.facts { display: grid; grid-template-columns: max-content auto; gap: 0.2em 1em; }
dl.facts dt { font-weight: bold; }
dl.facts dd { margin: 0; }
dl.facts details { margin: 0; }
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
{{- if not .Accounts}}
<h2>Accounts</h2>
<p class="none">No account is configured.</p>
{{- else}}
<section id="attention">
<h2>What needs attention</h2>
{{- if not .Wrong}}
<p class="none" id="all-well">Nothing: every account is up and open, and every target's latest refresh succeeded or is yet to come.</p>
{{- end}}
{{- range $a := .Accounts}}{{if .Problems}}
<div class="account-problems" id="attention-{{.Name}}">
<h3>{{.Name}}</h3>
<ul class="problems">
{{- range .Problems}}
<li class="{{.Kind}}">{{.Text}}</li>
{{- end}}
</ul>
{{- if .FailingHead}}
<table class="failing-targets" id="failing-{{.Name}}">{{template "failing"}}
<tbody>{{failingRows $.Now .FailingHead}}
</tbody>
</table>
{{- with .FailingRest}}
<details class="more" id="failing-more-{{$a.Name}}">
<summary>{{len .}} more failing targets</summary>
<table class="failing-targets" id="failing-rest-{{$a.Name}}">{{template "failing"}}
<tbody>{{failingRows $.Now .}}
</tbody>
</table>
</details>
{{- end}}
{{- end}}
</div>
{{- end}}{{end}}
</section>
<h2>Accounts</h2>
<table id="accounts">
<thead><tr><th>Account</th><th>State</th><th>Budget spent this window</th><th>Refresh interval</th><th>Failing targets</th><th>Last error</th></tr></thead>
<tbody>
{{- range .Accounts}}
<tr id="account-{{.Name}}">
<td class="name"><a href="#detail-{{.Name}}">{{.Name}}</a></td>
{{- if .Stopping}}<td class="state stopping">stopping</td>{{else if .Up}}<td class="state up">up</td>{{else if .Tried}}<td class="state down">down</td>{{else}}<td class="state starting">starting</td>{{end}}
<td class="budget">{{.Spent}} of {{.Budget}} <small>(window ends {{at .Location .WindowEnd}})</small>{{if .LoginDeferred}}<br><small class="deferred">logins deferred until {{at .Location .LoginDeferredUntil}}: {{.LoginDeferred}}</small>{{end}}</td>
<td class="interval">every {{dur .Plan.Interval}}{{if .Plan.Stretched}} <span class="stretched">(stretched from {{dur .Plan.RefreshInterval}} by the budget)</span>{{end}}</td>
<td class="failing">{{len .Failing}} of {{.Plan.Targets}}</td>
<td class="last-error">{{if .Timezone}}<span class="error">wrong timezone: {{.Timezone}}</span>{{else if .LastError}}<span class="error">{{.LastError}}</span> ({{age $.Now .LastErrorAt}}){{else}}<span class="none">none</span>{{end}}</td>
</tr>
{{- end}}
</tbody>
</table>
{{- range $a := .Accounts}}
<section class="account" id="detail-{{.Name}}">
<h2>{{.Name}}</h2>
<dl class="facts">
<dt>Time zone</dt><dd class="zone">{{.Zone}}</dd>
<dt>Targets</dt><dd class="targets">{{.Total}}: {{.OK}} ok, {{len .Failing}} failing, {{.Pending}} not tried yet{{with .Stale}} · {{.}} with figures older than max_data_age{{end}}</dd>
<dt>Budget</dt><dd class="budget">{{.Spent}} of {{.Budget}} data requests spent this window, which ends {{at .Location .WindowEnd}}</dd>
<dt>Refreshed</dt><dd class="refresh">round robin every {{dur .Plan.Interval}}{{if .Plan.Stretched}} <span class="stretched">(stretched from {{dur .Plan.RefreshInterval}} by the budget)</span>{{end}}{{if .Targets}} · each target {{if eq .Fastest .Slowest}}every {{dur .Fastest}}{{else}}every {{dur .Fastest}} to {{dur .Slowest}}{{end}}{{end}}</dd>
<dt>Oldest figures</dt><dd class="oldest">{{if .Oldest.IsZero}}none yet{{else}}fetched {{age $.Now .Oldest}}{{end}}{{with .Never}} · {{.}} target(s) without figures yet{{end}}</dd>
<dt>Closed days</dt><dd class="closed">{{with .Closures}}{{if not .Configured}}<span class="none">none configured</span>{{else}}{{if .Today}}<strong>closed today</strong>: {{.Today}}{{else}}open today{{end}} · next closure: {{with .Next}}{{.}}{{else}}none within a year{{end}}{{with .Holidays}} <small>(holidays {{.}})</small>{{end}}{{end}}{{end}}</dd>
<dt>Numbers</dt><dd class="numbers-list">{{if many .Phones}}<details><summary>{{len .Phones}} numbers</summary><span class="phones">{{join .Phones ", "}}</span></details>{{else}}<span class="phones">{{join .Phones ", "}}</span>{{end}}</dd>
<dt>Periods</dt><dd class="periods">{{join .Periods ", "}}{{if .Plan.DerivePeriods}} (derive_periods: one day request per number serves all){{end}}</dd>
</dl>
{{- if .Top}}
<h3>{{if .Rest}}The busiest numbers by today's calls{{else}}Numbers, busiest first{{end}}</h3>
<table class="numbers" id="numbers-{{.Name}}">{{template "numbers"}}
<tbody>{{numberRows .Top}}
</tbody>
</table>
{{- with .Rest}}
<details class="rest" id="rest-{{$a.Name}}">
<summary>{{len .}} more numbers, busiest first</summary>
<table class="numbers" id="numbers-rest-{{$a.Name}}">{{template "numbers"}}
<tbody>{{numberRows .}}
</tbody>
</table>
</details>
{{- end}}
<p class="none"><small>As the exporter holds them (the day figures of its latest refresh); – where it holds none: not fetched yet, older than max_data_age, or not sent by the API.</small></p>
{{- else if not (has .Periods "day")}}
<p class="none">Today's and yesterday's figures need the day period in periods.</p>
{{- end}}
{{- if .Targets}}
<details class="targets" id="all-targets-{{.Name}}">
<summary>All {{len .Targets}} targets: last success, next refresh, interval</summary>
<table class="targets" id="targets-{{.Name}}">
<thead><tr><th>Number</th><th>Period</th><th>Last success</th><th>Next refresh</th><th>Refreshed every</th></tr></thead>
<tbody>{{targetRows $.Now .Location .Targets}}
</tbody>
</table>
</details>
{{- end}}
</section>
{{- end}}
{{- end}}
</body>
</html>
{{end}}`))

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

// figure formats one of a day bucket's figures for the page: a count, or
// the transfer rate in percent with VoiceTrends' one decimal; "–" when the
// exporter holds no such figure.
func figure(b *voicetrends.Bucket, f voicetrends.Figure) string {
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
func renderLanding(w io.Writer, data landingData) error {
	return landingTemplate.ExecuteTemplate(w, "page", layout(data))
}
