package collector

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/voicetrends/voicetrends_exporter/internal/testlog"

	"github.com/go-kit/log"

	"github.com/voicetrends/voicetrends_exporter/config"
	"github.com/voicetrends/voicetrends_exporter/internal/budget"
	"github.com/voicetrends/voicetrends_exporter/voicetrends"
	"github.com/voicetrends/voicetrends_exporter/voicetrends/simulator"
)

const manyTargets = "    phones: [ALL, \"6175550100\", \"+16175550101\", \"6175550102\", \"6175550103\", \"6175550104\", \"6175550105\"]\n"

func TestBudgetNeverOverspentAndWellUsed(t *testing.T) {
	const win = 10 * time.Second
	start := time.Date(2026, 11, 26, 14, 0, 3, 0, time.UTC)
	h := newHarness(t, start, simulator.Options{Seed: 3, Window: win},
		manyTargets+"    requests_per_window: 10\n    window: 10s\n    refresh_interval: 1s\n    max_data_age: 1h\n")
	first := start.Truncate(win).Add(win)
	h.runUntil(first.Add(5 * win))
	st := h.sim.Stats(testLogin)
	if st.DataRateLimited != 0 {
		t.Errorf("%d requests were answered 429", st.DataRateLimited)
	}
	// 21 targets want more than 10 requests per window: the budget must be the limit, and nearly reached.
	for w := first; w.Before(first.Add(5 * win)); w = w.Add(win) {
		n := st.DataServed[w.UTC()]
		if n > 10 || n < 9 {
			t.Errorf("window %s: %d data requests, want 9 or 10 of a budget of 10 (all windows: %v)", w.Format(time.TimeOnly), n, st.DataServed)
		}
	}
	if got := h.series("voicetrends_refresh_interval_seconds")["account=acme"]; got != 21 {
		t.Errorf("effective refresh interval = %vs, want 21s (21 targets x 10s / 10)", got)
	}
}

func TestBudgetSharedWithAnotherClient(t *testing.T) {
	const win = 10 * time.Second
	start := time.Date(2026, 11, 26, 14, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name        string
		other       int
		wantServed  int // per window
		want429Each bool
	}{
		// Limit 40, the other client spends 30: 10 remain, the reserve is 2, so the exporter takes 8 and waits for the reset.
		{"waits at the reserve", 30, 8, false},
		// The other client spends everything: one 429 per window and not one retry before the reset.
		{"429 waits for the reset", 40, 0, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, start, simulator.Options{Seed: 3, Window: win, DataLimit: 40},
				manyTargets+"    requests_per_window: 20\n    window: 10s\n    refresh_interval: 1s\n    max_data_age: 1h\n")
			h.sim.SetFaults(simulator.Faults{OtherClientPerWindow: c.other})
			const windows = 4
			h.runUntil(start.Add(windows * win))
			st := h.sim.Stats(testLogin)
			for w := start; w.Before(start.Add(windows * win)); w = w.Add(win) {
				if n := st.DataServed[w.UTC()]; n != c.wantServed {
					t.Errorf("window %s: served %d, want %d", w.Format(time.TimeOnly), n, c.wantServed)
				}
			}
			want429 := 0
			if c.want429Each {
				want429 = windows
			}
			if st.DataRateLimited != want429 {
				t.Errorf("%d answers were 429, want %d", st.DataRateLimited, want429)
			}
		})
	}
}

