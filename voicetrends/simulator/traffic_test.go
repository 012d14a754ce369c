package simulator

import (
	"math"
	"testing"
	"time"

	"github.com/voicetrends/voicetrends_exporter/internal/clock"
	"github.com/voicetrends/voicetrends_exporter/voicetrends"
)

func mustLoc(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func date(y int, m time.Month, d int) voicetrends.Date {
	return voicetrends.Date{Year: y, Month: m, Day: d}
}

func get(b voicetrends.Bucket, f voicetrends.Figure) float64 {
	v, _ := b.Get(f)
	return v
}

// demoSim is a simulator of the demo accounts whose clock stands at now.
func demoSim(now time.Time, opts Options) (*Simulator, *clock.Manual) {
	c := clock.NewManual(now)
	opts.Accounts = DemoAccounts()
	opts.Now = c.Now
	if opts.Seed == 0 {
		opts.Seed = 42
	}
	return New(opts), c
}

func TestFiguresConsistent(t *testing.T) {
	ny := mustLoc(t, "America/New_York")
	sim, _ := demoSim(time.Date(2024, 6, 15, 14, 37, 0, 0, ny), Options{})
	var calls, transfers, callMin float64
	nonZero := 0
	for _, acct := range DemoAccounts() {
		phones := append([]string{voicetrends.AllPhones}, acct.Phones...)
		for _, phone := range phones {
			for _, period := range voicetrends.Periods {
				for d := date(2024, 3, 1); !d.After(date(2024, 6, 16)); d = d.AddDays(1) {
					b := sim.Bucket(acct.Login, phone, period, d)
					c, tr, cm := get(b, voicetrends.Calls), get(b, voicetrends.Transfers), get(b, voicetrends.CallMinutes)
					for _, f := range []voicetrends.Figure{voicetrends.Calls, voicetrends.CallMinutes, voicetrends.Transfers, voicetrends.TransferMinutes} {
						if !sent(b, f) {
							t.Fatalf("%s %s %s %s: %s absent", acct.Login, phone, period, d, f.Key())
						}
					}
					if c != math.Trunc(c) || tr != math.Trunc(tr) || c < 0 || tr < 0 || tr > c {
						t.Fatalf("%s %s %s %s: calls %v transfers %v", acct.Login, phone, period, d, c, tr)
					}
					if c == 0 {
						if sent(b, voicetrends.TransferRate) || sent(b, voicetrends.AverageCallLength) {
							t.Fatalf("%s %s %s %s: ratios present with no calls", acct.Login, phone, period, d)
						}
						continue
					}
					nonZero++
					if cm < c*10/60-0.05 { // calls last at least 10 s
						t.Fatalf("%s %s: %v calls in %v minutes", acct.Login, d, c, cm)
					}
					if got, want := get(b, voicetrends.TransferRate), round1(100*tr/c); got != want {
						t.Fatalf("%s %s: transfer_rate %v, want %v", acct.Login, d, got, want)
					}
					if got, want := get(b, voicetrends.AverageCallLength), round1(cm*60/c); got != want {
						t.Fatalf("%s %s: average_call_length %v, want %v", acct.Login, d, got, want)
					}
					for _, f := range []voicetrends.Figure{voicetrends.CallMinutes, voicetrends.TransferMinutes} {
						if v := get(b, f); v != round1(v) {
							t.Fatalf("%s %s: %s %v has more than one decimal", acct.Login, d, f.Key(), v)
						}
					}
					if phone != voicetrends.AllPhones && period == voicetrends.PeriodDay {
						calls, transfers, callMin = calls+c, transfers+tr, callMin+cm
					}
				}
			}
		}
	}
	if nonZero < 1000 {
		t.Fatalf("only %d buckets with calls", nonZero)
	}
	if share := transfers / calls; share < 0.05 || share > 0.25 {
		t.Errorf("transfer share %.3f outside 5-25%%", share)
	}
	if avg := callMin * 60 / calls; avg < 60 || avg > 400 {
		t.Errorf("average call length %.1f s implausible", avg)
	}
	if perDay := calls / 5 / 107; perDay < 20 || perDay > 2000 {
		t.Errorf("%.0f calls per number per day implausible", perDay)
	}
}

func TestDSTDayBuckets(t *testing.T) {
	tests := []struct {
		zone  string
		day   voicetrends.Date
		hours int
	}{
		{"America/New_York", date(2024, 3, 10), 23},
		{"America/New_York", date(2024, 11, 3), 25},
		{"America/New_York", date(2024, 6, 1), 24},
		{"Europe/London", date(2024, 3, 31), 23},
		{"Europe/London", date(2024, 10, 27), 25},
	}
	for _, tt := range tests {
		t.Run(tt.zone+"/"+tt.day.String(), func(t *testing.T) {
			loc := mustLoc(t, tt.zone)
			acct := Account{Tool: voicetrends.ToolDev, Login: "dst", Password: "pw", Phones: []string{"+15550001"}, TimeZone: loc}
			c := clock.NewManual(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
			sim := New(Options{Accounts: []Account{acct}, Now: c.Now, Seed: 7})
			b := sim.Bucket("dst", "+15550001", voicetrends.PeriodDay, tt.day)
			start := time.Date(tt.day.Year, tt.day.Month, tt.day.Day, 0, 0, 0, 0, loc)
			if !b.Start.Equal(start) {
				t.Fatalf("start %v, want local midnight %v", b.Start, start)
			}
			next := sim.Bucket("dst", "+15550001", voicetrends.PeriodDay, tt.day.AddDays(1))
			if got := next.Start.Sub(b.Start); got != time.Duration(tt.hours)*time.Hour {
				t.Fatalf("day lasts %v, want %dh", got, tt.hours)
			}
			// The bucket holds exactly the calls of its tt.hours hours.
			n := sim.accounts[0].numbers["+15550001"]
			var sum tally
			for h := range tt.hours {
				from := start.Add(time.Duration(h) * time.Hour)
				sum.add(n.traffic(from, from.Add(time.Hour)))
			}
			if get(b, voicetrends.Calls) != float64(sum.calls) || sum.calls == 0 {
				t.Fatalf("bucket has %v calls, its %d hours %d", get(b, voicetrends.Calls), tt.hours, sum.calls)
			}
			want := sum.bucket(start)
			for _, f := range voicetrends.Figures {
				if get(b, f) != get(want, f) {
					t.Errorf("%s = %v, want %v", f.Key(), get(b, f), get(want, f))
				}
			}
		})
	}
}

func TestWeekStart(t *testing.T) {
	for _, ws := range []time.Weekday{time.Sunday, time.Monday, time.Wednesday} {
		t.Run(ws.String(), func(t *testing.T) {
			sim, _ := demoSim(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), Options{WeekStart: ws})
			for d := date(2024, 5, 1); d.Before(date(2024, 5, 15)); d = d.AddDays(1) {
				b := sim.Bucket("demo-support", "+18005550100", voicetrends.PeriodWeek, d)
				first := voicetrends.DateOf(b.Start)
				if first.Weekday() != ws || first.After(d) || first.DaysUntil(d) > 6 {
					t.Fatalf("week holding %s starts %s (%s), want the %s before", d, first, first.Weekday(), ws)
				}
				var sum float64
				for i := range 7 {
					sum += get(sim.Bucket("demo-support", "+18005550100", voicetrends.PeriodDay, first.AddDays(i)), voicetrends.Calls)
				}
				if got := get(b, voicetrends.Calls); got != sum || sum == 0 {
					t.Fatalf("week of %s: %v calls, days add up to %v", first, got, sum)
				}
			}
		})
	}
}

func TestMonthGrouping(t *testing.T) {
	sim, _ := demoSim(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), Options{})
	london := mustLoc(t, "Europe/London")
	days := map[time.Month]int{time.February: 29, time.March: 31, time.April: 30, time.October: 31}
	for m, n := range days {
		b := sim.Bucket("demo-sales", voicetrends.AllPhones, voicetrends.PeriodMonth, date(2024, m, 17))
		if want := time.Date(2024, m, 1, 0, 0, 0, 0, london); !b.Start.Equal(want) {
			t.Fatalf("%s: start %v, want %v", m, b.Start, want)
		}
		var calls, transfers float64
		for i := range n {
			d := sim.Bucket("demo-sales", voicetrends.AllPhones, voicetrends.PeriodDay, date(2024, m, 1+i))
			calls += get(d, voicetrends.Calls)
			transfers += get(d, voicetrends.Transfers)
		}
		if get(b, voicetrends.Calls) != calls || get(b, voicetrends.Transfers) != transfers || calls == 0 {
			t.Errorf("%s: month %v calls %v transfers, days add up to %v and %v", m,
				get(b, voicetrends.Calls), get(b, voicetrends.Transfers), calls, transfers)
		}
	}
}

