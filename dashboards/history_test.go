package dashboards

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/voicetrends/voicetrends_exporter/prometheus/promtest"
	"github.com/voicetrends/voicetrends_exporter/voicetrends/simulator"
)

const (
	// historyLength covers what the rules and dashboards look back for: the
	// hours ending 167 to 169 hours ago, one hour each, and a margin.
	historyLength = 8 * 24 * time.Hour
	// historyStep is how often the exporter's figures change with the default
	// refresh interval.
	historyStep = 5 * time.Minute
	// historyGap keeps the history clear of the live scrapes that follow it.
	historyGap = time.Minute
)

// importHistory writes eight days of synthetic history of the demo account's
// running counts (calls, transfers and their seconds in the current window, every
// phone and period), day starts and last success timestamps, with the labels Prometheus gives the live scrape of exporter, as TSDB
// blocks with `promtool tsdb create-blocks-from openmetrics`, and returns the
// directory to start Prometheus on. A fresh Prometheus has no week-old data, so
// without it every query with `offset 1w` (and the rules comparing with the same
// hour a week ago) would be empty however long the test ran.
func importHistory(t *testing.T, exporter string, now time.Time) string {
	t.Helper()
	var phones []string
	for _, a := range simulator.DemoAccounts() {
		if strings.TrimPrefix(a.Login, "demo-") == e2eAccount {
			phones = append([]string{"ALL"}, a.Phones...)
		}
	}
	if len(phones) == 0 {
		t.Fatalf("demo account %s not found among the simulator's demo accounts", e2eAccount)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "history.om")
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	end := now.Add(-historyGap).Truncate(historyStep)
	start := end.Add(-historyLength)
	for _, m := range []struct {
		name      string
		help      string
		perMinute float64 // growth per minute since the count's daily restart
	}{
		{name: "voicetrends_calls", help: "Calls.", perMinute: 1},
		{name: "voicetrends_transfers", help: "Transferred calls.", perMinute: 0.15},
		{name: "voicetrends_call_seconds", help: "Call time in seconds.", perMinute: 180},
		{name: "voicetrends_transfer_seconds", help: "Transfer time in seconds.", perMinute: 36},
	} {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s gauge\n", m.name, m.help, m.name)
		for _, phone := range phones {
			for _, period := range []string{"day", "week", "month"} {
				labels := fmt.Sprintf(`account=%q,instance=%q,job="voicetrends",period=%q,phone=%q,window="current"`,
					e2eAccount, exporter, period, phone)
				for ts := start; !ts.After(end); ts = ts.Add(historyStep) {
					// A running count restarting once a day: one call a minute, 3 minutes
					// each, 15% transferred.
					minutes := float64(sinceRestart(ts, now) / time.Minute)
					fmt.Fprintf(w, "%s{%s} %g %d\n", m.name, labels, float64(int(minutes*m.perMinute)), ts.Unix())
				}
			}
		}
	}
	// The days' starts, as the live exporter serves them for the demo's day:
	// the rules find the same local time on earlier days from them, so a point
	// k days back (in the demo account's zone) is on the demo's day minus k.
	fmt.Fprintf(w, "# HELP voicetrends_period_start_timestamp_seconds Start of the period.\n# TYPE voicetrends_period_start_timestamp_seconds gauge\n")
	day := demoDay(t)
	today := now.In(day.Location())
	for _, phone := range phones {
		labels := fmt.Sprintf(`account=%q,instance=%q,job="voicetrends",period="day",phone=%q,window="current"`, e2eAccount, exporter, phone)
		for ts := start; !ts.After(end); ts = ts.Add(historyStep) {
			l := ts.In(day.Location())
			back := int(time.Date(today.Year(), today.Month(), today.Day(), 12, 0, 0, 0, time.UTC).Sub(time.Date(l.Year(), l.Month(), l.Day(), 12, 0, 0, 0, time.UTC)) / (24 * time.Hour))
			fmt.Fprintf(w, "voicetrends_period_start_timestamp_seconds{%s} %d %d\n", labels, day.AddDate(0, 0, -back).Unix(), ts.Unix())
		}
	}
	// The targets' last successes, one per refresh: the rules judge a number only
	// where this moved in the last 15 minutes, which the live exporter's (pinned,
	// demo) clock alone would not show until its second refresh.
	fmt.Fprintf(w, "# HELP voicetrends_last_success_timestamp_seconds Last successful refresh.\n# TYPE voicetrends_last_success_timestamp_seconds gauge\n")
	for _, phone := range phones {
		for _, period := range []string{"day", "week", "month"} {
			labels := fmt.Sprintf(`account=%q,instance=%q,job="voicetrends",period=%q,phone=%q`, e2eAccount, exporter, period, phone)
			for ts := start; !ts.After(end); ts = ts.Add(historyStep) {
				fmt.Fprintf(w, "voicetrends_last_success_timestamp_seconds{%s} %d %d\n", labels, ts.Unix(), ts.Unix())
			}
		}
	}
	fmt.Fprintln(w, "# EOF")
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	storage := filepath.Join(dir, "data")
	promtest.Promtool(t, "tsdb", "create-blocks-from", "openmetrics", "--max-block-duration=486h", file, storage)
	return storage
}

// sinceRestart is how long before ts the history's running counts last
// restarted. They restart once a day, 12 hours away from now's time of day,
// not at midnight: the rules leave out a baseline window across a restart (as
// the real counts fall at local midnight), so with restarts at midnight every
// baseline of the windows up to 4 hours would be empty for the first hours
// after it, and the test would fail by the hour it ran at.
func sinceRestart(ts, now time.Time) time.Duration {
	const day = 24 * time.Hour
	since := ts.Sub(now.Add(12*time.Hour)) % day
	if since < 0 {
		since += day
	}
	return since
}