func TestRollover(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	for _, c := range []struct {
		name      string
		midnight  time.Time            // the local midnight crossed
		previous  time.Time            // the day before's midnight
		rolled    []voicetrends.Period // the simulator's weeks start on Sunday: 2026-02-01 is one
		monthFrom time.Time            // the current month's start after the rollover
	}{
		{"local midnight", time.Date(2026, 11, 27, 0, 0, 0, 0, ny), time.Date(2026, 11, 26, 0, 0, 0, 0, ny), []voicetrends.Period{voicetrends.PeriodDay}, time.Date(2026, 11, 1, 0, 0, 0, 0, ny)},
		{"month end", time.Date(2026, 2, 1, 0, 0, 0, 0, ny), time.Date(2026, 1, 31, 0, 0, 0, 0, ny), []voicetrends.Period{voicetrends.PeriodDay, voicetrends.PeriodWeek, voicetrends.PeriodMonth}, time.Date(2026, 2, 1, 0, 0, 0, 0, ny)},
		{"after the 25-hour DST day", time.Date(2026, 11, 2, 0, 0, 0, 0, ny), time.Date(2026, 11, 1, 0, 0, 0, 0, ny), []voicetrends.Period{voicetrends.PeriodDay}, time.Date(2026, 11, 1, 0, 0, 0, 0, ny)},
		{"after the 23-hour DST day", time.Date(2026, 3, 9, 0, 0, 0, 0, ny), time.Date(2026, 3, 8, 0, 0, 0, 0, ny), []voicetrends.Period{voicetrends.PeriodDay}, time.Date(2026, 3, 1, 0, 0, 0, 0, ny)},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, c.midnight.Add(-2*time.Minute), simulator.Options{Seed: 5},
				"    phones: [ALL]\n    refresh_interval: 6h\n    max_data_age: 12h\n")
			h.refreshAll()
			before := map[voicetrends.Period]time.Time{}
			for _, tg := range h.poller.targets {
				before[tg.period] = tg.lastAttempt
			}
			h.runUntil(c.midnight.Add(time.Minute))
			for _, tg := range h.poller.targets {
				rolled := false
				for _, p := range c.rolled {
					rolled = rolled || p == tg.period
				}
				switch {
				case rolled && (tg.lastAttempt.Before(c.midnight) || tg.lastAttempt.After(c.midnight.Add(10*time.Second))):
					t.Errorf("%s target refreshed at %s, want right after midnight %s", tg.period, tg.lastAttempt, c.midnight)
				case !rolled && !tg.lastAttempt.Equal(before[tg.period]):
					t.Errorf("%s target refreshed at %s although its period did not roll over", tg.period, tg.lastAttempt)
				}
			}
			starts := h.series("voicetrends_period_start_timestamp_seconds")
			for key, want := range map[string]time.Time{
				"account=acme,period=day,phone=ALL,window=current":    c.midnight,
				"account=acme,period=day,phone=ALL,window=previous":   c.previous,
				"account=acme,period=month,phone=ALL,window=current":  c.monthFrom,
				"account=acme,period=month,phone=ALL,window=previous": time.Date(c.monthFrom.Year(), c.monthFrom.Month()-1, 1, 0, 0, 0, 0, ny),
			} {
				if got := starts[key]; got != float64(want.Unix()) {
					t.Errorf("period start {%s} = %v, want %v (%s)", key, got, want.Unix(), want)
				}
			}
		})
	}
}

// Between the rollover and the refresh, yesterday's figures are never served as today's.
func TestNoStaleCurrentWindowAfterMidnight(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	midnight := time.Date(2026, 11, 27, 0, 0, 0, 0, ny)
	h := newHarness(t, midnight.Add(-time.Minute), simulator.Options{Seed: 5}, "    phones: [ALL]\n    periods: [day]\n    refresh_interval: 6h\n    max_data_age: 12h\n")
	h.refreshAll()
	h.clock.Set(midnight.Add(time.Second)) // the poller has not run since midnight
	starts := h.series("voicetrends_period_start_timestamp_seconds")
	if _, ok := starts["account=acme,period=day,phone=ALL,window=current"]; ok {
		t.Error("yesterday's bucket is served as the current day after midnight")
	}
	if got := starts["account=acme,period=day,phone=ALL,window=previous"]; got != float64(midnight.AddDate(0, 0, -1).Unix()) {
		t.Errorf("previous day starts %v, want yesterday's midnight", got)
	}
}

