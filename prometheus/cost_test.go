package prometheus

import (
	"bufio"
	"cmp"
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/voicetrends/voicetrends_exporter/prometheus/promtest"
)

// The rule cost benchmark's history: costAccounts accounts of costNumbers
// numbers each and their ALL, the numbers' traffic as in the synthetic tests
// (peaks of 60, 20 and 5 calls an hour in turn), in New York time.
const (
	costAccounts = 10
	costNumbers  = 100
	// costRefresh is how often the exporter's figures change.
	costRefresh = 5 * time.Minute
	// costInterval is the benchmark's evaluation_interval: short, so that a
	// run sees several evaluations before the history goes stale.
	costInterval = 10 * time.Second
	// costPerIteration is how many evaluations of every group one iteration
	// of the benchmark waits for: several, as other work on the machine
	// makes single ones vary.
	costPerIteration = 7
	// costHead is how much of the history is in Prometheus' head, where a
	// running Prometheus holds the last 1 to 3 hours (it writes a block of the
	// oldest 2 when the head spans 3); the rest is in blocks.
	costHead = 2 * time.Hour
	// costPushPoints is how many points of each series a remote write
	// carries.
	costPushPoints = 10
	// costFresh is how long after the history's end the rules still read
	// today's figures: Prometheus' 5-minute lookback, less a margin.
	costFresh = 4 * time.Minute
)

// costSpan is a stretch of the history: from back+length before its end to
// back before it, a point every step.
type costSpan struct {
	back, length, step time.Duration
}

// costSpans cover what the rules read: the last 4 hours (at the 1-minute
// scrapes whose ranges increase() reads), and around the baseline days (1,
// 3, 7 and 14 days back, from the hour after the same time to 5 hours
// before it) and the day starts 6 and 13 days back, a point per refresh
// there: those rules read single samples. The margins cover the minutes the
// benchmark runs; the spans are in time order, as the importer wants them.
var costSpans = []costSpan{
	{334 * time.Hour, 7*time.Hour + 30*time.Minute, costRefresh},
	{13*24*time.Hour - 30*time.Minute, time.Hour, costRefresh},
	{166 * time.Hour, 7*time.Hour + 30*time.Minute, costRefresh},
	{6*24*time.Hour - 30*time.Minute, time.Hour, costRefresh},
	{70 * time.Hour, 7*time.Hour + 30*time.Minute, costRefresh},
	{22 * time.Hour, 7*time.Hour + 30*time.Minute, costRefresh},
	{0, 5*time.Hour + 10*time.Minute, time.Minute},
}

// costSeries is one phone's figures at the points of the spans, in order.
type costSeries struct {
	account, phone                         string
	calls, transfers, dayStarts, successes []float64
}

// costHistory simulates every account's numbers and ALL over the spans
// ending at end: the running counts since local midnight as of the last
// refresh, its day's start and its time, as the exporter serves them.
//
// The traffic is that of a weekday late morning whatever the hour the
// benchmark runs at: it is simulated busyShift(end) later than the points
// are dated. At night a quiet number has no calls in a window, and the rules
// would judge fewer numbers (the benchmark fails on that). The traffic rules
// read the day starts and refresh times only as differences, and the weekday
// of a day start, which the shift keeps consistent with the traffic; only the
// alerts group compares refresh times with now (stale figures), and its
// cost does not depend on the answer.
func costHistory(end time.Time) []*costSeries {
	shift := busyShift(end)
	var all []*costSeries
	for a := range costAccounts {
		r := rand.New(rand.NewPCG(uint64(a), 17))
		series := make([]*costSeries, costNumbers+1)
		for n := range series {
			series[n] = &costSeries{account: fmt.Sprintf("cost%02d", a), phone: fmt.Sprintf("617555%02d%02d", a, n)}
		}
		series[costNumbers].phone = "ALL"
		for _, s := range costSpans {
			simulateSpan(r, series, end.Add(shift-s.back-s.length), end.Add(shift-s.back), s.step)
		}
		all = append(all, series...)
	}
	return all
}

