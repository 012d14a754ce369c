package voicetrends_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/voicetrends/voicetrends_exporter/voicetrends"
	"github.com/voicetrends/voicetrends_exporter/voicetrends/simulator"
)

func dated(t time.Time) http.Header {
	return http.Header{"Date": {t.UTC().Format(http.TimeFormat)}}
}

func TestAPIClockBounds(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 14, 0, 0, 0, time.UTC)
	ms := time.Millisecond
	type sample struct {
		sent, received time.Duration // after t0 on the client's clock
		api            time.Duration // the API's clock when it wrote Date, after t0
	}
	for _, c := range []struct {
		name    string
		samples []sample
		lo, hi  time.Duration
		rtt     time.Duration
	}{
		// Date 14:00:04 written at 14:00:00.2 local: the offset is in [4s-0.3s, 5s-0.1s].
		{"one answer", []sample{{100 * ms, 300 * ms, 4200 * ms}}, 3700 * ms, 4900 * ms, 200 * ms},
		// Answers at other fractions of a second narrow the bounds.
		{"narrowed", []sample{{100 * ms, 300 * ms, 4200 * ms}, {1950 * ms, 1970 * ms, 5960 * ms}, {3000 * ms, 3020 * ms, 7010 * ms}},
			3980 * ms, 4050 * ms, 200 * ms * 15 / 16 * 15 / 16},
		{"behind", []sample{{500 * ms, 510 * ms, -3495 * ms}, {1000 * ms, 1010 * ms, -2995 * ms}}, -4010 * ms, -3500 * ms, 10 * ms},
		// The API's clock was set back by a minute: the bounds start anew.
		{"clock set", []sample{{100 * ms, 300 * ms, 4200 * ms}, {2000 * ms, 2000 * ms, -58 * time.Second}}, -60 * time.Second, -59 * time.Second, 200 * ms * 15 / 16},
	} {
		var clk voicetrends.APIClock
		if _, _, ok := clk.Offset(); ok {
			t.Fatalf("%s: a new APIClock knows an offset", c.name)
		}
		for _, s := range c.samples {
			clk.Observe(t0.Add(s.sent), t0.Add(s.received), dated(t0.Add(s.api)))
		}
		lo, hi, ok := clk.Offset()
		if !ok || lo != c.lo || hi != c.hi {
			t.Errorf("%s: offset in [%s, %s] (known %v), want [%s, %s]", c.name, lo, hi, ok, c.lo, c.hi)
		}
		if got := clk.RoundTrip(); got != c.rtt {
			t.Errorf("%s: round trip %s, want %s", c.name, got, c.rtt)
		}
	}
	var clk voicetrends.APIClock
	clk.Observe(t0, t0.Add(ms), http.Header{"Date": {"yesterday"}})
	if _, _, ok := clk.Offset(); ok {
		t.Error("an unreadable Date taught an offset")
	}
}

// The client teaches its APIClock from the API's answers, not from a proxy's.
func TestClientLearnsTheAPIClock(t *testing.T) {
	now := time.Date(2026, 11, 26, 14, 0, 0, 400_000_000, time.UTC)
	for _, c := range []struct {
		name   string
		skew   time.Duration
		faults simulator.Faults
		known  bool
	}{
		{"4 s ahead", 4 * time.Second, simulator.Faults{}, true},
		{"4 s behind", -4 * time.Second, simulator.Faults{}, true},
		{"only a proxy answers", 4 * time.Second, simulator.Faults{BadGatewayRate: 1}, false},
	} {
		e := newEnv(t, now, simulator.Options{})
		skewed := simulator.New(simulator.Options{Accounts: simulator.DemoAccounts(), Seed: 3, Now: func() time.Time { return e.clk.Now().Add(c.skew) }})
		skewed.SetFaults(c.faults)
		e.srv = httptest.NewServer(skewed)
		t.Cleanup(e.srv.Close)
		api := &voicetrends.APIClock{}
		client := e.client(t, func(cfg *voicetrends.Config) { cfg.APIClock = api })
		_ = client.Authenticate(context.Background())
		lo, hi, ok := api.Offset()
		if ok != c.known || ok && (lo > c.skew || hi < c.skew || hi-lo > time.Second) {
			t.Errorf("%s: offset in [%s, %s] (known %v), want a second around %s", c.name, lo, hi, ok, c.skew)
		}
	}
}