func TestFailuresKeepFiguresUntilMaxDataAge(t *testing.T) {
	start := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	h := newHarness(t, start, simulator.Options{Seed: 5}, "    phones: [ALL]\n    periods: [day]\n    refresh_interval: 5m\n    max_data_age: 30m\n")
	h.refreshAll()
	key := "account=acme,period=day,phone=ALL,window=current"
	good := h.series("voicetrends_calls")[key]
	if good == 0 {
		t.Fatal("no calls before the failure; the test proves nothing")
	}
	h.sim.SetFaults(simulator.Faults{ServerErrorRate: 1})
	h.runUntil(start.Add(20 * time.Minute))
	if got, ok := h.series("voicetrends_calls")[key]; !ok || got != good {
		t.Errorf("within max_data_age a failed refresh changed calls to %v (present %v), want the last good %v", got, ok, good)
	}
	health := fmt.Sprint(h.series("voicetrends_up")["account=acme"], h.series("voicetrends_last_refresh_success")["account=acme,period=day,phone=ALL"])
	if health != "0 0" {
		t.Errorf("up and last_refresh_success = %s, want 0 0", health)
	}
	if got := h.series("voicetrends_last_success_timestamp_seconds")["account=acme,period=day,phone=ALL"]; got != float64(start.Unix()) {
		t.Errorf("last success = %v, want %v", got, start.Unix())
	}
	h.runUntil(start.Add(31 * time.Minute))
	if n := len(h.series("voicetrends_calls")); n != 0 {
		t.Errorf("%d calls series still served past max_data_age", n)
	}
	if n := h.series("voicetrends_api_requests_total")["account=acme,code=500,endpoint=volume"]; n < 5 {
		t.Errorf("api_requests_total{code=500} = %v, want the failed refreshes counted", n)
	}
}

// When the budget stretches the refresh interval past max_data_age, figures
// stay until twice the effective interval rather than blinking out.
func TestMaxDataAgeStretchesWithTheBudget(t *testing.T) {
	start := time.Date(2026, 11, 26, 14, 0, 0, 0, time.UTC)
	h := newHarness(t, start, simulator.Options{Seed: 3, Window: 10 * time.Second},
		manyTargets+"    requests_per_window: 10\n    window: 10s\n    refresh_interval: 1s\n    max_data_age: 5s\n")
	h.refreshAll()
	refreshed := h.clock.Now()
	want := len(h.series("voicetrends_calls"))
	if want != 21*2 {
		t.Fatalf("%d calls series after the first round, want 42", want)
	}
	// The burst of 10 then one a second: the oldest target succeeded 11s before the
	// last. 21s after the round it is far older than max_data_age (5s) but within
	// twice the effective interval (2 x 21s); 43s after, every target is past that.
	h.clock.Set(refreshed.Add(21 * time.Second))
	if got := len(h.series("voicetrends_calls")); got != want {
		t.Errorf("%d calls series 21s after the round, want all %d kept", got, want)
	}
	h.clock.Set(refreshed.Add(43 * time.Second))
	if got := len(h.series("voicetrends_calls")); got != 0 {
		t.Errorf("%d calls series past twice the effective interval, want none", got)
	}
}

// Scrapes run concurrently with each other and with refreshes (go test -race
// checks the sharing), and each sees whole targets: a figure series never
// appears without its period start.
func TestConcurrentScrapesDuringRefreshes(t *testing.T) {
	for _, derive := range []bool{false, true} {
		t.Run(fmt.Sprintf("derive_periods=%v", derive), func(t *testing.T) { concurrentScrapes(t, derive) })
	}
}

func concurrentScrapes(t *testing.T, derive bool) {
	start := time.Date(2026, 11, 26, 14, 0, 0, 0, time.UTC)
	h := newHarness(t, start, simulator.Options{Seed: 3}, manyTargets+fmt.Sprintf("    refresh_interval: 1m\n    derive_periods: %v\n", derive))
	done := make(chan struct{})
	go func() {
		defer close(done)
		run := 20 * time.Minute
		if derive {
			run = 5 * time.Minute // each answer holds 40 days: the simulator takes longer
		}
		h.runUntil(start.Add(run))
	}()
	errs := make(chan error, 4)
	for i := 0; i < 4; i++ {
		go func() {
			for {
				select {
				case <-done:
					errs <- nil
					return
				default:
				}
				mfs, err := h.registry.Gather()
				if err != nil {
					errs <- err
					return
				}
				counts := map[string]int{}
				for _, mf := range mfs {
					counts[mf.GetName()] = len(mf.GetMetric())
				}
				if counts["voicetrends_calls"] != counts["voicetrends_period_start_timestamp_seconds"] {
					errs <- fmt.Errorf("half a refresh: %d calls series, %d period starts", counts["voicetrends_calls"], counts["voicetrends_period_start_timestamp_seconds"])
					return
				}
			}
		}()
	}
	for i := 0; i < 4; i++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if n := len(h.series("voicetrends_calls")); n != 42 {
		t.Errorf("%d calls series after the refreshes, want 42", n)
	}
}

