// Package backfill fetches the VoiceTrends history of every target in as
// few Call Volume requests as it can and writes it as the OpenMetrics that
// `promtool tsdb create-blocks-from openmetrics` turns into Prometheus
// blocks, so that history reads as one with what a live exporter scraped.
//
// What is written, precisely, for one target (account, phone, period):
//   - Buckets: every bucket from the one holding --from up to the last one
//     complete (ended) by the end of the --to day and by now. A period in
//     progress is never written.
//   - Samples: each complete bucket is written as the window="previous"
//     figures a live exporter shows during the following period, i.e. at
//     instants t with end of the bucket's period <= t < end of the next
//     period, in the account's time zone (DST included), on a grid of Unix
//     multiples of the resolution.
//   - Cut-off: no sample at or after the end of the --to day (local
//     midnight after --to), nor at or after now minus HeadBlockMargin,
//     where Prometheus' head block lives. So the samples cover
//     [end of the period holding --from, min(end of --to, now-3h)).
//   - Same names, labels and unit conversions as the daemon (see
//     metric.Figures), plus voicetrends_period_start_timestamp_seconds;
//     a figure the API did not send is not written.
package backfill

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/voicetrends/voicetrends_exporter/config"
	"github.com/voicetrends/voicetrends_exporter/internal/metric"
	"github.com/voicetrends/voicetrends_exporter/voicetrends"
)

const (
	// MaxSpanDays is the longest date range one request asks for. Three
	// years of daily buckets is about 100 KB of JSON, well inside what the
	// client accepts; longer ranges are split into pieces of this size.
	MaxSpanDays = 3 * 366
	// minSplitDays: a refused range this short is not split further, for
	// then the refusal is not about its size (a phone the account does not
	// own, say), and halving it again would only spend the budget.
	minSplitDays = 31
	// HeadBlockMargin keeps samples out of Prometheus' head block, which
	// holds roughly the last three hours and which promtool's blocks must
	// not overlap.
	HeadBlockMargin = 3 * time.Hour
)

// Options choose what to backfill.
type Options struct {
	From, To   voicetrends.Date     // inclusive, in each account's time zone
	Accounts   []string             // account names; empty means every account
	Periods    []voicetrends.Period // replace each account's periods; empty keeps them
	Phones     []string             // only these of each account's phones; empty keeps them all
	Resolution time.Duration        // between two samples of a series; whole seconds
	Now        time.Time            // when the backfill runs
}

// Range is the dates of one request, inclusive.
type Range struct{ Start, End voicetrends.Date }

// Days is the number of dates in the range.
func (r Range) Days() int { return r.Start.DaysUntil(r.End) + 1 }

// halves splits the range in two, the first half no shorter than the second.
func (r Range) halves() (Range, Range) {
	mid := r.Start.AddDays((r.Days() - 1) / 2)
	return Range{r.Start, mid}, Range{mid.AddDays(1), r.End}
}

// String writes the range as YYYYMMDD-YYYYMMDD.
func (r Range) String() string { return r.Start.String() + "-" + r.End.String() }

// Target is one (phone, period) of an account and the requests planned for it.
type Target struct {
	Phone  string
	Period voicetrends.Period
	Ranges []Range
}

// AccountPlan is what the backfill will ask of one account.
type AccountPlan struct {
	Account config.Account
	Targets []Target
	// Until is the exclusive end of the account's samples: the local
	// midnight after --to, or now minus HeadBlockMargin if earlier.
	Until time.Time
}

// Requests is the number of requests planned for the account.
func (a *AccountPlan) Requests() int {
	n := 0
	for _, t := range a.Targets {
		n += len(t.Ranges)
	}
	return n
}

// Windows is how many of the API's rate-limit windows the requests take at
// the account's requests_per_window.
func (a *AccountPlan) Windows() int {
	return (a.Requests() + a.Account.RequestsPerWindow - 1) / a.Account.RequestsPerWindow
}

// Plan is a checked backfill: every request it will send, before any is sent.
type Plan struct {
	Options
	Accounts []AccountPlan
}

// Requests is the number of requests planned over every account.
func (p *Plan) Requests() int {
	n := 0
	for i := range p.Accounts {
		n += p.Accounts[i].Requests()
	}
	return n
}

// NewPlan checks opts against cfg and plans the requests: one per target
// when the range allows, split into MaxSpanDays pieces when it is longer.
// Every error names the problem and its fix; nothing is sent.
func NewPlan(cfg *config.Config, opts Options) (*Plan, error) {
	if !opts.From.Valid() || !opts.To.Valid() {
		return nil, errors.New("--from and --to must be real dates in YYYYMMDD form")
	}
	if opts.From.After(opts.To) {
		return nil, fmt.Errorf("--from %s is after --to %s: swap them", opts.From, opts.To)
	}
	if opts.Resolution <= 0 || opts.Resolution%time.Second != 0 {
		return nil, fmt.Errorf("--resolution %s: use a positive whole number of seconds, e.g. 5m", opts.Resolution)
	}
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	for _, p := range opts.Periods {
		if _, err := voicetrends.ParsePeriod(string(p)); err != nil {
			return nil, fmt.Errorf("--periods: %w", err)
		}
	}
	accounts, err := selectAccounts(cfg, opts.Accounts)
	if err != nil {
		return nil, err
	}
	if accounts, err = selectPhones(accounts, opts.Phones); err != nil {
		return nil, err
	}
	plan := &Plan{Options: opts}
	for _, ac := range accounts {
		loc := ac.Location
		if loc == nil {
			loc = time.UTC
		}
		if today := voicetrends.DateIn(opts.Now, loc); opts.To.After(today) {
			return nil, fmt.Errorf("--to %s is in the future for account %q (today is %s in %s): use a date up to today", opts.To, ac.Name, today, loc)
		}
		until := opts.To.AddDays(1).Midnight(loc)
		if head := opts.Now.Add(-HeadBlockMargin).Truncate(time.Second); head.Before(until) {
			until = head
		}
		ap := AccountPlan{Account: ac, Until: until}
		periods := ac.Periods
		if len(opts.Periods) > 0 {
			periods = opts.Periods
		}
		for _, phone := range ac.Phones {
			for _, period := range periods {
				ap.Targets = append(ap.Targets, Target{Phone: phone, Period: period, Ranges: split(Range{FirstDate(period, opts.From), opts.To})})
			}
		}
		plan.Accounts = append(plan.Accounts, ap)
	}
	return plan, nil
}

