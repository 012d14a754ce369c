package voicetrends_test

import (
	"context"
	"testing"
	"time"

	"github.com/voicetrends/voicetrends_exporter/voicetrends"
	"github.com/voicetrends/voicetrends_exporter/voicetrends/simulator"
)

// TestErrorMessages: what an operator reads for the commonest mistakes,
// word for word, from the simulator's answers: the volume path said once,
// the other form of a refused number, and the tool named after a 401 at login.
func TestErrorMessages(t *testing.T) {
	const toolHint = " (check tool as well as login and password: one of dev | insight | fuseplus, the Plum tool the account belongs to)"
	tests := []struct {
		name   string
		edit   func(*voicetrends.Config)
		faults simulator.Faults
		phone  string
		want   string
	}{
		{"number without its +", nil, simulator.Faults{}, "18005550101",
			`voicetrends: volume 20240610/20240610/day/18005550101: HTTP 400 Bad Request: phone "18005550101" is not a number of this account (if the account lists it as +18005550101, write that in phones)`},
		{"ten digits without the country code", nil, simulator.Faults{}, "8005550101",
			`voicetrends: volume 20240610/20240610/day/8005550101: HTTP 400 Bad Request: phone "8005550101" is not a number of this account (if the account lists it as +18005550101, write that in phones)`},
		{"number with a + the account lacks", nil, simulator.Faults{}, "+442079460000",
			`voicetrends: volume 20240610/20240610/day/+442079460000: HTTP 400 Bad Request: phone "+442079460000" is not a number of this account (if the account lists it as 442079460000, write that in phones)`},
		{"server error: the path once", nil, simulator.Faults{ServerErrorRate: 1}, supportPhone,
			`voicetrends: volume 20240610/20240610/day/+18005550100: HTTP 500 Internal Server Error: unknown error`},
		{"ALL gets no number hint", nil, simulator.Faults{ServerErrorRate: 1}, voicetrends.AllPhones,
			`voicetrends: volume 20240610/20240610/day/ALL: HTTP 500 Internal Server Error: unknown error`},
		{"wrong tool", func(c *voicetrends.Config) { c.Tool = voicetrends.ToolInsight }, simulator.Faults{}, supportPhone,
			`voicetrends: volume 20240610/20240610/day/+18005550100: auth: HTTP 401 Unauthorized: invalid credentials or inactive account` + toolHint},
		{"wrong password", func(c *voicetrends.Config) { c.Password = "not-the-password" }, simulator.Faults{}, supportPhone,
			`voicetrends: volume 20240610/20240610/day/+18005550100: auth: HTTP 401 Unauthorized: invalid credentials or inactive account` + toolHint},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, t0.Add(time.Minute), simulator.Options{})
			e.sim.SetFaults(tt.faults)
			_, err := e.client(t, tt.edit).Volume(context.Background(), oneDay(tt.phone))
			if err == nil || err.Error() != tt.want {
				t.Errorf("error\n got: %v\nwant: %s", err, tt.want)
			}
		})
	}
	// Authenticate says the tool too.
	e := newEnv(t, t0.Add(time.Minute), simulator.Options{})
	err := e.client(t, func(c *voicetrends.Config) { c.Tool = voicetrends.ToolFusePlus }).Authenticate(context.Background())
	if want := "voicetrends: auth: HTTP 401 Unauthorized: invalid credentials or inactive account" + toolHint; err == nil || err.Error() != want {
		t.Errorf("Authenticate error\n got: %v\nwant: %s", err, want)
	}
}
