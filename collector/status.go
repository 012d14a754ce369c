package collector

import (
	"errors"
	"fmt"
	"net/http"
	"sort"
	"time"

	"github.com/voicetrends/voicetrends_exporter/voicetrends"
)

// AccountStatus is what people need to see of an account at a glance: the
// landing page shows it.
type AccountStatus struct {
	Name  string
	Up    bool
	Tried bool // a refresh has finished, well or not

	LastError   string // the latest refresh error, scrubbed of secrets; "" if none yet
	LastErrorAt time.Time
	// Timezone says why the configured timezone does not fit the API's
	// buckets (the figures are withheld); "" when it fits.
	Timezone string

	// LoginDeferred says why the exporter holds its logins back to stay
	// inside the login budget, until LoginDeferredUntil; "" when it does not.
	LoginDeferred      string
	LoginDeferredUntil time.Time

	Spent     int       // data requests spent in the current window
	Budget    int       // requests_per_window
	WindowEnd time.Time // when the current window ends

	Plan    Plan
	Failing []TargetStatus // targets whose latest refresh failed
}

// TargetStatus is a failing target.
type TargetStatus struct {
	Phone       string
	Period      string
	LastError   string    // scrubbed of secrets
	LastAttempt time.Time // when it failed last
	LastSuccess time.Time // zero: it never succeeded
}

// Status returns every account's status, by name.
func (e *Exporter) Status() []AccountStatus {
	accounts := *e.accounts.Load()
	out := make([]AccountStatus, 0, len(accounts))
	for _, a := range accounts {
		st := AccountStatus{Name: a.cfg.Name, Plan: PlanFor(a.cfg)}
		st.Spent, st.Budget, st.WindowEnd = a.budget.Spent()
		if s := a.snapshot.Load(); s != nil {
			st.Up, st.Tried = s.up, s.tried
			st.LastError, st.LastErrorAt = s.lastError, s.lastErrorAt
			st.LoginDeferred, st.LoginDeferredUntil = s.loginDeferred, s.loginDeferredUntil
			if s.zoneErr != nil {
				st.Timezone = s.zoneErr.Error()
			}
			for i := range s.targets {
				t := &s.targets[i]
				if (t.attempted || t.unreachable) && !t.lastOK {
					lastErr := t.lastError
					if !t.attempted { // held back with the account: the account's error is its error
						lastErr = s.lastError
					}
					st.Failing = append(st.Failing, TargetStatus{
						Phone: t.phone, Period: t.periodLabel(), LastError: lastErr,
						LastAttempt: t.lastAttempt, LastSuccess: t.lastSuccess,
					})
				}
			}
		}
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// hint404 adds the likely cause to a 404 from the API: every path of the
// API is under /api/, so a 404 means the base URL lacks it.
func hint404(err error) error {
	var apiErr *voicetrends.APIError
	if errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusNotFound {
		return fmt.Errorf("%w (the base_url is probably wrong: the API's paths are under /api/, e.g. %s)", err, voicetrends.DefaultBaseURL)
	}
	return err
}

// Now is the exporter's time, the one its snapshots' instants are on.
func (e *Exporter) Now() time.Time { return e.clock.Now() }
