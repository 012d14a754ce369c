package collector

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/model"

	"github.com/voicetrends/voicetrends_exporter/collector/exposition"
	"github.com/voicetrends/voicetrends_exporter/config"
	"github.com/voicetrends/voicetrends_exporter/internal/clock"
	"github.com/voicetrends/voicetrends_exporter/prometheus/promtest"
	"github.com/voicetrends/voicetrends_exporter/voicetrends"
	"github.com/voicetrends/voicetrends_exporter/voicetrends/simulator"
)

// The Accept headers of a scraper that wants the text format, and of one
// that wants OpenMetrics (Prometheus').
const (
	acceptText = "text/plain;version=0.0.4"
	acceptOM   = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
)

// paths serves e both ways: enc from its encoding through exposition's
// handler, ref from const metrics through promhttp.HandlerFor, as the
// daemon served every scrape before. full gathers the const metrics.
type paths struct {
	enc, ref http.Handler
	full     *prometheus.Registry
}

func newPaths(t testing.TB, e *Exporter) paths {
	t.Helper()
	live := prometheus.NewPedanticRegistry()
	live.MustRegister(e.Instrumentation())
	full := prometheus.NewPedanticRegistry()
	full.MustRegister(e)
	ref := promhttp.HandlerFor(full, promhttp.HandlerOpts{EnableOpenMetrics: true})
	enc, err := exposition.NewHandler(exposition.Options{Families: Families(), Source: e.Bodies, Live: live, Fallback: ref})
	if err != nil {
		t.Fatal(err)
	}
	return paths{enc, ref, full}
}

// fetch scrapes h with accept, asking for gzip when gz, and returns the
// plain body and its Content-Type. A gzip body must be one gzip member.
func fetch(t testing.TB, h http.Handler, accept string, gz bool) ([]byte, string) {
	t.Helper()
	body, ct, err := scrape(h, accept, gz)
	if err != nil {
		t.Fatal(err)
	}
	return body, ct
}

// scrape is fetch for any goroutine.
func scrape(h http.Handler, accept string, gz bool) ([]byte, string, error) {
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	req.Header.Set("Accept", accept)
	if gz {
		req.Header.Set("Accept-Encoding", "gzip")
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		return nil, "", fmt.Errorf("scrape: %d %s", rec.Code, rec.Body)
	}
	body := rec.Body.Bytes()
	if got := rec.Header().Get("Content-Encoding") == "gzip"; got != gz {
		return nil, "", fmt.Errorf("Accept-Encoding gzip %v, Content-Encoding %q", gz, rec.Header().Get("Content-Encoding"))
	}
	if gz {
		var err error
		if body, err = gunzipOne(body); err != nil {
			return nil, "", err
		}
	}
	return body, rec.Header().Get("Content-Type"), nil
}

// gunzipOne decodes b, and fails unless b is exactly one gzip member: read
// with multistream off, the member ends where b ends.
func gunzipOne(b []byte) ([]byte, error) {
	r := bytes.NewReader(b)
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, err
	}
	zr.Multistream(false)
	plain, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	if r.Len() != 0 {
		return nil, fmt.Errorf("%d bytes follow the first gzip member", r.Len())
	}
	// And as any client reads it.
	if zr, err = gzip.NewReader(bytes.NewReader(b)); err != nil {
		return nil, err
	}
	again, err := io.ReadAll(zr)
	if err != nil || !bytes.Equal(again, plain) {
		return nil, fmt.Errorf("gzip read twice differs: %v", err)
	}
	return plain, nil
}

// firstDiff shows where two bodies part.
func firstDiff(a, b []byte) string {
	la, lb := strings.Split(string(a), "\n"), strings.Split(string(b), "\n")
	for i := range min(len(la), len(lb)) {
		if la[i] != lb[i] {
			return fmt.Sprintf("line %d:\n got %s\nwant %s", i+1, la[i], lb[i])
		}
	}
	return fmt.Sprintf("%d lines, want %d", len(la), len(lb))
}

// assertSameExposition asserts that the encoded exposition is byte for byte
// what the const-metric path serves, in both formats, plain and gzip; that
// and that testutil finds the same samples.
// It returns the text body.
func assertSameExposition(t *testing.T, p paths, when string) string {
	t.Helper()
	var text []byte
	for _, c := range []struct{ accept, wantType, wantEnd string }{
		{acceptText, "text/plain", "\n"},
		{acceptOM, "application/openmetrics-text", "# EOF\n"},
	} {
		want, _ := fetch(t, p.ref, c.accept, false)
		for _, gz := range []bool{false, true} {
			got, ct := fetch(t, p.enc, c.accept, gz)
			if !bytes.Equal(got, want) {
				t.Errorf("%s, %s, gzip %v: the exposition differs from the const metrics' at %s", when, c.wantType, gz, firstDiff(got, want))
			}
			if !strings.HasPrefix(ct, c.wantType) || !bytes.HasSuffix(got, []byte(c.wantEnd)) {
				t.Errorf("%s: Content-Type %q, end %q, want %s ending %q", when, ct, got[max(0, len(got)-8):], c.wantType, c.wantEnd)
			}
		}
		if c.wantType == "text/plain" {
			text = want
		}
	}
	got, _ := fetch(t, p.enc, acceptText, true)
	if err := testutil.GatherAndCompare(p.full, bytes.NewReader(got)); err != nil {
		t.Errorf("%s: %v", when, err)
	}
	return string(text)
}

