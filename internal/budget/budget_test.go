package budget

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/voicetrends/voicetrends_exporter/internal/clock"
	"github.com/voicetrends/voicetrends_exporter/voicetrends"
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

// dated is an answer's Date header for the API's clock reading t.
func dated(t time.Time) http.Header { return http.Header{"Date": {t.UTC().Format(http.TimeFormat)}} }

// With the API's clock 4 s ahead or behind, every window of the API's clock
// gets at most the budget, and most of it: at 150 the API's reserve holds
// the budget until the API's reset, and a burst follows.
func TestWindowsOnTheAPIClock(t *testing.T) {
	for _, skew := range []time.Duration{4 * time.Second, -4 * time.Second, 0} {
		for _, perWindow := range []int{100, 150} {
			const window = 15 * time.Minute
			clk := clock.NewManual(start)
			b := New(perWindow, window, clk)
			api := func() time.Time { return clk.Now().Add(skew + 300*time.Millisecond) } // the API's clock
			counts := map[time.Time]int{}
			first, _ := voicetrends.AlignedWindow(api(), window)
			first = first.Add(window)
			end := first.Add(4 * window)
			for clk.Now().Before(end) {
				if err := b.Wait(context.Background()); err != nil {
					t.Fatal(err)
				}
				ws, we := voicetrends.AlignedWindow(api(), window)
				counts[ws]++
				b.APIClock().Observe(clk.Now(), clk.Now(), dated(api()))
				b.Observe(voicetrends.RateLimit{Limit: 150, Remaining: 150 - counts[ws], Reset: we}, 200) // as the API counts
			}
			var got []int
			for w := first; w.Before(end); w = w.Add(window) {
				got = append(got, counts[w])
				if n := counts[w]; n > perWindow || float64(n) < 0.9*float64(perWindow) {
					t.Errorf("API %s: window %s of the API's clock got %d requests, want at most %d and at least 90%%", skew, w.Format(time.TimeOnly), n, perWindow)
				}
			}
			t.Logf("API %s, %d per window: %v", skew, perWindow, got)
		}
	}
}

// A reset the API announces is on its clock: with the API 4 s behind, the
// wait ends 4 s after the exporter's clock shows the reset time.
func TestResetOnTheAPIClock(t *testing.T) {
	for _, skew := range []time.Duration{-4 * time.Second, 4 * time.Second} {
		local := time.Date(2026, 11, 26, 9, 14, 50, 0, time.UTC)
		clk := clock.NewManual(local)
		b := New(100, 15*time.Minute, clk)
		b.APIClock().Observe(local, local, dated(local.Add(skew)))
		if err := b.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
		reset := time.Date(2026, 11, 26, 9, 15, 0, 0, time.UTC) // the API's window ends at 09:15:00 by its clock
		b.Observe(voicetrends.RateLimit{Limit: 150, Remaining: 0, Reset: reset}, 429)
		want := reset.Sub(local.Add(skew))
		if d, why := b.Delay(); d != want {
			t.Errorf("API %s: delay %s (%s), want %s: until the reset on the API's clock", skew, d, why, want)
		}
	}
}

// A request that might reach the API on either side of the edge of its
// window waits until it cannot reach it before: the offset's uncertainty
// (the Date header's second) and a round trip.
func TestClearOfTheEdge(t *testing.T) {
	edge := time.Date(2026, 11, 26, 9, 15, 0, 0, time.UTC)
	local := edge.Add(-1500 * time.Millisecond)
	clk := clock.NewManual(local)
	b := New(100, 15*time.Minute, clk)
	// Sent at local, answered 300 ms later, dated 09:14:58: the offset is in [-0.8s, +0.2s].
	b.APIClock().Observe(local, local.Add(300*time.Millisecond), dated(edge.Add(-2*time.Second)))
	clk.Advance(300 * time.Millisecond)
	// Now 09:14:58.8: a request may reach the API at 09:14:58.0 to 09:14:59.3 by its clock.
	if d, why := b.Delay(); d != 0 {
		t.Errorf("1.2 s before the edge: delay %s (%s), want none", d, why)
	}
	clk.Advance(time.Second)
	// Now 09:14:59.8: it may reach the API between 09:14:59.0 and 09:15:00.3.
	if d, why := b.Delay(); d != time.Second || why != ClearOfTheEdge {
		t.Errorf("0.2 s before the edge: delay %s (%s), want 1s (%s)", d, why, ClearOfTheEdge)
	}
}