func TestAllIsSumOfNumbers(t *testing.T) {
	sim, _ := demoSim(time.Date(2024, 8, 20, 16, 5, 0, 0, time.UTC), Options{})
	for _, acct := range DemoAccounts() {
		for _, period := range voicetrends.Periods {
			for _, d := range []voicetrends.Date{date(2024, 7, 1), date(2024, 8, 19), date(2024, 8, 20)} {
				all := sim.Bucket(acct.Login, voicetrends.AllPhones, period, d)
				var calls, transfers, minutes float64
				for _, p := range acct.Phones {
					b := sim.Bucket(acct.Login, p, period, d)
					calls += get(b, voicetrends.Calls)
					transfers += get(b, voicetrends.Transfers)
					minutes += get(b, voicetrends.CallMinutes)
				}
				if get(all, voicetrends.Calls) != calls || get(all, voicetrends.Transfers) != transfers || calls == 0 {
					t.Errorf("%s %s %s: ALL has %v calls %v transfers, numbers %v and %v", acct.Login, period, d,
						get(all, voicetrends.Calls), get(all, voicetrends.Transfers), calls, transfers)
				}
				// Minutes are rounded per bucket, so the sum may differ by the rounding.
				if diff := math.Abs(get(all, voicetrends.CallMinutes) - minutes); diff > 0.05*float64(len(acct.Phones))+1e-9 {
					t.Errorf("%s %s %s: ALL has %v minutes, numbers %v", acct.Login, period, d, get(all, voicetrends.CallMinutes), minutes)
				}
			}
		}
	}
	if b := sim.Bucket("demo-support", "+442079460000", voicetrends.PeriodDay, date(2024, 8, 1)); sent(b, voicetrends.Calls) {
		t.Error("another account's number has figures")
	}
	if b := sim.Bucket("nobody", voicetrends.AllPhones, voicetrends.PeriodDay, date(2024, 8, 1)); sent(b, voicetrends.Calls) {
		t.Error("an unknown login has figures")
	}
}

