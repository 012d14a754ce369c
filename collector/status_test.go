package collector

import (
	"slices"
	"testing"
	"time"

	"github.com/voicetrends/voicetrends_exporter/config"
	"github.com/voicetrends/voicetrends_exporter/voicetrends"
	"github.com/voicetrends/voicetrends_exporter/voicetrends/simulator"
)

// TestStatusDescribesTheAccount: what the status page shows of an account
// is what the exporter holds: its zone, numbers and periods, each target's
// next refresh, the age of the oldest figures, and each number's day
// figures, today's and yesterday's, equal to the simulator's; figures older
// than max_data_age are gone from the status as from /metrics.
func TestStatusDescribesTheAccount(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	for _, derive := range []bool{false, true} {
		yaml := "    phones: [ALL, \"+16175550101\"]\n    periods: [day, month]\n    refresh_interval: 10m\n    max_data_age: 1h\n    timezone: America/New_York\n"
		if derive {
			yaml += "    derive_periods: true\n    week_start: sunday\n"
		}
		start := time.Date(2026, 11, 26, 15, 30, 0, 0, ny)
		h := newHarness(t, start, simulator.Options{Seed: 7}, yaml)
		before := h.exporter.Status()[0]
		if before.Zone != "America/New_York" || before.Never != len(before.Targets) || !before.Oldest.IsZero() {
			t.Errorf("derive %v, before any refresh: %+v", derive, before)
		}
		for _, tg := range before.Targets {
			if !tg.NextRefresh.IsZero() {
				t.Errorf("derive %v: %s %s is due at %v before its first attempt, want at once", derive, tg.Phone, tg.Period, tg.NextRefresh)
			}
		}
		for _, n := range before.Numbers {
			if n.Today != nil || n.Yesterday != nil {
				t.Errorf("derive %v: %s has figures before any refresh", derive, n.Phone)
			}
		}
		h.refreshAll()
		st := h.exporter.Status()[0]
		if st.Zone != "America/New_York" || len(st.Phones) != 2 || st.Phones[1] != "+16175550101" || len(st.Periods) != 2 || st.Periods[0] != "day" || st.Periods[1] != "month" {
			t.Errorf("derive %v: zone %q, phones %v, periods %v", derive, st.Zone, st.Phones, st.Periods)
		}
		wantTargets := 4
		if derive {
			wantTargets = 2
		}
		if len(st.Targets) != wantTargets || st.Never != 0 || st.OK != wantTargets || st.Stale != 0 {
			t.Fatalf("derive %v: %d targets (%d never succeeded, %d ok, %d stale), want %d all ok", derive, len(st.Targets), st.Never, st.OK, st.Stale, wantTargets)
		}
		oldest := st.Targets[0].LastSuccess
		for _, tg := range st.Targets {
			if !tg.NextRefresh.Equal(tg.LastAttempt.Add(st.Plan.Interval)) {
				t.Errorf("derive %v: %s %s next refresh %v, want %v after its attempt at %v", derive, tg.Phone, tg.Period, tg.NextRefresh, st.Plan.Interval, tg.LastAttempt)
			}
			if tg.LastSuccess.Before(oldest) {
				oldest = tg.LastSuccess
			}
		}
		if !st.Oldest.Equal(oldest) || oldest.IsZero() {
			t.Errorf("derive %v: oldest figures %v, want %v", derive, st.Oldest, oldest)
		}
		today := voicetrends.DateIn(h.clock.Now(), ny)
		if len(st.Numbers) != 2 || st.Numbers[0].Phone != "ALL" || st.Numbers[1].Phone != "+16175550101" {
			t.Fatalf("derive %v: numbers %+v, want ALL and +16175550101", derive, st.Numbers)
		}
		for _, n := range st.Numbers {
			for day, got := range map[voicetrends.Date]*voicetrends.Bucket{today: n.Today, today.AddDays(-1): n.Yesterday} {
				want := h.sim.Bucket(testLogin, n.Phone, voicetrends.PeriodDay, day)
				if got == nil {
					t.Errorf("derive %v: %s holds no bucket of %v", derive, n.Phone, day)
					continue
				}
				for _, f := range []voicetrends.Figure{voicetrends.Calls, voicetrends.Transfers, voicetrends.TransferRate} {
					g, gok := got.Get(f)
					w, wok := want.Get(f)
					if g != w || gok != wok || !wok {
						t.Errorf("derive %v: %s %v %s = %v (%v), want %v (%v)", derive, n.Phone, day, f.Key(), g, gok, w, wok)
					}
				}
			}
		}
		// Past max_data_age without a refresh: nothing held any more.
		h.sim.SetFaults(simulator.Faults{ServerErrorRate: 1})
		h.runUntil(start.Add(2 * time.Hour))
		late := h.exporter.Status()[0]
		for _, n := range late.Numbers {
			if n.Today != nil || n.Yesterday != nil {
				t.Errorf("derive %v: %s still shows figures past max_data_age", derive, n.Phone)
			}
		}
		if late.Stale != wantTargets || late.OK != 0 {
			t.Errorf("derive %v: past max_data_age, %d stale and %d ok targets, want %d and 0", derive, late.Stale, late.OK, wantTargets)
		}
	}
}

// TestStatusInConfiguredOrder: the status lists accounts as the file does,
// not by name, and a reload that reorders them reorders the status.
func TestStatusInConfiguredOrder(t *testing.T) {
	now := time.Date(2026, 12, 6, 14, 15, 0, 0, time.UTC)
	names := func(e *Exporter) []string {
		var out []string
		for _, st := range e.Status() {
			out = append(out, st.Name)
		}
		return out
	}
	e, _, _ := closedExporter(t, now, "    name: zulu\n", "    name: alpha\n", "    name: mike\n")
	if got := names(e); !slices.Equal(got, []string{"zulu", "alpha", "mike"}) {
		t.Errorf("status order %v, want zulu, alpha, mike as configured", got)
	}
	cfg, err := config.Parse([]byte("accounts:\n  - {name: mike, tool: dev, login: l, password: p}\n  - {name: zulu, tool: dev, login: l, password: p}\n"), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Apply(cfg); err != nil {
		t.Fatal(err)
	}
	if got := names(e); !slices.Equal(got, []string{"mike", "zulu"}) {
		t.Errorf("status order after a reload %v, want mike, zulu", got)
	}
}
