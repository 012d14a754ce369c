package collector

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/voicetrends/voicetrends_exporter/internal/calendar"
	"github.com/voicetrends/voicetrends_exporter/internal/clock"
	"github.com/voicetrends/voicetrends_exporter/internal/metric"
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
			t := newTarget(targetKey{phone: fmt.Sprintf("61755%05d", n), period: p}, nil)
			t.attempted, t.lastOK, t.lastAttempt, t.lastSuccess = true, true, benchNow, benchNow
			cur, prev := calendar.Spans(p, today)
			var buckets []voicetrends.Bucket
			for _, d := range []voicetrends.Date{prev.First, cur.First} {
				b := voicetrends.Bucket{Start: d.Midnight(loc)}
				for f := range voicetrends.Figures {
					b.Set(voicetrends.Figure(f), float64(n+f)+0.5)
				}
				buckets = append(buckets, b)
			}
			t.buckets = [][]voicetrends.Bucket{buckets}
			snap.targets = append(snap.targets, t)
		}
	}
	a := &account{instr: newInstrumentation("acme")}
	a.snapshot.Store(snap)
	e := New(Options{Clock: clock.NewManual(benchNow)})
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

// sample is one series of a gathered exposition.
type sample struct {
	desc   *prometheus.Desc
	labels []string
	value  float64
}

// plain is the baseline every exporter is measured against: a collector
// that builds each sample with prometheus.MustNewConstMetric at every
// scrape, as the client_golang docs show.
type plain struct {
	descs   []*prometheus.Desc
	samples []sample
}

func (p *plain) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range p.descs {
		ch <- d
	}
}

func (p *plain) Collect(ch chan<- prometheus.Metric) {
	for _, s := range p.samples {
		ch <- prometheus.MustNewConstMetric(s.desc, prometheus.GaugeValue, s.value, s.labels...)
	}
}

// plainOf returns a plain collector of exactly the samples e serves.
func plainOf(tb testing.TB, e *Exporter) *plain {
	p := &plain{descs: descs()}
	ch := make(chan prometheus.Metric, 1024)
	go func() { e.Collect(ch); close(ch) }()
	for m := range ch {
		var out dto.Metric
		if err := m.Write(&out); err != nil {
			tb.Fatal(err)
		}
		if out.Gauge == nil {
			continue // the request counters and histograms are live in both
		}
		byName := map[string]string{}
		for _, l := range out.Label {
			byName[l.GetName()] = l.GetValue()
		}
		names := metric.AccountLabel
		switch len(out.Label) {
		case len(metric.FigureLabels):
			names = metric.FigureLabels
		case len(metric.TargetLabels):
			names = metric.TargetLabels
		}
		values := make([]string, len(names))
		for i, n := range names {
			values[i] = byName[n]
		}
		p.samples = append(p.samples, sample{m.Desc(), values, out.Gauge.GetValue()})
	}
	return p
}

// handler serves c alone through promhttp.HandlerFor, as main does.
func handler(c prometheus.Collector) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}

// TestPlainServesTheSameSamples keeps the baseline honest: the plain
// collector's exposition is byte for byte the exporter's.
func TestPlainServesTheSameSamples(t *testing.T) {
	e := snapshotExporter(20)
	bodies := [2]string{}
	for i, c := range []prometheus.Collector{e, plainOf(t, e)} {
		rec := httptest.NewRecorder()
		handler(c).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
		bodies[i] = rec.Body.String()
	}
	if bodies[0] != bodies[1] || len(bodies[0]) < 1000 {
		t.Errorf("the plain baseline serves something else:\n%.2000s\n----\n%.2000s", bodies[0], bodies[1])
	}
}

// serve times one scrape of h. It collects the garbage first, untimed, so
// that no scrape pays for the previous one's.
func serve(b *testing.B, h http.Handler) time.Duration {
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	runtime.GC()
	start := time.Now()
	h.ServeHTTP(&discard{h: http.Header{}}, req)
	return time.Since(start)
}

// benchNumbers x 3 periods: 36 000 figure series, 48 000 with the health ones.
const benchNumbers = 1000

// BenchmarkScrape serves the exporter's /metrics; scrapes after the first
// take the targets' metrics from their caches.
// It reports the heap the filled caches hold as cache-bytes.
func BenchmarkScrape(b *testing.B) {
	h := handler(snapshotExporter(benchNumbers))
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	serve(b, h)
	runtime.GC()
	runtime.ReadMemStats(&after)
	b.ReportAllocs()
	for b.Loop() {
		serve(b, h)
	}
	b.ReportMetric(float64(after.HeapAlloc)-float64(before.HeapAlloc), "cache-bytes")
}

// BenchmarkScrapePlain serves the same samples as plain const metrics.
func BenchmarkScrapePlain(b *testing.B) {
	h := handler(plainOf(b, snapshotExporter(benchNumbers)))
	b.ReportAllocs()
	for b.Loop() {
		serve(b, h)
	}
}

// BenchmarkScrapeVersusPlain serves the exporter and the plain const-metric
// collector of the same samples in turns through promhttp.HandlerFor and
// reports the ratio of their times: x-plain for a scrape between two
// refreshes, x-plain-cold for a scrape that finds every target changed (the
// first after a local midnight). The target is x-plain <= 1.1.
func BenchmarkScrapeVersusPlain(b *testing.B) {
	e := snapshotExporter(benchNumbers)
	exp, base := handler(e), handler(plainOf(b, e))
	serve(b, exp) // fill the caches, as the scrape after a refresh does
	targets := (*e.accounts.Load())["acme"].snapshot.Load().targets
	var warm, cold, plain time.Duration
	for b.Loop() {
		warm += serve(b, exp)
		plain += serve(b, base)
		for i := range targets {
			targets[i].cache = new(scrapeCache)
		}
		cold += serve(b, exp)
		plain += serve(b, base)
	}
	b.ReportMetric(float64(warm)*2/float64(plain), "x-plain")
	b.ReportMetric(float64(cold)*2/float64(plain), "x-plain-cold")
}

// get times one scrape of url over HTTP, the body read whole (gzip, as
// Prometheus asks for it, is negotiated by the Go client).
func get(b *testing.B, url string) time.Duration {
	runtime.GC()
	start := time.Now()
	resp, err := http.Get(url)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	return time.Since(start)
}

// BenchmarkScrapeVersusPlainHTTP is BenchmarkScrapeVersusPlain over HTTP
// (httptest servers on loopback): compression and the network count too.
func BenchmarkScrapeVersusPlainHTTP(b *testing.B) {
	e := snapshotExporter(benchNumbers)
	exp, base := httptest.NewServer(handler(e)), httptest.NewServer(handler(plainOf(b, e)))
	defer exp.Close()
	defer base.Close()
	get(b, exp.URL)
	targets := (*e.accounts.Load())["acme"].snapshot.Load().targets
	var warm, cold, plain time.Duration
	for b.Loop() {
		warm += get(b, exp.URL)
		plain += get(b, base.URL)
		for i := range targets {
			targets[i].cache = new(scrapeCache)
		}
		cold += get(b, exp.URL)
		plain += get(b, base.URL)
	}
	b.ReportMetric(float64(warm)*2/float64(plain), "x-plain")
	b.ReportMetric(float64(cold)*2/float64(plain), "x-plain-cold")
}
