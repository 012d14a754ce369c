package collector

import (
	"time"

	"github.com/voicetrends/voicetrends_exporter/collector/config"
	"github.com/voicetrends/voicetrends_exporter/voicetrends"
)

// targetKeys lists an account's targets in polling order: one per (phone,
// period), or with derive_periods one per phone, serving every period.
func targetKeys(ac config.Account) []targetKey {
	var keys []targetKey
	for _, phone := range ac.Phones {
		if ac.DerivePeriods {
			keys = append(keys, targetKey{phone: phone})
			continue
		}
		for _, period := range ac.Periods {
			keys = append(keys, targetKey{phone, period})
		}
	}
	return keys
}

// Targets returns how many targets the account has, each costing one data
// request per refresh: phones x periods, or phones with derive_periods.
// The week-learning request of derive_periods (one a day) is left out.
func Targets(ac config.Account) int { return len(targetKeys(ac)) }

// AccountInterval returns the account's effective refresh interval: its
// refresh_interval stretched so that all its targets fit its budget. Every
// count of targets and intervals (poller, logs, --config.check) comes from here.
func AccountInterval(ac config.Account) time.Duration {
	return EffectiveInterval(time.Duration(ac.RefreshInterval), time.Duration(ac.Window), Targets(ac), ac.RequestsPerWindow)
}

// EffectiveInterval stretches refresh to fit targets into perWindow requests
// per window: targets x (window / interval) <= perWindow.
func EffectiveInterval(refresh, win time.Duration, targets, perWindow int) time.Duration {
	fit := time.Duration(float64(win) * float64(targets) / float64(perWindow))
	return max(refresh, fit.Round(time.Second))
}

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
