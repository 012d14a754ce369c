package backfill

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-kit/log"

	"github.com/voicetrends/voicetrends_exporter/internal/clock"
	"github.com/voicetrends/voicetrends_exporter/voicetrends"
	"github.com/voicetrends/voicetrends_exporter/voicetrends/simulator"
)

const login = "demo-support"

// fetchNow: the simulator and the budget run on a manual clock from here.
var fetchNow = time.Date(2026, 4, 2, 16, 0, 0, 0, time.UTC)

type env struct {
	sim   *simulator.Simulator
	clock *clock.Manual
	url   string
}

// newEnv serves the demo accounts on a manual clock, through wrap when set.
func newEnv(t *testing.T, opts simulator.Options, wrap func(http.Handler) http.Handler) *env {
	t.Helper()
	clk := clock.NewManual(fetchNow)
	opts.Accounts, opts.Now, opts.Seed = simulator.DemoAccounts(), clk.Now, 42
	sim := simulator.New(opts)
	var h http.Handler = sim
	if wrap != nil {
		h = wrap(sim)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &env{sim: sim, clock: clk, url: srv.URL + "/api/"}
}

func (e *env) config(t *testing.T, password, phones, extra string) string {
	return fmt.Sprintf(`
base_url: %s
accounts:
  - name: support
    tool: dev
    login: demo-support
    password: %s
    phones: [%s]
    timezone: America/New_York
%s`, e.url, password, phones, extra)
}

func (e *env) fetch(t *testing.T, yml string, opts Options) (*Plan, *Result, *Progress) {
	t.Helper()
	cfg := parseConfig(t, yml)
	if opts.Resolution == 0 {
		opts.Resolution = time.Hour
	}
	opts.Now = e.clock.Now()
	p, err := NewPlan(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	prog := &Progress{}
	res, err := p.Fetch(context.Background(), FetchOptions{Config: cfg, Clock: e.clock, Progress: prog})
	if err != nil {
		t.Fatal(err)
	}
	return p, res, prog
}

func checkBuckets(t *testing.T, sim *simulator.Simulator, s Series) {
	t.Helper()
	for _, b := range s.Buckets {
		want := sim.Bucket(login, s.Phone, s.Period, voicetrends.DateIn(b.Start, s.Location))
		if !want.Start.Equal(b.Start) {
			t.Fatalf("%s %s: bucket starts %s, simulator %s", s.Phone, s.Period, b.Start, want.Start)
		}
		for _, f := range voicetrends.Figures {
			gv, gok := b.Get(f)
			wv, wok := want.Get(f)
			if gv != wv || gok != wok {
				t.Fatalf("%s %s %s %s: got %v,%v want %v,%v", s.Phone, s.Period, b.Start, f.Key(), gv, gok, wv, wok)
			}
		}
	}
}

// TestFetchMatchesSimulator fetches a quarter in one request per target and
// checks both the buckets and, through the writer, the figure a live
// exporter would have shown at noon on each day: the day before's.
func TestFetchMatchesSimulator(t *testing.T) {
	e := newEnv(t, simulator.Options{}, nil)
	p, res, prog := e.fetch(t, e.config(t, "demo-support-pass", `ALL, "+18005550100"`, ""),
		Options{From: date("20260101"), To: date("20260331")})
	if len(res.Failed) != 0 {
		t.Fatalf("failed: %v", res.Failed[0])
	}
	if p.Requests() != 6 || res.Requests != 6 || e.sim.Stats(login).DataRequests != 6 {
		t.Errorf("requests: planned %d, sent %d, simulator saw %d; want 6", p.Requests(), res.Requests, e.sim.Stats(login).DataRequests)
	}
	if done, total, failed := prog.Counts(); done != 6 || total != 6 || failed != 0 {
		t.Errorf("progress %d/%d, %d failed", done, total, failed)
	}
	counts := map[voicetrends.Period]int{}
	for _, s := range res.Series {
		checkBuckets(t, e.sim, s)
		counts[s.Period] += len(s.Buckets)
	}
	// Day: Jan 1 to Mar 31. Week (Sundays): from Dec 28, the week holding Jan 1. Month: Jan to Mar.
	if counts[voicetrends.PeriodDay] != 2*90 || counts[voicetrends.PeriodWeek] != 2*14 || counts[voicetrends.PeriodMonth] != 2*3 {
		t.Errorf("buckets per period %v", counts)
	}

	var out bytes.Buffer
	if _, err := WriteOpenMetrics(&out, res.Series, WriteOptions{Resolution: time.Hour}); err != nil {
		t.Fatal(err)
	}
	om := parseOM(t, out.String())
	ny := mustLoc(t, "America/New_York")
	for _, phone := range []string{"ALL", "+18005550100"} {
		calls := om.series[`voicetrends_calls{account="support",phone="`+phone+`",period="day",window="previous"}`]
		at := map[int64]float64{}
		for _, s := range calls {
			at[s.ts] = s.v
		}
		for d := date("20260102"); !d.After(date("20260331")); d = d.AddDays(1) {
			noon := time.Date(d.Year, d.Month, d.Day, 12, 0, 0, 0, ny).Unix()
			prev := e.sim.Bucket(login, phone, voicetrends.PeriodDay, d.AddDays(-1))
			want, _ := prev.Get(voicetrends.Calls)
			if got, ok := at[noon]; !ok || got != want {
				t.Fatalf("%s: calls at noon %s = %v (present %v), want %v (the day before)", phone, d, got, ok, want)
			}
		}
		if _, ok := at[date("20260101").Midnight(ny).Unix()+12*3600]; ok {
			t.Errorf("%s: a sample on Jan 1, whose previous day was not fetched", phone)
		}
	}
}

// refuseLongRanges answers 400 to volume requests longer than days.
func refuseLongRanges(days int, refused *atomic.Int64) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if segs := strings.Split(r.URL.Path, "/"); len(segs) >= 6 && segs[2] == "volume" {
				start, err1 := voicetrends.ParseDate(segs[3])
				end, err2 := voicetrends.ParseDate(segs[4])
				if err1 == nil && err2 == nil && start.DaysUntil(end)+1 > days {
					refused.Add(1)
					w.WriteHeader(http.StatusBadRequest)
					fmt.Fprint(w, `{"error":"date range too long"}`)
					return
				}
			}
			next.ServeHTTP(w, r)
		})
	}
}

