package collector

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/voicetrends/voicetrends_exporter/voicetrends"
	"github.com/voicetrends/voicetrends_exporter/voicetrends/simulator"
)

func TestRetryAfter(t *testing.T) {
	for _, c := range []struct {
		failures int
		interval time.Duration
		want     time.Duration
	}{
		{0, 5 * time.Minute, 5 * time.Minute},
		{1, 5 * time.Minute, 30 * time.Second},
		{2, 5 * time.Minute, time.Minute},
		{4, 5 * time.Minute, 4 * time.Minute},
		{5, 5 * time.Minute, 5 * time.Minute},
		{9, 7*time.Hour + 30*time.Minute, 128 * time.Minute},
		{64, 7*time.Hour + 30*time.Minute, 7*time.Hour + 30*time.Minute},
	} {
		if got := retryAfter(c.failures, c.interval); got != c.want {
			t.Errorf("retryAfter(%d, %s) = %s, want %s", c.failures, c.interval, got, c.want)
		}
	}
}

// Retries spend at most a tenth of requests_per_window per window, at least one.
func TestRetryPacerShare(t *testing.T) {
	now := time.Date(2026, 11, 26, 14, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		perWindow, share int
	}{{100, 10}, {63, 6}, {5, 1}} {
		p := newRetryPacer(c.perWindow, 15*time.Minute)
		for i := range c.share {
			if res, d := p.take(now); res == nil {
				t.Fatalf("%d per window: retry %d of the share of %d refused for %s", c.perWindow, i+1, c.share, d)
			}
		}
		if res, d := p.take(now); res != nil || d != 15*time.Minute/time.Duration(c.share) {
			t.Errorf("%d per window: a retry beyond the share waits %s, want %s", c.perWindow, d, 15*time.Minute/time.Duration(c.share))
		}
	}
}

// failOneRequest steps the poller until one request is answered 500, and
// returns when, and the target it failed; the API is well again after it.
func (h *harness) failOneRequest() (time.Time, target) {
	h.t.Helper()
	h.sim.SetFaults(simulator.Faults{ServerErrorRate: 1})
	for h.sim.Stats(testLogin).ServerErrors == 0 {
		if wait := h.poller.step(context.Background()); wait > 0 {
			h.clock.Advance(wait)
		}
	}
	h.sim.SetFaults(simulator.Faults{})
	return h.clock.Now(), h.failedTarget(h.clock.Now())
}

// failedTarget returns the target whose request failed at at.
func (h *harness) failedTarget(at time.Time) target {
	h.t.Helper()
	for _, t := range h.poller.targets {
		if t.lastAttempt.Equal(at) && !t.lastOK {
			return t
		}
	}
	h.t.Fatalf("no target failed at %s", at.Format(time.TimeOnly))
	return target{}
}

