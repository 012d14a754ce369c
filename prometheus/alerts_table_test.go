package prometheus

import (
	"math"
	"math/rand/v2"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// The shipped rules' defaults the operator's table is computed for
// (prometheus/rules.yml: the surprise rule and VoiceTrendsCallsBelowUsual,
// cusum_step, cusum and VoiceTrendsTransferRateHigh).
const (
	tableSurprise     = 11.5
	tableBelowShare   = 0.5
	tableCusumAlert   = 12.0
	tableCusumCap     = 20.0
	tableUsualShare   = 0.15
	tableJumpedShare  = 0.45
	tableScrapeMinute = 0.5 // increase() extrapolates over 30 s scrapes
)

// tableWindows are the windows VoiceTrendsCallsBelowUsual judges, in minutes.
var tableWindows = []float64{20, 60, 240}

// callTimes draws the minutes of Poisson calls at perMinute in [from, to).
func callTimes(r *rand.Rand, perMinute, from, to float64) []float64 {
	out := make([]float64, 0, int(perMinute*(to-from)*1.2)+8)
	for t := from + r.ExpFloat64()/perMinute; t < to; t += r.ExpFloat64() / perMinute {
		out = append(out, t)
	}
	return out
}

// callsIn counts the sorted times in (from, to].
func callsIn(times []float64, from, to float64) float64 {
	return float64(sort.SearchFloat64s(times, math.Nextafter(to, math.Inf(1))) - sort.SearchFloat64s(times, math.Nextafter(from, math.Inf(1))))
}

// keptBaseline is baseline_kept's days (a quarter to twice their median),
// their total and their count.
func keptBaseline(days []float64) (total, kept float64) {
	var buf [3]float64 // at most three baseline days; no garbage per check
	sorted := append(buf[:0], days...)
	slices.Sort(sorted)
	median := sorted[len(sorted)/2]
	if len(sorted)%2 == 0 {
		median = (sorted[len(sorted)/2-1] + median) / 2
	}
	for _, d := range sorted {
		if d >= 0.25*median && d <= 2*median {
			total += d
			kept++
		}
	}
	return total, kept
}

// surpriseOf is phone:voicetrends_calls_below_usual:surprise's formula, or 0
// where the calls are not at most half the expected.
func surpriseOf(judged, expected, baselineTotal float64) float64 {
	if expected <= 0 || judged > tableBelowShare*expected {
		return 0
	}
	n := judged + baselineTotal
	return judged*math.Log(math.Max(judged, 1e-9)/expected) + n*math.Log((baselineTotal+expected)/n)
}

// minutesToPageStop simulates one number of perHour calls that stops at
// minute 0, with days baseline days, figures refreshed every refresh minutes
// and the rules evaluated every minute, both at random phases, and returns
// the minutes until VoiceTrendsCallsBelowUsual pages (+Inf if not in 10 h).
func minutesToPageStop(r *rand.Rand, perHour, refresh float64, days int) float64 {
	rate := perHour / 60
	today := callTimes(r, rate, -300, 0)
	baselines := make([][]float64, days)
	for i := range baselines {
		baselines[i] = callTimes(r, rate, -300, 600)
	}
	phase := r.Float64() * refresh
	lastRefresh := func(t float64) float64 { return phase + math.Floor((t-phase)/refresh)*refresh }
	counts := make([]float64, days)
	for t := r.Float64(); t < 600; t++ {
		for _, w := range tableWindows {
			from, to := lastRefresh(t-w), lastRefresh(t)
			covered := math.Min(to-from, w) / w
			for i, b := range baselines {
				counts[i] = callsIn(b, t-w, t)
			}
			total, kept := keptBaseline(counts)
			if covered <= 0 || kept == 0 {
				continue
			}
			judged := callsIn(today, from, to) * w / (w - tableScrapeMinute)
			if surpriseOf(judged, total/kept*covered, total) >= tableSurprise {
				return t
			}
		}
	}
	return math.Inf(1)
}

// minutesToPageJump simulates one number of perHour calls whose transfer
// share jumps from 15% to 45% within a refresh, refreshed every refresh
// minutes, and returns the minutes until VoiceTrendsTransferRateHigh pages
// (+Inf if not in a day).
func minutesToPageJump(r *rand.Rand, perHour, refresh float64) float64 {
	up, down := math.Log(tableJumpedShare/tableUsualShare), math.Log((1-tableUsualShare)/(1-tableJumpedShare))
	step := func(sum float64, calls int, share float64) float64 {
		return math.Min(math.Max(sum+(up+down)*float64(transferred(r, calls, share))-down*float64(calls), 0), tableCusumCap)
	}
	perRefresh := perHour / 60 * refresh
	sum := 0.0
	for seen := 0; seen < 100; { // 100 calls: where normal traffic keeps the statistic
		calls := poisson(r, perRefresh)
		sum = step(sum, calls, tableUsualShare)
		seen += calls
	}
	at := r.Float64() * refresh
	sum = step(sum, poisson(r, perRefresh*at/refresh), tableUsualShare)
	sum = step(sum, poisson(r, perRefresh*(refresh-at)/refresh), tableJumpedShare)
	minutes := refresh - at
	for sum < tableCusumAlert && minutes < 24*60 {
		sum = step(sum, poisson(r, perRefresh), tableJumpedShare)
		minutes += refresh
	}
	if sum < tableCusumAlert {
		return math.Inf(1)
	}
	return minutes
}

// tableQuantiles runs one column's simulation cases times and returns the
// median and the 5th and 95th percentiles.
func tableQuantiles(cases int, simulate func() float64) (median, p5, p95 float64) {
	got := make([]float64, cases)
	for i := range got {
		got[i] = simulate()
	}
	slices.Sort(got)
	return got[cases/2], got[cases*5/100], got[cases*95/100]
}

// tableRow is one row of docs/alerts.md's minutes-to-page table.
var tableRow = regexp.MustCompile(`(?m)^\| (\d+) \| [^|]+ \|((?:[\d–() ]+\|){5})$`)

// TestAlertsTableHonest reruns the simulation docs/alerts-design.md
// describes ("How the operator's table was obtained") for each row of the
// operator's minutes-to-page table in docs/alerts.md and fails when a median
// there is off the rules' arithmetic by more than a tenth: change a default
// threshold or window, and the table must follow.
func TestAlertsTableHonest(t *testing.T) {
	t.Parallel()
	page, err := os.ReadFile("../docs/alerts.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := tableRow.FindAllStringSubmatch(string(page), -1)
	if len(rows) < 5 {
		t.Fatalf("docs/alerts.md: found %d rows of the minutes-to-page table, want 5 or more", len(rows))
	}
	cases, report := 300, os.Getenv("VOICETRENDS_TABLE_REPORT") != ""
	if report {
		cases = 1000
	}
	for _, row := range rows {
		perHour, _ := strconv.ParseFloat(row[1], 64)
		var medians []float64
		for cell := range strings.SplitSeq(strings.Trim(row[2], " |"), "|") {
			median, _, _ := strings.Cut(strings.TrimSpace(cell), " ")
			v, err := strconv.ParseFloat(median, 64)
			if err != nil {
				t.Fatalf("docs/alerts.md: row %q: %v", row[0], err)
			}
			medians = append(medians, v)
		}
		r := rand.New(rand.NewPCG(26, uint64(perHour)))
		columns := []struct {
			name     string
			simulate func() float64
		}{
			{"stops, refreshed every 5 min", func() float64 { return minutesToPageStop(r, perHour, 5, 3) }},
			{"stops, every 30 min", func() float64 { return minutesToPageStop(r, perHour, 30, 3) }},
			{"stops, first week", func() float64 { return minutesToPageStop(r, perHour, 5, 1) }},
			{"transfers, every 5 min", func() float64 { return minutesToPageJump(r, perHour, 5) }},
			{"transfers, every 30 min", func() float64 { return minutesToPageJump(r, perHour, 30) }},
		}
		refreshes := []float64{5, 30, 5, 5, 30}
		for i, column := range columns {
			got, p5, p95 := tableQuantiles(cases, column.simulate)
			if report {
				t.Logf("%s calls an hour, %s: %.0f (%.0f–%.0f)", row[1], column.name, got, p5, p95)
			}
			// The page comes at a refresh, so a quantile can move by a
			// part of one between runs of other seeds.
			if math.Abs(got-medians[i]) > max(0.1*medians[i], refreshes[i]/4) {
				t.Errorf("docs/alerts.md, %s calls an hour, %s: the table says %g minutes, the rules' arithmetic %.0f", row[1], column.name, medians[i], got)
			}
		}
	}
}