func TestFetchSplitsRefusedRanges(t *testing.T) {
	var refused atomic.Int64
	e := newEnv(t, simulator.Options{}, refuseLongRanges(100, &refused))
	_, res, prog := e.fetch(t, e.config(t, "demo-support-pass", "ALL", "    periods: [day]\n"),
		Options{From: date("20250401"), To: date("20260218")}) // 324 days
	if len(res.Failed) != 0 {
		t.Fatalf("failed: %v", res.Failed[0])
	}
	// 324 days refused, two halves of 162 refused, four quarters of 81 served.
	if refused.Load() != 3 || e.sim.Stats(login).DataRequests != 4 || res.Requests != 7 {
		t.Errorf("refused %d, served %d, sent %d; want 3, 4, 7", refused.Load(), e.sim.Stats(login).DataRequests, res.Requests)
	}
	if done, total, _ := prog.Counts(); done != 4 || total != 4 {
		t.Errorf("progress %d/%d, want 4/4", done, total)
	}
	s := res.Series[0]
	if len(s.Buckets) != 324 {
		t.Fatalf("%d buckets, want 324", len(s.Buckets))
	}
	for i, b := range s.Buckets {
		if d := voicetrends.DateIn(b.Start, s.Location); d != date("20250401").AddDays(i) {
			t.Fatalf("bucket %d starts %s", i, d)
		}
	}
	checkBuckets(t, e.sim, s)
}

// TestFetchSkipsANumberTheAccountDoesNotOwn: a 400 that names the phone is
// about the number, not the range: one request, one log line, and the
// number's other periods are skipped without a request; ALL goes on.
func TestFetchSkipsANumberTheAccountDoesNotOwn(t *testing.T) {
	e := newEnv(t, simulator.Options{}, nil)
	cfg := parseConfig(t, e.config(t, "demo-support-pass", `"+18005550199", ALL`, ""))
	p, err := NewPlan(cfg, Options{From: date("20250402"), To: date("20260401"), Resolution: time.Hour, Now: e.clock.Now()}) // 365 days
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	prog := &Progress{}
	res, err := p.Fetch(context.Background(), FetchOptions{Config: cfg, Clock: e.clock, Progress: prog, Logger: log.NewLogfmtLogger(&logs)})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Failed) != 3 {
		t.Fatalf("failed %v, want the unknown phone's three periods", res.Failed)
	}
	for _, f := range res.Failed {
		if f.Phone != "+18005550199" || !voicetrends.IsBadRequest(f) || !strings.Contains(f.Error(), "does not own") {
			t.Errorf("failed %v, want the unknown phone's 400, saying the account does not own it", f)
		}
	}
	if len(res.Series) != 3 || res.Series[0].Phone != "ALL" || len(res.Series[0].Buckets) != 365 {
		t.Fatalf("the other targets did not complete: %d series", len(res.Series))
	}
	// One refused request for the number, no split; then ALL's three periods.
	if got := e.sim.Stats(login).DataRequests; got != 4 || res.Requests != 4 {
		t.Errorf("%d requests served, %d sent; want 4", got, res.Requests)
	}
	named := 0
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, "+18005550199") {
			named++
		}
	}
	if n := named; n != 1 || strings.Contains(logs.String(), "splitting") {
		t.Errorf("the number is named in %d log lines, want 1:\n%s", n, logs.String())
	}
	if done, total, failed := prog.Counts(); done != total || failed != 3 {
		t.Errorf("progress %d/%d, %d failed", done, total, failed)
	}
}