// A reload that removes a target drops its series at once and keeps the
// figures of the targets that stay, without asking the API again.
func TestReloadedPollerKeepsStayingTargets(t *testing.T) {
	start := time.Date(2026, 11, 26, 14, 0, 0, 0, time.UTC)
	h := newHarness(t, start, simulator.Options{Seed: 3}, "    phones: [ALL, \"6175550100\"]\n    periods: [day]\n")
	h.refreshAll()
	before := h.series("voicetrends_calls")
	if len(before) != 4 {
		t.Fatalf("%d calls series before the reload, want 4", len(before))
	}
	served := h.sim.Stats(testLogin).DataRequests
	cfg := *h.cfg
	cfg.Accounts = append([]config.Account(nil), cfg.Accounts...)
	cfg.Accounts[0].Phones = []string{"ALL"}
	client := h.account.client
	h.reload(&cfg)
	if h.account.client != client {
		t.Errorf("the reload built a new client: the credentials are thrown away")
	}
	after := h.series("voicetrends_calls")
	if len(after) != 2 {
		t.Errorf("%d calls series after removing a phone, want 2: %v", len(after), after)
	}
	for key, v := range after {
		if before[key] != v {
			t.Errorf("%s = %v after the reload, want the carried-over %v", key, v, before[key])
		}
	}
	if wait := h.poller.step(context.Background()); wait <= 0 {
		t.Errorf("the kept target is refreshed again right after the reload (wait %s)", wait)
	}
	if n := h.sim.Stats(testLogin).DataRequests; n != served {
		t.Errorf("the reload cost %d data requests, want none", n-served)
	}
}

// A target that has never succeeded is visible to alerts: last_refresh_success 0
// from its first failed attempt, and no last success timestamp, while the
// account's other targets carry on.
func TestNeverSucceededTargetIsVisible(t *testing.T) {
	start := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	// 6175559999 is not one of the simulator account's numbers: the API refuses it.
	h := newHarness(t, start, simulator.Options{Seed: 5}, "    phones: [ALL, \"6175559999\"]\n    periods: [day]\n")
	h.refreshAll()
	success := h.series("voicetrends_last_refresh_success")
	want := map[string]float64{
		"account=acme,period=day,phone=ALL":        1,
		"account=acme,period=day,phone=6175559999": 0,
	}
	if fmt.Sprint(success) != fmt.Sprint(want) {
		t.Errorf("last_refresh_success = %v, want %v", success, want)
	}
	last := h.series("voicetrends_last_success_timestamp_seconds")
	if _, ok := last["account=acme,period=day,phone=6175559999"]; ok {
		t.Error("a target that never succeeded has a last success timestamp")
	}
	if _, ok := last["account=acme,period=day,phone=ALL"]; !ok {
		t.Error("the succeeding target has no last success timestamp")
	}
}