// selectAccounts returns the named accounts in the configuration's order,
// or every account when names is empty.
func selectAccounts(cfg *config.Config, names []string) ([]config.Account, error) {
	if len(names) == 0 {
		return cfg.Accounts, nil
	}
	known := make([]string, 0, len(cfg.Accounts))
	for _, a := range cfg.Accounts {
		known = append(known, a.Name)
	}
	for _, n := range names {
		if !slices.Contains(known, n) {
			return nil, fmt.Errorf("--account %q is not in the configuration: use one of %s", n, strings.Join(known, ", "))
		}
	}
	var out []config.Account
	for _, a := range cfg.Accounts {
		if slices.Contains(names, a.Name) {
			out = append(out, a)
		}
	}
	return out, nil
}

// selectPhones narrows each account to the given phones, dropping accounts
// left with none. Every phone must be configured for one of the accounts:
// history of a number the live exporter does not serve would join no series.
func selectPhones(accounts []config.Account, phones []string) ([]config.Account, error) {
	if len(phones) == 0 {
		return accounts, nil
	}
	var out []config.Account
	found := map[string]bool{}
	var configured []string
	for _, a := range accounts {
		var keep []string
		for _, p := range a.Phones {
			if !slices.Contains(configured, p) {
				configured = append(configured, p)
			}
			if slices.Contains(phones, p) {
				keep = append(keep, p)
				found[p] = true
			}
		}
		if len(keep) > 0 {
			a.Phones = keep
			out = append(out, a)
		}
	}
	for _, p := range phones {
		if err := voicetrends.ValidatePhone(p); err != nil {
			return nil, fmt.Errorf("--phones: %w", err)
		}
		if !found[p] {
			return nil, fmt.Errorf("--phones %s is not among the phones of the selected accounts (%s): add it to an account's phones first, or pick one of those", p, strings.Join(configured, ", "))
		}
	}
	return out, nil
}

// FirstDate is the first date a request for period must ask for so that the
// bucket holding from comes back whole: the first of the month for a month;
// six days earlier for a week, since Plum does not document the day a week
// starts on (the API returns only buckets that start inside the range).
func FirstDate(p voicetrends.Period, from voicetrends.Date) voicetrends.Date {
	switch p {
	case voicetrends.PeriodWeek:
		return from.AddDays(-6)
	case voicetrends.PeriodMonth:
		return from.FirstOfMonth()
	}
	return from
}

// split cuts r into consecutive pieces of at most MaxSpanDays.
func split(r Range) []Range {
	var out []Range
	for r.Days() > MaxSpanDays {
		end := r.Start.AddDays(MaxSpanDays - 1)
		out = append(out, Range{r.Start, end})
		r.Start = end.AddDays(1)
	}
	return append(out, r)
}

// MaxSamples is an upper bound of the samples the plan writes: every grid
// instant from the end of the first period to the cut-off, for every family.
func (p *Plan) MaxSamples() int64 {
	families := int64(1 + len(metric.Figures))
	var n int64
	for i := range p.Accounts {
		a := &p.Accounts[i]
		first := p.From.AddDays(1).Midnight(a.Account.Location)
		if !first.Before(a.Until) {
			continue
		}
		per := int64(a.Until.Sub(first)/p.Resolution) + 1
		n += per * families * int64(len(a.Targets))
	}
	return n
}

// approxLineBytes is a typical sample line: name, four labels, value, timestamp.
const approxLineBytes = 120

// WriteSummary prints the plan for people: what --dry-run shows.
func (p *Plan) WriteSummary(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Backfill plan: %s to %s, one sample every %s\n", p.From, p.To, p.Resolution)
	targets := 0
	for i := range p.Accounts {
		a := &p.Accounts[i]
		targets += len(a.Targets)
		fmt.Fprintf(&b, "\naccount %s (%s): %d targets, %d requests, %d window(s) of %s at %d requests per window\n",
			a.Account.Name, a.Account.Location, len(a.Targets), a.Requests(), a.Windows(), time.Duration(a.Account.Window), a.Account.RequestsPerWindow)
		fmt.Fprintf(&b, "  samples until %s (exclusive)\n", a.Until.In(a.Account.Location).Format(time.RFC3339))
		for _, t := range a.Targets {
			ranges := make([]string, len(t.Ranges))
			for j, r := range t.Ranges {
				ranges[j] = r.String()
			}
			fmt.Fprintf(&b, "  %-20s %-5s %d request(s): %s\n", t.Phone, t.Period, len(t.Ranges), strings.Join(ranges, " "))
		}
	}
	samples := p.MaxSamples()
	fmt.Fprintf(&b, "\ntotal: %d account(s), %d targets, %d requests; at most %d samples (about %d MB)\n",
		len(p.Accounts), targets, p.Requests(), samples, samples*approxLineBytes>>20)
	if samples == 0 {
		b.WriteString("nothing to write: no period ends inside the range before the cut-off; widen --from/--to\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}