// TestExpositionPromtoolClean: promtool finds nothing to say about the
// encoded exposition.
func TestExpositionPromtoolClean(t *testing.T) {
	h := newHarness(t, time.Date(2026, 11, 26, 15, 0, 0, 0, time.UTC), simulator.Options{Seed: 3}, "    phones: [ALL, \"6175550100\"]\n")
	h.refreshAll()
	body, _ := fetch(t, newPaths(t, h.exporter).enc, acceptText, true)
	promtest.CheckMetrics(t, body)
}

// TestExpositionMatchesConstMetrics follows one account through refreshes,
// a local midnight, a withdrawal and reloads, with targets per period and
// derived ones, and compares the encoded exposition with the const metrics
// at each step.
func TestExpositionMatchesConstMetrics(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	phones := make([]string, 12) // 36 views: two blocks
	for i := range phones {
		phones[i] = fmt.Sprintf("61755501%02d", i)
	}
	list := `["` + strings.Join(phones, `", "`) + `"]`
	for _, c := range []struct{ name, yaml string }{
		{"per period", "    phones: " + list + "\n    refresh_interval: 5m\n    max_data_age: 1h\n"},
		{"derived", "    phones: [ALL, " + list[1:] + "\n    refresh_interval: 5m\n    max_data_age: 1h\n    derive_periods: true\n    week_start: sunday\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			start := time.Date(2026, 11, 26, 23, 20, 0, 0, ny)
			h := newHarness(t, start, simulator.Options{Seed: 5, Accounts: []simulator.Account{{Tool: voicetrends.ToolDev, Login: testLogin, Password: testPassword, Phones: phones}}}, c.yaml)
			p := newPaths(t, h.exporter)
			assertSameExposition(t, p, "before any refresh")
			h.refreshAll()
			first := assertSameExposition(t, p, "after the first refreshes")
			if !strings.Contains(first, `voicetrends_calls{account="acme",period="day",phone="6175550111",window="current"}`) {
				t.Fatalf("no figures after the first refreshes:\n%.3000s", first)
			}
			// A few refreshes land: some blocks change, the others are reused.
			for range 5 {
				h.poller.step(t.Context())
			}
			assertSameExposition(t, p, "after later refreshes")
			// Midnight, no refresh yet: the same buckets, now one day later.
			h.clock.Set(time.Date(2026, 11, 27, 0, 0, 1, 0, ny))
			night := assertSameExposition(t, p, "after midnight")
			if night == first {
				t.Error("midnight changed nothing: the day's current window should be gone")
			}
			// An hour and more without a refresh: every figure withdrawn.
			h.clock.Set(time.Date(2026, 11, 27, 0, 40, 0, 0, ny))
			gone := assertSameExposition(t, p, "after the withdrawal")
			if strings.Contains(gone, "voicetrends_calls{") || !strings.Contains(gone, "voicetrends_last_success_timestamp_seconds{") {
				t.Errorf("figures not withdrawn past max_data_age:\n%.2000s", gone)
			}
			h.refreshAll()
			h.runUntil(h.clock.Now().Add(10 * time.Minute))
			assertSameExposition(t, p, "after the refreshes of the new day")
			// A reload: one number fewer, two periods, a longer max_data_age.
			cfg := *h.cfg
			cfg.Accounts = append([]config.Account(nil), cfg.Accounts...)
			ac := &cfg.Accounts[0]
			ac.Phones = ac.Phones[:len(ac.Phones)-1]
			ac.Periods = []voicetrends.Period{voicetrends.PeriodMonth, voicetrends.PeriodDay}
			ac.MaxDataAge = model.Duration(2 * time.Hour)
			h.reload(&cfg)
			assertSameExposition(t, p, "after a reload")
			h.runUntil(h.clock.Now().Add(10 * time.Minute))
			assertSameExposition(t, p, "after the reloaded account's refreshes")
		})
	}
}