// TestFetchStopsSplittingRefusals: a 400 that names nothing (the API's
// "invalid input") may be about the range's size, so the range is halved,
// but only down to minSplitDays: a few halvings, not a cascade.
func TestFetchStopsSplittingRefusals(t *testing.T) {
	refuse := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/%2B18005550100") || strings.HasSuffix(r.URL.Path, "/+18005550100") {
				w.WriteHeader(http.StatusBadRequest)
				fmt.Fprint(w, `{"error":"invalid input"}`)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
	var sent atomic.Int64
	count := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.Contains(r.URL.Path, "/volume/") {
				sent.Add(1)
			}
			next.ServeHTTP(w, r)
		})
	}
	e := newEnv(t, simulator.Options{}, func(h http.Handler) http.Handler { return count(refuse(h)) })
	_, res, prog := e.fetch(t, e.config(t, "demo-support-pass", `"+18005550100", ALL`, "    periods: [day]\n"),
		Options{From: date("20250402"), To: date("20260401")}) // 365 days
	if len(res.Failed) != 1 || res.Failed[0].Phone != "+18005550100" || !voicetrends.IsBadRequest(res.Failed[0]) {
		t.Fatalf("failed %v, want the refused phone with a 400", res.Failed)
	}
	if len(res.Series) != 1 || res.Series[0].Phone != "ALL" || len(res.Series[0].Buckets) != 365 {
		t.Fatalf("the other target did not complete: %d series", len(res.Series))
	}
	// 365, 183, 92, 46 and 23 days refused; 23 is too short to blame on size. Then ALL.
	if got := sent.Load(); got != 6 {
		t.Errorf("%d requests, want 6", got)
	}
	if done, total, failed := prog.Counts(); done != total || failed != 1 {
		t.Errorf("progress %d/%d, %d failed", done, total, failed)
	}
}

// TestFetchBesideAnotherClient: another client spends half the API's
// window; the budget follows X-RateLimit-Remaining and never gets a 429.
func TestFetchBesideAnotherClient(t *testing.T) {
	e := newEnv(t, simulator.Options{DataLimit: 6}, nil)
	e.sim.SetFaults(simulator.Faults{OtherClientPerWindow: 3})
	_, res, _ := e.fetch(t, e.config(t, "demo-support-pass", `ALL, "+18005550100"`, ""),
		Options{From: date("20260301"), To: date("20260331")})
	st := e.sim.Stats(login)
	if len(res.Failed) != 0 || st.DataRequests != 6 || st.DataRateLimited != 0 {
		t.Fatalf("failed %d, served %d, rate limited %d; want 0, 6, 0", len(res.Failed), st.DataRequests, st.DataRateLimited)
	}
	// 6 - 3 others leaves 3, one of which is the reserve: two per window.
	for w, n := range st.DataServed {
		if n > 2 {
			t.Errorf("window %s: %d requests, want at most 2", w, n)
		}
	}
	if len(st.DataServed) != 3 || e.clock.Now().Sub(fetchNow) < 2*15*time.Minute {
		t.Errorf("%d windows used, clock moved %s", len(st.DataServed), e.clock.Now().Sub(fetchNow))
	}
}

// failFirst answers the first n volume requests with code (and rate-limit
// headers resetting at the end of the clock's quarter hour).
func failFirst(n int64, code int, now func() time.Time) func(http.Handler) http.Handler {
	var seen atomic.Int64
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.Contains(r.URL.Path, "/volume/") && seen.Add(1) <= n {
				_, end := voicetrends.AlignedWindow(now(), 15*time.Minute)
				w.Header().Set("Date", now().UTC().Format(http.TimeFormat)) // the stand-in's clock, as the simulator's
				w.Header().Set("X-RateLimit-Limit", "150")
				w.Header().Set("X-RateLimit-Remaining", "0")
				w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(end.Unix(), 10))
				w.WriteHeader(code)
				fmt.Fprint(w, `{"error":"try later"}`)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

func TestFetchRetries(t *testing.T) {
	tests := []struct {
		name    string
		code    int
		fails   int64
		minWait time.Duration
		failed  bool
	}{
		{"429 waits for the reset", http.StatusTooManyRequests, 1, 15 * time.Minute, false}, // fetchNow is on a quarter hour
		{"500 backs off", http.StatusInternalServerError, 2, transientBackoff * 3, false},
		{"500 gives up", http.StatusInternalServerError, maxTransient, transientBackoff * 7, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var e *env
			e = newEnv(t, simulator.Options{}, func(h http.Handler) http.Handler {
				return failFirst(tc.fails, tc.code, func() time.Time { return e.clock.Now() })(h)
			})
			_, res, _ := e.fetch(t, e.config(t, "demo-support-pass", "ALL", "    periods: [day]\n"),
				Options{From: date("20260301"), To: date("20260331")})
			if (len(res.Failed) > 0) != tc.failed {
				t.Fatalf("failed %v, want failure %v", res.Failed, tc.failed)
			}
			if want := int(tc.fails) + 1; !tc.failed && res.Requests != want {
				t.Errorf("%d requests, want %d", res.Requests, want)
			}
			if tc.failed && (res.Requests != maxTransient || e.sim.Stats(login).DataRequests != 0) {
				t.Errorf("%d requests, want %d", res.Requests, maxTransient)
			}
			if waited := e.clock.Now().Sub(fetchNow); waited < tc.minWait {
				t.Errorf("waited %s, want at least %s", waited, tc.minWait)
			}
		})
	}
}

