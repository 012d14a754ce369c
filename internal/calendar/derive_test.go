package calendar

import (
	"math"
	"testing"
	"time"

	"github.com/voicetrends/voicetrends_exporter/voicetrends"
)

func TestDeriveRequest(t *testing.T) {
	sunday, monday := time.Sunday, time.Monday
	all := voicetrends.Periods
	for _, c := range []struct {
		name       string
		periods    []voicetrends.Period
		today      string
		week       *time.Weekday
		start, end string
	}{
		{"day only", []voicetrends.Period{voicetrends.PeriodDay}, "20261126", nil, "20261125", "20261126"},
		{"month reaches furthest", all, "20261126", nil, "20261001", "20261126"},
		{"early in a month the unknown week reaches further", all, "20261203", nil, "20261101", "20261203"},
		{"week unknown: 13 days", []voicetrends.Period{voicetrends.PeriodDay, voicetrends.PeriodWeek}, "20261126", nil, "20261113", "20261126"},
		// 2026-11-26 is a Thursday: its Sunday week began on the 22nd, its Monday week on the 23rd.
		{"Sunday weeks", []voicetrends.Period{voicetrends.PeriodWeek}, "20261126", &sunday, "20261115", "20261126"},
		{"Monday weeks", []voicetrends.Period{voicetrends.PeriodWeek}, "20261126", &monday, "20261116", "20261126"},
		{"on the week's first day", []voicetrends.Period{voicetrends.PeriodWeek}, "20261122", &sunday, "20261115", "20261122"},
		{"week before the month", all, "20261102", &monday, "20261001", "20261102"},
		{"across new year", all, "20260101", &sunday, "20251201", "20260101"},
	} {
		start, end := DeriveRequest(c.periods, date(c.today), c.week)
		if start != date(c.start) || end != date(c.end) {
			t.Errorf("%s: DeriveRequest = %s..%s, want %s..%s", c.name, start, end, c.start, c.end)
		}
	}
}

// day returns a daily bucket of date s in loc with the given counts and minutes.
func day(s string, loc *time.Location, calls, minutes, transfers, xferMinutes float64) voicetrends.Bucket {
	b := voicetrends.Bucket{Start: date(s).Midnight(loc)}
	b.Set(voicetrends.Calls, calls)
	b.Set(voicetrends.CallMinutes, minutes)
	b.Set(voicetrends.Transfers, transfers)
	b.Set(voicetrends.TransferMinutes, xferMinutes)
	if calls > 0 {
		b.Set(voicetrends.TransferRate, 100*transfers/calls)
		b.Set(voicetrends.AverageCallLength, minutes*60/calls)
	}
	return b
}

func TestDerive(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	monday := time.Monday
	// 2026-03-08 is the 23-hour day in New York; 2026-03-09 a Monday.
	days := []voicetrends.Bucket{
		day("20260228", ny, 5, 10.1, 1, 1.1),
		day("20260302", ny, 4, 8.2, 2, 2.2), // 2026-03-01 left out by the API: nothing
		day("20260307", ny, 0, 0, 0, 0),
		day("20260308", ny, 10, 20.3, 3, 3.1),
		day("20260309", ny, 2, 0.2, 0, 0),
		day("20260310", ny, 1, 0.1, 1, 0.2),
	}
	type want struct {
		start          string
		calls, minutes float64
		rate, length   float64
	}
	for _, c := range []struct {
		period voicetrends.Period
		today  string
		week   *time.Weekday
		want   []want // previous, then current
	}{
		{voicetrends.PeriodDay, "20260310", &monday, []want{{start: "20260309", calls: 2, minutes: 0.2, rate: 0, length: 6}, {start: "20260310", calls: 1, minutes: 0.1, rate: 100, length: 6}}},
		// A week from Monday 2 to Sunday 8 March, across the DST change.
		{voicetrends.PeriodWeek, "20260310", &monday, []want{{start: "20260302", calls: 14, minutes: 28.5, rate: 100 * 5.0 / 14, length: 28.5 * 60 / 14}, {start: "20260309", calls: 3, minutes: 0.3, rate: 100.0 / 3, length: 6}}},
		{voicetrends.PeriodWeek, "20260310", nil, nil},
		{voicetrends.PeriodMonth, "20260310", nil, []want{{start: "20260201", calls: 5, minutes: 10.1, rate: 20, length: 10.1 * 60 / 5}, {start: "20260301", calls: 17, minutes: 28.8, rate: 100 * 6.0 / 17, length: 28.8 * 60 / 17}}},
		// On Saturday the 7th the current week holds the 2nd and the empty 7th; the previous the 28th.
		{voicetrends.PeriodWeek, "20260307", &monday, []want{{start: "20260223", calls: 5, minutes: 10.1, rate: 20, length: 10.1 * 60 / 5}, {start: "20260302", calls: 4, minutes: 8.2, rate: 50, length: 8.2 * 60 / 4}}},
	} {
		var sent []voicetrends.Bucket // what a request on today holds
		for _, b := range days {
			if !voicetrends.DateIn(b.Start, ny).After(date(c.today)) {
				sent = append(sent, b)
			}
		}
		got := Derive(c.period, date(c.today), ny, c.week, sent)
		if len(got) != len(c.want) {
			t.Errorf("%s on %s: %d buckets, want %d", c.period, c.today, len(got), len(c.want))
			continue
		}
		for i, w := range c.want {
			b := got[i]
			if !b.Start.Equal(date(w.start).Midnight(ny)) {
				t.Errorf("%s on %s: bucket %d starts %s, want %s", c.period, c.today, i, b.Start, w.start)
			}
			calls, _ := b.Get(voicetrends.Calls)
			minutes, _ := b.Get(voicetrends.CallMinutes)
			rate, hasRate := b.Get(voicetrends.TransferRate)
			length, hasLength := b.Get(voicetrends.AverageCallLength)
			if calls != w.calls || minutes != w.minutes || !hasRate || !hasLength || math.Abs(rate-w.rate) > 1e-9 || math.Abs(length-w.length) > 1e-9 {
				t.Errorf("%s on %s: bucket %d = calls %v minutes %v rate %v (%v) length %v (%v), want %+v", c.period, c.today, i, calls, minutes, rate, hasRate, length, hasLength, w)
			}
		}
	}
}

