package collector

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/voicetrends/voicetrends_exporter/collector/window"
	"github.com/voicetrends/voicetrends_exporter/voicetrends"
)

var benchNow = time.Date(2026, 11, 26, 15, 0, 0, 0, time.UTC)

// snapshotExporter serves a fixed snapshot of numbers x 3 periods, every
// figure present in both windows, without polling.
func snapshotExporter(numbers int) *Exporter {
	loc := time.UTC
	today := voicetrends.DateIn(benchNow, loc)
	snap := &accountSnapshot{name: "acme", location: loc, maxAge: time.Hour, perWindow: 100, interval: 5 * time.Minute, up: true, tried: true}
	for n := 0; n < numbers; n++ {
		for _, p := range voicetrends.Periods {
			t := newTarget("acme", targetKey{fmt.Sprintf("61755%05d", n), p})
			t.attempted, t.lastOK, t.lastAttempt, t.lastSuccess = true, true, benchNow, benchNow
			cur, prev := window.Spans(p, today)
			for _, d := range []voicetrends.Date{prev.First, cur.First} {
				b := voicetrends.Bucket{Start: d.Midnight(loc)}
				for f := range voicetrends.Figures {
					b.Set(voicetrends.Figure(f), float64(n+f)+0.5)
				}
				t.buckets = append(t.buckets, b)
			}
			snap.targets = append(snap.targets, t)
		}
	}
	a := &account{instr: newInstrumentation("acme")}
	a.snapshot.Store(snap)
	e := New(Options{Now: func() time.Time { return benchNow }})
	accounts := map[string]*account{"acme": a}
	e.accounts.Store(&accounts)
	return e
}

// TestScrapeExposition pins the exact exposition of one target.
func TestScrapeExposition(t *testing.T) {
	e := snapshotExporter(1)
	want := `
# HELP voicetrends_calls Calls in the window. Cached from the VoiceTrends Call Volume API; refreshed every voicetrends_refresh_interval_seconds and at each period rollover.
# TYPE voicetrends_calls gauge
voicetrends_calls{account="acme",period="day",phone="6175500000",window="current"} 0.5
voicetrends_calls{account="acme",period="day",phone="6175500000",window="previous"} 0.5
voicetrends_calls{account="acme",period="month",phone="6175500000",window="current"} 0.5
voicetrends_calls{account="acme",period="month",phone="6175500000",window="previous"} 0.5
voicetrends_calls{account="acme",period="week",phone="6175500000",window="current"} 0.5
voicetrends_calls{account="acme",period="week",phone="6175500000",window="previous"} 0.5
# HELP voicetrends_transfer_ratio Transfers divided by calls in the window, 0 to 1 (VoiceTrends transfer rate / 100). Cached from the VoiceTrends Call Volume API; refreshed every voicetrends_refresh_interval_seconds and at each period rollover.
# TYPE voicetrends_transfer_ratio gauge
voicetrends_transfer_ratio{account="acme",period="day",phone="6175500000",window="current"} 0.045
voicetrends_transfer_ratio{account="acme",period="day",phone="6175500000",window="previous"} 0.045
voicetrends_transfer_ratio{account="acme",period="month",phone="6175500000",window="current"} 0.045
voicetrends_transfer_ratio{account="acme",period="month",phone="6175500000",window="previous"} 0.045
voicetrends_transfer_ratio{account="acme",period="week",phone="6175500000",window="current"} 0.045
voicetrends_transfer_ratio{account="acme",period="week",phone="6175500000",window="previous"} 0.045
# HELP voicetrends_up 1 when the exporter can talk to the API for the account (logins, credentials, transport, no 5xx), 0 when it cannot or no refresh has finished yet. One target's own errors show in voicetrends_last_refresh_success instead.
# TYPE voicetrends_up gauge
voicetrends_up{account="acme"} 1
# HELP voicetrends_last_success_timestamp_seconds When the target's figures were last refreshed successfully, as a Unix timestamp.
# TYPE voicetrends_last_success_timestamp_seconds gauge
voicetrends_last_success_timestamp_seconds{account="acme",period="day",phone="6175500000"} 1.7957052e+09
voicetrends_last_success_timestamp_seconds{account="acme",period="month",phone="6175500000"} 1.7957052e+09
voicetrends_last_success_timestamp_seconds{account="acme",period="week",phone="6175500000"} 1.7957052e+09
`
	if err := testutil.CollectAndCompare(e, strings.NewReader(want), "voicetrends_calls", "voicetrends_transfer_ratio", "voicetrends_up", "voicetrends_last_success_timestamp_seconds"); err != nil {
		t.Error(err)
	}
	if problems, err := testutil.CollectAndLint(e); err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %v", problems, err)
	}
}

// discard is a ResponseWriter that throws the body away.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}

func benchmarkHandler(b *testing.B, c prometheus.Collector) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	h := promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	mfs, err := reg.Gather()
	if err != nil {
		b.Fatal(err)
	}
	series := 0
	for _, mf := range mfs {
		series += len(mf.GetMetric())
	}
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(&discard{h: http.Header{}}, req)
	}
	b.ReportMetric(float64(series), "series")
}

// prebuilt is the baseline: the same series as const metrics built once.
type prebuilt struct {
	descs   []*prometheus.Desc
	metrics []prometheus.Metric
}

func (p *prebuilt) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range p.descs {
		ch <- d
	}
}

func (p *prebuilt) Collect(ch chan<- prometheus.Metric) {
	for _, m := range p.metrics {
		ch <- m
	}
}

// BenchmarkScrape serves 1000 numbers x 3 periods: 36 000 figure series.
func BenchmarkScrape(b *testing.B) {
	benchmarkHandler(b, snapshotExporter(1000))
}

// BenchmarkScrapeBaseline encodes the same metrics pre-built, the floor
// any collector building them at scrape time is measured against.
func BenchmarkScrapeBaseline(b *testing.B) {
	e := snapshotExporter(1000)
	ch := make(chan prometheus.Metric, 1024)
	p := &prebuilt{descs: descs()}
	go func() { e.Collect(ch); close(ch) }()
	for m := range ch {
		p.metrics = append(p.metrics, asConstMetric(b, m))
	}
	benchmarkHandler(b, p)
}

// asConstMetric rebuilds m with prometheus.MustNewConstMetric.
func asConstMetric(b *testing.B, m prometheus.Metric) prometheus.Metric {
	var out dto.Metric
	if err := m.Write(&out); err != nil || out.Gauge == nil {
		b.Fatalf("%v: not a gauge (%v)", m.Desc(), err)
	}
	byName := map[string]string{}
	for _, l := range out.Label {
		byName[l.GetName()] = l.GetValue()
	}
	names := accountLabel
	switch {
	case len(out.Label) == len(figureLabels):
		names = figureLabels
	case len(out.Label) == len(targetLabels):
		names = targetLabels
	}
	values := make([]string, len(names))
	for i, n := range names {
		values[i] = byName[n]
	}
	return prometheus.MustNewConstMetric(m.Desc(), prometheus.GaugeValue, out.Gauge.GetValue(), values...)
}
