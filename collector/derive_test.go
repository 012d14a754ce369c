package collector

import (
	"context"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-kit/log"

	"github.com/voicetrends/voicetrends_exporter/config"
	"github.com/voicetrends/voicetrends_exporter/internal/calendar"
	"github.com/voicetrends/voicetrends_exporter/internal/metric"
	"github.com/voicetrends/voicetrends_exporter/voicetrends"
	"github.com/voicetrends/voicetrends_exporter/voicetrends/simulator"
)

// recorder counts the requests a poller sends, by period.
type recorder struct {
	f        voicetrends.VolumeFetcher
	mu       sync.Mutex
	byPeriod map[voicetrends.Period]int
	byPhone  map[string][]time.Time
	now      func() time.Time
}

func (r *recorder) Volume(ctx context.Context, req voicetrends.VolumeRequest) (*voicetrends.VolumeResponse, error) {
	r.mu.Lock()
	r.byPeriod[req.Period]++
	if req.Period == voicetrends.PeriodDay {
		r.byPhone[req.Phone] = append(r.byPhone[req.Phone], r.now())
	}
	r.mu.Unlock()
	return r.f.Volume(ctx, req)
}

// record makes the harness's poller send its requests through a recorder.
func (h *harness) record() *recorder {
	r := &recorder{f: h.account.client, byPeriod: map[voicetrends.Period]int{}, byPhone: map[string][]time.Time{}, now: h.clock.Now}
	h.poller = newPoller(h.account, r, h.clock, log.NewNopLogger())
	return r
}

// refreshNow steps the poller without moving the clock until every target
// has been refreshed at this instant, so that its figures can be compared
// with the simulator's as of now.
func (h *harness) refreshNow() {
	h.t.Helper()
	now := h.clock.Now()
	for i := 0; ; i++ {
		done := true
		for _, t := range h.poller.targets {
			done = done && t.lastAttempt.Equal(now)
		}
		if done {
			return
		}
		if wait := h.poller.step(context.Background()); wait > 0 || i > 1000 {
			h.t.Fatalf("at %s the poller waits %s before refreshing every target", now, wait)
		}
	}
}

// checkDerived compares every figure served with the simulator's own
// per-period answer as of now: counts and starts exactly, minutes, ratios
// and lengths within the rounding documented in docs/derive-periods.md.
func checkDerived(t *testing.T, h *harness, loc *time.Location, phones []string) {
	t.Helper()
	today := voicetrends.DateIn(h.clock.Now(), loc)
	type truth struct {
		b    voicetrends.Bucket
		days int // days summed: the rounding error grows with them
	}
	want := map[string]truth{}
	for _, phone := range phones {
		for _, period := range voicetrends.Periods {
			cur := h.sim.Bucket(testLogin, phone, period, today)
			curFirst := voicetrends.DateIn(cur.Start, loc)
			prev := h.sim.Bucket(testLogin, phone, period, curFirst.AddDays(-1))
			prevFirst := voicetrends.DateIn(prev.Start, loc)
			want[fmt.Sprintf("account=acme,period=%s,phone=%s,window=current", period, phone)] = truth{cur, daysBetween(curFirst, today) + 1}
			want[fmt.Sprintf("account=acme,period=%s,phone=%s,window=previous", period, phone)] = truth{prev, daysBetween(prevFirst, curFirst)}
		}
	}
	starts := h.series("voicetrends_period_start_timestamp_seconds")
	if len(starts) != len(want) {
		t.Errorf("%s: %d windows served, want %d: %v", h.clock.Now(), len(starts), len(want), starts)
	}
	for key, w := range want {
		if got := starts[key]; got != float64(w.b.Start.Unix()) {
			t.Errorf("%s: period start {%s} = %v, want %v", h.clock.Now(), key, got, w.b.Start.Unix())
		}
	}
	for _, f := range metric.Figures {
		got := h.series(f.Name)
		for key, w := range want {
			v, sent := w.b.Get(f.Figure)
			g, served := got[key]
			if sent != served {
				t.Errorf("%s: %s{%s} served %v, the API sends it %v", h.clock.Now(), f.Name, key, served, sent)
				continue
			}
			if !sent {
				continue
			}
			want := f.Convert(v)
			calls, _ := w.b.Get(voicetrends.Calls)
			if tol := tolerance(f.Figure, key, w.days, calls); math.Abs(g-want) > tol {
				t.Errorf("%s: %s{%s} = %v, want %v within %v", h.clock.Now(), f.Name, key, g, want, tol)
			}
		}
	}
}

