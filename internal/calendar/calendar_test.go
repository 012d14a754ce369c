package calendar

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/voicetrends/voicetrends_exporter/voicetrends"
)

func date(s string) voicetrends.Date {
	d, err := voicetrends.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

func TestRequest(t *testing.T) {
	for _, c := range []struct {
		period     voicetrends.Period
		today      string
		start, end string
	}{
		{voicetrends.PeriodDay, "20261126", "20261125", "20261126"},
		{voicetrends.PeriodDay, "20260301", "20260228", "20260301"},
		{voicetrends.PeriodDay, "20240101", "20231231", "20240101"},
		{voicetrends.PeriodWeek, "20261126", "20261113", "20261126"},
		{voicetrends.PeriodMonth, "20261126", "20261001", "20261126"},
		{voicetrends.PeriodMonth, "20260131", "20251201", "20260131"},
		{voicetrends.PeriodMonth, "20260301", "20260201", "20260301"},
	} {
		start, end := Request(c.period, date(c.today))
		if start.String() != c.start || end.String() != c.end {
			t.Errorf("Request(%s, %s) = %s..%s, want %s..%s", c.period, c.today, start, end, c.start, c.end)
		}
	}
}

// Whatever day a week starts on, the request holds the previous week whole
// and Select finds both weeks.
func TestWeekWhateverTheFirstDay(t *testing.T) {
	loc, _ := time.LoadLocation("America/New_York")
	for first := time.Sunday; first <= time.Saturday; first++ {
		for offset := 0; offset < 7; offset++ {
			today := date("20261101").AddDays(offset)
			start, _ := Request(voicetrends.PeriodWeek, today)
			// Week starts from four weeks back until today, as an API starting weeks on `first` would send them.
			var buckets []voicetrends.Bucket
			for d := today.AddDays(-27); !d.After(today); d = d.AddDays(1) {
				if d.Weekday() == first {
					buckets = append(buckets, voicetrends.Bucket{Start: d.Midnight(loc)})
				}
			}
			cur, prev := Select(voicetrends.PeriodWeek, today, loc, buckets)
			if cur == nil || prev == nil {
				t.Fatalf("first day %s, today %s: current %v previous %v", first, today, cur, prev)
			}
			curStart := voicetrends.DateIn(cur.Start, loc)
			if curStart.After(today) || curStart.DaysUntil(today) > 6 {
				t.Errorf("first day %s, today %s: current week starts %s", first, today, curStart)
			}
			if got := voicetrends.DateIn(prev.Start, loc); got != curStart.AddDays(-7) {
				t.Errorf("first day %s, today %s: previous week starts %s, want %s", first, today, got, curStart.AddDays(-7))
			}
			if voicetrends.DateIn(prev.Start, loc).Before(start) {
				t.Errorf("first day %s, today %s: previous week starts before the request's start %s", first, today, start)
			}
		}
	}
}

func TestSelectMissingBuckets(t *testing.T) {
	loc := time.UTC
	today := date("20261126")
	buckets := []voicetrends.Bucket{{Start: today.AddDays(-1).Midnight(loc)}}
	cur, prev := Select(voicetrends.PeriodDay, today, loc, buckets)
	if cur != nil || prev == nil || prev != &buckets[0] {
		t.Errorf("Select with only yesterday: current %v previous %v", cur, prev)
	}
	cur, prev = Select(voicetrends.PeriodDay, today.AddDays(2), loc, buckets)
	if cur != nil || prev != nil {
		t.Errorf("Select with stale buckets: current %v previous %v, want none", cur, prev)
	}
}

func TestNextRollover(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	sunday := date("20261122")
	for _, c := range []struct {
		name      string
		period    voicetrends.Period
		now       time.Time
		weekStart *voicetrends.Date
		want      time.Time
	}{
		{"day before midnight", voicetrends.PeriodDay, time.Date(2026, 11, 26, 23, 59, 0, 0, ny), nil, time.Date(2026, 11, 27, 0, 0, 0, 0, ny)},
		{"day at midnight moves on", voicetrends.PeriodDay, time.Date(2026, 11, 27, 0, 0, 0, 0, ny), nil, time.Date(2026, 11, 28, 0, 0, 0, 0, ny)},
		{"day across spring DST", voicetrends.PeriodDay, time.Date(2026, 3, 8, 12, 0, 0, 0, ny), nil, time.Date(2026, 3, 9, 0, 0, 0, 0, ny)},
		{"month end", voicetrends.PeriodMonth, time.Date(2026, 1, 31, 22, 0, 0, 0, ny), nil, time.Date(2026, 2, 1, 0, 0, 0, 0, ny)},
		{"year end", voicetrends.PeriodMonth, time.Date(2026, 12, 31, 22, 0, 0, 0, ny), nil, time.Date(2027, 1, 1, 0, 0, 0, 0, ny)},
		{"week start known", voicetrends.PeriodWeek, time.Date(2026, 11, 26, 9, 0, 0, 0, ny), &sunday, time.Date(2026, 11, 29, 0, 0, 0, 0, ny)},
		{"week start unknown", voicetrends.PeriodWeek, time.Date(2026, 11, 26, 9, 0, 0, 0, ny), nil, time.Date(2026, 11, 27, 0, 0, 0, 0, ny)},
	} {
		if got := NextRollover(c.period, c.now, ny, c.weekStart); !got.Equal(c.want) {
			t.Errorf("%s: NextRollover = %s, want %s", c.name, got, c.want)
		}
	}
	// The instant UTC midnight passes is not a rollover in New York.
	if got := NextRollover(voicetrends.PeriodDay, time.Date(2026, 11, 27, 1, 0, 0, 0, time.UTC), ny, nil); !got.Equal(time.Date(2026, 11, 27, 0, 0, 0, 0, ny)) {
		t.Errorf("rollover after 01:00 UTC = %s, want New York midnight", got)
	}
	// 24 hours after a midnight before the autumn DST change is 23:00, still the same day.
	fallMidnight := time.Date(2026, 11, 1, 0, 0, 0, 0, ny)
	if got := NextRollover(voicetrends.PeriodDay, fallMidnight.Add(24*time.Hour), ny, nil); !got.Equal(time.Date(2026, 11, 2, 0, 0, 0, 0, ny)) || got.Sub(fallMidnight) != 25*time.Hour {
		t.Errorf("autumn DST day: rollover %s is %s after its midnight, want 25h", got, got.Sub(fallMidnight))
	}
}

func TestRequestInTheAccountsZone(t *testing.T) {
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	now := time.Date(2026, 11, 26, 20, 0, 0, 0, time.UTC) // already the 27th in Tokyo
	today := voicetrends.DateIn(now, tokyo)
	if got := today.String(); got != "20261127" {
		t.Errorf("today = %s, want 20261127", got)
	}
	if s, e := Request(voicetrends.PeriodDay, today); s.String() != "20261126" || e.String() != "20261127" {
		t.Errorf("Request(day) = %s..%s", s, e)
	}
}

func TestCheckMidnights(t *testing.T) {
	zone := func(name string) *time.Location {
		loc, err := time.LoadLocation(name)
		if err != nil {
			t.Fatal(err)
		}
		return loc
	}
	ny, london, kolkata, santiago := zone("America/New_York"), zone("Europe/London"), zone("Asia/Kolkata"), zone("America/Santiago")
	// buckets returns day buckets starting at each date's midnight in loc.
	buckets := func(loc *time.Location, dates ...voicetrends.Date) []voicetrends.Bucket {
		var out []voicetrends.Bucket
		for _, d := range dates {
			out = append(out, voicetrends.Bucket{Start: d.Midnight(loc)})
		}
		return out
	}
	d := func(y int, m time.Month, day int) voicetrends.Date {
		return voicetrends.Date{Year: y, Month: m, Day: day}
	}
	for _, c := range []struct {
		name      string
		buckets   []voicetrends.Bucket
		loc       *time.Location
		apiOffset time.Duration // 0 and offset 0: no mismatch expected
		offset    time.Duration
		text      string
	}{
		{name: "New York in New York, both DST changes", buckets: buckets(ny, d(2026, 3, 7), d(2026, 3, 8), d(2026, 3, 9), d(2026, 10, 31), d(2026, 11, 1), d(2026, 11, 2)), loc: ny},
		{name: "Santiago, whose midnight a DST change skips", buckets: buckets(santiago, d(2026, 9, 5), d(2026, 9, 6), d(2026, 9, 7)), loc: santiago},
		{name: "no buckets", loc: ny},
		{name: "London buckets read in New York, winter", buckets: buckets(london, d(2026, 11, 25), d(2026, 11, 26)), loc: ny,
			apiOffset: 0, offset: 5 * time.Hour, text: "midnight UTC+00:00 (e.g. 2026-11-25T00:00:00Z), not at midnight in the configured timezone America/New_York (UTC-05:00)"},
		{name: "London buckets read in New York, summer", buckets: buckets(london, d(2026, 7, 1)), loc: ny,
			apiOffset: time.Hour, offset: 5 * time.Hour, text: "midnight UTC+01:00 (e.g. 2026-06-30T23:00:00Z), not at midnight in the configured timezone America/New_York (UTC-04:00)"},
		{name: "New York buckets read in London", buckets: buckets(ny, d(2026, 11, 26)), loc: london,
			apiOffset: -5 * time.Hour, offset: -5 * time.Hour, text: "midnight UTC-05:00"},
		{name: "Kolkata buckets read in London", buckets: buckets(kolkata, d(2026, 1, 10)), loc: london,
			apiOffset: 5*time.Hour + 30*time.Minute, offset: 5*time.Hour + 30*time.Minute, text: "midnight UTC+05:30"},
		{name: "one bad bucket among good ones", buckets: append(buckets(ny, d(2026, 11, 24)), buckets(london, d(2026, 11, 25))...), loc: ny,
			offset: 5 * time.Hour, text: "e.g. 2026-11-25T00:00:00Z"},
	} {
		err := CheckMidnights(c.buckets, c.loc)
		if c.text == "" {
			if err != nil {
				t.Errorf("%s: %v, want no mismatch", c.name, err)
			}
			continue
		}
		var zm *ZoneMismatchError
		if !errors.As(err, &zm) {
			t.Errorf("%s: %v, want a *ZoneMismatchError", c.name, err)
			continue
		}
		// How far the API's midnights lie from the configured zone's.
		_, local := zm.Start.In(zm.Location).Zone()
		if offset := zm.APIOffset() - time.Duration(local)*time.Second; zm.APIOffset() != c.apiOffset || offset != c.offset {
			t.Errorf("%s: API offset %s, offset %s; want %s and %s", c.name, zm.APIOffset(), offset, c.apiOffset, c.offset)
		}
		if !strings.Contains(err.Error(), c.text) || !strings.Contains(err.Error(), "set the account's timezone:") {
			t.Errorf("%s: %q\nwant it to say %q and name the fix", c.name, err, c.text)
		}
	}
}