// A budget hold beyond the even spread is logged once per hold with its
// reason, not once per step; the routine spread is not logged at all.
func TestBudgetHoldLoggedOnce(t *testing.T) {
	const win = 10 * time.Second
	start := time.Date(2026, 11, 26, 14, 0, 0, 0, time.UTC)
	// Limit 40, another client spends 30: the exporter reaches the reserve in every window.
	h := newHarness(t, start, simulator.Options{Seed: 3, Window: win, DataLimit: 40},
		manyTargets+"    requests_per_window: 20\n    window: 10s\n    refresh_interval: 1s\n    max_data_age: 1h\n")
	h.sim.SetFaults(simulator.Faults{OtherClientPerWindow: 30})
	logs := &testlog.Buffer{}
	h.poller.logger = log.NewLogfmtLogger(logs)
	h.runUntil(start.Add(3 * win))
	text := logs.String()
	if n := strings.Count(text, "the budget holds the next request"); n != 3 {
		t.Errorf("%d hold lines over 3 windows that each reach the reserve, want 3:\n%s", n, text)
	}
	if !strings.Contains(text, `reason="the API reports 2 requests left, the reserve kept for other clients is 2"`) {
		t.Errorf("the hold's reason is not logged:\n%s", text)
	}
	if strings.Contains(text, budget.Spreading) {
		t.Errorf("the routine spread was logged:\n%s", text)
	}
}

// The API counts its windows by its own clock, which may run seconds ahead
// of the exporter's or behind it, and each request takes a while to reach
// it: no window of the API's clock gets more than requests_per_window, and
// every one gets at least 90% of it (at 150 the API's reserve of 8 caps it
// at 142).
func TestBudgetFollowsTheAPIClock(t *testing.T) {
	const window = 15 * time.Minute
	// Requests go at 0.9 s past a second: with a round trip, the last of a
	// window reaches the API after the edge.
	start := time.Date(2026, 11, 26, 14, 2, 59, 900_000_000, time.UTC)
	for _, nw := range []network{
		{skew: -4 * time.Second}, // where resuming 4 s early cost a window after every hold
		{skew: 4 * time.Second, rtt: 300 * time.Millisecond}, {skew: -4 * time.Second, rtt: 300 * time.Millisecond},
		{rtt: 300 * time.Millisecond},
	} {
		for _, perWindow := range []int{100, 150} {
			name := fmt.Sprintf("API clock %s, round trip %s, %d per window", nw.skew, nw.rtt, perWindow)
			t.Run(name, func(t *testing.T) {
				// 7 targets every second want far more than the budget.
				h := newHarnessOn(t, start, simulator.Options{Seed: 3}, manyTargets+fmt.Sprintf("    periods: [day]\n    requests_per_window: %d\n    refresh_interval: 1s\n    max_data_age: 1h\n", perWindow), nw)
				first, _ := voicetrends.AlignedWindow(start.Add(nw.skew), window)
				first = first.Add(window) // the first whole window of the API's clock
				const windows = 3
				h.runUntil(first.Add(windows * window).Add(-nw.skew))
				st := h.sim.Stats(testLogin)
				if st.DataRateLimited != 0 {
					t.Errorf("%d requests answered 429", st.DataRateLimited)
				}
				var got []int
				for w := first; w.Before(first.Add(windows * window)); w = w.Add(window) {
					n := st.DataServed[w]
					got = append(got, n)
					if n > perWindow || float64(n) < 0.9*float64(perWindow) {
						t.Errorf("the API's window %s got %d of the exporter's requests, want at most %d and at least 90%% of it", w.Format(time.TimeOnly), n, perWindow)
					}
				}
				t.Logf("per window of the API's clock: %v", got)
			})
		}
	}
}