func daysBetween(a, b voicetrends.Date) int {
	return int(math.Round(b.Midnight(time.UTC).Sub(a.Midnight(time.UTC)).Hours() / 24))
}

// tolerance is how far a derived figure may be from the API's own, in the
// metric's unit: VoiceTrends rounds minutes, rates and lengths to one
// decimal, the days summed and the API's period figure alike.
func tolerance(f voicetrends.Figure, key string, days int, calls float64) float64 {
	const eps = 1e-9
	if strings.Contains(key, "period=day,") {
		return eps // sent as they are
	}
	minutes := 0.05 * float64(days+1) // each day's rounding plus the API's own
	switch f {
	case voicetrends.CallMinutes, voicetrends.TransferMinutes:
		return minutes*60 + eps
	case voicetrends.TransferRate:
		return 0.0005 + eps // the API's rate is rounded to 0.1 %; the derived one is exact
	case voicetrends.AverageCallLength:
		return minutes*60/calls + 0.05 + eps
	}
	return 0 // counts are equal exactly
}

func TestDerivedFiguresEqualTheSimulators(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	at := func(y int, m time.Month, d, hh, mm int) time.Time { return time.Date(y, m, d, hh, mm, 0, 0, ny) }
	phones := []string{"ALL", "6175550100", "+16175550101"}
	for _, c := range []struct {
		name      string
		week      time.Weekday // the simulator's
		configure bool         // week_start set rather than learned
		instants  []time.Time  // checked in turn, the poller running on through them
	}{
		// 2026-11-26 is a Thursday.
		{"local midnight", time.Sunday, false, []time.Time{at(2026, 11, 26, 23, 58), at(2026, 11, 27, 0, 0), at(2026, 11, 27, 0, 1)}},
		// 2026-11-29 is a Sunday, 2026-11-30 a Monday.
		{"Sunday week start", time.Sunday, false, []time.Time{at(2026, 11, 28, 23, 58), at(2026, 11, 29, 0, 1), at(2026, 11, 29, 18, 0)}},
		{"Monday week start", time.Monday, false, []time.Time{at(2026, 11, 29, 23, 58), at(2026, 11, 30, 0, 1)}},
		{"Monday week start, week_start configured", time.Monday, true, []time.Time{at(2026, 11, 29, 23, 58), at(2026, 11, 30, 0, 1)}},
		{"month start", time.Sunday, false, []time.Time{at(2026, 11, 30, 23, 58), at(2026, 12, 1, 0, 1), at(2026, 12, 1, 9, 0)}},
		// 2026-03-08 is the 23-hour Sunday: a week starts on it.
		{"spring DST change", time.Sunday, false, []time.Time{at(2026, 3, 7, 23, 58), at(2026, 3, 8, 0, 1), at(2026, 3, 8, 12, 0), at(2026, 3, 9, 0, 1)}},
		// 2026-11-01 is the 25-hour Sunday, and the first of a month.
		{"autumn DST change", time.Monday, false, []time.Time{at(2026, 10, 31, 23, 58), at(2026, 11, 1, 0, 1), at(2026, 11, 1, 12, 0), at(2026, 11, 2, 0, 1)}},
	} {
		t.Run(c.name, func(t *testing.T) {
			yaml := "    phones: [ALL, \"6175550100\", \"+16175550101\"]\n    refresh_interval: 1m\n    max_data_age: 1h\n    derive_periods: true\n"
			if c.configure {
				yaml += "    week_start: " + strings.ToLower(c.week.String()) + "\n"
			}
			h := newHarness(t, c.instants[0], simulator.Options{Seed: 11, WeekStart: c.week}, yaml)
			rec := h.record()
			days := map[voicetrends.Date]bool{}
			for _, now := range c.instants {
				h.clock.Set(now)
				days[voicetrends.DateIn(now, ny)] = true
				h.refreshNow()
				checkDerived(t, h, ny, phones)
			}
			wantWeek := len(days) // one week request per local day, to learn the week's first day
			if c.configure {
				wantWeek = 0
			}
			if rec.byPeriod[voicetrends.PeriodWeek] != wantWeek || rec.byPeriod[voicetrends.PeriodMonth] != 0 || rec.byPeriod[voicetrends.PeriodDay] != len(phones)*len(c.instants) {
				t.Errorf("requests by period %v, want %d day, %d week and no month", rec.byPeriod, len(phones)*len(c.instants), wantWeek)
			}
			if st := h.sim.Stats(testLogin); st.DataRateLimited != 0 {
				t.Errorf("%d requests answered 429", st.DataRateLimited)
			}
			if len(h.series("voicetrends_last_refresh_success")) != len(phones)*3 {
				t.Errorf("health series %v, want one per phone and period", h.series("voicetrends_last_refresh_success"))
			}
		})
	}
}

