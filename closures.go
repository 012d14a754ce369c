package main

import (
	"fmt"
	"io"
	"time"

	"github.com/voicetrends/voicetrends_exporter/config"
	"github.com/voicetrends/voicetrends_exporter/internal/closure"
	"github.com/voicetrends/voicetrends_exporter/voicetrends"
)

// printClosures is --config.check's list of each account's closed days
// for the twelve months from today in its zone, so that a wrong country
// or a date in the wrong year shows before the first false page.
func printClosures(w io.Writer, cfg *config.Config, now time.Time) {
	for _, ac := range cfg.Accounts {
		if ac.Closures == nil {
			continue
		}
		today := voicetrends.DateIn(now, ac.Location)
		last := today.AddDays(closure.Horizon - 2) // a year less a day, leap years aside
		holidays := "no holidays"
		if r := ac.Closures.Region(); r != "" {
			holidays = "holidays " + r
		}
		list := ac.Closures.Between(today, last)
		fmt.Fprintf(w, "  account %s closed on %d day(s) from %s to %s (%s, %s):\n", ac.Name, len(list),
			closure.FormatDate(today), closure.FormatDate(last), holidays, ac.Location)
		for _, c := range list {
			fmt.Fprintln(w, "    "+c.String())
		}
		for _, s := range ac.Closed.Open {
			if d, err := closure.ParseDate(s); err == nil && !ac.Closures.ClosedByList(d) {
				fmt.Fprintf(w, "    note: open %s changes nothing: neither the holidays nor dates close it\n", s)
			}
		}
	}
}
