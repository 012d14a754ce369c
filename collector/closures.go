package collector

import (
	"strconv"

	"github.com/voicetrends/voicetrends_exporter/internal/closure"
	"github.com/voicetrends/voicetrends_exporter/voicetrends"
)

// closureSamples emits whether the account is closed on the local date
// today, today's closure and the next one. They are account samples, so
// that the encoding, made again at every local midnight, flips them
// without a request and without work per scrape.
func (s *accountSnapshot) closureSamples(today voicetrends.Date, out emit) {
	c, closed := s.closures.On(today)
	out(famClosed, boolValue(closed), s.name)
	if closed {
		out(famClosureInfo, 1, s.name, c.Name, strconv.FormatBool(c.Observed))
	}
	if next, ok := s.closures.Next(today); ok {
		out(famNextClosure, float64(next.Date.Midnight(s.location).Unix()), s.name)
	}
}

// ClosureStatus is what the status page shows of an account's closures.
type ClosureStatus struct {
	Configured bool   // the account has a closed key
	Holidays   string // the holiday list's code, "" for none
	// Today is today's closure, nil while the account is open.
	Today *closure.Closure
	// Next is the next closure after today within a year, nil if none.
	Next *closure.Closure
}

// closureStatus returns the status of the closures c on the local date today.
func closureStatus(c *closure.Calendar, today voicetrends.Date) ClosureStatus {
	st := ClosureStatus{Configured: c != nil, Holidays: c.Region()}
	if cl, ok := c.On(today); ok {
		st.Today = &cl
	}
	if cl, ok := c.Next(today); ok {
		st.Next = &cl
	}
	return st
}