// An account configured for New York whose VoiceTrends zone is London: the
// exporter must say so and serve no figure, whether or not the two zones'
// dates agree at that instant, and serve London's figures once told the zone.
func TestWrongTimezoneIsDetectedNotServed(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	london, _ := time.LoadLocation("Europe/London")
	for _, c := range []struct {
		name     string
		now      time.Time
		timezone string // the account's configured timezone; empty is the default, New York
		wrong    bool
	}{
		{"dates agree", time.Date(2026, 11, 26, 12, 0, 0, 0, ny), "", true},
		{"dates differ", time.Date(2026, 11, 26, 20, 0, 0, 0, ny), "", true},
		{"a minute after London's midnight", time.Date(2026, 11, 27, 0, 1, 0, 0, london), "", true},
		{"the right zone, dates differ", time.Date(2026, 11, 26, 20, 0, 0, 0, ny), "Europe/London", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			yaml := "    phones: [ALL, \"6175550100\"]\n    refresh_interval: 1h\n"
			if c.timezone != "" {
				yaml += "    timezone: " + c.timezone + "\n"
			}
			h := newHarness(t, c.now, simulator.Options{Seed: 3, Accounts: []simulator.Account{
				{Tool: voicetrends.ToolDev, Login: testLogin, Password: testPassword, Phones: testNumbers, TimeZone: london}}}, yaml)
			logs := &testlog.Buffer{}
			h.poller.logger = log.NewLogfmtLogger(logs)
			h.refreshAll()

			mismatch := h.series("voicetrends_timezone_mismatch")["account=acme"]
			calls := h.series("voicetrends_calls")
			if !c.wrong {
				if mismatch != 0 || len(calls) != 2*3*2 {
					t.Fatalf("right zone: voicetrends_timezone_mismatch = %v and %d voicetrends_calls series, want 0 and 12\n%s", mismatch, len(calls), logs)
				}
				return
			}
			if mismatch != 1 {
				t.Errorf("voicetrends_timezone_mismatch = %v, want 1", mismatch)
			}
			for _, name := range []string{"voicetrends_calls", "voicetrends_transfers", "voicetrends_period_start_timestamp_seconds"} {
				if got := h.series(name); len(got) != 0 {
					t.Errorf("%s served for a wrong zone: %v", name, got)
				}
			}
			for key, v := range h.series("voicetrends_last_refresh_success") {
				if v != 0 {
					t.Errorf("voicetrends_last_refresh_success{%s} = %v, want 0", key, v)
				}
			}
			text := logs.String()
			if n := strings.Count(text, "wrong timezone"); n != 1 {
				t.Errorf("the wrong zone was logged %d times, want once:\n%s", n, text)
			}
			for _, want := range []string{"midnight UTC+00:00", "America/New_York (UTC-05:00)", "set the account's timezone:"} {
				if !strings.Contains(text, want) {
					t.Errorf("the log does not say %q:\n%s", want, text)
				}
			}
		})
	}
}

// A storm of data 401s while logins succeed must not burn the login
// budget: at most 5 logins in the 10 s storm, no 429 on login, and good
// answers again within 15 s after it ends.
func TestUnauthorizedStorm(t *testing.T) {
	for _, c := range []struct {
		name string
		sim  simulator.Options
		yaml string
	}{
		// The documented limits, with the start-up burst spent into the storm.
		{"documented window", simulator.Options{Seed: 3}, manyTargets + "    requests_per_window: 150\n    refresh_interval: 1m\n"},
		// A short window gives many requests per second to turn into logins.
		{"short window", simulator.Options{Seed: 3, Window: 10 * time.Second}, manyTargets + "    requests_per_window: 20\n    window: 10s\n    refresh_interval: 1s\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			start := time.Date(2026, 11, 26, 14, 0, 0, 0, time.UTC)
			h := newHarness(t, start, c.sim, c.yaml)
			// One good answer, so that the storm hits credentials the API has accepted.
			h.poller.step(context.Background())
			if st := h.sim.Stats(testLogin); st.AuthRequests != 1 || st.DataRequests != 1 {
				t.Fatalf("before the storm: %+v", st)
			}
			stormStart := h.clock.Now()
			stormEnd := stormStart.Add(10 * time.Second)
			h.sim.SetFaults(simulator.Faults{Force401: true})
			h.runUntil(stormEnd)
			during := h.sim.Stats(testLogin)
			if logins := during.AuthRequests - 1; logins > 5 {
				t.Errorf("%d logins during a 10 s storm of 401s, want at most 5", logins)
			}
			if during.Unauthorized == 0 {
				t.Fatal("no 401 during the storm; the test proves nothing")
			}
			if up := h.series("voicetrends_up")["account=acme"]; up != 0 {
				t.Errorf("voicetrends_up = %v during the storm, want 0", up)
			}
			h.sim.SetFaults(simulator.Faults{})
			h.runUntil(stormEnd.Add(15 * time.Second))
			after := h.sim.Stats(testLogin)
			if after.AuthRateLimited != 0 || after.DataRateLimited != 0 {
				t.Errorf("%d logins and %d data requests answered 429", after.AuthRateLimited, after.DataRateLimited)
			}
			if after.DataRequests == during.DataRequests {
				t.Errorf("no good answer within 15 s after the storm ended (logins %d, 401s %d)", after.AuthRequests, after.Unauthorized)
			}
			if logins := after.AuthRequests - 1; logins > 5 {
				t.Errorf("%d logins from the storm's start until 15 s after its end, want at most 5", logins)
			}
			if up := h.series("voicetrends_up")["account=acme"]; up != 1 {
				t.Errorf("voicetrends_up = %v after the storm, want 1", up)
			}
		})
	}
}

