package collector

import (
	"fmt"
	"time"

	"github.com/prometheus/common/model"

	"github.com/voicetrends/voicetrends_exporter/config"
	"github.com/voicetrends/voicetrends_exporter/voicetrends"
)

// Plan is what polling one account costs and how fresh its figures stay.
// The poller and --config.check both take it from PlanFor, so that what
// the check prints is what the daemon does.
type Plan struct {
	Account            string
	Targets            int           // refreshed one request each
	RequestsPerRefresh int           // data requests to refresh every target once
	RequestsPerWindow  int           // requests_per_window
	Window             time.Duration // window
	RefreshInterval    time.Duration // refresh_interval as configured
	Interval           time.Duration // the effective refresh interval
	MaxDataAge         time.Duration // the effective max_data_age
	DerivePeriods      bool          // derive_periods: a target is (account, phone)
	Periods            int           // periods exported
	LearnsWeekStart    bool          // one week request a day learns the week's first day (not in RequestsPerRefresh)
}

// PlanFor returns the account's plan.
func PlanFor(ac config.Account) Plan {
	targets := len(targetKeys(ac))
	p := Plan{
		Account:            ac.Name,
		Targets:            targets,
		RequestsPerRefresh: targets,
		RequestsPerWindow:  ac.RequestsPerWindow,
		Window:             time.Duration(ac.Window),
		RefreshInterval:    time.Duration(ac.RefreshInterval),
		DerivePeriods:      ac.DerivePeriods,
		Periods:            len(ac.Periods),
		LearnsWeekStart:    learnsWeekStart(ac),
	}
	p.Interval = effectiveInterval(p.RefreshInterval, p.Window, p.RequestsPerRefresh, p.RequestsPerWindow)
	// Figures must not blink out between two refreshes that come as often
	// as the budget allows.
	p.MaxDataAge = max(time.Duration(ac.MaxDataAge), 2*p.Interval)
	return p
}

// targetKeys lists the account's targets: this is where targets are
// counted, for the poller and for the plan alike. A target is (phone,
// period), or with derive_periods (phone), serving every period.
func targetKeys(ac config.Account) []targetKey {
	keys := make([]targetKey, 0, len(ac.Phones)*len(ac.Periods))
	for _, phone := range ac.Phones {
		if ac.DerivePeriods {
			keys = append(keys, targetKey{phone: phone, derived: true})
			continue
		}
		for _, period := range ac.Periods {
			keys = append(keys, targetKey{phone: phone, period: period})
		}
	}
	return keys
}

// effectiveInterval stretches refresh to fit requests (one refresh of every
// target) into perWindow requests per window:
// requests x (window / interval) <= perWindow.
func effectiveInterval(refresh, win time.Duration, requests, perWindow int) time.Duration {
	fit := time.Duration(float64(win) * float64(requests) / float64(perWindow))
	return max(refresh, fit.Round(time.Second))
}

// Stretched reports whether the budget makes refreshes rarer than refresh_interval.
func (p Plan) Stretched() bool { return p.Interval > p.RefreshInterval }

// Summary is the plan in one line.
func (p Plan) Summary() string {
	derived := ""
	if p.DerivePeriods {
		derived = " (derive_periods)"
	}
	if p.LearnsWeekStart {
		derived = " (derive_periods; plus 1 week request a day to learn the week's first day)"
	}
	return fmt.Sprintf("account %s: %d target(s), %d request(s) per refresh%s, budget %d per %s, refresh every %s, max_data_age %s",
		p.Account, p.Targets, p.RequestsPerRefresh, derived, p.RequestsPerWindow, short(p.Window), short(p.Interval), short(p.MaxDataAge))
}

// StretchNote explains a stretched interval; "" when the interval is as configured.
func (p Plan) StretchNote() string {
	if !p.Stretched() {
		return ""
	}
	perWindow := float64(p.RequestsPerRefresh) * float64(p.Window) / float64(p.RefreshInterval)
	note := fmt.Sprintf("the budget stretches refresh_interval %s to %s: %d requests x (%s / %s) = %.0f per window, more than requests_per_window %d",
		short(p.RefreshInterval), short(p.Interval), p.RequestsPerRefresh, short(p.Window), short(p.RefreshInterval), perWindow, p.RequestsPerWindow)
	if !p.DerivePeriods && p.Periods > 1 {
		note += fmt.Sprintf("; derive_periods: true would make one request per number serve all %d periods, refreshing up to %d times as often", p.Periods, p.Periods)
	}
	return note
}

// short writes a duration as the configuration does: 15m, 1h, 22m57s.
func short(d time.Duration) string { return model.Duration(d).String() }

// learnsWeekStart reports whether the account asks the API for the week's
// first day: derive_periods serving week without a configured week_start.
func learnsWeekStart(ac config.Account) bool {
	if !ac.DerivePeriods || ac.WeekStartDay != nil {
		return false
	}
	for _, p := range ac.Periods {
		if p == voicetrends.PeriodWeek {
			return true
		}
	}
	return false
}