// While the week's first day is unknown, the other periods are served.
func TestDerivedServesDayAndMonthWhileTheWeekIsUnknown(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	now := time.Date(2026, 11, 26, 15, 0, 0, 0, ny)
	h := newHarness(t, now, simulator.Options{Seed: 11}, "    phones: [ALL]\n    derive_periods: true\n")
	h.sim.SetFaults(simulator.Faults{Force429: true})
	h.poller.step(context.Background()) // the week request: 429
	h.sim.SetFaults(simulator.Faults{})
	h.clock.Set(now.Add(15 * time.Minute))
	h.poller.weekNext = now.Add(time.Hour) // as after a failure: asked again later
	h.refreshNow()
	starts := h.series("voicetrends_period_start_timestamp_seconds")
	for _, key := range []string{"period=day,phone=ALL,window=current", "period=month,phone=ALL,window=previous"} {
		if _, ok := starts["account=acme,"+key]; !ok {
			t.Errorf("%s not served while the week is unknown: %v", key, starts)
		}
	}
	if _, ok := starts["account=acme,period=week,phone=ALL,window=current"]; ok {
		t.Error("a week served before its first day is known")
	}
	// Once learned, the week is served from the days already held, without another day request.
	h.clock.Set(now.Add(time.Hour))
	served := h.sim.Stats(testLogin).DataRequests
	h.poller.step(context.Background())
	if got := h.sim.Stats(testLogin).DataRequests - served; got != 1 {
		t.Errorf("%d requests to learn the week, want 1", got)
	}
	if _, ok := h.series("voicetrends_period_start_timestamp_seconds")["account=acme,period=week,phone=ALL,window=current"]; !ok {
		t.Error("the week is not served once its first day is known")
	}
}

// The freshness gain: ALL and 50 numbers at 100 requests per 15 minutes.
func TestDerivePeriodsRefreshesThreeTimesAsOften(t *testing.T) {
	numbers := make([]string, 50)
	for i := range numbers {
		numbers[i] = fmt.Sprintf("61755502%02d", i)
	}
	phones := `    phones: [ALL, "` + strings.Join(numbers, `", "`) + "\"]\n"
	start := time.Date(2026, 11, 26, 14, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		derive  bool
		targets int
		want    time.Duration
	}{
		{false, 153, 22*time.Minute + 57*time.Second}, // 153 targets x 15 min / 100
		{true, 51, 7*time.Minute + 39*time.Second},    // 51 targets x 15 min / 100
	} {
		t.Run(fmt.Sprintf("derive_periods=%v", c.derive), func(t *testing.T) {
			h := newHarness(t, start, simulator.Options{Seed: 2, Accounts: []simulator.Account{{Tool: voicetrends.ToolDev, Login: testLogin, Password: testPassword, Phones: numbers}}},
				// Every number alike: the schedule of this test is round-robin's.
				phones+fmt.Sprintf("    derive_periods: %v\n    max_data_age: 2h\n    schedule: round_robin\n", c.derive))
			if got := PlanFor(h.account.cfg).Targets; got != c.targets {
				t.Errorf("%d targets, want %d", got, c.targets)
			}
			if got := h.series("voicetrends_refresh_interval_seconds")["account=acme"]; got != c.want.Seconds() {
				t.Errorf("effective interval %vs, want %v", got, c.want)
			}
			if !c.derive {
				return
			}
			// Run for two hours: every number is refreshed every 7m39s on
			// average. The budget's cap per clock window may hold one refresh
			// back to the window's end now and then, by at most the spacing of
			// a few requests, hence the 9 minutes allowed for a single gap.
			rec := h.record()
			h.runUntil(start.Add(2 * time.Hour))
			for _, phone := range append([]string{"ALL"}, numbers...) {
				at := rec.byPhone[phone]
				if len(at) < 2 {
					t.Fatalf("%s refreshed %d times in two hours", phone, len(at))
				}
				if mean := at[len(at)-1].Sub(at[0]) / time.Duration(len(at)-1); mean > 8*time.Minute {
					t.Errorf("%s refreshed every %s on average, want at most 8m", phone, mean)
				}
				for i := 1; i < len(at); i++ {
					if gap := at[i].Sub(at[i-1]); gap > 9*time.Minute {
						t.Errorf("%s: %s between two refreshes, want at most 9m", phone, gap)
					}
				}
			}
			if st := h.sim.Stats(testLogin); st.DataRateLimited != 0 {
				t.Errorf("%d requests answered 429", st.DataRateLimited)
			}
			for w, n := range h.sim.Stats(testLogin).DataServed {
				if n > 100 {
					t.Errorf("window %s: %d requests, over the budget of 100", w, n)
				}
			}
		})
	}
}