func TestTodayGrowsThroughTheDay(t *testing.T) {
	ny := mustLoc(t, "America/New_York")
	day := date(2024, 9, 10)
	midnight := day.Midnight(ny)
	sim, clk := demoSim(midnight, Options{})
	n := sim.accounts[0].numbers["+18005550100"]
	prev := -1.0
	for _, at := range []time.Duration{0, 9*time.Hour + 30*time.Minute, 12 * time.Hour, 17*time.Hour + 45*time.Minute, 24 * time.Hour, 30 * time.Hour} {
		clk.Set(midnight.Add(at))
		b := sim.Bucket("demo-support", "+18005550100", voicetrends.PeriodDay, day)
		want := n.traffic(midnight, midnight.Add(min(at, 24*time.Hour)))
		got := get(b, voicetrends.Calls)
		if got != float64(want.calls) {
			t.Fatalf("at %v: %v calls, want %d", at, got, want.calls)
		}
		if got < prev {
			t.Fatalf("at %v: calls fell from %v to %v", at, prev, got)
		}
		if at == 0 && (got != 0 || sent(b, voicetrends.TransferRate) || sent(b, voicetrends.AverageCallLength)) {
			t.Fatalf("at midnight: %v calls, rate present %v", got, sent(b, voicetrends.TransferRate))
		}
		if at == 12*time.Hour && got <= prev {
			t.Fatalf("no calls between 09:30 and 12:00 (%v)", got)
		}
		prev = got
	}
}