// busyShift is how much later than end the next (or the same day's) 11:00 of
// a weekday in New York is: from 13 hours earlier to 3 days later.
func busyShift(end time.Time) time.Duration {
	l := end.In(newYork)
	busy := time.Date(l.Year(), l.Month(), l.Day(), 11, 0, 0, 0, newYork)
	for busy.Weekday() == time.Saturday || busy.Weekday() == time.Sunday {
		busy = busy.AddDate(0, 0, 1)
	}
	return busy.Sub(end)
}

// simulateSpan appends the figures of the points from start to end, every
// step, to series: the account's numbers, then its ALL. It draws the traffic
// of every refresh from the local midnight before start.
func simulateSpan(r *rand.Rand, series []*costSeries, start, end time.Time, step time.Duration) {
	l := start.In(newYork)
	day := time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, newYork)
	refresh := day
	calls := make([]float64, len(series))
	transfers := make([]float64, len(series))
	for t := start; !t.After(end); t = t.Add(step) {
		for next := refresh.Add(costRefresh); !next.After(t); next = refresh.Add(costRefresh) {
			if l := next.In(newYork); l.Hour() == 0 && l.Minute() == 0 {
				day = next // the running counts restart at local midnight
				clear(calls)
				clear(transfers)
			} else {
				drawRefresh(r, refresh, calls, transfers)
			}
			refresh = next
		}
		for i, s := range series {
			s.calls = append(s.calls, calls[i])
			s.transfers = append(s.transfers, transfers[i])
			s.dayStarts = append(s.dayStarts, float64(day.Unix()))
			s.successes = append(s.successes, float64(refresh.Unix()))
		}
	}
}

// drawRefresh adds the calls and transfers of the refresh interval from t
// to the running counts of the numbers, and their sum to the last, ALL.
func drawRefresh(r *rand.Rand, t time.Time, calls, transfers []float64) {
	last := len(calls) - 1
	for n := range last {
		c := poisson(r, peaks[n%len(peaks)]*shape(t)/12)
		tr := transferred(r, c, 0.15)
		calls[n] += float64(c)
		transfers[n] += float64(tr)
		calls[last] += float64(c)
		transfers[last] += float64(tr)
	}
}

// costMetric is one metric of the history: its name, its labels besides job,
// instance, account and phone, and its values in a series.
type costMetric struct {
	name   string
	labels map[string]string
	values func(*costSeries) []float64
}

// costMetrics are the metrics the rules read, as the exporter serves them.
var costMetrics = []costMetric{
	{"voicetrends_calls", map[string]string{"period": "day", "window": "current"}, func(s *costSeries) []float64 { return s.calls }},
	{"voicetrends_transfers", map[string]string{"period": "day", "window": "current"}, func(s *costSeries) []float64 { return s.transfers }},
	{"voicetrends_period_start_timestamp_seconds", map[string]string{"period": "day", "window": "current"}, func(s *costSeries) []float64 { return s.dayStarts }},
	{"voicetrends_last_success_timestamp_seconds", map[string]string{"period": "day"}, func(s *costSeries) []float64 { return s.successes }},
}

// costTimes are the times of the spans' points ending at end, in order.
func costTimes(end time.Time) []time.Time {
	var times []time.Time
	for _, s := range costSpans {
		for t := end.Add(-s.back - s.length); !t.After(end.Add(-s.back)); t = t.Add(s.step) {
			times = append(times, t)
		}
	}
	return times
}

// labelsOf gives the labels of series s of metric m, __name__ included, and
// the synthetic series' job and instance.
func (m costMetric) labelsOf(s *costSeries) map[string]string {
	l := map[string]string{"__name__": m.name, "job": seriesJob, "instance": seriesInstance, "account": s.account, "phone": s.phone}
	maps.Copy(l, m.labels)
	return l
}