// With a short window and credentials that expire every 5 data requests,
// each expiry costs exactly one login and every target stays fresh: logins
// are counted in the account's window, not a fixed 15 minutes.
func TestShortWindowRelogin(t *testing.T) {
	const win = 10 * time.Second
	start := time.Date(2026, 11, 26, 14, 0, 0, 0, time.UTC)
	h := newHarness(t, start, simulator.Options{Seed: 3, Window: win, CredentialUses: 5},
		manyTargets+"    requests_per_window: 20\n    window: 10s\n    refresh_interval: 1s\n    max_data_age: 1m\n")
	end := start.Add(3 * time.Minute)
	h.runUntil(end)
	st := h.sim.Stats(testLogin)
	if st.Unauthorized < 20 {
		t.Errorf("%d expiries in 3 minutes, want at least 20: refreshes stalled", st.Unauthorized)
	}
	if st.AuthRequests != st.Unauthorized+1 || st.AuthRateLimited != 0 {
		t.Errorf("%d logins (%d answered 429) for %d expiries, want one each plus the first", st.AuthRequests, st.AuthRateLimited, st.Unauthorized)
	}
	// Each expiry spends a data request on a 401, so refreshes run a little
	// behind the interval; twice the interval is the bound.
	interval := time.Duration(h.series("voicetrends_refresh_interval_seconds")["account=acme"]) * time.Second
	fresh := 0
	for key, ts := range h.series("voicetrends_last_success_timestamp_seconds") {
		if age := end.Sub(time.Unix(int64(ts), 0)); age > 2*interval {
			t.Errorf("{%s} last refreshed %v ago, want within twice the %v interval", key, age, interval)
		} else {
			fresh++
		}
	}
	if fresh != len(h.poller.targets) {
		t.Errorf("%d of %d targets fresh", fresh, len(h.poller.targets))
	}
}

// voicetrends_up is about the account: one wrong phone number (a 400 for
// that target) leaves it at 1, while a server error or refused login sets it to 0.
func TestUpMeansTheAccount(t *testing.T) {
	start := time.Date(2026, 11, 26, 14, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name   string
		phones string
		faults simulator.Faults
		wantUp float64
	}{
		{"one wrong phone", `"6175550100", "6175550199", "6175550102"`, simulator.Faults{}, 1},
		{"server errors", `"6175550100", "6175550102"`, simulator.Faults{ServerErrorRate: 1}, 0},
		{"malformed answers", `"6175550100", "6175550102"`, simulator.Faults{MalformedRate: 1}, 1},
		{"proxy errors", `"6175550100", "6175550102"`, simulator.Faults{BadGatewayRate: 1}, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, start, simulator.Options{Seed: 3}, fmt.Sprintf("    phones: [%s]\n    periods: [day]\n    refresh_interval: 1m\n", c.phones))
			h.sim.SetFaults(c.faults)
			for i := 0; h.clock.Now().Before(start.Add(5 * time.Minute)); i++ {
				if wait := h.poller.step(context.Background()); wait > 0 {
					h.clock.Advance(wait)
				}
				if !h.poller.tried {
					continue
				}
				if up := h.series("voicetrends_up")["account=acme"]; up != c.wantUp {
					t.Fatalf("step %d at %s: voicetrends_up = %v, want %v", i, h.clock.Now().Format(time.TimeOnly), up, c.wantUp)
				}
			}
			success := h.series("voicetrends_last_refresh_success")
			if c.name == "one wrong phone" {
				if got := fmt.Sprint(success["account=acme,period=day,phone=6175550199"], success["account=acme,period=day,phone=6175550100"]); got != "0 1" {
					t.Errorf("last_refresh_success of the wrong and a right phone = %s, want 0 1", got)
				}
			}
		})
	}
}