// A target whose request failed is tried again 30 s later, and gets its
// figures from that retry once the API answers again, while every other
// target keeps its 5-minute pace.
func TestFailedTargetRetriedSoon(t *testing.T) {
	start := time.Date(2026, 11, 26, 14, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name          string
		fail, recover func(h *harness)
	}{
		{"timeout", func(h *harness) { h.sim.SetFaults(simulator.Faults{Latency: time.Minute}) }, func(h *harness) { h.sim.SetFaults(simulator.Faults{}) }},
		{"500", func(h *harness) { h.sim.SetFaults(simulator.Faults{ServerErrorRate: 1}) }, func(h *harness) { h.sim.SetFaults(simulator.Faults{}) }},
		{"connection refused", (*harness).serverDown, (*harness).serverUp},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHarnessOn(t, start, simulator.Options{Seed: 3}, manyTargets+"    periods: [day]\n    refresh_interval: 5m\n",
				network{timeout: time.Second})
			h.refreshAll() // every target at start, in the start-up burst
			turn := start.Add(5 * time.Minute)
			h.runUntil(turn)
			c.fail(h)
			h.poller.step(context.Background())
			failed := h.failedTarget(turn)
			c.recover(h)
			h.runUntil(turn.Add(time.Minute))
			for _, tg := range h.poller.targets {
				if tg.targetKey == failed.targetKey && (!tg.lastOK || !tg.lastSuccess.After(turn)) {
					t.Fatalf("a minute after the failure, no figures (last success %s)", tg.lastSuccess.Format(time.TimeOnly))
				}
			}
			h.runUntil(start.Add(12 * time.Minute))

			var healthy int
			for _, tg := range h.poller.targets {
				got := fmt.Sprint(h.requestTimes(tg.phone, tg.period))
				if tg.targetKey == failed.targetKey {
					retried := h.requestTimes(tg.phone, tg.period)
					retried = retried[len(retried)-2:] // the retry, then its next turn
					if gap := retried[0].Sub(turn); gap > time.Minute {
						t.Errorf("retried %s after the failure, want within 60 s (requests at %s)", gap, got)
					}
					if want := retried[0].Add(5 * time.Minute); !retried[1].Equal(want) {
						t.Errorf("after the retry, next refresh at %s, want its interval later, %s", retried[1].Format(time.TimeOnly), want.Format(time.TimeOnly))
					}
					continue
				}
				healthy++
				if want := fmt.Sprint([]time.Time{start, turn, turn.Add(5 * time.Minute)}); got != want {
					t.Errorf("%s: requests at %s, want every 5 minutes: %s", tg.phone, got, want)
				}
			}
			if healthy != 6 {
				t.Errorf("%d healthy targets, want 6", healthy)
			}
			if up := h.series("voicetrends_up")["account=acme"]; up != 1 {
				t.Errorf("voicetrends_up = %v after the recovery, want 1", up)
			}
		})
	}
}

// manyPhones returns n numbers of the simulator's account and their YAML list.
func manyPhones(n int) ([]string, string) {
	var phones, quoted []string
	for i := range n {
		p := fmt.Sprintf("6175550%03d", i)
		phones = append(phones, p)
		quoted = append(quoted, fmt.Sprintf("%q", p))
	}
	return phones, "    phones: [" + strings.Join(quoted, ", ") + "]\n"
}

// With 200 targets at 20 requests per 15 minutes the interval stretches to
// 2.5 hours; a target whose request failed still gets its figures a minute
// later, and the others are held up by no more than the one request the
// retry took (which may move a turn to the next window).
func TestStretchedIntervalRecoversInMinutes(t *testing.T) {
	start := time.Date(2026, 11, 26, 6, 0, 0, 0, time.UTC)
	phones, list := manyPhones(200)
	h := newHarness(t, start, simulator.Options{Seed: 3, Accounts: []simulator.Account{{Tool: voicetrends.ToolDev, Login: testLogin, Password: testPassword, Phones: phones}}},
		// Every target within the interval: the schedule of this test is round-robin's.
		list+"    periods: [day]\n    requests_per_window: 20\n    refresh_interval: 5m\n    schedule: round_robin\n")
	interval := h.poller.interval
	if interval != 150*time.Minute {
		t.Fatalf("effective interval %s, want 2h30m", interval)
	}
	gap := 15 * time.Minute / 20 // between two requests of the budget
	h.refreshAll()
	// The start-up burst puts the second round 9 requests behind: judge the third.
	h.runUntil(start.Add(2*interval + time.Hour))
	failedAt, failed := h.failOneRequest()
	end := failedAt.Add(interval)
	for h.clock.Now().Before(end) {
		if wait := h.poller.step(context.Background()); wait > 0 {
			h.clock.Advance(wait)
		}
		if !h.clock.Now().Before(failedAt.Add(30*time.Second + gap)) { // the retry's time, and at most one request ahead of it
			for _, tg := range h.poller.targets {
				if tg.targetKey == failed.targetKey && !tg.lastOK {
					t.Fatalf("at %s, %s after the failure, the failed target still has no figures", h.clock.Now().Format(time.TimeOnly), h.clock.Now().Sub(failedAt))
				}
			}
		}
	}
	// The retry took one request of a window that the turns needed whole:
	// one turn moves to the next window.
	worst := time.Duration(0)
	for _, tg := range h.poller.targets {
		age := end.Sub(tg.lastSuccess)
		worst = max(worst, age)
		if !tg.lastOK || age > interval+15*time.Minute {
			t.Errorf("%s: last success %s ago (ok %v), want within the interval and the window the retry's request may cost", tg.phone, age, tg.lastOK)
		}
	}
	t.Logf("an interval after the failure, the oldest figures are %s old (interval %s)", worst, interval)
}

