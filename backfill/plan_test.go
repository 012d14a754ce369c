package backfill

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/voicetrends/voicetrends_exporter/config"
	"github.com/voicetrends/voicetrends_exporter/voicetrends"
)

const twoAccounts = `
base_url: http://127.0.0.1:1/
accounts:
  - name: support
    tool: dev
    login: demo-support
    password: demo-support-pass
    phones: [ALL, "+18005550100", "+18005550101"]
    timezone: America/New_York
    requests_per_window: 4
  - name: sales
    tool: fuseplus
    login: demo-sales
    password: demo-sales-pass
    phones: [ALL]
    periods: [day]
    timezone: Europe/London
`

func parseConfig(t *testing.T, yml string) *config.Config {
	t.Helper()
	cfg, err := config.Parse([]byte(yml), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// planNow is 2026-11-26 01:00 UTC: still the 25th in New York, the 26th in London.
var planNow = time.Date(2026, 11, 26, 1, 0, 0, 0, time.UTC)

func TestNewPlanRequests(t *testing.T) {
	cfg := parseConfig(t, twoAccounts)
	tests := []struct {
		name     string
		opts     Options
		requests map[string]int // by account
		windows  map[string]int
		ranges   map[string][]Range // "account phone period"
	}{
		{
			name:     "one request per target",
			opts:     Options{From: date("20251126"), To: date("20261125")},
			requests: map[string]int{"support": 9, "sales": 1},
			windows:  map[string]int{"support": 3, "sales": 1}, // 9 requests at 4 per window
			ranges: map[string][]Range{
				"support ALL day":   {{date("20251126"), date("20261125")}},
				"support ALL week":  {{date("20251120"), date("20261125")}}, // six days back: the week's first day is unknown
				"support ALL month": {{date("20251101"), date("20261125")}},
				"sales ALL day":     {{date("20251126"), date("20261125")}},
			},
		},
		{
			name:     "one account, chosen periods",
			opts:     Options{From: date("20260301"), To: date("20260331"), Accounts: []string{"sales"}, Periods: []voicetrends.Period{voicetrends.PeriodWeek, voicetrends.PeriodMonth}},
			requests: map[string]int{"sales": 2},
			windows:  map[string]int{"sales": 1},
			ranges: map[string][]Range{
				"sales ALL week":  {{date("20260223"), date("20260331")}},
				"sales ALL month": {{date("20260301"), date("20260331")}},
			},
		},
		{
			name:     "one number, redone",
			opts:     Options{From: date("20260301"), To: date("20260331"), Phones: []string{"+18005550101"}},
			requests: map[string]int{"support": 3}, // sales has no such number and drops out
			ranges: map[string][]Range{
				"support +18005550101 day": {{date("20260301"), date("20260331")}},
			},
		},
		{
			name:     "ALL of every account",
			opts:     Options{From: date("20260301"), To: date("20260331"), Phones: []string{"ALL"}},
			requests: map[string]int{"support": 3, "sales": 1},
		},
		{
			name:     "split past MaxSpanDays",
			opts:     Options{From: date("20200101"), To: date("20261125"), Accounts: []string{"sales"}},
			requests: map[string]int{"sales": 3},
			ranges: map[string][]Range{
				"sales ALL day": {
					{date("20200101"), date("20200101").AddDays(MaxSpanDays - 1)},
					{date("20200101").AddDays(MaxSpanDays), date("20200101").AddDays(2*MaxSpanDays - 1)},
					{date("20200101").AddDays(2 * MaxSpanDays), date("20261125")},
				},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Resolution, tc.opts.Now = 5*time.Minute, planNow
			p, err := NewPlan(cfg, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			total := 0
			for i := range p.Accounts {
				a := &p.Accounts[i]
				if got, want := a.Requests(), tc.requests[a.Account.Name]; got != want {
					t.Errorf("%s: %d requests, want %d", a.Account.Name, got, want)
				}
				if want, ok := tc.windows[a.Account.Name]; ok && a.Windows() != want {
					t.Errorf("%s: %d windows, want %d", a.Account.Name, a.Windows(), want)
				}
				total += a.Requests()
				for _, tg := range a.Targets {
					if want, ok := tc.ranges[a.Account.Name+" "+tg.Phone+" "+string(tg.Period)]; ok && !reflect.DeepEqual(tg.Ranges, want) {
						t.Errorf("%s %s %s: ranges %v, want %v", a.Account.Name, tg.Phone, tg.Period, tg.Ranges, want)
					}
				}
			}
			if len(p.Accounts) != len(tc.requests) || p.Requests() != total {
				t.Errorf("%d accounts, %d requests", len(p.Accounts), p.Requests())
			}
		})
	}
}

func TestSplit(t *testing.T) {
	start := date("20200101")
	for _, days := range []int{1, MaxSpanDays - 1, MaxSpanDays, MaxSpanDays + 1, 2 * MaxSpanDays, 3*MaxSpanDays + 5} {
		r := Range{start, start.AddDays(days - 1)}
		got := split(r)
		if want := (days + MaxSpanDays - 1) / MaxSpanDays; len(got) != want {
			t.Errorf("%d days: %d pieces, want %d", days, len(got), want)
		}
		next, sum := start, 0
		for _, piece := range got {
			if piece.Start != next || piece.Days() > MaxSpanDays || piece.Days() < 1 {
				t.Errorf("%d days: piece %v", days, piece)
			}
			next, sum = piece.End.AddDays(1), sum+piece.Days()
		}
		if sum != days {
			t.Errorf("%d days: pieces cover %d", days, sum)
		}
	}
	a, b := Range{date("20260101"), date("20260131")}.halves()
	if a != (Range{date("20260101"), date("20260116")}) || b != (Range{date("20260117"), date("20260131")}) {
		t.Errorf("halves %v %v", a, b)
	}
}

func TestNewPlanUntil(t *testing.T) {
	cfg := parseConfig(t, twoAccounts)
	ny, ldn := mustLoc(t, "America/New_York"), mustLoc(t, "Europe/London")
	tests := []struct {
		to      string
		now     time.Time
		support time.Time // New York
		sales   time.Time // London
	}{
		// Long ago: the end of the --to day in each zone.
		{"20260310", planNow, date("20260311").Midnight(ny), date("20260311").Midnight(ldn)},
		// Today: three hours before now, whatever the zone.
		{"20261125", planNow, planNow.Add(-3 * time.Hour), planNow.Add(-3 * time.Hour)},
		// Yesterday in London, today in New York.
		{"20261125", time.Date(2026, 11, 26, 4, 30, 0, 0, time.UTC), time.Date(2026, 11, 26, 1, 30, 0, 0, time.UTC), date("20261126").Midnight(ldn)},
	}
	for _, tc := range tests {
		p, err := NewPlan(cfg, Options{From: date("20260101"), To: date(tc.to), Resolution: time.Minute, Now: tc.now})
		if err != nil {
			t.Fatal(err)
		}
		if got := p.Accounts[0].Until; !got.Equal(tc.support) {
			t.Errorf("to %s now %s: support until %s, want %s", tc.to, tc.now, got, tc.support)
		}
		if got := p.Accounts[1].Until; !got.Equal(tc.sales) {
			t.Errorf("to %s now %s: sales until %s, want %s", tc.to, tc.now, got, tc.sales)
		}
	}
}

func TestNewPlanBadInput(t *testing.T) {
	cfg := parseConfig(t, twoAccounts)
	good := Options{From: date("20260101"), To: date("20260131"), Resolution: 5 * time.Minute, Now: planNow}
	tests := []struct {
		name string
		edit func(*Options)
		want string
	}{
		{"from after to", func(o *Options) { o.From = date("20260201") }, "--from 20260201 is after --to 20260131: swap them"},
		{"to in the future", func(o *Options) { o.To = date("20261127") }, `--to 20261127 is in the future for account "support" (today is 20261125 in America/New_York)`},
		// The 26th has begun in London but not yet in New York.
		{"to today in one zone only", func(o *Options) { o.To = date("20261126") }, `account "support" (today is 20261125`},
		{"unknown account", func(o *Options) { o.Accounts = []string{"sales", "nope"} }, `--account "nope" is not in the configuration: use one of support, sales`},
		{"phone of no selected account", func(o *Options) { o.Phones, o.Accounts = []string{"+18005550100"}, []string{"sales"} }, "--phones +18005550100 is not among the phones of the selected accounts (ALL): add it to an account's phones first"},
		{"phone of no account", func(o *Options) { o.Phones = []string{"ALL", "+18005550199"} }, "--phones +18005550199 is not among the phones of the selected accounts (ALL, +18005550100, +18005550101)"},
		{"malformed phone", func(o *Options) { o.Phones = []string{"617-555"} }, "--phones: "},
		{"unknown period", func(o *Options) { o.Periods = []voicetrends.Period{"year"} }, `--periods: unknown period "year": use day, week or month`},
		{"zero resolution", func(o *Options) { o.Resolution = 0 }, "--resolution 0s: use a positive whole number of seconds"},
		{"negative resolution", func(o *Options) { o.Resolution = -time.Minute }, "--resolution -1m0s"},
		{"fractional resolution", func(o *Options) { o.Resolution = 1500 * time.Millisecond }, "--resolution 1.5s"},
		{"invalid date", func(o *Options) { o.From = voicetrends.Date{Year: 2026, Month: 2, Day: 30} }, "real dates in YYYYMMDD form"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := good
			tc.edit(&o)
			_, err := NewPlan(cfg, o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
	if _, err := NewPlan(cfg, good); err != nil {
		t.Errorf("good options: %v", err)
	}
	// The 26th is today in London: fine for that account alone.
	london := good
	london.To, london.Accounts = date("20261126"), []string{"sales"}
	if _, err := NewPlan(cfg, london); err != nil {
		t.Errorf("--to today in London: %v", err)
	}
}

func TestPlanSummary(t *testing.T) {
	cfg := parseConfig(t, twoAccounts)
	p, err := NewPlan(cfg, Options{From: date("20261026"), To: date("20261124"), Resolution: time.Hour, Now: planNow})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := p.WriteSummary(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"Backfill plan: 20261026 to 20261124, one sample every 1h0m0s",
		"account support (America/New_York): 9 targets, 9 requests, 3 window(s) of 15m0s at 4 requests per window",
		"+18005550101         week  1 request(s): 20261020-20261124",
		"account sales (Europe/London): 1 targets, 1 requests, 1 window(s) of 15m0s at 100 requests per window",
		"total: 2 account(s), 10 targets, 10 requests; at most ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	// Hourly from 27 October to 25 November, 7 families, at most: 29 days
	// and the extra hour of 1 November in New York (9 targets), 29 days in
	// London (1 target; its clocks went back on 25 October); +1 for the
	// instant at the start.
	if got, want := p.MaxSamples(), int64((29*24+1+1)*7*9+(29*24+1)*7); got != want {
		t.Errorf("MaxSamples %d, want %d", got, want)
	}
}