// writeOpenMetrics writes the history's points up to until as promtool's
// openmetrics importer reads them: each metric's series one after the
// other.
func writeOpenMetrics(file string, series []*costSeries, end, until time.Time) error {
	times := costTimes(end)
	f, err := os.Create(file)
	if err != nil {
		return fmt.Errorf("creating the history: %w", err)
	}
	w := bufio.NewWriter(f)
	for _, m := range costMetrics {
		fmt.Fprintf(w, "# TYPE %s gauge\n", m.name)
		for _, s := range series {
			l := m.labelsOf(s)
			delete(l, "__name__")
			name := m.name + braced(l)
			for i, v := range m.values(s) {
				if times[i].After(until) {
					break
				}
				fmt.Fprintf(w, "%s %g %d\n", name, v, times[i].Unix())
			}
		}
	}
	fmt.Fprintln(w, "# EOF")
	if err := w.Flush(); err != nil {
		_ = f.Close()
		return fmt.Errorf("writing the history: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing the history: %w", err)
	}
	return nil
}

// pushHead sends the history's points after from to srv's head by remote
// write, costPushPoints points of every series a request: the head takes
// no sample older than an hour before its latest, so the pushes go forward
// in time together.
func pushHead(ctx context.Context, srv *promtest.Server, series []*costSeries, end, from time.Time) error {
	times := costTimes(end)
	first := slices.IndexFunc(times, func(t time.Time) bool { return t.After(from) })
	if first < 0 {
		return nil
	}
	var whole []promtest.Series // every series of every metric, all its points
	for _, m := range costMetrics {
		for _, s := range series {
			whole = append(whole, promtest.Series{Labels: m.labelsOf(s), Times: times, Values: m.values(s)})
		}
	}
	for i := first; i < len(times); i += costPushPoints {
		j := min(i+costPushPoints, len(times))
		push := make([]promtest.Series, 0, len(whole))
		for _, w := range whole {
			push = append(push, promtest.Series{Labels: w.Labels, Times: w.Times[i:j], Values: w.Values[i:j]})
		}
		if err := srv.RemoteWrite(ctx, push); err != nil {
			return fmt.Errorf("pushing the points from %s: %w", times[i].Format(time.TimeOnly), err)
		}
	}
	return nil
}

// apiRules is the part of /api/v1/rules the benchmark reads.
type apiRules struct {
	Groups []struct {
		Name           string    `json:"name"`
		EvaluationTime float64   `json:"evaluationTime"`
		LastEvaluation time.Time `json:"lastEvaluation"`
		Rules          []struct {
			Name           string            `json:"name"`
			Labels         map[string]string `json:"labels"`
			Type           string            `json:"type"`
			Health         string            `json:"health"`
			LastError      string            `json:"lastError"`
			EvaluationTime float64           `json:"evaluationTime"`
		} `json:"rules"`
	} `json:"groups"`
}

// costRecord gathers each group's evaluations as /api/v1/rules shows them:
// the group's evaluationTime is what prometheus_rule_group_last_duration_seconds
// reports, and its rules' evaluationTime their share.
type costRecord struct {
	last   map[string]time.Time          // the latest evaluation seen, by group
	groups map[string][]float64          // seconds per evaluation, by group
	rules  map[string]map[string]float64 // summed seconds, by group and rule
	spans  map[string][][2]time.Time     // each evaluation's start and end, by group
}

// add records the groups' evaluations that are new in rs; it fails on a rule
// whose last evaluation failed.
func (c *costRecord) add(rs apiRules) error {
	for _, g := range rs.Groups {
		if g.LastEvaluation.IsZero() || !g.LastEvaluation.After(c.last[g.Name]) {
			continue
		}
		first := c.last[g.Name].IsZero()
		c.last[g.Name] = g.LastEvaluation
		for i, r := range g.Rules {
			if r.Health == "err" {
				return fmt.Errorf("group %s, rule %s: %s", g.Name, r.Name, r.LastError)
			}
			if first {
				continue // the first evaluation warms the caches up
			}
			if c.rules[g.Name] == nil {
				c.rules[g.Name] = map[string]float64{}
			}
			c.rules[g.Name][fmt.Sprintf("%02d %s%s", i+1, r.Name, braced(r.Labels))] += r.EvaluationTime
		}
		if !first {
			c.groups[g.Name] = append(c.groups[g.Name], g.EvaluationTime)
			end := g.LastEvaluation.Add(time.Duration(g.EvaluationTime * float64(time.Second)))
			c.spans[g.Name] = append(c.spans[g.Name], [2]time.Time{g.LastEvaluation, end})
		}
	}
	return nil
}

