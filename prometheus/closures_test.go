package prometheus

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
)

// Closed days (issue 25): on "closed" the centre declares Friday 30 October
// closed (the exporter serves voicetrends_closed 1 through that local day) and
// every number's calls fall to a tenth all day; "undeclared" has the same fall
// and no voicetrends_closed series at all, as from an exporter without
// closures. A week later, on Friday 6 November, the busiest number of "closed"
// stops at 10:00: its 1w baseline is then the closed day.
var (
	// closureSeeds are the named seeds of the closure weeks: three of seeds,
	// as each seed costs promtool some 8 s of CPU here.
	closureSeeds     = []uint64{1, 2, 3}
	closureInstalled = time.Date(2026, 10, 23, 0, 0, 0, 0, newYork)
	closedFriday     = time.Date(2026, 10, 30, 0, 0, 0, 0, newYork)
	closureStop      = time.Date(2026, 11, 6, 10, 0, 0, 0, newYork)
	closureEnd       = closureStop.Add(30 * time.Minute)
	// undeclaredEnd is where the "undeclared" series end: its page is in the
	// morning.
	undeclaredEnd  = closedFriday.Add(12 * time.Hour)
	closureTraffic = []account{
		{name: "closed", numbers: []int{0, 1, 2}, all: true, installed: closureInstalled, closed: []string{"2026-10-30"},
			incidents: append(fallAllDay([]int{0, 1, 2}, closedFriday, 0.1), incident{number: 0, from: closureStop, to: closureEnd.Add(time.Hour), stop: true})},
		{name: "undeclared", numbers: []int{0}, installed: closureInstalled, incidents: fallAllDay([]int{0}, closedFriday, 0.1)},
	}
	// closureDays are the dates each account is served (promtool's work grows
	// with the points): the closed Friday, the next day, and the Friday a week
	// later, with the baseline days they read; "undeclared", its busiest
	// number alone, only needs the Friday and its baselines, up to
	// undeclaredEnd. (A Monday whose last
	// weekday was closed is a rule unit test: the same reading of
	// voicetrends_closed at another distance.)
	closureDays = map[string][]string{
		"closed":     {"2026-10-23", "2026-10-24", "2026-10-29", "2026-10-30", "2026-10-31", "2026-11-05", "2026-11-06"},
		"undeclared": {"2026-10-23", "2026-10-29", "2026-10-30"},
	}
	closureEnds  = map[string]time.Time{"closed": closureEnd, "undeclared": undeclaredEnd}
	closureCases = []pageCase{
		// The fall lasts all day; it shows once the usual calls of a window are
		// enough to judge: from 08:00 to 08:20 on seeds 1 to 3, so by 09:00.
		{"the same fall, undeclared, pages", "undeclared", numbers[0], "VoiceTrendsCallsBelowUsual", closedFriday, 9 * time.Hour},
		{"the 60 calls/h number stops a week after the closed day", "closed", numbers[0], "VoiceTrendsCallsBelowUsual", closureStop, 25 * time.Minute},
	}
)

// fallAllDay is the incidents of numbers whose calls fall to scale of their
// usual rate for the local day starting at day.
func fallAllDay(numbers []int, day time.Time, scale float64) []incident {
	var incs []incident
	for _, n := range numbers {
		incs = append(incs, incident{number: n, from: day, to: day.AddDate(0, 0, 1), scale: scale})
	}
	return incs
}

// TestSyntheticClosures proves with promtool, on each of the named seeds, that
// the rules honour closed days: nothing fires for "closed" from its install
// to the stop a week after its closed Friday (the Friday itself, the next
// morning, and the days around them that are served), and the stop pages
// within 25 minutes with the closed day left out of its baseline; the same
// fall, undeclared, pages on the day. Checked every 10
// minutes, as the timed file of TestSyntheticTraffic; VOICETRENDS_SYNTHETIC_REPORT=1
// logs when each case first fired.
func TestSyntheticClosures(t *testing.T) {
	report, dir, rules := startSynthetic(t)

	var b strings.Builder
	b.WriteString(trafficHeader(rules, model.Duration(timedStep).String()))
	for _, seed := range closureSeeds {
		for _, a := range closureTraffic {
			days := closureDays[a.name]
			a.write(&b, seed, closureInstalled, closureEnds[a.name], func(date string) bool { return slices.Contains(days, date) })
		}
	}
	writeTimedChecks(&b, closureSeeds, closureInstalled, closureTraffic, closureCases, closureEnd, report)
	file := filepath.Join(dir, "closures_test.yml")
	if err := os.WriteFile(file, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("promtool", "test", "rules", file).CombinedOutput()
	if report {
		logCaseFirings(t, string(out), closureSeeds, closureCases)
		return
	}
	if err != nil {
		if keep := os.Getenv("VOICETRENDS_KEEP_SYNTHETIC"); keep != "" {
			_ = os.WriteFile(keep+".closures.yml", []byte(b.String()), 0o600)
		}
		t.Fatalf("promtool test rules on the closure weeks, seeds %v (set VOICETRENDS_KEEP_SYNTHETIC=prefix to keep the input): %v\n%.8000s", closureSeeds, err, out)
	}
	t.Logf("seeds %v: %d cases by their deadlines; nothing fired for a declared closure", closureSeeds, len(closureCases))
}