// When the account cannot reach the API, targets that have never succeeded
// show as failing, even those held back without a request of their own.
func TestUnreachableTargetsShowAsFailing(t *testing.T) {
	start := time.Date(2026, 11, 26, 14, 0, 0, 0, time.UTC)
	h := newHarness(t, start, simulator.Options{Seed: 3, Accounts: []simulator.Account{{Tool: "dev", Login: testLogin, Password: "another password", Phones: testNumbers}}},
		"    phones: [ALL, \"6175550100\"]\n    refresh_interval: 1m\n")
	h.runUntil(start.Add(30 * time.Second)) // three logins, backing off: most targets never get a request
	success := h.series("voicetrends_last_refresh_success")
	if len(success) != 6 {
		t.Errorf("%d targets have voicetrends_last_refresh_success, want all 6: %v", len(success), success)
	}
	for key, v := range success {
		if v != 0 {
			t.Errorf("{%s} = %v, want 0", key, v)
		}
	}
	if st := h.sim.Stats(testLogin); st.AuthRequests != 3 {
		t.Errorf("%d logins with a wrong password in 30 s, want 3 (at 0, 5 and 15 s)", st.AuthRequests)
	}
}

// Credentials that expire after each request need 10 re-logins per window,
// more than the 7 the exporter spends on them: it defers the rest to the
// next window. That is the exporter pacing itself while the API answers:
// voicetrends_up stays 1 throughout, and the deferral shows in
// voicetrends_login_deferred and the account's status.
func TestPacedLoginsKeepUp(t *testing.T) {
	const win = 10 * time.Second
	start := time.Date(2026, 11, 26, 14, 0, 0, 0, time.UTC)
	h := newHarness(t, start, simulator.Options{Seed: 3, Window: win, CredentialUses: 1},
		manyTargets+"    requests_per_window: 20\n    window: 10s\n    refresh_interval: 1s\n    max_data_age: 1m\n")
	deferred, resumed := 0, 0
	for i := 0; h.clock.Now().Before(start.Add(time.Minute)); i++ {
		if wait := h.poller.step(context.Background()); wait > 0 {
			h.clock.Advance(wait)
		}
		if !h.poller.tried {
			continue
		}
		at := h.clock.Now().Format(time.TimeOnly)
		if up := h.series("voicetrends_up")["account=acme"]; up != 1 {
			t.Fatalf("step %d at %s: voicetrends_up = %v while logins are paced, want 1 (%s)", i, at, up, h.poller.lastError)
		}
		st := h.exporter.Status()[0]
		switch h.series("voicetrends_login_deferred")["account=acme"] {
		case 1:
			deferred++
			if !strings.Contains(st.LoginDeferred, "logins spent") || !st.LoginDeferredUntil.After(h.clock.Now().Add(-time.Second)) {
				t.Errorf("step %d at %s: status says %q until %s, want the deferral and its end", i, at, st.LoginDeferred, st.LoginDeferredUntil)
			}
		case 0:
			if deferred > 0 {
				resumed++
			}
			if st.LoginDeferred != "" {
				t.Errorf("step %d at %s: status says logins are deferred (%q), the metric says not", i, at, st.LoginDeferred)
			}
		}
	}
	if deferred == 0 || resumed == 0 {
		t.Errorf("%d steps with logins deferred, %d after they resumed: the test proves nothing", deferred, resumed)
	}
	if st := h.sim.Stats(testLogin); st.AuthRateLimited != 0 || st.DataRateLimited != 0 {
		t.Errorf("%d logins and %d data requests answered 429", st.AuthRateLimited, st.DataRateLimited)
	}
}