// TestScrapeDuringRefreshesSeesWholeBodies scrapes while refreshes land
// and the poller encodes them: every body served is the exposition of one
// published snapshot, never a mix of two. Run it with -race.
func TestScrapeDuringRefreshesSeesWholeBodies(t *testing.T) {
	phones := make([]string, 12) // 36 views: two blocks
	for i := range phones {
		phones[i] = fmt.Sprintf("61755502%02d", i)
	}
	h := newHarness(t, time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC), simulator.Options{Seed: 8, Accounts: []simulator.Account{{Tool: voicetrends.ToolDev, Login: testLogin, Password: testPassword, Phones: phones}}},
		"    phones: [\""+strings.Join(phones, "\", \"")+"\"]\n    refresh_interval: 1m\n    max_data_age: 3h\n")
	h.refreshAll()
	// The figures alone, both ways.
	figures := prometheus.NewPedanticRegistry()
	figures.MustRegister(h.exporter.Snapshots())
	ref := promhttp.HandlerFor(figures, promhttp.HandlerOpts{EnableOpenMetrics: true})
	enc, err := exposition.NewHandler(exposition.Options{Families: Families(), Source: h.exporter.Bodies, Live: prometheus.NewRegistry(), Fallback: ref})
	if err != nil {
		t.Fatal(err)
	}
	accepts := []string{acceptText, acceptOM}
	var mu sync.Mutex
	published := map[string]bool{}
	record := func() {
		for _, accept := range accepts {
			body, _ := fetch(t, ref, accept, false)
			mu.Lock()
			published[string(body)] = true
			mu.Unlock()
		}
	}
	record()
	done := make(chan struct{})
	var scraped []string
	var scrapeErr error
	go func() {
		defer close(done)
		for i := 0; i < 120 && scrapeErr == nil; i++ {
			var body []byte
			body, _, scrapeErr = scrape(enc, accepts[i%2], i%4 >= 2)
			scraped = append(scraped, string(body))
		}
	}()
	refreshes := 0
	for range 40 {
		before := h.sim.Stats(testLogin).DataRequests
		if wait := h.poller.step(t.Context()); wait > 0 {
			h.clock.Advance(wait)
		}
		h.exporter.settle(h.account) // as the poller does before it sleeps
		if h.sim.Stats(testLogin).DataRequests > before {
			refreshes++
		}
		record()
	}
	<-done
	if scrapeErr != nil {
		t.Fatal(scrapeErr)
	}
	if refreshes < 12 || len(published) < 12 {
		t.Fatalf("%d refreshes made %d bodies: too few to race", refreshes, len(published))
	}
	seen := map[string]bool{}
	for i, body := range scraped {
		if !published[body] {
			t.Fatalf("scrape %d served a body no snapshot published:\n%.1500s", i, body)
		}
		seen[body] = true
	}
	t.Logf("%d refreshes, %d scrapes saw %d of %d published bodies", refreshes, len(scraped), len(seen), len(published))
}

// sleepRecorder is the harness's clock as the poller sleeps on it: it
// records each sleep and stops the run after stopAfter of them.
type sleepRecorder struct {
	*clock.Manual
	until time.Time // the sleep after the one that reaches it is the last
	stop  func()
	woke  []time.Time
}

func (c *sleepRecorder) Sleep(ctx context.Context, d time.Duration) error {
	if n := len(c.woke); n > 0 && !c.woke[n-1].Before(c.until) {
		c.stop() // the poller has done what it woke for at until
	}
	c.woke = append(c.woke, c.Manual.Now().Add(d))
	return c.Manual.Sleep(ctx, d)
}

// TestPollerEncodesAtTheWithdrawal: a poller with nothing due wakes when a
// target's figures pass max_data_age and encodes the account without them,
// so that the next scrape finds the work done.
func TestPollerEncodesAtTheWithdrawal(t *testing.T) {
	start := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	h := newHarness(t, start, simulator.Options{Seed: 3}, "    phones: [\"6175550100\"]\n    periods: [day]\n    refresh_interval: 1h\n")
	h.refreshAll()
	h.exporter.Bodies(exposition.Text, true) // a scrape asked for text, gzip
	// An hour later the refresh fails: the figures stay until max_data_age
	// (as stretched by the plan), a few seconds before the next refresh.
	h.clock.Set(start.Add(time.Hour + 5*time.Second))
	h.sim.SetFaults(simulator.Faults{ServerErrorRate: 1})
	for steps := 0; h.poller.targets[0].lastAttempt.Before(start.Add(time.Hour)); steps++ {
		if steps > 1000 {
			t.Fatal("the target is never attempted again")
		}
		if wait := h.poller.step(t.Context()); wait > 0 {
			h.clock.Advance(wait)
		}
	}
	withdrawal := h.poller.targets[0].lastSuccess.Add(h.account.snapshot.Load().maxAge)
	if due := h.poller.targets[0].due(h.poller.interval); !withdrawal.Before(due) {
		t.Fatalf("the withdrawal at %v must come before the next refresh at %v", withdrawal, due)
	}
	// The failing target is retried meanwhile (30 s, 1, 2, 4 … min): the
	// poller must also wake at the withdrawal itself, not only at a retry.
	run := (&gate{}).open(t.Context())
	rec := &sleepRecorder{Manual: h.clock, until: withdrawal, stop: run.close}
	h.poller.clock = rec
	h.poller.run(run)
	run.abort()
	if got := rec.woke[len(rec.woke)-2]; got.Before(withdrawal) || got.After(withdrawal.Add(time.Millisecond)) {
		t.Fatalf("the poller woke at %v, want a wake at the withdrawal %v", rec.woke, withdrawal)
	}
	enc := h.account.encoding.Load()
	if !enc.valid(h.account.snapshot.Load(), h.clock.Now()) {
		t.Fatal("after the withdrawal the poller left the encoding stale")
	}
	if figures := enc.formats[exposition.Text].body[famFigures]; len(figures) != 0 {
		t.Errorf("%d figure pieces after the withdrawal, want none", len(figures))
	}
}
