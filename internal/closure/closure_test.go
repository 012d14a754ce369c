package closure

import (
	"strings"
	"testing"

	"github.com/voicetrends/voicetrends_exporter/voicetrends"
)

func date(t *testing.T, s string) voicetrends.Date {
	t.Helper()
	d, err := ParseDate(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestOn(t *testing.T) {
	us, err := New("us", []voicetrends.Date{date(t, "2026-12-24"), date(t, "2026-12-25")}, []voicetrends.Date{date(t, "2026-11-26")})
	if err != nil {
		t.Fatal(err)
	}
	by, err := New("DE-BY", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	gb, err := New("GB", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		cal  *Calendar
		day  string
		want string // Closure.String, "" for open
	}{
		{us, "2026-07-04", "2026-07-04 Sat Independence Day"},
		{us, "2026-07-03", "2026-07-03 Fri Independence Day (observed)"},
		{us, "2026-07-02", ""},
		{us, "2026-07-05", ""},
		{us, "2026-12-24", "2026-12-24 Thu " + DatesName},
		{us, "2026-12-25", "2026-12-25 Fri Christmas Day"}, // a holiday and a listed date: the holiday's name
		{us, "2026-11-26", ""},                             // Thanksgiving, but open
		// New Year's Day 2028 is a Saturday: observed on Friday 31 December 2027.
		{us, "2027-12-31", "2027-12-31 Fri New Year's Day (observed)"},
		{by, "2026-06-04", "2026-06-04 Thu Fronleichnam"}, // Corpus Christi: Bavaria's, not all Germany's
		{gb, "2026-12-28", "2026-12-28 Mon Boxing Day (observed)"},
		{nil, "2026-12-25", ""},
	}
	for _, tt := range tests {
		got, ok := tt.cal.On(date(t, tt.day))
		if s := got.String(); ok != (tt.want != "") || (ok && s != tt.want) {
			t.Errorf("%s On(%s) = %q, %v; want %q", tt.cal.Region(), tt.day, s, ok, tt.want)
		}
	}
	de, _ := New("DE", nil, nil)
	if _, ok := de.On(date(t, "2026-06-04")); ok {
		t.Error("Corpus Christi closes all of Germany; want Bavaria's list only")
	}
}

func TestNextAndBetween(t *testing.T) {
	us, _ := New("US", nil, nil)
	next, ok := us.Next(date(t, "2026-07-03"))
	if !ok || next.String() != "2026-07-04 Sat Independence Day" {
		t.Errorf("Next after the observed day = %v, %v", next, ok)
	}
	year := us.Between(date(t, "2026-01-01"), date(t, "2026-12-31"))
	// 11 federal holidays, and July 4's observed Friday.
	if len(year) != 12 {
		t.Errorf("US 2026 has %d closures, want 12: %v", len(year), year)
	}
	only, _ := New("", []voicetrends.Date{date(t, "2026-12-24")}, nil)
	if _, ok := only.Next(date(t, "2026-12-24")); ok {
		t.Error("a single date has no closure after itself")
	}
}

func TestLookupErrors(t *testing.T) {
	for code, want := range map[string]string{
		"XX":    `unknown country or region "XX": use an ISO 3166-1 code the holiday library knows (AR, AT, AU,`,
		"DE-XX": `unknown region "DE-XX": the holiday library knows DE, DE-BB, DE-BE,`,
		"au":    `unknown region "au": the holiday library knows AU-ACT, AU-NSW,`,
		"US-CA": `unknown region "US-CA": the holiday library knows US for US; use one of them`,
	} {
		_, err := Lookup(code)
		if err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("Lookup(%s) = %v, want prefix %s", code, err, want)
		}
	}
	for _, code := range []string{"US", "de-by", "CH-ZH", "AU-NSW", "JP", "TH"} {
		if list, err := Lookup(code); err != nil || len(list) == 0 {
			t.Errorf("Lookup(%s) = %d holidays, %v", code, len(list), err)
		}
	}
}