// A target that keeps failing backs off 30 s, 1, 2, 4 minutes and then
// takes its turn every interval like the others, which keep their pace.
func TestFailingTargetBacksOffToItsInterval(t *testing.T) {
	start := time.Date(2026, 11, 26, 14, 0, 0, 0, time.UTC)
	h := newHarness(t, start, simulator.Options{Seed: 3}, manyTargets+"    periods: [day]\n    refresh_interval: 5m\n")
	h.sim.SetFaults(simulator.Faults{ServerErrorPhone: "6175550102"})
	h.runUntil(start.Add(time.Hour))
	for _, tg := range h.poller.targets {
		times := h.requestTimes(tg.phone, tg.period)
		var gaps []time.Duration
		for i := 1; i < len(times); i++ {
			gaps = append(gaps, times[i].Sub(times[i-1]))
		}
		want := []time.Duration{}
		for len(want) < len(gaps) {
			if tg.phone == "6175550102" {
				want = append(want, min(30*time.Second<<len(want), 5*time.Minute))
			} else {
				want = append(want, 5*time.Minute)
			}
		}
		if fmt.Sprint(gaps) != fmt.Sprint(want) || len(gaps) < 10 {
			t.Errorf("%s: gaps between requests %v, want %v", tg.phone, gaps, want)
		}
	}
	if failing, healthy := len(h.requestTimes("6175550102", "day")), len(h.requestTimes("ALL", "day")); failing > healthy+4 {
		t.Errorf("the failing target sent %d requests in the hour, a healthy one %d: want at most the 4 of its back-off more", failing, healthy)
	}
}

// Retries spend at most a tenth of the budget: with every period of one
// number failing in an account that needs its whole budget, the other
// targets keep their pace within that tenth.
func TestRetriesKeepToTheirShare(t *testing.T) {
	start := time.Date(2026, 11, 26, 14, 0, 0, 0, time.UTC)
	// 21 targets every 5 minutes need 63 requests per 15 minutes: all of it.
	h := newHarness(t, start, simulator.Options{Seed: 3}, manyTargets+"    requests_per_window: 63\n    refresh_interval: 5m\n")
	if h.poller.interval != 5*time.Minute {
		t.Fatalf("interval %s, want 5m", h.poller.interval)
	}
	h.refreshAll()
	h.sim.SetFaults(simulator.Faults{ServerErrorPhone: "6175550102"})
	h.runUntil(start.Add(2 * time.Hour))
	st := h.sim.Stats(testLogin)
	for w, n := range st.DataServed {
		if n > 63 {
			t.Errorf("window %s: %d requests, want at most 63", w.Format(time.TimeOnly), n)
		}
	}
	// In 2 hours a target's share is 24 refreshes (the first at the start).
	for _, tg := range h.poller.targets {
		times := h.requestTimes(tg.phone, tg.period)
		worst := time.Duration(0)
		for i := 1; i < len(times); i++ {
			worst = max(worst, times[i].Sub(times[i-1]))
		}
		t.Logf("%s %s: %d requests, %s apart at worst", tg.phone, tg.period, len(times), worst)
		switch {
		case tg.phone == "6175550102" && len(times) > 24+1+4:
			t.Errorf("%s %s, failing: %d requests, want at most its share of 25 and the 4 of its back-off", tg.phone, tg.period, len(times))
		case tg.phone != "6175550102" && len(times) < 23:
			t.Errorf("%s %s: %d requests, want at least 9 tenths of its share of 25", tg.phone, tg.period, len(times))
		}
	}
}
