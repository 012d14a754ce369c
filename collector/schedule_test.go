package collector

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

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
	h.runUntil(to)

	f := zipfFigures{perWin: h.cfg.Accounts[0].RequestsPerWindow, least: math.MaxInt}
	span := to.Sub(from)
	mean := func(phone string) (time.Duration, time.Duration) {
		var n int
		longest, last := time.Duration(0), from
		for _, at := range h.requestTimes(phone, voicetrends.PeriodDay) {
			if at.Before(from) || !at.Before(to) {
				continue
			}
			n++
			longest, last = max(longest, at.Sub(last)), at
		}
		longest = max(longest, to.Sub(last))
		if n == 0 {
			return span * 1000, longest
		}
		return span / time.Duration(n), longest
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
	t.Logf("gain %.3f (optimum %.3f), busiest %.1fx, ALL %.1fx, longest wait %.2fx, requests per window %d..%d, 429s %d",
		f.gain, f.optimum, f.busiest, f.all, f.longest, f.least, f.most, f.limited)
	if f.gain > 0.65 {
		t.Errorf("call-weighted mean interval %.3f x round-robin, want at most 0.65", f.gain)
	}
	if f.busiest < 5 || f.all < 5 {
		t.Errorf("busiest number refreshed %.1fx and ALL %.1fx as often as round-robin, want at least 5x", f.busiest, f.all)
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