// TestFetchWrongPassword: a refused login stops its account after one
// attempt; the other account goes on.
func TestFetchWrongPassword(t *testing.T) {
	e := newEnv(t, simulator.Options{}, nil)
	yml := e.config(t, "wrong", `ALL, "+18005550100"`, "") + `
  - name: sales
    tool: fuseplus
    login: demo-sales
    password: demo-sales-pass
    periods: [month]
    timezone: Europe/London
`
	_, res, prog := e.fetch(t, yml, Options{From: date("20260101"), To: date("20260331")})
	if len(res.Failed) != 6 || len(res.Series) != 1 || res.Series[0].Account != "sales" {
		t.Fatalf("failed %d, series %d; want the 6 support targets failed, sales done", len(res.Failed), len(res.Series))
	}
	for _, f := range res.Failed {
		if !voicetrends.IsUnauthorized(f) || strings.Contains(f.Error(), "wrong") {
			t.Errorf("error %v: want a 401 without the password", f)
		}
	}
	if st := e.sim.Stats(login); st.AuthRequests != 1 || st.DataRequests != 0 {
		t.Errorf("%d logins and %d data requests for the refused account, want 1 and 0", st.AuthRequests, st.DataRequests)
	}
	if done, total, failed := prog.Counts(); done != total || failed != 6 {
		t.Errorf("progress %d/%d, %d failed", done, total, failed)
	}
}

func TestFetchCancelled(t *testing.T) {
	e := newEnv(t, simulator.Options{}, nil)
	cfg := parseConfig(t, e.config(t, "demo-support-pass", "ALL", ""))
	p, err := NewPlan(cfg, Options{From: date("20260101"), To: date("20260331"), Resolution: time.Hour, Now: fetchNow})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := p.Fetch(ctx, FetchOptions{Config: cfg, Clock: e.clock}); !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want context.Canceled", err)
	}
	if n := e.sim.Stats(login).DataRequests; n != 0 {
		t.Errorf("%d requests after cancel", n)
	}
}

// A configured zone that is not the account's in VoiceTrends would put every
// bucket on a wrong day: the backfill refuses the account after one request
// and says what to fix, and the other accounts go on.
func TestFetchRefusesWrongTimezone(t *testing.T) {
	e := newEnv(t, simulator.Options{}, nil)
	yml := e.config(t, "demo-support-pass", `ALL, "+18005550100"`, "") + `
  - name: sales
    tool: fuseplus
    login: demo-sales
    password: demo-sales-pass
    periods: [day, month]
    timezone: America/New_York
`
	_, res, _ := e.fetch(t, yml, Options{From: date("20260101"), To: date("20260331")})
	var sales []*TargetError
	for _, f := range res.Failed {
		if f.Account == "sales" {
			sales = append(sales, f)
		}
	}
	if len(sales) != 2 || len(res.Failed) != 2 {
		t.Fatalf("failed %v; want sales' two targets and nothing of support", res.Failed)
	}
	for _, f := range sales {
		for _, want := range []string{"midnight UTC+00:00", "America/New_York (UTC-05:00)", "set the account's timezone:"} {
			if !strings.Contains(f.Error(), want) {
				t.Errorf("error %q does not say %q", f, want)
			}
		}
	}
	for _, s := range res.Series {
		if s.Account == "sales" {
			t.Errorf("sales' %s %s history written despite the wrong zone", s.Phone, s.Period)
		}
	}
	if st := e.sim.Stats("demo-sales"); st.DataRequests != 1 {
		t.Errorf("%d data requests for the refused account, want 1", st.DataRequests)
	}
}
