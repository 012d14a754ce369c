package collector

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/voicetrends/voicetrends_exporter/config"
	"github.com/voicetrends/voicetrends_exporter/voicetrends"
	"github.com/voicetrends/voicetrends_exporter/voicetrends/simulator"
)

// zipfFigures are what the square-root schedule achieves on a Zipf account,
// each interval as a multiple of the round-robin interval.
type zipfFigures struct {
	gain    float64 // the numbers' call-weighted mean interval
	optimum float64 // the square-root rule's, (Σ√λ)²/(N·Σλ)
	busiest float64 // round-robin over the busiest number's mean interval
	all     float64 // round-robin over ALL's mean interval
	longest float64 // the longest wait of any target, dormant ones included
	most    int     // the most requests served in one window of the API
	least   int     // the fewest in a whole window
	perWin  int     // requests_per_window
	limited int     // answers 429
	drift   float64 // the largest change of a target's interval from one window to the next, relative
}

// zipfAccount runs an account of ALL, numbers whose daily calls fall as
// 3000/(i+1) and dormant numbers without calls, at 100 requests per 15
// minutes, on the manual clock: one round-robin interval to learn every
// number's calls, then three and a third measured.
func zipfAccount(tb testing.TB, numbers, dormant int) zipfFigures {
	daily := map[string]float64{}
	phones := make([]string, 0, numbers+dormant)
	quoted := []string{"ALL"}
	for i := range numbers + dormant {
		phone := fmt.Sprintf("617%07d", i)
		phones, quoted = append(phones, phone), append(quoted, fmt.Sprintf("%q", phone))
		if i < numbers {
			daily[phone] = 3000 / float64(i+1)
		} else {
			daily[phone] = 0
		}
	}
	ny, _ := time.LoadLocation("America/New_York")
	start := time.Date(2026, 11, 24, 6, 0, 0, 0, ny) // a Tuesday
	h := newHarness(tb, start, simulator.Options{Seed: 7, Accounts: []simulator.Account{{
		Tool: voicetrends.ToolDev, Login: testLogin, Password: testPassword, Phones: phones, DailyCalls: daily,
	}}}, "    phones: ["+strings.Join(quoted, ", ")+"]\n    periods: [day]\n")
	rr := h.poller.interval
	from := start.Add(rr + 5*time.Minute).Truncate(15 * time.Minute)
	to := from.Add(rr * 10 / 3)
	// Sampled every window, no target's interval moves by more than a
	// tenth: the schedule does not oscillate.
	var f zipfFigures
	h.runUntil(from)
	prev := map[targetKey]time.Duration{}
	for at := from; at.Before(to); at = at.Add(15 * time.Minute) {
		h.runUntil(at)
		if h.poller.sched.at.IsZero() {
			continue // the first round is not over: every target at round-robin's pace
		}
		for _, tg := range h.poller.targets {
			if old, ok := prev[tg.targetKey]; ok {
				f.drift = max(f.drift, math.Abs(tg.own(rr).Seconds()-old.Seconds())/old.Seconds())
			}
			prev[tg.targetKey] = tg.own(rr)
		}
	}
	h.runUntil(to)

	f.perWin, f.least = h.cfg.Accounts[0].RequestsPerWindow, math.MaxInt
	span := to.Sub(from)
	// mean returns a phone's mean interval between two refreshes in the
	// span, and its longest wait, the span's edges included.
	mean := func(phone string) (time.Duration, time.Duration) {
		var n int
		longest, first, last := time.Duration(0), time.Time{}, from
		for _, at := range h.requestTimes(phone, voicetrends.PeriodDay) {
			if at.Before(from) || !at.Before(to) {
				continue
			}
			if n++; n == 1 {
				first = at
			}
			longest, last = max(longest, at.Sub(last)), at
		}
		longest = max(longest, to.Sub(last))
		if n < 2 {
			return span, longest // refreshed at most once: as if once in the span
		}
		return last.Sub(first) / time.Duration(n-1), longest
	}
	var weighted, calls, roots float64
	for i, phone := range phones {
		avg, longest := mean(phone)
		f.longest = max(f.longest, longest.Seconds()/rr.Seconds())
		if i == 0 {
			f.busiest = rr.Seconds() / avg.Seconds()
		}
		weighted += daily[phone] * avg.Seconds()
		calls += daily[phone]
		roots += math.Sqrt(daily[phone])
	}
	avg, longest := mean(voicetrends.AllPhones)
	f.all = rr.Seconds() / avg.Seconds()
	f.longest = max(f.longest, longest.Seconds()/rr.Seconds())
	f.gain = weighted / calls / rr.Seconds()
	f.optimum = roots * roots / float64(numbers) / calls
	st := h.sim.Stats(testLogin)
	for w := from; w.Add(15 * time.Minute).Before(to.Add(time.Nanosecond)); w = w.Add(15 * time.Minute) {
		f.least = min(f.least, st.DataServed[w.UTC()])
	}
	for _, n := range st.DataServed {
		f.most = max(f.most, n)
	}
	f.limited = st.DataRateLimited
	return f
}

