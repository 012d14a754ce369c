package collector

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/voicetrends/voicetrends_exporter/voicetrends/simulator"
)

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
