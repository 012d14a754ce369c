package collector

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/voicetrends/voicetrends_exporter/collector/exposition"
	"github.com/voicetrends/voicetrends_exporter/internal/calendar"
	"github.com/voicetrends/voicetrends_exporter/internal/clock"
	"github.com/voicetrends/voicetrends_exporter/voicetrends"
)

var benchNow = time.Date(2026, 11, 26, 15, 0, 0, 0, time.UTC)

// snapshotExporter serves a fixed snapshot of numbers x 3 periods, every
// figure present in both windows, without polling.
func snapshotExporter(numbers int) *Exporter {
	loc := time.UTC
	today := voicetrends.DateIn(benchNow, loc)
	snap := &accountSnapshot{name: "acme", location: loc, maxAge: 72 * time.Hour, perWindow: 100, interval: 5 * time.Minute, up: true, tried: true}
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

// benchNumbers x 3 periods: 36 000 figure series, 48 000 with the health ones.
const benchNumbers = 1000

// BenchmarkScrapeAfterEveryTargetChanged serves the exporter's encoded
// exposition through the real handler and reports x-steady: the first
// scrape after every target changed (a refresh round, or a local midnight),
// once the poller has encoded the change as it does before it sleeps,
// over a steady scrape; -plain and -gz for the two encodings.
// BenchmarkScrape (package main) compares the whole daemon with the plain
// const-metric collector.
func BenchmarkScrapeAfterEveryTargetChanged(b *testing.B) {
	for _, change := range []string{"refresh", "midnight"} {
		b.Run(change, func(b *testing.B) {
			e := snapshotExporter(benchNumbers)
			clk := clock.NewManual(benchNow)
			e.clock = clk
			live := prometheus.NewRegistry()
			live.MustRegister(e.Instrumentation())
			h, err := exposition.NewHandler(exposition.Options{Families: Families(), Source: e.Bodies, Live: live, Fallback: http.NotFoundHandler()})
			if err != nil {
				b.Fatal(err)
			}
			a := (*e.accounts.Load())["acme"]
			for _, gz := range []bool{false, true} {
				serve(b, h, gz) // asks for both encodings
			}
			var cold, steady [2]time.Duration
			for b.Loop() {
				switch change {
				case "refresh":
					changeEveryTarget(a)
				case "midnight": // and back, to stay within the figures' periods
					if clk.Now().Equal(benchNow) {
						clk.Set(voicetrends.DateIn(benchNow, time.UTC).AddDays(1).Midnight(time.UTC).Add(time.Minute))
					} else {
						clk.Set(benchNow)
					}
				}
				e.settle(a)
				for i, gz := range []bool{false, true} {
					cold[i] += serve(b, h, gz)
				}
				for i, gz := range []bool{false, true} {
					steady[i] += serve(b, h, gz)
				}
			}
			b.ReportMetric(float64(cold[0])/float64(steady[0]), "x-steady-plain")
			b.ReportMetric(float64(cold[1])/float64(steady[1]), "x-steady-gz")
			b.ReportMetric(float64(steady[0])/1e6/float64(b.N), "steady-plain-ms")
			b.ReportMetric(float64(steady[1])/1e6/float64(b.N), "steady-gz-ms")
		})
	}
}

// changeEveryTarget publishes a's snapshot again with every target
// refreshed a second later, as a round of refreshes does.
func changeEveryTarget(a *account) {
	s := *a.snapshot.Load()
	s.targets = append([]target(nil), s.targets...)
	for i := range s.targets {
		t := &s.targets[i]
		t.lastSuccess, t.lastAttempt, t.rev = t.lastSuccess.Add(time.Second), t.lastAttempt.Add(time.Second), new(revision)
	}
	a.snapshot.Store(&s)
}

// discard is a ResponseWriter that throws the body away.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}

// serve times one scrape of h. It collects the garbage first, untimed, so
// that no scrape pays for the previous one's.
func serve(b *testing.B, h http.Handler, gz bool) time.Duration {
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	if gz {
		req.Header.Set("Accept-Encoding", "gzip")
	}
	runtime.GC()
	start := time.Now()
	h.ServeHTTP(&discard{h: http.Header{}}, req)
	return time.Since(start)
}
