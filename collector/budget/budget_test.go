package budget

import (
	"context"
	"testing"
	"time"

	"github.com/voicetrends/voicetrends_exporter/voicetrends"
	"github.com/voicetrends/voicetrends_exporter/voicetrends/clock"
)

var start = time.Date(2026, 11, 26, 9, 3, 0, 0, time.UTC)

func unknown() voicetrends.RateLimit { return voicetrends.RateLimit{Limit: -1, Remaining: -1} }

// countPerWindow spends the budget as fast as it allows until end and counts
// the requests in each clock-aligned window.
func countPerWindow(t *testing.T, b *Budget, clk *clock.Manual, end time.Time) map[time.Time]int {
	t.Helper()
	counts := map[time.Time]int{}
	for clk.Now().Before(end) {
		if err := b.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
		if clk.Now().Before(end) {
			counts[b.windowOf(clk.Now())]++
		}
		b.Observe(unknown(), 200)
	}
	return counts
}

func TestNeverOverspendsAndUsesMostOfIt(t *testing.T) {
	for _, c := range []struct {
		perWindow int
		window    time.Duration
	}{{100, 15 * time.Minute}, {150, 15 * time.Minute}, {10, 5 * time.Second}, {1, time.Minute}, {7, 3 * time.Second}} {
		clk := clock.NewManual(start)
		b := New(c.perWindow, c.window, clk)
		first := b.windowOf(start).Add(c.window) // judge only whole windows
		counts := countPerWindow(t, b, clk, first.Add(4*c.window))
		for w := first; w.Before(first.Add(4 * c.window)); w = w.Add(c.window) {
			n := counts[w]
			if n > c.perWindow {
				t.Errorf("%d/%s: window %s spent %d", c.perWindow, c.window, w.Format(time.TimeOnly), n)
			}
			if float64(n) < 0.9*float64(c.perWindow) {
				t.Errorf("%d/%s: window %s spent only %d", c.perWindow, c.window, w.Format(time.TimeOnly), n)
			}
		}
	}
}

func TestStartUpBurstThenEvenSpread(t *testing.T) {
	clk := clock.NewManual(start)
	b := New(100, 15*time.Minute, clk)
	for i := 0; i < Burst(100); i++ {
		if d, _ := b.Delay(); d != 0 {
			t.Fatalf("request %d of the burst must wait %s", i, d)
		}
		if err := b.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	d, why := b.Delay()
	if want := 9 * time.Second; d != want || why != "spreading requests evenly" {
		t.Errorf("after the burst: delay %s (%s), want %s", d, why, want)
	}
}

func TestObserve(t *testing.T) {
	reset := start.Add(7 * time.Minute)
	for _, c := range []struct {
		name      string
		rl        voicetrends.RateLimit
		code      int
		wantDelay time.Duration
	}{
		{"plenty left", voicetrends.RateLimit{Limit: 150, Remaining: 80, Reset: reset}, 200, 0},
		{"unknown headers", unknown(), 200, 0},
		{"just above the reserve", voicetrends.RateLimit{Limit: 150, Remaining: 9, Reset: reset}, 200, 0},
		{"at the reserve", voicetrends.RateLimit{Limit: 150, Remaining: 8, Reset: reset}, 200, 7 * time.Minute},
		{"429 waits for its reset", voicetrends.RateLimit{Limit: 150, Remaining: 0, Reset: reset}, 429, 7 * time.Minute},
		{"429 without reset waits for the window's end", unknown(), 429, 12 * time.Minute},
		{"429 with a stale reset waits for the window's end", voicetrends.RateLimit{Limit: 150, Remaining: 0, Reset: start.Add(-time.Minute)}, 429, 12 * time.Minute},
	} {
		clk := clock.NewManual(start)
		b := New(100, 15*time.Minute, clk)
		if err := b.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
		b.Observe(c.rl, c.code)
		if d, why := b.Delay(); d != c.wantDelay {
			t.Errorf("%s: delay %s (%s), want %s", c.name, d, why, c.wantDelay)
		}
	}
}

func TestWaitHonoursContext(t *testing.T) {
	b := New(1, time.Hour, clock.Real{})
	if err := b.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := b.Wait(ctx); err == nil {
		t.Error("Wait on a spent budget with a cancelled context returned nil")
	}
}
