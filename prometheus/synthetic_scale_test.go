package prometheus

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/voicetrends/voicetrends_exporter/prometheus/promtest"
)

// The scale run (issue 25): many busy lines with no incident, where each line
// is another chance of a chance alert. Each named seed is another 100 lines: 4
// accounts of 25 lines and their ALL, peaking at 60 to 80 calls an hour (a
// 30-minute window then holds 30 to 40 calls, where a fixed test errs most),
// 15% transferred, in New York time as the other synthetic traffic.

// scaleSeeds are the scale run's named seeds, and belowSeed the one of them
// whose lines VoiceTrendsCallsBelowUsual is judged on: its rules cost three
// times the transfer statistic's, and the suite must stay quick.
var (
	scaleSeeds = []uint64{1, 2, 3}
	belowSeed  = scaleSeeds[0]
)

const (
	// scaleLines is the number of busy lines of each seed.
	scaleLines = 100
	// scaleAccounts is how many accounts share them (each with its ALL).
	scaleAccounts = 4
)

var (
	// scaleNames name the accounts; their first letters differ, so that each
	// draws its own random traffic (account.write seeds from the name).
	scaleNames = []string{"alpha", "bravo", "charlie", "delta"}

	// The transfers are judged over two days, Monday 9 and Tuesday 10
	// November 2026, with the lines at their peak round the clock (a day then
	// holds the calls of 2.3 working days: the statistic counts calls, not
	// hours), every 5 minutes: the figures move at each 5-minute refresh, and
	// the transfer statistic sums what each evaluation sees, so a coarser step
	// would sum coarser steps and hide chance alerts (10 minutes: about 40%).
	scaleStart = time.Date(2026, 11, 9, 0, 0, 0, 0, newYork)
	scaleEnd   = time.Date(2026, 11, 11, 0, 0, 0, 0, newYork)

	// VoiceTrendsCallsBelowUsual is judged on Wednesday 11 November with the
	// business-day shape, against all three baseline days (day, 1w and 2w:
	// the dates served), every 20 minutes: the shortest window it judges, so
	// each of its windows is judged once (the longer ones overlap).
	belowStart  = time.Date(2026, 10, 28, 0, 0, 0, 0, newYork)
	belowJudged = time.Date(2026, 11, 11, 0, 0, 0, 0, newYork)
	belowEnd    = time.Date(2026, 11, 12, 0, 0, 0, 0, newYork)
	belowDays   = func(date string) bool {
		switch date {
		case "2026-10-28", "2026-11-04", "2026-11-10", "2026-11-11":
			return true
		}
		return false
	}
)

// scaleTraffic returns the accounts of the scale run, installed at start, at
// their peak round the clock if flat: line i of scaleLines peaks at
// 60 + 20·i/99 calls an hour.
func scaleTraffic(start time.Time, flat bool) []account {
	perAccount := scaleLines / scaleAccounts
	accounts := make([]account, 0, scaleAccounts)
	for k, name := range scaleNames[:scaleAccounts] {
		a := account{name: name, all: true, installed: start, flat: flat}
		for i := range perAccount {
			line := k*perAccount + i
			a.numbers = append(a.numbers, i)
			a.peaks = append(a.peaks, 60+20*float64(line)/float64(scaleLines-1))
			a.phones = append(a.phones, fmt.Sprintf("61755%05d", line))
		}
		accounts = append(accounts, a)
	}
	return accounts
}

