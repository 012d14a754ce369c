// Package calendar works out, in an account's time zone, which dates one
// refresh asks the API for, which returned buckets are the current and the
// previous period (the `window` label), when a period rolls over, how weeks
// and months are summed from days, and whether the API's buckets start at
// local midnight at all.
package calendar

import (
	"fmt"
	"time"

	"github.com/voicetrends/voicetrends_exporter/voicetrends"
)

// Span is the dates on which a current or previous period's bucket may start, inclusive.
type Span struct{ First, Last voicetrends.Date }

// Contains reports whether d lies in the span.
func (s Span) Contains(d voicetrends.Date) bool { return !d.Before(s.First) && !d.After(s.Last) }

// Spans returns where the current and the previous bucket of period p start,
// seen on date today. Plum does not document the first day of a week, so a
// week bucket may start on any of the last seven days.
func Spans(p voicetrends.Period, today voicetrends.Date) (current, previous Span) {
	switch p {
	case voicetrends.PeriodWeek:
		return Span{today.AddDays(-6), today}, Span{today.AddDays(-13), today.AddDays(-7)}
	case voicetrends.PeriodMonth:
		first := today.FirstOfMonth()
		last := today.AddMonths(-1)
		return Span{first, first}, Span{last, last}
	default:
		return Span{today, today}, Span{today.AddDays(-1), today.AddDays(-1)}
	}
}

// Request returns the date range one refresh of period p asks for on date
// today: far enough back to hold the previous period whole.
func Request(p voicetrends.Period, today voicetrends.Date) (start, end voicetrends.Date) {
	_, prev := Spans(p, today)
	return prev.First, today
}

// Select returns the current and previous buckets among buckets (as the
// API returned them), or nil where the API sent none.
func Select(p voicetrends.Period, today voicetrends.Date, loc *time.Location, buckets []voicetrends.Bucket) (current, previous *voicetrends.Bucket) {
	cur, prev := Spans(p, today)
	// Latest first: should a week span hold two bucket starts, the later one is the period's.
	for i := len(buckets) - 1; i >= 0; i-- {
		d := voicetrends.DateIn(buckets[i].Start, loc)
		switch {
		case current == nil && cur.Contains(d):
			current = &buckets[i]
		case previous == nil && prev.Contains(d):
			previous = &buckets[i]
		}
	}
	return current, previous
}

// NextRollover returns the instant after now at which period p's current
// bucket next changes in loc. weekStart is the start date of the current
// week's bucket when a refresh has shown it; without it every local midnight
// may start a week.
func NextRollover(p voicetrends.Period, now time.Time, loc *time.Location, weekStart *voicetrends.Date) time.Time {
	today := voicetrends.DateIn(now, loc)
	next := voicetrends.PeriodDay.Next(today)
	switch p {
	case voicetrends.PeriodMonth:
		next = p.Next(today.FirstOfMonth())
	case voicetrends.PeriodWeek:
		if weekStart != nil && p.Next(*weekStart).After(today) {
			next = p.Next(*weekStart)
		}
	}
	return next.Midnight(loc)
}

// ZoneMismatchError says that the API's buckets do not start at local
// midnight in the configured time zone: the account's zone in VoiceTrends is
// another one, and every bucket would be filed under a wrong day.
type ZoneMismatchError struct {
	Location *time.Location // the configured zone
	Start    time.Time      // the first bucket start that is not a local midnight there
}

// APIOffset is the UTC offset of the zone whose midnight the bucket starts at.
func (e *ZoneMismatchError) APIOffset() time.Duration { return offsetOfMidnight(e.Start) }

// Error says what is wrong, the offset seen and the fix.
func (e *ZoneMismatchError) Error() string {
	_, local := e.Start.In(e.Location).Zone()
	return fmt.Sprintf("the API's buckets start at midnight UTC%s (e.g. %s), not at midnight in the configured timezone %s (UTC%s): "+
		"figures would be filed under the wrong day, so they are withheld; set the account's timezone: to its time zone in VoiceTrends",
		formatOffset(e.APIOffset()), e.Start.UTC().Format(time.RFC3339), e.Location, formatOffset(time.Duration(local)*time.Second))
}

// CheckMidnights returns a *ZoneMismatchError when a bucket does not start at
// local midnight in loc (or where a DST change skips midnight, at the first
// instant of the day), nil when every one does.
func CheckMidnights(buckets []voicetrends.Bucket, loc *time.Location) error {
	for _, b := range buckets {
		if !b.Start.Equal(voicetrends.DateIn(b.Start, loc).Midnight(loc)) {
			return &ZoneMismatchError{Location: loc, Start: b.Start}
		}
	}
	return nil
}

// offsetOfMidnight returns the UTC offset, between -12h and +14h, of a zone
// in which t is a midnight.
func offsetOfMidnight(t time.Time) time.Duration {
	u := t.UTC()
	sinceUTCMidnight := time.Duration(u.Hour())*time.Hour + time.Duration(u.Minute())*time.Minute + time.Duration(u.Second())*time.Second
	off := -sinceUTCMidnight
	if off < -12*time.Hour {
		off += 24 * time.Hour
	}
	return off
}

// formatOffset writes an offset as +05:30 or -05:00.
func formatOffset(d time.Duration) string {
	sign := "+"
	if d < 0 {
		sign, d = "-", -d
	}
	return fmt.Sprintf("%s%02d:%02d", sign, int(d.Hours()), int(d.Minutes())%60)
}
