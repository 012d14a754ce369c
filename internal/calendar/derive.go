package calendar

import (
	"math"
	"time"

	"github.com/voicetrends/voicetrends_exporter/voicetrends"
)

// This file serves derive_periods: one `day` request per (account, phone)
// holds every day the week and month periods are made of, so the exporter
// sums them instead of asking for each period.

// WeekFirst returns the first day of the week holding d when weeks start on ws.
func WeekFirst(d voicetrends.Date, ws time.Weekday) voicetrends.Date {
	return d.AddDays(-((int(d.Weekday()) - int(ws) + 7) % 7))
}

// periodFirst returns the first day of period p holding d; ok is
// false for a week whose first day is not known.
func periodFirst(p voicetrends.Period, d voicetrends.Date, weekStart *time.Weekday) (voicetrends.Date, bool) {
	switch p {
	case voicetrends.PeriodWeek:
		if weekStart == nil {
			return voicetrends.Date{}, false
		}
		return WeekFirst(d, *weekStart), true
	case voicetrends.PeriodMonth:
		return d.FirstOfMonth(), true
	}
	return d, true
}

// DeriveRequest returns the date range of the one day request that serves
// every period in periods on date today: from the earliest first day of
// their previous periods to today. Without a known week start the previous
// week may begin up to 13 days back, as in Spans.
func DeriveRequest(periods []voicetrends.Period, today voicetrends.Date, weekStart *time.Weekday) (start, end voicetrends.Date) {
	start = today.AddDays(-1) // yesterday's bucket: the previous day
	for _, p := range periods {
		var first voicetrends.Date
		switch p {
		case voicetrends.PeriodWeek:
			if weekStart == nil {
				first = today.AddDays(-13)
			} else {
				first = WeekFirst(today, *weekStart).AddDays(-7)
			}
		case voicetrends.PeriodMonth:
			first = today.AddMonths(-1)
		default:
			continue
		}
		if first.Before(start) {
			start = first
		}
	}
	return start, today
}

// Derive returns the buckets of period p, seen on date today, made from the
// daily buckets days (sorted by start, as the API sends them): for day
// today's and yesterday's buckets as they are; for week and month one sum
// over the current and one over the previous period. A period for which no
// day was sent has no bucket, as a dead number has none. Without weekStart
// there are no week buckets. Select picks from the result as from an
// answer of the API for p.
func Derive(p voicetrends.Period, today voicetrends.Date, loc *time.Location, weekStart *time.Weekday, days []voicetrends.Bucket) []voicetrends.Bucket {
	curFirst, ok := periodFirst(p, today, weekStart)
	if !ok {
		return nil
	}
	var prevFirst voicetrends.Date
	switch p {
	case voicetrends.PeriodWeek:
		prevFirst = curFirst.AddDays(-7)
	case voicetrends.PeriodMonth:
		prevFirst = today.AddMonths(-1)
	default:
		prevFirst = today.AddDays(-1)
	}
	var out []voicetrends.Bucket
	for _, first := range []voicetrends.Date{prevFirst, curFirst} {
		next := p.Next(first)
		var in []voicetrends.Bucket
		for _, b := range days {
			if d := voicetrends.DateIn(b.Start, loc); !d.Before(first) && d.Before(next) {
				in = append(in, b)
			}
		}
		if len(in) == 0 {
			continue
		}
		if p == voicetrends.PeriodDay {
			out = append(out, in[len(in)-1])
			continue
		}
		out = append(out, Sum(first.Midnight(loc), in))
	}
	return out
}

// Sum adds daily buckets into one starting at start: calls, call minutes,
// transfers and transfer minutes are sums of what the API sent (a day it
// left out counts as nothing); the transfer rate and the average call
// length are computed from the sums, and absent without calls, as the API
// leaves them out.
func Sum(start time.Time, days []voicetrends.Bucket) voicetrends.Bucket {
	out := voicetrends.Bucket{Start: start}
	for _, f := range []voicetrends.Figure{voicetrends.Calls, voicetrends.CallMinutes, voicetrends.Transfers, voicetrends.TransferMinutes} {
		sum, any := 0.0, false
		for i := range days {
			if v, ok := days[i].Get(f); ok {
				sum, any = sum+v, true
			}
		}
		if any {
			// Sums of one-decimal minutes carry float noise (0.1+0.2); a
			// millionth is far below anything the API shows.
			out.Set(f, math.Round(sum*1e6)/1e6)
		}
	}
	calls, hasCalls := out.Get(voicetrends.Calls)
	if !hasCalls || calls <= 0 {
		return out
	}
	if v, ok := out.Get(voicetrends.Transfers); ok {
		out.Set(voicetrends.TransferRate, 100*v/calls)
	}
	if v, ok := out.Get(voicetrends.CallMinutes); ok {
		out.Set(voicetrends.AverageCallLength, v*60/calls)
	}
	return out
}

// WeekStartRequest returns the date range of the week request that shows
// the week's first day: the last seven days hold exactly one week start.
func WeekStartRequest(today voicetrends.Date) (start, end voicetrends.Date) {
	return today.AddDays(-6), today
}

// WeekStartOf returns the weekday on which the latest of the week buckets
// starts in loc, or false when the API sent none.
func WeekStartOf(buckets []voicetrends.Bucket, loc *time.Location) (time.Weekday, bool) {
	if len(buckets) == 0 {
		return 0, false
	}
	return voicetrends.DateIn(buckets[len(buckets)-1].Start, loc).Weekday(), true
}

// DeriveRollover returns the instant after now at which the current bucket of
// one of periods changes in loc, when a derived target is due at once.
func DeriveRollover(periods []voicetrends.Period, now time.Time, loc *time.Location, weekStart *time.Weekday) time.Time {
	var next time.Time
	today := voicetrends.DateIn(now, loc)
	for _, p := range periods {
		var ws *voicetrends.Date
		if p == voicetrends.PeriodWeek && weekStart != nil {
			d := WeekFirst(today, *weekStart)
			ws = &d
		}
		if r := NextRollover(p, now, loc, ws); next.IsZero() || r.Before(next) {
			next = r
		}
	}
	return next
}