func TestDeterministicFromSeed(t *testing.T) {
	now := time.Date(2024, 10, 1, 0, 0, 0, 0, time.UTC)
	a, _ := demoSim(now, Options{Seed: 1})
	b, _ := demoSim(now, Options{Seed: 1})
	c, _ := demoSim(now, Options{Seed: 2})
	differ := 0
	for d := date(2024, 9, 1); d.Before(date(2024, 9, 11)); d = d.AddDays(1) {
		x := a.Bucket("demo-sales", voicetrends.AllPhones, voicetrends.PeriodDay, d)
		if y := b.Bucket("demo-sales", voicetrends.AllPhones, voicetrends.PeriodDay, d); !sameBucket(x, y) {
			t.Fatalf("%s: same seed, different buckets %+v and %+v", d, x, y)
		}
		if z := c.Bucket("demo-sales", voicetrends.AllPhones, voicetrends.PeriodDay, d); get(x, voicetrends.Calls) != get(z, voicetrends.Calls) {
			differ++
		}
	}
	if differ < 5 {
		t.Fatalf("another seed changed only %d of 10 days", differ)
	}
}

func sameBucket(x, y voicetrends.Bucket) bool {
	if !x.Start.Equal(y.Start) {
		return false
	}
	for _, f := range voicetrends.Figures {
		xv, xok := x.Get(f)
		yv, yok := y.Get(f)
		if xv != yv || xok != yok {
			return false
		}
	}
	return true
}

func BenchmarkYearOfDailyBuckets(b *testing.B) {
	sim, _ := demoSim(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), Options{})
	acct := sim.accounts[0]
	q := volumeQuery{start: date(2024, 1, 1), end: date(2024, 12, 31), period: voicetrends.PeriodDay, phone: voicetrends.AllPhones}
	for b.Loop() {
		sim.volumeBody(acct, q, sim.now(), Faults{})
	}
}

// sent reports whether the simulator sent figure f in b.
func sent(b voicetrends.Bucket, f voicetrends.Figure) bool {
	_, ok := b.Get(f)
	return ok
}

// DailyCalls gives a number its mean calls a day over a week; SetDailyCalls
// changes it, a dormant number coming alive.
func TestDailyCalls(t *testing.T) {
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	sim := New(Options{Seed: 7, Now: func() time.Time { return now }, Accounts: []Account{{
		Tool: voicetrends.ToolDev, Login: "zipf", Password: "p", Phones: []string{"100", "200", "300"},
		DailyCalls: map[string]float64{"100": 1000, "200": 0},
	}}})
	week := func(phone string) float64 {
		// Four whole weeks, starting on the simulator's Sunday.
		calls := 0.0
		for d := voicetrends.DateOf(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)); d.Before(voicetrends.DateOf(time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC))); d = d.AddDays(7) {
			calls += get(sim.Bucket("zipf", phone, voicetrends.PeriodWeek, d), voicetrends.Calls)
		}
		return calls / 28
	}
	for _, c := range []struct {
		phone    string
		min, max float64
	}{{"100", 950, 1050}, {"200", 0, 0}, {"300", 1, 1e6}} {
		if got := week(c.phone); got < c.min || got > c.max {
			t.Errorf("%s: %.1f calls a day, want %v to %v", c.phone, got, c.min, c.max)
		}
	}
	if !sim.SetDailyCalls("zipf", "200", 500) || sim.SetDailyCalls("zipf", "999", 1) {
		t.Fatal("SetDailyCalls: owned phone refused or unknown phone accepted")
	}
	if got := week("200"); got < 475 || got > 525 {
		t.Errorf("after SetDailyCalls 500: %.1f calls a day", got)
	}
}