// TestDerivedRoundingOverAYear measures how far weeks and months summed from
// a year of the simulator's daily buckets are from the simulator's own week
// and month buckets: counts must be equal, minutes within 0.05 a day. The
// worst cases it logs are the ones docs/derive-periods.md states.
func TestDerivedRoundingOverAYear(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	after := time.Date(2027, 1, 10, 0, 0, 0, 0, ny) // every bucket below is complete
	for _, week := range []time.Weekday{time.Sunday, time.Monday} {
		sim := simulator.New(simulator.Options{Seed: 5, WeekStart: week, Now: func() time.Time { return after },
			Accounts: []simulator.Account{{Tool: voicetrends.ToolDev, Login: testLogin, Password: testPassword, Phones: testNumbers}}})
		worst := map[voicetrends.Period]map[voicetrends.Figure]float64{voicetrends.PeriodWeek: {}, voicetrends.PeriodMonth: {}}
		worstPerDay := 0.0
		for _, phone := range append([]string{"ALL"}, testNumbers...) {
			days := map[voicetrends.Date]voicetrends.Bucket{}
			first := voicetrends.Date{Year: 2026, Month: time.January, Day: 1}
			for d := first; d.Year == 2026; d = d.AddDays(1) {
				days[d] = sim.Bucket(testLogin, phone, voicetrends.PeriodDay, d)
			}
			check := func(p voicetrends.Period, start voicetrends.Date) {
				truth := sim.Bucket(testLogin, phone, p, start)
				var in []voicetrends.Bucket
				n := 0
				for d := start; d.Before(p.Next(start)); d = d.AddDays(1) {
					in = append(in, days[d])
					n++
				}
				got := calendar.Sum(start.Midnight(ny), in)
				for _, f := range voicetrends.Figures {
					w, _ := truth.Get(f)
					g, _ := got.Get(f)
					if sent(truth, f) != sent(got, f) {
						t.Errorf("%s %s %s: %s sent %v, derived %v", phone, p, start, f.Key(), sent(truth, f), sent(got, f))
					}
					diff := math.Abs(g - w)
					switch f {
					case voicetrends.Calls, voicetrends.Transfers:
						if diff != 0 {
							t.Errorf("%s %s %s: %s = %v, the API's %v: counts must be equal", phone, p, start, f.Key(), g, w)
						}
					case voicetrends.CallMinutes, voicetrends.TransferMinutes:
						if diff > 0.05*float64(n+1)+1e-9 {
							t.Errorf("%s %s %s: %s = %v, the API's %v: more than 0.05 a day apart", phone, p, start, f.Key(), g, w)
						}
						worstPerDay = max(worstPerDay, diff/float64(n))
					}
					worst[p][f] = max(worst[p][f], diff)
				}
			}
			for d := first; d.Year == 2026; d = d.AddDays(1) {
				if d.Weekday() == week && d.AddDays(6).Year == 2026 {
					check(voicetrends.PeriodWeek, d)
				}
				if d.Day == 1 {
					check(voicetrends.PeriodMonth, d)
				}
			}
		}
		for _, p := range []voicetrends.Period{voicetrends.PeriodWeek, voicetrends.PeriodMonth} {
			w := worst[p]
			t.Logf("weeks from %s, %s: worst differences: call minutes %.2f, transfer minutes %.2f, transfer rate %.3f %%, average call length %.2f s",
				week, p, w[voicetrends.CallMinutes], w[voicetrends.TransferMinutes], w[voicetrends.TransferRate], w[voicetrends.AverageCallLength])
		}
		t.Logf("weeks from %s: at most %.4f minutes per day summed", week, worstPerDay)
	}
}