// TestSyntheticScale runs 100 busy lines with no incident on each named seed,
// in two promtool runs at once: at most one chance
// VoiceTrendsTransferRateHigh in all over two days at their peak (each line
// about a working week's calls; docs/alerts-design.md: about 0.4 a month per 100
// such lines, so about 0.25 expected), and no VoiceTrendsCallsBelowUsual over
// a working day of the first seed's lines, judged against a full baseline. With
// VOICETRENDS_SYNTHETIC_REPORT=1 it logs each alert that fired.
func TestSyntheticScale(t *testing.T) {
	promtest.RequireFrom(t, "prometheus", "the synthetic run of 100 busy lines", "promtool")
	t.Parallel()
	if newYorkErr != nil {
		t.Fatal(newYorkErr)
	}
	report := os.Getenv("VOICETRENDS_SYNTHETIC_REPORT") == "1"
	dir := t.TempDir()

	var b strings.Builder
	transferGroups := []string{"voicetrends.thresholds", "voicetrends.transfers"}
	b.WriteString(rulesHeader(groupRules(t, filepath.Join(dir, "transfer_rules.yml"), transferGroups), "5m", transferGroups))
	for _, seed := range scaleSeeds {
		for _, a := range scaleTraffic(scaleStart, true) {
			a.write(&b, seed, scaleStart, scaleEnd, nil)
		}
	}
	// The chance warnings: each evaluation at which the alert fires for a
	// series and did not 5 minutes before.
	span := int(scaleEnd.Sub(scaleStart) / time.Minute)
	warnings := fmt.Sprintf(`sum by (account, phone) (count_over_time((ALERTS{alertname="VoiceTrendsTransferRateHigh",alertstate="firing"} unless ALERTS{alertname="VoiceTrendsTransferRateHigh",alertstate="firing"} offset 5m)[%dm:5m]))`, span)
	b.WriteString("    promql_expr_test:\n")
	if report {
		fmt.Fprintf(&b, "      - expr: '%s'\n        eval_time: %s\n        exp_samples: []\n", warnings, promDuration(scaleStart, scaleEnd))
	} else {
		fmt.Fprintf(&b, "      - expr: '(sum(%s) or vector(0)) <= bool 1'\n        eval_time: %s\n        exp_samples:\n          - labels: '{}'\n            value: 1\n", warnings, promDuration(scaleStart, scaleEnd))
	}
	transfers := filepath.Join(dir, "scale_transfers_test.yml")
	if err := os.WriteFile(transfers, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}

	below := []string{"voicetrends.thresholds", "voicetrends.baseline", "voicetrends.hourly"}
	b.Reset()
	b.WriteString(rulesHeader(groupRules(t, filepath.Join(dir, "below_rules.yml"), below), "20m", below))
	for _, a := range scaleTraffic(belowStart, false) {
		a.write(&b, belowSeed, belowStart, belowEnd, belowDays)
	}
	fmt.Fprintf(&b, "    promql_expr_test:\n      - expr: 'count_over_time(ALERTS{alertname=\"VoiceTrendsCallsBelowUsual\",alertstate=\"firing\"}[%dm:20m])'\n        eval_time: %s\n        exp_samples: []\n",
		int(belowEnd.Sub(belowJudged)/time.Minute), promDuration(belowStart, belowEnd))
	belowFile := filepath.Join(dir, "scale_below_test.yml")
	if err := os.WriteFile(belowFile, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}

	outs, errs := promtoolEach(transfers, belowFile)
	out, err := outs[0]+outs[1], errors.Join(errs...)
	if report {
		for _, m := range scaleGotRE.FindAllStringSubmatch(out, -1) {
			t.Logf("%s", m[0])
		}
	}
	if err != nil && !report {
		if keep := os.Getenv("VOICETRENDS_KEEP_SYNTHETIC"); keep != "" {
			_ = os.WriteFile(keep+".scale_transfers.yml", []byte(mustRead(t, transfers)), 0o600)
			_ = os.WriteFile(keep+".scale_below.yml", []byte(b.String()), 0o600)
		}
		t.Fatalf("promtool test rules on %d busy lines, seeds %v (calls below usual: seed %d; set VOICETRENDS_KEEP_SYNTHETIC=prefix to keep the input, VOICETRENDS_SYNTHETIC_REPORT=1 to list the alerts): %v\n%.8000s", scaleLines, scaleSeeds, belowSeed, err, out)
	}
	t.Logf("seeds %v, %d busy lines each: at most one chance transfer warning over %s at their peak; seed %d: no calls-below page over a working day",
		scaleSeeds, scaleLines, scaleEnd.Sub(scaleStart), belowSeed)
}

// scaleGotRE matches a series promtool reports a check did not expect.
var scaleGotRE = regexp.MustCompile(`\{[^{}]*account="[^"]+"[^{}]*\} [0-9.E+-]+`)
