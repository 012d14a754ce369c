package collector

import (
	"fmt"
	"time"

	"github.com/prometheus/common/model"

	"github.com/voicetrends/voicetrends_exporter/collector/config"
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
	}
	p.Interval = EffectiveInterval(p.RefreshInterval, p.Window, p.RequestsPerRefresh, p.RequestsPerWindow)
	// Figures must not blink out between two refreshes that come as often
	// as the budget allows.
	p.MaxDataAge = max(time.Duration(ac.MaxDataAge), 2*p.Interval)
	return p
}

// targetKeys lists the account's targets: this is where targets are
// counted, for the poller and for the plan alike.
func targetKeys(ac config.Account) []targetKey {
	keys := make([]targetKey, 0, len(ac.Phones)*len(ac.Periods))
	for _, phone := range ac.Phones {
		for _, period := range ac.Periods {
			keys = append(keys, targetKey{phone, period})
		}
	}
	return keys
}

// EffectiveInterval stretches refresh to fit requests (one refresh of every
// target) into perWindow requests per window:
// requests x (window / interval) <= perWindow.
func EffectiveInterval(refresh, win time.Duration, requests, perWindow int) time.Duration {
	fit := time.Duration(float64(win) * float64(requests) / float64(perWindow))
	return max(refresh, fit.Round(time.Second))
}

// Stretched reports whether the budget makes refreshes rarer than refresh_interval.
func (p Plan) Stretched() bool { return p.Interval > p.RefreshInterval }

// Summary is the plan in one line.
func (p Plan) Summary() string {
	return fmt.Sprintf("account %s: %d target(s), %d request(s) per refresh, budget %d per %s, refresh every %s, max_data_age %s",
		p.Account, p.Targets, p.RequestsPerRefresh, p.RequestsPerWindow, short(p.Window), short(p.Interval), short(p.MaxDataAge))
}

// StretchNote explains a stretched interval; "" when the interval is as configured.
func (p Plan) StretchNote() string {
	if !p.Stretched() {
		return ""
	}
	perWindow := float64(p.RequestsPerRefresh) * float64(p.Window) / float64(p.RefreshInterval)
	return fmt.Sprintf("the budget stretches refresh_interval %s to %s: %d requests x (%s / %s) = %.0f per window, more than requests_per_window %d",
		short(p.RefreshInterval), short(p.Interval), p.RequestsPerRefresh, short(p.Window), short(p.RefreshInterval), perWindow, p.RequestsPerWindow)
}

// short writes a duration as the configuration does: 15m, 1h, 22m57s.
func short(d time.Duration) string { return model.Duration(d).String() }