// forget drops the evaluations recorded so far, keeping the latest seen.
func (c *costRecord) forget() {
	clear(c.groups)
	clear(c.rules)
	clear(c.spans)
}

// overlapped counts the recorded evaluations of group a that ran while one
// of group b did.
func (c *costRecord) overlapped(a, b string) int {
	n := 0
	for _, x := range c.spans[a] {
		for _, y := range c.spans[b] {
			if x[0].Before(y[1]) && y[0].Before(x[1]) {
				n++
				break
			}
		}
	}
	return n
}

// braced writes labels l, sorted, as a selector's braces (a rule's own
// labels, a series of the history), or nothing when there are none.
func braced(l map[string]string) string {
	if len(l) == 0 {
		return ""
	}
	pairs := make([]string, 0, len(l))
	for _, k := range slices.Sorted(maps.Keys(l)) {
		pairs = append(pairs, fmt.Sprintf("%s=%q", k, l[k]))
	}
	return "{" + strings.Join(pairs, ",") + "}"
}

// waitEvaluations polls /api/v1/rules until every group has n more
// evaluations recorded than it had, failing when that takes until stale:
// later evaluations would read no figures of today.
func waitEvaluations(ctx context.Context, srv *promtest.Server, c *costRecord, n int, stale time.Time) error {
	want := map[string]int{}
	for g, d := range c.groups {
		want[g] = len(d) + n
	}
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		var rs apiRules
		if err := srv.API(ctx, "/api/v1/rules", nil, &rs); err != nil {
			return fmt.Errorf("reading the rules' evaluations: %w", err)
		}
		if err := c.add(rs); err != nil {
			return err
		}
		done := len(rs.Groups) > 0
		for _, g := range rs.Groups {
			if len(c.groups[g.Name]) < max(want[g.Name], n) {
				done = false
			}
		}
		if done {
			return nil
		}
		if time.Now().After(stale) {
			recorded := map[string]int{}
			for g, d := range c.groups {
				recorded[g] = len(d)
			}
			return fmt.Errorf("evaluations recorded %v by %s, when today's figures go stale: run fewer iterations (-benchtime=1x)", recorded, stale.Format(time.TimeOnly))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// startCostPrometheus writes the history ending at end, imports it and
// starts Prometheus on it with rules.yml (or the file the environment
// variable VOICETRENDS_COST_RULES names), every group evaluated every
// costInterval, at phases phasedRules chooses with together.
func startCostPrometheus(b *testing.B, end time.Time, together bool) *promtest.Server {
	b.Helper()
	promtest.Require(b, "prometheus", "promtool")
	if newYorkErr != nil {
		b.Fatal(newYorkErr)
	}
	file := "rules.yml"
	if f := os.Getenv("VOICETRENDS_COST_RULES"); f != "" {
		file = f // another version, to compare with
	}
	dir := b.TempDir()
	rules, err := phasedRules(file, dir, together)
	if err != nil {
		b.Fatal(err)
	}
	history := filepath.Join(dir, "history.om")
	series := costHistory(end)
	head := end.Add(-costHead)
	if err := writeOpenMetrics(history, series, end, head); err != nil {
		b.Fatal(err)
	}
	storage := filepath.Join(dir, "data")
	promtest.Promtool(b, "tsdb", "create-blocks-from", "openmetrics", "--max-block-duration=486h", history, storage)
	if err := os.Remove(history); err != nil {
		b.Fatal(err)
	}
	srv := promtest.Start(b, promtest.Options{
		Config:      fmt.Sprintf("global:\n  evaluation_interval: %s\nrule_files:\n  - %q\n", costInterval, rules),
		StoragePath: storage,
		ExtraArgs:   []string{"--storage.tsdb.retention.time=10y", "--web.enable-remote-write-receiver"},
	})
	if err := pushHead(b.Context(), srv, series, end, head); err != nil {
		b.Fatal(err)
	}
	return srv
}

// costPhased are the groups that take most of the time, the first two the
// most: whether they run at once or one after the other changes what each
// measures on two cores.
var costPhased = []string{"voicetrends.baseline", "voicetrends.hourly", "voicetrends.transfers", "voicetrends.dashboards"}

// costGap is how far apart phasedRules starts the groups of costPhased
// (but the first two, with together).
const costGap = 2 * time.Second

// groupPhase is where in each costInterval Prometheus (2.42, rules/manager.go
// Group.EvalTimestamp) evaluates the group name of the rule file file: the
// hash of the labels file and name, modulo the interval. The phase of each
// group thus depends on the path of its file, a temporary one here.
func groupPhase(name, file string) time.Duration {
	return time.Duration(xxhash.Sum64String("file\xff"+file+"\xffname\xff"+name+"\xff") % uint64(costInterval))
}

// heaviestPair tells whether groups x and y of costPhased are its first two.
func heaviestPair(x, y int) bool { return min(x, y) == 0 && max(x, y) == 1 }

// phaseGap is how far apart in the interval groups a and b of file start.
func phaseGap(a, b, file string) time.Duration {
	gap := (groupPhase(a, file) - groupPhase(b, file) + costInterval) % costInterval
	return min(gap, costInterval-gap)
}

// phasedRules writes the rules of file, every group at costInterval, to a
// directory under dir chosen so that the groups of costPhased start at least
// costGap apart (in Prometheus their phases are as good as random and
// voicetrends.baseline runs once a minute: they mostly do not meet), or, with
// together, the first two within a tenth of a second of each other: the
// worst case, both on the two cores at once.
func phasedRules(file, dir string, together bool) (string, error) {
	for i := range 10000 {
		d := filepath.Join(dir, fmt.Sprintf("rules%d", i))
		path := filepath.Join(d, filepath.Base(file))
		ok := true
		for x := range costPhased {
			for y := range x {
				gap := phaseGap(costPhased[x], costPhased[y], path)
				if together && heaviestPair(x, y) {
					ok = ok && gap <= 100*time.Millisecond
				} else {
					ok = ok && gap >= costGap
				}
			}
		}
		if !ok {
			continue
		}
		if err := os.Mkdir(d, 0o700); err != nil {
			return "", fmt.Errorf("writing the rules: %w", err)
		}
		return promtest.EveryInterval(file, d)
	}
	return "", fmt.Errorf("no directory name under %s gives the groups the phases wanted", dir)
}

// BenchmarkRuleGroups measures what each group of rules.yml costs per
// evaluation on a real Prometheus with 1 000 numbers (10 accounts of 100
// numbers, and their ALL) and the history the rules read: the median of the
// groups' evaluation times (prometheus_rule_group_last_duration_seconds),
// the first two evaluations left out, reported as s/eval-<group>. The last
// costHead of the history is in the head, the rest in blocks, and the
// groups of costPhased run one after the other. Each iteration waits for
// costPerIteration evaluations; with -v it logs them and the rules that take
// the most time. Run it with
//
//	go test ./prometheus/ -run '^$' -bench RuleGroups -benchtime 1x -v
//
// VOICETRENDS_COST_RULES=/path/to/rules.yml for another rule file, and
// VOICETRENDS_COST_PHASE=together for the two heaviest run at once.
// docs/alerts-design.md ("Rule cost") has the figures.
func BenchmarkRuleGroups(b *testing.B) {
	end := time.Now().Add(-time.Minute).Truncate(time.Minute)
	together := os.Getenv("VOICETRENDS_COST_PHASE") == "together"
	srv := startCostPrometheus(b, end, together)
	ctx := b.Context()
	c := &costRecord{last: map[string]time.Time{}, groups: map[string][]float64{}, rules: map[string]map[string]float64{}, spans: map[string][][2]time.Time{}}
	stale := end.Add(costFresh)
	// The first evaluation seen, and the next, which may have begun before
	// the head was pushed, are left out.
	if err := waitEvaluations(ctx, srv, c, 1, stale); err != nil {
		b.Fatal(err)
	}
	c.forget()
	for b.Loop() {
		if err := waitEvaluations(ctx, srv, c, costPerIteration, stale); err != nil {
			b.Fatal(err)
		}
	}
	checkCostResults(ctx, b, srv)
	// The phases are as groupPhase foretold, or the figures are not what
	// they say (another Prometheus may place groups otherwise).
	for x, g := range costPhased {
		for y, other := range costPhased {
			if x == y {
				continue
			}
			n, met := len(c.spans[g]), c.overlapped(g, other)
			b.Logf("%s: %d of %d evaluations ran while %s's did", g, met, n, other)
			if at := together && heaviestPair(x, y); at && met < n || !at && met > 0 {
				b.Errorf("%s met %s in %d of %d evaluations: the groups' phases are not the ones chosen", g, other, met, n)
			}
		}
	}
	b.ReportMetric(0, "ns/op") // an iteration's time is the evaluation interval
	for g, d := range c.groups {
		b.ReportMetric(median(d), "s/eval-"+strings.TrimPrefix(g, "voicetrends."))
		b.Logf("%s: %d evaluations, median %.3f s, least %.3f s: %.3f", g, len(d), median(d), slices.Min(d), d)
		logTopRules(b, g, c.rules[g], len(d))
	}
}

// checkCostResults fails the benchmark unless the traffic alerts' rules had
// something to work on: the history must give every number a baseline and
// an expectation, or the measurement would time empty vectors.
func checkCostResults(ctx context.Context, b *testing.B, srv *promtest.Server) {
	b.Helper()
	for _, q := range []string{
		`count(phone:voicetrends_calls:baseline_kept{baseline="1w"})`,
		`count(phone:voicetrends_calls:baseline_kept{baseline="2w"})`,
		`count(phone:voicetrends_calls:baseline_kept{baseline="day"})`,
		`count(phone:voicetrends_calls_below_usual:surprise)`,
		`count(phone:voicetrends_transfer_ratio:wilson_lower)`,
		`count(phone:voicetrends_transfers:cusum)`,
	} {
		v, err := srv.Query(ctx, q, time.Time{})
		if err != nil {
			b.Fatal(err)
		}
		if len(v) != 1 || v[0].Value < costAccounts*(costNumbers+1) {
			b.Fatalf("%s = %v, want at least %d: the history does not cover what the rules read", q, v, costAccounts*(costNumbers+1))
		}
	}
}

// logTopRules logs, under -v, the rules of group taking the most time per
// evaluation, from their summed seconds over n evaluations.
func logTopRules(b *testing.B, group string, rules map[string]float64, n int) {
	if !testing.Verbose() || n == 0 {
		return
	}
	names := make([]string, 0, len(rules))
	for r := range rules {
		names = append(names, r)
	}
	slices.SortFunc(names, func(x, y string) int { return cmp.Compare(rules[y], rules[x]) })
	var lines []string
	for _, r := range names[:min(len(names), 15)] {
		lines = append(lines, fmt.Sprintf("  %.3f s  %s", rules[r]/float64(n), r))
	}
	b.Logf("%s: the rules taking the most time, per evaluation:\n%s", group, strings.Join(lines, "\n"))
}

// median is the middle of values (the mean of the middle two of an even
// count).
func median(values []float64) float64 {
	s := slices.Sorted(slices.Values(values))
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