// The account: 300 numbers with Zipf calls and 30 dormant ones.
func TestSquareRootScheduleOnAZipfAccount(t *testing.T) {
	f := zipfAccount(t, 300, 30)
	t.Logf("gain %.3f (optimum %.3f), busiest %.1fx, ALL %.1fx, longest wait %.2fx, requests per window %d..%d, 429s %d, drift %.3f",
		f.gain, f.optimum, f.busiest, f.all, f.longest, f.least, f.most, f.limited, f.drift)
	if f.gain > 0.65 {
		t.Errorf("call-weighted mean interval %.3f x round-robin, want at most 0.65", f.gain)
	}
	if f.busiest < 5 || f.all < 5 {
		t.Errorf("busiest number refreshed %.1fx and ALL %.1fx as often as round-robin, want at least 5x", f.busiest, f.all)
	}
	if f.drift > 0.1 {
		t.Errorf("an interval moved by %.0f%% from one window to the next, want at most 10%%", 100*f.drift)
	}
	if f.longest > maxStretch {
		t.Errorf("a target waited %.2fx the round-robin interval, want at most %d", f.longest, maxStretch)
	}
	if f.most > f.perWin || f.least < f.perWin*9/10 || f.limited != 0 {
		t.Errorf("requests per window %d..%d of a budget of %d, %d answered 429: want at most the budget, at least 90%% of it, no 429", f.least, f.most, f.perWin, f.limited)
	}
}

// BenchmarkSquareRootSchedule reports the schedule's figures on Zipf
// accounts of several sizes beside the square-root optimum (docs/budget.md).
func BenchmarkSquareRootSchedule(b *testing.B) {
	for _, numbers := range []int{50, 300, 2000} {
		b.Run(fmt.Sprintf("numbers=%d", numbers), func(b *testing.B) {
			var f zipfFigures
			for range b.N {
				f = zipfAccount(b, numbers, numbers/10)
			}
			b.ReportMetric(f.gain, "gain")
			b.ReportMetric(f.optimum, "optimum")
			b.ReportMetric(f.busiest, "busiest-x")
			b.ReportMetric(f.all, "ALL-x")
			b.ReportMetric(f.longest, "longest-wait/rr")
			b.ReportMetric(float64(f.least)/float64(f.perWin), "budget-used")
		})
	}
}

func TestAllocate(t *testing.T) {
	const rr, shortest = 30 * time.Minute, 5 * time.Minute
	for _, c := range []struct {
		name     string
		rates    []float64
		rr       time.Duration
		want     []time.Duration // nil: check the bounds and the budget only
		minFirst time.Duration   // the first target's interval is at most this
	}{
		{"nothing known: round-robin", []float64{0, 0, 0}, rr, []time.Duration{rr, rr, rr}, 0},
		{"not stretched: refresh_interval for all", []float64{100, 1, 0}, shortest, []time.Duration{shortest, shortest, shortest}, 0},
		// √(1):√(1):√(4): 1:1:2 of a budget of 3 per 30 minutes.
		{"square roots", []float64{4, 1, 1}, rr, []time.Duration{20 * time.Minute, 40 * time.Minute, 40 * time.Minute}, 0},
		// The dormant ones get 3 x rr, the busy one refresh_interval.
		{"bounds", append([]float64{1e6, 1}, make([]float64, 8)...), rr, nil, shortest},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := allocate(c.rates, c.rr, shortest)
			if c.want != nil && !slices.Equal(got, c.want) {
				t.Errorf("intervals %v, want %v", got, c.want)
			}
			pace := 0.0
			for _, d := range got {
				if d < shortest || d > maxStretch*c.rr {
					t.Errorf("interval %s outside [%s, %s]", d, shortest, maxStretch*c.rr)
				}
				pace += 1 / d.Seconds()
			}
			if want := float64(len(got)) / c.rr.Seconds(); math.Abs(pace-want) > want*1e-6 {
				t.Errorf("%.6f refreshes a second, want the budget's %.6f", pace, want)
			}
			if c.minFirst > 0 && got[0] > c.minFirst {
				t.Errorf("busiest every %s, want %s", got[0], c.minFirst)
			}
		})
	}
}

