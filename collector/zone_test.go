package collector

import (
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log"

	"github.com/voicetrends/voicetrends_exporter/prometheus/promtest"
	"github.com/voicetrends/voicetrends_exporter/voicetrends"
	"github.com/voicetrends/voicetrends_exporter/voicetrends/simulator"
)

// An account configured for New York whose VoiceTrends zone is London: the
// exporter must say so and serve no figure, whether or not the two zones'
// dates agree at that instant, and serve London's figures once told the zone.
func TestWrongTimezoneIsDetectedNotServed(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	london, _ := time.LoadLocation("Europe/London")
	for _, c := range []struct {
		name     string
		now      time.Time
		timezone string // the account's configured timezone; empty is the default, New York
		wrong    bool
	}{
		{"dates agree", time.Date(2026, 11, 26, 12, 0, 0, 0, ny), "", true},
		{"dates differ", time.Date(2026, 11, 26, 20, 0, 0, 0, ny), "", true},
		{"a minute after London's midnight", time.Date(2026, 11, 27, 0, 1, 0, 0, london), "", true},
		{"the right zone, dates differ", time.Date(2026, 11, 26, 20, 0, 0, 0, ny), "Europe/London", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			yaml := "    phones: [ALL, \"6175550100\"]\n    refresh_interval: 1h\n"
			if c.timezone != "" {
				yaml += "    timezone: " + c.timezone + "\n"
			}
			h := newHarness(t, c.now, simulator.Options{Seed: 3, Accounts: []simulator.Account{
				{Tool: voicetrends.ToolDev, Login: testLogin, Password: testPassword, Phones: testNumbers, TimeZone: london}}}, yaml)
			logs := &promtest.Buffer{}
			h.poller.logger = log.NewLogfmtLogger(logs)
			h.refreshAll()

			mismatch := h.series("voicetrends_timezone_mismatch")["account=acme"]
			calls := h.series("voicetrends_calls")
			if !c.wrong {
				if mismatch != 0 || len(calls) != 2*3*2 {
					t.Fatalf("right zone: voicetrends_timezone_mismatch = %v and %d voicetrends_calls series, want 0 and 12\n%s", mismatch, len(calls), logs)
				}
				return
			}
			if mismatch != 1 {
				t.Errorf("voicetrends_timezone_mismatch = %v, want 1", mismatch)
			}
			for _, name := range []string{"voicetrends_calls", "voicetrends_transfers", "voicetrends_period_start_timestamp_seconds"} {
				if got := h.series(name); len(got) != 0 {
					t.Errorf("%s served for a wrong zone: %v", name, got)
				}
			}
			for key, v := range h.series("voicetrends_last_refresh_success") {
				if v != 0 {
					t.Errorf("voicetrends_last_refresh_success{%s} = %v, want 0", key, v)
				}
			}
			text := logs.String()
			if n := strings.Count(text, "wrong timezone"); n != 1 {
				t.Errorf("the wrong zone was logged %d times, want once:\n%s", n, text)
			}
			for _, want := range []string{"midnight UTC+00:00", "America/New_York (UTC-05:00)", "set the account's timezone:"} {
				if !strings.Contains(text, want) {
					t.Errorf("the log does not say %q:\n%s", want, text)
				}
			}
		})
	}
}