func TestSumWithoutCallsOrDays(t *testing.T) {
	loc := time.UTC
	b := Sum(date("20261101").Midnight(loc), []voicetrends.Bucket{day("20261101", loc, 0, 0, 0, 0), {Start: date("20261102").Midnight(loc)}})
	if v, ok := b.Get(voicetrends.Calls); !ok || v != 0 {
		t.Errorf("calls = %v (%v), want a sent 0", v, ok)
	}
	if sent(b, voicetrends.TransferRate) || sent(b, voicetrends.AverageCallLength) {
		t.Error("a period without calls has a transfer rate or an average length: the API sends none")
	}
	// Figures no day sent stay absent.
	b = Sum(date("20261101").Midnight(loc), []voicetrends.Bucket{{Start: date("20261101").Midnight(loc)}})
	for _, f := range voicetrends.Figures {
		if sent(b, f) {
			t.Errorf("figure %s invented from days that did not send it", f.Key())
		}
	}
	if got := Derive(voicetrends.PeriodMonth, date("20261126"), loc, nil, nil); len(got) != 0 {
		t.Errorf("no days sent, yet %d month buckets", len(got))
	}
}

func TestWeekStartOf(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	if _, ok := WeekStartOf(nil, ny); ok {
		t.Error("a week start learned from no bucket")
	}
	// 2026-11-23 is a Monday; its midnight in New York is 05:00 UTC.
	wd, ok := WeekStartOf([]voicetrends.Bucket{{Start: date("20261116").Midnight(ny)}, {Start: date("20261123").Midnight(ny)}}, ny)
	if !ok || wd != time.Monday {
		t.Errorf("WeekStartOf = %v %v, want Monday", wd, ok)
	}
}

func TestDeriveRollover(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	sunday := time.Sunday
	now := time.Date(2026, 11, 26, 15, 0, 0, 0, ny)
	for _, c := range []struct {
		periods []voicetrends.Period
		want    time.Time
	}{
		{voicetrends.Periods, time.Date(2026, 11, 27, 0, 0, 0, 0, ny)},
		{[]voicetrends.Period{voicetrends.PeriodWeek, voicetrends.PeriodMonth}, time.Date(2026, 11, 29, 0, 0, 0, 0, ny)},
		{[]voicetrends.Period{voicetrends.PeriodMonth}, time.Date(2026, 12, 1, 0, 0, 0, 0, ny)},
	} {
		if got := DeriveRollover(c.periods, now, ny, &sunday); !got.Equal(c.want) {
			t.Errorf("DeriveRollover(%v) = %s, want %s", c.periods, got, c.want)
		}
	}
}

// sent reports whether the API sent figure f in b.
func sent(b voicetrends.Bucket, f voicetrends.Figure) bool {
	_, ok := b.Get(f)
	return ok
}
