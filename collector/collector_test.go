package collector

import (
	"fmt"
	"testing"
	"time"

	"github.com/voicetrends/voicetrends_exporter/internal/metric"
	"github.com/voicetrends/voicetrends_exporter/voicetrends"
	"github.com/voicetrends/voicetrends_exporter/voicetrends/simulator"
)

// wantFigures is what /metrics must show, computed from the simulator's
// ground truth and the documented unit conversions, not from the collector.
func wantFigures(h *harness, loc *time.Location, phones []string) map[string]map[string]float64 {
	conversions := []struct {
		metric  string
		figure  voicetrends.Figure
		convert func(float64) float64
	}{
		{"voicetrends_calls", voicetrends.Calls, func(v float64) float64 { return v }},
		{"voicetrends_call_seconds", voicetrends.CallMinutes, func(v float64) float64 { return v * 60 }},
		{"voicetrends_transfers", voicetrends.Transfers, func(v float64) float64 { return v }},
		{"voicetrends_transfer_seconds", voicetrends.TransferMinutes, func(v float64) float64 { return v * 60 }},
		{"voicetrends_transfer_ratio", voicetrends.TransferRate, func(v float64) float64 { return v / 100 }},
		{"voicetrends_average_call_length_seconds", voicetrends.AverageCallLength, func(v float64) float64 { return v }},
	}
	want := map[string]map[string]float64{"voicetrends_period_start_timestamp_seconds": {}}
	for _, c := range conversions {
		want[c.metric] = map[string]float64{}
	}
	today := voicetrends.DateIn(h.clock.Now(), loc)
	for _, phone := range phones {
		for _, period := range voicetrends.Periods {
			cur := h.sim.Bucket(testLogin, phone, period, today)
			prev := h.sim.Bucket(testLogin, phone, period, voicetrends.DateIn(cur.Start, loc).AddDays(-1))
			for w, b := range map[string]voicetrends.Bucket{metric.Current: cur, metric.Previous: prev} {
				key := fmt.Sprintf("account=acme,period=%s,phone=%s,window=%s", period, phone, w)
				want["voicetrends_period_start_timestamp_seconds"][key] = float64(b.Start.Unix())
				for _, c := range conversions {
					if v, ok := b.Get(c.figure); ok {
						want[c.metric][key] = c.convert(v)
					}
				}
			}
		}
	}
	return want
}

func TestFiguresEqualTheSimulators(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	for _, c := range []struct {
		name   string
		now    time.Time
		faults simulator.Faults
		week   time.Weekday
	}{
		{"afternoon", time.Date(2026, 11, 26, 15, 30, 0, 0, ny), simulator.Faults{}, time.Sunday},
		{"PHP quirks", time.Date(2026, 11, 26, 15, 30, 0, 0, ny), simulator.Faults{EmptyAsArray: true, NumbersAsStrings: true}, time.Sunday},
		{"just after midnight, no calls yet today", time.Date(2026, 11, 26, 0, 0, 30, 0, ny), simulator.Faults{EmptyAsArray: true}, time.Sunday},
		{"weeks start on Monday", time.Date(2026, 11, 26, 15, 30, 0, 0, ny), simulator.Faults{}, time.Monday},
		{"first of the month", time.Date(2026, 12, 1, 9, 0, 0, 0, ny), simulator.Faults{}, time.Sunday},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, c.now, simulator.Options{Seed: 7, WeekStart: c.week}, "    phones: [ALL, \"6175550100\", \"+16175550101\"]\n    refresh_interval: 1h\n    max_data_age: 2h\n")
			h.sim.SetFaults(c.faults)
			h.refreshAll()
			want := wantFigures(h, ny, []string{"ALL", "6175550100", "+16175550101"})
			absent := 0
			for metric, series := range want {
				got := h.series(metric)
				if len(got) != len(series) {
					t.Errorf("%s: %d series, want %d", metric, len(got), len(series))
				}
				for key, v := range series {
					if g, ok := got[key]; !ok || g != v {
						t.Errorf("%s{%s} = %v (present %v), want %v", metric, key, g, ok, v)
					}
				}
				absent += 2*3*3 - len(series)
			}
			if c.name == "just after midnight, no calls yet today" && absent == 0 {
				t.Error("expected absent figures on a day with no calls yet; the test proves nothing about absence")
			}
			if up := h.series("voicetrends_up")["account=acme"]; up != 1 {
				t.Errorf("voicetrends_up = %v, want 1", up)
			}
		})
	}
}