func TestEstimateRates(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, ny) // noon
	today := time.Date(2026, 11, 26, 0, 0, 0, 0, ny)
	bucket := func(start time.Time, calls float64) voicetrends.Bucket {
		b := voicetrends.Bucket{Start: start}
		b.Set(voicetrends.Calls, calls)
		return b
	}
	day := func(phone string, yesterday, sofar float64) target {
		t := newTarget(targetKey{phone: phone, period: voicetrends.PeriodDay}, nil)
		t.attempted, t.lastSuccess = true, now
		t.buckets = [][]voicetrends.Bucket{{bucket(today, sofar), bucket(today.AddDate(0, 0, -1), yesterday)}}
		return t
	}
	month := func(phone string, last float64) target {
		t := newTarget(targetKey{phone: phone, period: voicetrends.PeriodMonth}, nil)
		t.attempted, t.lastSuccess = true, now
		t.buckets = [][]voicetrends.Bucket{{bucket(time.Date(2026, 10, 1, 0, 0, 0, 0, ny), last)}}
		return t
	}
	derived := func(phone string) target {
		t := newTarget(targetKey{phone: phone, derived: true}, voicetrends.Periods)
		t.attempted, t.lastSuccess = true, now
		for d := -20; d <= 0; d++ {
			calls := 10.0
			if d >= -14 {
				calls = 1 // only these count: 14 complete days, and today so far
			}
			t.days = append(t.days, bucket(today.AddDate(0, 0, d), calls))
		}
		return t
	}
	targets := []target{
		day("ALL", 1220, 0), // 0: ALL by its own figures
		day("1", 1000, 0),   // 1: one day, shrunk by a day of the typical 100
		day("2", 100, 0),    // 2: typical
		day("3", 0, 0),      // 3: dormant: half a day of the typical
		day("4", 0, 30),     // 4: dormant until today: 30 calls by noon are 60 a day
		day("5", 120, 0),    // 5: one day...
		month("5", 31*200),  // 6: ...but a month of 200 a day: the month's figure, for both
		newTarget(targetKey{phone: "6", period: voicetrends.PeriodDay}, nil), // 7: nothing yet: typical
		derived("7"), // 8: derive_periods: the last 14 complete days of 20
	}
	rates, ok := estimateRates(targets, ny)
	if !ok {
		t.Fatal("no figure known")
	}
	// The typical number is the median of 1000, 100, 0, 0, 200, 1 a day: 100.
	want := []float64{(1220 + 100) / 2.0, (1000 + 100) / 2.0, 100, 50, 60, (31*200 + 100) / 32.0, (31*200 + 100) / 32.0, 100, (14 + 100) / 15.0}
	for i := range want {
		if math.Abs(rates[i]-want[i]) > 1e-9 {
			t.Errorf("target %d (%s %s): %.3f calls a day, want %.3f", i, targets[i].phone, targets[i].period, rates[i], want[i])
		}
	}
	if _, ok := estimateRates(targets[7:8], ny); ok {
		t.Error("estimated rates without any figure")
	}
}

