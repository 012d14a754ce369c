package collector

import (
	"errors"
	"fmt"
	"net/http"
	"sort"
	"time"

	"github.com/voicetrends/voicetrends_exporter/internal/calendar"
	"github.com/voicetrends/voicetrends_exporter/voicetrends"
)

// AccountStatus is what people need to see of an account at a glance: the
// landing page shows it.
type AccountStatus struct {
	Name  string
	Up    bool
	Tried bool // a refresh has finished, well or not
	// Stopping says the account's gate is closed: a reload is replacing its
	// poller, or the exporter shuts down, and waits for a request under way.
	Stopping bool

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

	Zone string // the configured time zone's IANA name
	// Location is the configured time zone, in which the page shows the
	// account's times; nil stands for UTC.
	Location *time.Location
	Phones   []string // the configured numbers (ALL included), in the file's order
	Periods  []string // the configured periods
	// Oldest is the oldest last success among the targets that have
	// one: the age of the account's oldest figures. Zero when none has.
	Oldest time.Time
	Never  int // targets without a success yet
	OK     int // targets whose latest refresh succeeded
	// Stale counts the targets whose last success is older than their
	// max_data_age: their figures are withdrawn from /metrics.
	Stale   int
	Targets []TargetStatus // every target, in the poller's order
	// Numbers holds each configured number's day figures, when a day
	// period is configured: today's so far and yesterday's.
	Numbers []NumberStatus
	// Closures says whether the account is closed today and its next closure.
	Closures ClosureStatus
}

// TargetStatus is one target: a failing one in AccountStatus.Failing.
type TargetStatus struct {
	Phone       string
	Period      string
	LastError   string    // scrubbed of secrets
	LastAttempt time.Time // when it was last tried (failed, for a failing one)
	LastSuccess time.Time // zero: it never succeeded
	// NextRefresh is when the target is next due, the budget allowing;
	// zero until its first attempt, which is due at once. Retry says it
	// is a failure's retry, before the target's turn.
	NextRefresh time.Time
	Retry       bool
	// Interval is the target's own interval between two refreshes: under
	// the square-root schedule, from the first round's figures on, shorter
	// for busy numbers; else the account's.
	Interval time.Duration
}

// NumberStatus is what the exporter holds of one number's day figures.
type NumberStatus struct {
	Phone string
	// Today and Yesterday are the day buckets served as window="current"
	// and "previous"; nil when the exporter holds none (not fetched yet,
	// older than max_data_age, or withheld under a wrong timezone).
	Today, Yesterday *voicetrends.Bucket
	// Interval is the number's day target's own interval between two
	// refreshes (see TargetStatus.Interval).
	Interval time.Duration
}

// Status returns every account's status, in the configured order.
func (e *Exporter) Status() []AccountStatus {
	accounts := *e.accounts.Load()
	out := make([]AccountStatus, 0, len(accounts))
	for _, a := range configured(accounts, e.order.Load()) {
		st := AccountStatus{Name: a.cfg.Name, Plan: PlanFor(a.cfg), Phones: a.cfg.Phones, Location: a.cfg.Location}
		if a.cfg.Location != nil {
			st.Zone = a.cfg.Location.String()
			st.Closures = closureStatus(a.cfg.Closures, voicetrends.DateIn(e.clock.Now(), a.cfg.Location))
		}
		for _, p := range a.cfg.Periods {
			st.Periods = append(st.Periods, string(p))
		}
		st.Spent, st.Budget, st.WindowEnd = a.budget.Spent()
		st.Stopping = a.gate != nil && a.gate.stopping()
		if s := a.snapshot.Load(); s != nil {
			s.describe(&st, e.clock.Now())
			st.Up, st.Tried = s.up, s.tried
			st.LastError, st.LastErrorAt = s.lastError, s.lastErrorAt
			st.LoginDeferred, st.LoginDeferredUntil = s.loginDeferred, s.loginDeferredUntil
			if s.zoneErr != nil {
				st.Timezone = s.zoneErr.Error()
			}
			for i := range s.targets {
				t := &s.targets[i]
				if t.lastOK {
					st.OK++
				}
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
	return out
}

// configured returns the accounts in the order of names, then, should a
// reload be storing them as this runs, any others by name.
func configured(accounts map[string]*account, order *[]string) []*account {
	out := make([]*account, 0, len(accounts))
	seen := make(map[string]bool, len(accounts))
	if order != nil {
		for _, name := range *order {
			if a := accounts[name]; a != nil && !seen[name] {
				out, seen[name] = append(out, a), true
			}
		}
	}
	rest := len(out)
	for name, a := range accounts {
		if !seen[name] {
			out = append(out, a)
		}
	}
	sort.Slice(out[rest:], func(i, j int) bool { return out[rest+i].cfg.Name < out[rest+j].cfg.Name })
	return out
}

// describe fills in what the snapshot knows of every target as seen at
// now: when each is due, the oldest figures, and each number's day figures
// as the metrics serve them.
func (s *accountSnapshot) describe(st *AccountStatus, now time.Time) {
	today := voicetrends.DateIn(now, s.location)
	days := map[string]NumberStatus{}
	for i := range s.targets {
		t := &s.targets[i]
		next, retry := t.next(s.interval)
		st.Targets = append(st.Targets, TargetStatus{
			Phone: t.phone, Period: t.periodLabel(), LastError: t.lastError,
			LastAttempt: t.lastAttempt, LastSuccess: t.lastSuccess, NextRefresh: next, Retry: retry,
			Interval: t.own(s.interval).Round(time.Second),
		})
		switch {
		case t.lastSuccess.IsZero():
			st.Never++
		case st.Oldest.IsZero() || t.lastSuccess.Before(st.Oldest):
			st.Oldest = t.lastSuccess
		}
		withdrawn := t.lastSuccess.IsZero() || now.Sub(t.lastSuccess) > s.maxAgeOf(t)
		if withdrawn && !t.lastSuccess.IsZero() {
			st.Stale++
		}
		for vi, p := range t.periods {
			if p != voicetrends.PeriodDay {
				continue
			}
			n := NumberStatus{Phone: t.phone, Interval: t.own(s.interval).Round(time.Second)}
			if !withdrawn && vi < len(t.buckets) {
				n.Today, n.Yesterday = calendar.Select(p, today, s.location, t.buckets[vi])
			}
			days[t.phone] = n
		}
	}
	for _, phone := range st.Phones {
		if n, ok := days[phone]; ok {
			st.Numbers = append(st.Numbers, n)
		}
	}
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
