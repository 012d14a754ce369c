// Package closure knows the days an account's contact centre is closed: a
// country's or region's public holidays (from github.com/rickar/cal/v2,
// observed and substitute days included), extra dates, and dates worked
// although the holiday list says closed. Every day is a civil date in the
// account's time zone, so a closure starts and ends at local midnight.
package closure

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/rickar/cal/v2"

	"github.com/voicetrends/voicetrends_exporter/voicetrends"
)

// DatesName names a closure that comes from the dates list, not a holiday.
const DatesName = "closed.dates"

// Closure is one closed day.
type Closure struct {
	Date voicetrends.Date
	// Name is the holiday's name in the library's (local) language, or
	// DatesName.
	Name string
	// Observed marks a holiday's observed or substitute day, which differs
	// from the holiday's own date (e.g. Friday 3 July for a Saturday 4 July).
	Observed bool
}

// String renders the closure as --config.check and the status page show it.
func (c Closure) String() string {
	s := FormatDate(c.Date) + " " + c.Date.Weekday().String()[:3] + " " + c.Name
	if c.Observed {
		s += " (observed)"
	}
	return s
}

// Calendar is an account's closures. A nil Calendar closes no day.
type Calendar struct {
	region   string
	holidays []*cal.Holiday
	dates    map[voicetrends.Date]bool
	open     map[voicetrends.Date]bool
}

// Lookup returns the holiday list of a country or region code (any case),
// or an error listing the codes that would do.
func Lookup(code string) ([]*cal.Holiday, error) {
	upper := strings.ToUpper(strings.TrimSpace(code))
	if list, ok := regions[upper]; ok {
		return list, nil
	}
	country, _, _ := strings.Cut(upper, "-")
	var same []string
	for k := range regions {
		if c, _, _ := strings.Cut(k, "-"); c == country {
			same = append(same, k)
		}
	}
	if len(same) > 0 {
		slices.Sort(same)
		return nil, fmt.Errorf("unknown region %q: the holiday library knows %s for %s; use one of them", code, strings.Join(same, ", "), country)
	}
	return nil, fmt.Errorf("unknown country or region %q: use an ISO 3166-1 code the holiday library knows (%s) or a region of %s written like DE-BY",
		code, strings.Join(Countries(), ", "), strings.Join(regional(), ", "))
}

// Countries returns the country codes Lookup knows, regions left out.
func Countries() []string {
	set := map[string]bool{}
	for k := range regions {
		c, _, _ := strings.Cut(k, "-")
		set[c] = true
	}
	return slices.Sorted(maps.Keys(set))
}

// regional returns the countries whose regions Lookup knows.
func regional() []string {
	set := map[string]bool{}
	for k := range regions {
		if c, _, ok := strings.Cut(k, "-"); ok {
			set[c] = true
		}
	}
	return slices.Sorted(maps.Keys(set))
}

// ParseDate reads a date written YYYY-MM-DD.
func ParseDate(s string) (voicetrends.Date, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return voicetrends.Date{}, fmt.Errorf("%q is not a date: write it YYYY-MM-DD, e.g. 2026-12-24", s)
	}
	return voicetrends.DateOf(t), nil
}

// FormatDate writes d as ParseDate reads it.
func FormatDate(d voicetrends.Date) string {
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day)
}

// New builds a calendar from a region code ("" for none) and the extra
// closed and open dates.
func New(region string, dates, open []voicetrends.Date) (*Calendar, error) {
	c := &Calendar{dates: map[voicetrends.Date]bool{}, open: map[voicetrends.Date]bool{}}
	if region != "" {
		list, err := Lookup(region)
		if err != nil {
			return nil, err
		}
		c.region, c.holidays = strings.ToUpper(strings.TrimSpace(region)), list
	}
	for _, d := range dates {
		c.dates[d] = true
	}
	for _, d := range open {
		c.open[d] = true
	}
	return c, nil
}

// Region returns the holiday code the calendar follows, "" for none.
func (c *Calendar) Region() string {
	if c == nil {
		return ""
	}
	return c.region
}

// ClosedByList reports whether the holidays or the dates would close d,
// open aside: an open date that nothing closes is a mistake.
func (c *Calendar) ClosedByList(d voicetrends.Date) bool {
	if c == nil {
		return false
	}
	return c.dates[d] || len(c.holidaysIn(d, d)) > 0
}

// Between returns the closures from first to last inclusive, by date. A
// day that is two holidays at once (or a holiday and a listed date) is
// one closure, named after its first holiday.
func (c *Calendar) Between(first, last voicetrends.Date) []Closure {
	if c == nil || last.Before(first) {
		return nil
	}
	out := c.holidaysIn(first, last)
	for d := range c.dates {
		if !d.Before(first) && !d.After(last) {
			out = append(out, Closure{Date: d, Name: DatesName})
		}
	}
	// By date, holidays before the dates list, own days before observed ones.
	slices.SortStableFunc(out, func(a, b Closure) int {
		return cmp.Or(a.Date.Compare(b.Date), cmp.Compare(rank(a), rank(b)))
	})
	out = slices.CompactFunc(out, func(a, b Closure) bool { return a.Date == b.Date })
	return slices.DeleteFunc(out, func(cl Closure) bool { return c.open[cl.Date] })
}

func rank(c Closure) int {
	switch {
	case c.Name == DatesName:
		return 2
	case c.Observed:
		return 1
	}
	return 0
}

// holidaysIn returns the holidays' own and observed days from first to
// last, unsorted. A holiday of one year may be observed in the next or
// the previous (1 January on a Saturday, observed on 31 December).
func (c *Calendar) holidaysIn(first, last voicetrends.Date) []Closure {
	var out []Closure
	in := func(d voicetrends.Date) bool { return !d.Before(first) && !d.After(last) }
	for year := first.Year - 1; year <= last.Year+1; year++ {
		for _, h := range c.holidays {
			actual, observed := h.Calc(year)
			if actual.IsZero() {
				continue
			}
			a, o := voicetrends.DateOf(actual), voicetrends.DateOf(observed)
			if in(a) {
				out = append(out, Closure{Date: a, Name: h.Name})
			}
			if o != a && !observed.IsZero() && in(o) {
				out = append(out, Closure{Date: o, Name: h.Name, Observed: true})
			}
		}
	}
	return out
}

// On returns the closure of day d, if d is closed.
func (c *Calendar) On(d voicetrends.Date) (Closure, bool) {
	if list := c.Between(d, d); len(list) > 0 {
		return list[0], true
	}
	return Closure{}, false
}

// Horizon is how far ahead Next and the 12-month listings look, in days.
const Horizon = 366

// Next returns the first closure after day d, within Horizon days.
func (c *Calendar) Next(d voicetrends.Date) (Closure, bool) {
	if list := c.Between(d.AddDays(1), d.AddDays(Horizon)); len(list) > 0 {
		return list[0], true
	}
	return Closure{}, false
}