// A reload that changes a derived account's periods serves the new ones
// from the days already held, without a request.
func TestDerivedReloadChangesPeriodsWithoutARequest(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	h := newHarness(t, time.Date(2026, 11, 26, 15, 0, 0, 0, ny), simulator.Options{Seed: 11}, "    phones: [ALL]\n    periods: [day, month]\n    derive_periods: true\n    week_start: sunday\n")
	h.refreshNow()
	served := h.sim.Stats(testLogin).DataRequests
	cfg := *h.cfg
	cfg.Accounts = append([]config.Account(nil), cfg.Accounts...)
	cfg.Accounts[0].Periods = voicetrends.Periods
	h.reload(&cfg)
	if got := h.sim.Stats(testLogin).DataRequests; got != served {
		t.Errorf("%d requests on reload, want none", got-served)
	}
	checkDerived(t, h, ny, []string{"ALL"})
}

// The warning of a stretched interval points at derive_periods when it is off.
func TestStretchedIntervalWarningHintsAtDerivePeriods(t *testing.T) {
	for _, derive := range []bool{false, true} {
		h := newHarness(t, time.Date(2026, 11, 26, 15, 0, 0, 0, time.UTC), simulator.Options{Seed: 1},
			manyTargets+fmt.Sprintf("    requests_per_window: 5\n    max_data_age: 10h\n    derive_periods: %v\n", derive))
		var logs strings.Builder
		p := newPoller(h.account, h.account.client, h.clock, log.NewLogfmtLogger(&logs))
		r := (&gate{}).open(context.Background())
		r.close() // log, then stop before the first step
		p.run(r)
		hint := strings.Contains(logs.String(), "derive_periods: true would make one request per number serve all 3 periods, refreshing up to 3 times as often")
		if !strings.Contains(logs.String(), "the budget stretches refresh_interval") || hint == derive {
			t.Errorf("derive_periods=%v: logs\n%s\nwant the stretch warning, with the hint only when derive_periods is off", derive, logs.String())
		}
	}
}

// A week request that keeps failing is retried 30 s later, then less and
// less often until every interval, and logged once.
func TestWeekLearningFailureLoggedOnce(t *testing.T) {
	start := time.Date(2026, 11, 26, 15, 0, 0, 0, time.UTC)
	h := newHarness(t, start, simulator.Options{Seed: 1}, "    phones: [ALL]\n    derive_periods: true\n")
	var logs strings.Builder
	h.poller = newPoller(h.account, h.account.client, h.clock, log.NewLogfmtLogger(&logs))
	h.sim.SetFaults(simulator.Faults{ServerErrorRate: 1})
	asked := 0
	for i := 0; i < 3; i++ {
		h.clock.Set(start.Add(time.Duration(i) * h.poller.interval))
		before := h.sim.Stats(testLogin).DataRequests
		h.poller.step(context.Background())
		asked += h.sim.Stats(testLogin).DataRequests - before
		if h.poller.weekStart != nil {
			t.Fatal("a week start learned from failures")
		}
		if want := h.clock.Now().Add(retryAfter(i+1, h.poller.interval)); !h.poller.weekNext.Equal(want) {
			t.Errorf("after failure %d the week is asked for again at %s, want %s", i+1, h.poller.weekNext.Format(time.TimeOnly), want.Format(time.TimeOnly))
		}
	}
	if asked < 3 {
		t.Errorf("the week was asked for %d times in three intervals, want every interval", asked)
	}
	if n := strings.Count(logs.String(), "could not learn the first day of the week"); n != 1 {
		t.Errorf("the failure was logged %d times, want once:\n%s", n, logs.String())
	}
}

// sent reports whether the API sent figure f in b.
func sent(b voicetrends.Bucket, f voicetrends.Figure) bool {
	_, ok := b.Get(f)
	return ok
}