// A number that comes alive gets a short interval at its next refresh, and
// round_robin keeps every target at the account's interval.
func TestScheduleFollowsTheCalls(t *testing.T) {
	phones := []string{"100", "200", "300", "400", "500", "600", "700", "800", "900"}
	daily := map[string]float64{"100": 3000, "200": 1500, "300": 1000, "400": 750, "500": 600, "600": 500, "700": 400, "800": 300, "900": 0}
	start := time.Date(2026, 11, 24, 14, 0, 0, 0, time.UTC) // 9 a.m. in New York
	for _, schedule := range []string{"sqrt", "round_robin"} {
		t.Run(schedule, func(t *testing.T) {
			// 10 targets at 20 requests per 10 minutes: round-robin every 5m.
			h := newHarness(t, start, simulator.Options{Seed: 7, Window: 10 * time.Minute, Accounts: []simulator.Account{{
				Tool: voicetrends.ToolDev, Login: testLogin, Password: testPassword, Phones: phones, DailyCalls: daily,
			}}}, `    phones: [ALL, "100", "200", "300", "400", "500", "600", "700", "800", "900"]
    periods: [day]
    requests_per_window: 20
    window: 10m
    refresh_interval: 1m
    schedule: `+schedule+"\n")
			rr := h.poller.interval
			if rr != 5*time.Minute {
				t.Fatalf("round-robin interval %s, want 5m", rr)
			}
			h.runUntil(start.Add(20 * time.Minute))
			intervals := h.series("voicetrends_target_refresh_interval_seconds")
			if len(intervals) != 10 {
				t.Fatalf("%d target intervals, want 10: %v", len(intervals), intervals)
			}
			interval := func(phone string) time.Duration {
				return time.Duration(intervals["account=acme,period=day,phone="+phone] * float64(time.Second))
			}
			// The status page shows each target's own interval, as the metric.
			for _, tg := range h.exporter.Status()[0].Targets {
				if want := interval(tg.Phone).Round(time.Second); tg.Interval != want {
					t.Errorf("status: %s every %s, want %s", tg.Phone, tg.Interval, want)
				}
			}
			if schedule == "round_robin" {
				for k, v := range intervals {
					if v != rr.Seconds() {
						t.Errorf("%s: every %vs, want round-robin's %v", k, v, rr.Seconds())
					}
				}
				return
			}
			if interval("ALL") >= interval("100") || interval("100") >= interval("800") || interval("800") >= interval("900") {
				t.Errorf("intervals ALL %s, busiest %s, quiet %s, dormant %s: want them rising", interval("ALL"), interval("100"), interval("800"), interval("900"))
			}
			if got := interval("900"); got > maxStretch*rr {
				t.Errorf("dormant number every %s, want at most %d x round-robin", got, maxStretch)
			}
			// The dormant number takes calls: at its next refresh its interval falls at once.
			h.sim.SetDailyCalls(testLogin, "900", 3000)
			refreshed := len(h.requestTimes("900", voicetrends.PeriodDay))
			for len(h.requestTimes("900", voicetrends.PeriodDay)) == refreshed {
				if h.clock.Now().After(start.Add(20*time.Minute + maxStretch*rr)) {
					t.Fatal("the dormant number waited more than 3 x round-robin")
				}
				h.runUntil(h.clock.Now().Add(10 * time.Second))
			}
			h.runUntil(h.clock.Now().Add(time.Second))
			intervals = h.series("voicetrends_target_refresh_interval_seconds")
			if got := interval("900"); got > interval("200") {
				t.Errorf("the number that came alive is refreshed every %s, want at most the number of half its calls' %s", got, interval("200"))
			}
			// A reload to round_robin puts every target at the account's
			// interval; back to sqrt, the figures kept give them their own at once.
			for _, to := range []string{config.ScheduleRoundRobin, config.ScheduleSqrt} {
				cfg := *h.cfg
				cfg.Accounts = append([]config.Account(nil), cfg.Accounts...)
				cfg.Accounts[0].Schedule = to
				h.reload(&cfg)
				h.runUntil(h.clock.Now().Add(time.Second))
				distinct := map[float64]bool{}
				for _, v := range h.series("voicetrends_target_refresh_interval_seconds") {
					distinct[v] = true
				}
				if want := to == config.ScheduleRoundRobin; distinct[rr.Seconds()] != want || (len(distinct) == 1) != want {
					t.Errorf("after a reload to %s: intervals %v", to, distinct)
				}
			}
		})
	}
}

// Each target's interval has the series of its last success, derive_periods included.
func TestTargetIntervalSeries(t *testing.T) {
	start := time.Date(2026, 11, 26, 14, 0, 0, 0, time.UTC)
	for _, derive := range []bool{false, true} {
		t.Run(fmt.Sprintf("derive_periods=%v", derive), func(t *testing.T) {
			yaml := manyTargets
			if derive {
				yaml += "    derive_periods: true\n    week_start: sunday\n"
			}
			h := newHarness(t, start, simulator.Options{Seed: 3}, yaml)
			h.refreshAll()
			success, intervals := h.series("voicetrends_last_success_timestamp_seconds"), h.series("voicetrends_target_refresh_interval_seconds")
			if len(success) != 21 || len(intervals) != len(success) {
				t.Fatalf("%d intervals, %d last successes, want 21 each", len(intervals), len(success))
			}
			for k := range success {
				if got := intervals[k]; got != h.poller.interval.Seconds() {
					t.Errorf("{%s}: interval %v, want the account's %v (not stretched)", k, got, h.poller.interval.Seconds())
				}
			}
		})
	}
}

// Under the square-root schedule, as round-robin, a target whose request
// failed gets its figures a minute later, and every target keeps its own pace.
func TestSquareRootScheduleRetriesSoon(t *testing.T) {
	start := time.Date(2026, 11, 26, 14, 0, 0, 0, time.UTC)
	phones, list := manyPhones(200)
	daily := map[string]float64{}
	for i, p := range phones {
		daily[p] = 3000 / float64(i+1)
	}
	h := newHarness(t, start, simulator.Options{Seed: 3, Accounts: []simulator.Account{{Tool: voicetrends.ToolDev, Login: testLogin, Password: testPassword, Phones: phones, DailyCalls: daily}}},
		list+"    periods: [day]\n    requests_per_window: 20\n    refresh_interval: 5m\n")
	rr := h.poller.interval
	gap := 15 * time.Minute / 20 // between two requests of the budget
	h.runUntil(start.Add(rr + time.Hour))
	if !h.poller.sched.started {
		t.Fatal("the schedule has not started after a round")
	}
	failedAt, failed := h.failOneRequest()
	h.runUntil(failedAt.Add(30*time.Second + gap)) // the retry's time, and at most one request ahead of it
	for _, tg := range h.poller.targets {
		if tg.targetKey == failed.targetKey && !tg.lastSuccess.After(failedAt) {
			t.Errorf("%s after its failure, the failed target %s still has no figures", 30*time.Second+gap, tg.phone)
		}
	}
	end := failedAt.Add(rr)
	h.runUntil(end)
	for _, tg := range h.poller.targets {
		if age, own := end.Sub(tg.lastSuccess), tg.own(rr); !tg.lastOK || age > own+15*time.Minute {
			t.Errorf("%s: last success %s ago (ok %v), want within its interval %s and a window", tg.phone, age, tg.lastOK, own)
		}
	}
}

// At midnight every day target is due at once: they go in the order their
// own intervals end, so that none waits more than 3 x round-robin (in
// these accounts at most 1.8 x; busy ones first, as with the shorter
// interval first, made it up to 2.4 x).
func TestSquareRootScheduleAcrossMidnight(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	for _, c := range []struct {
		numbers, dormant int
		start            time.Time
	}{
		{60, 6, time.Date(2026, 11, 24, 19, 0, 0, 0, ny)},
		{40, 26, time.Date(2026, 11, 24, 20, 17, 0, 0, ny)},
		{20, 46, time.Date(2026, 11, 24, 18, 33, 0, 0, ny)},
	} {
		phones, list := manyPhones(c.numbers + c.dormant)
		daily := map[string]float64{}
		for i, p := range phones {
			if i < c.numbers {
				daily[p] = 3000 / float64(i+1)
			}
		}
		h := newHarness(t, c.start, simulator.Options{Seed: 3, Accounts: []simulator.Account{{Tool: voicetrends.ToolDev, Login: testLogin, Password: testPassword, Phones: phones, DailyCalls: daily}}},
			list+"    periods: [day]\n    requests_per_window: 20\n")
		rr := h.poller.interval
		from, to := c.start.Add(2*rr), time.Date(2026, 11, 25, 4, 0, 0, 0, ny)
		h.runUntil(to)
		worst := time.Duration(0)
		for _, phone := range phones {
			last := from
			for _, at := range append(h.requestTimes(phone, voicetrends.PeriodDay), to) {
				if at.After(from) {
					worst = max(worst, at.Sub(last))
				}
				if at.After(last) {
					last = at
				}
			}
		}
		t.Logf("%d+%d from %s: worst %.2f rr", c.numbers, c.dormant, c.start.Format(time.TimeOnly), worst.Seconds()/rr.Seconds())
		if worst > maxStretch*rr {
			t.Errorf("%d numbers and %d dormant from %s: a target waited %s, more than %d x round-robin %s", c.numbers, c.dormant, c.start.Format(time.TimeOnly), worst, maxStretch, rr)
		}
	}
}
