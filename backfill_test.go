package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/voicetrends/voicetrends_exporter/internal/testlog"

	"github.com/voicetrends/voicetrends_exporter/internal/clock"
	"github.com/voicetrends/voicetrends_exporter/prometheus/promtest"
	"github.com/voicetrends/voicetrends_exporter/voicetrends"
	"github.com/voicetrends/voicetrends_exporter/voicetrends/simulator"
)

// backfillEnv is a simulator behind a request counter, and a configuration
// file of one account with two numbers, ALL and every period.
type backfillEnv struct {
	sim      *simulator.Simulator
	clock    clock.Clock  // the backfill's and the simulator's
	requests atomic.Int64 // every request, /auth included
	config   string
	dir      string
	loc      *time.Location
}

const (
	bfLogin    = "acme-backfill"
	bfPassword = "pw-Backfill-3Zr8"
	bfPhone1   = "+18005550170"
	bfPhone2   = "+18005550171"
)

// env is an env for run on the backfill's clock, the simulator's.
func (e *backfillEnv) env(t *testing.T) (pe env, out, logs *testlog.Buffer) {
	t.Helper()
	pe, out, logs = newEnv(t)
	pe.clock = e.clock
	return pe, out, logs
}

func newBackfillEnv(t *testing.T) *backfillEnv {
	t.Helper()
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	e := &backfillEnv{loc: loc, dir: t.TempDir(), clock: testClock(t)}
	e.sim = simulator.New(simulator.Options{Seed: 2026, Now: e.clock.Now, Accounts: []simulator.Account{
		{Tool: voicetrends.ToolDev, Login: bfLogin, Password: bfPassword, Phones: []string{bfPhone1, bfPhone2}, TimeZone: loc},
	}})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.requests.Add(1)
		e.sim.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	if err := os.WriteFile(filepath.Join(e.dir, "password"), []byte(bfPassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e.config = filepath.Join(e.dir, "voicetrends.yml")
	yml := fmt.Sprintf(`base_url: %s/api/
accounts:
  - name: acme
    tool: dev
    login: %s
    password_file: password
    phones: [ALL, %q, %q]
    timezone: America/New_York
`, srv.URL, bfLogin, bfPhone1, bfPhone2)
	if err := os.WriteFile(e.config, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *backfillEnv) today() voicetrends.Date { return voicetrends.DateIn(e.clock.Now(), e.loc) }

func TestBackfillBadInput(t *testing.T) {
	t.Parallel()
	e := newBackfillEnv(t)
	today := e.today()
	existingDir := t.TempDir()
	out := filepath.Join(e.dir, "out.om")
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"unknown account", []string{"--from=20260101", "--to=20260131", "--account=nope", "--output=" + out}, 1,
			`--account \"nope\" is not in the configuration: use one of acme`},
		{"from after to", []string{"--from=20260201", "--to=20260131", "--output=" + out}, 1, "--from 20260201 is after --to 20260131: swap them"},
		{"to in the future", []string{"--from=20260101", "--to=" + today.AddDays(1).String(), "--output=" + out}, 1,
			"--to " + today.AddDays(1).String() + " is in the future for account \\\"acme\\\" (today is " + today.String()},
		{"bad from", []string{"--from=2026-01-01", "--to=20260131", "--output=" + out}, 1, `--from: invalid date \"2026-01-01\": use YYYYMMDD`},
		{"bad to", []string{"--from=20260101", "--to=20260231", "--output=" + out}, 1, `--to: invalid date \"20260231\": use YYYYMMDD`},
		{"unknown period", []string{"--from=20260101", "--to=20260131", "--periods=day,year", "--output=" + out}, 1,
			`--periods \"day,year\": unknown period \"year\": use day, week or month`},
		{"unknown phone", []string{"--from=20260101", "--to=20260131", "--phones=" + bfPhone1 + ",19995550000", "--output=" + out}, 1,
			"--phones 19995550000 is not among the phones of the selected accounts"},
		{"zero resolution", []string{"--from=20260101", "--to=20260131", "--resolution=0s", "--output=" + out}, 1, "--resolution 0s: use a positive whole number of seconds"},
		{"negative resolution", []string{"--from=20260101", "--to=20260131", "--resolution=-5m", "--output=" + out}, 1, "--resolution -5m0s"},
		{"fractional resolution", []string{"--from=20260101", "--to=20260131", "--resolution=90.5s", "--output=" + out}, 1, "--resolution 1m30.5s"},
		{"output in a missing directory", []string{"--from=20260101", "--to=20260131", "--output=" + filepath.Join(e.dir, "missing", "out.om")}, 1,
			"cannot be written"},
		{"output is a directory", []string{"--from=20260101", "--to=20260131", "--output=" + existingDir}, 1, "is a directory: name a file"},
		{"bad label", []string{"--from=20260101", "--to=20260131", "--label=job", "--output=" + out}, 1, `--label: label \"job\": use NAME=VALUE`},
		{"label replacing the exporter's", []string{"--from=20260101", "--to=20260131", "--label=window=current", "--output=" + out}, 1, "window is one of the exporter's own labels"},
		{"no output", []string{"--from=20260101", "--to=20260131"}, 1, "--output is required"},
		{"no from", []string{"--to=20260131", "--output=" + out}, 2, "required flag(s) '--from' not provided"},
		{"bad config", []string{"--config.file=" + filepath.Join(e.dir, "nope.yml"), "--from=20260101", "--to=20260131", "--output=" + out}, 1, "invalid configuration"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pe, _, logs := e.env(t)
			args := append([]string{"backfill"}, tc.args...)
			if !strings.HasPrefix(tc.args[0], "--config.file=") {
				args = append(args, "--config.file="+e.config)
			}
			if code := run(args, pe); code != tc.code {
				t.Errorf("exit code %d, want %d; stderr:\n%s", code, tc.code, logs)
			}
			if !strings.Contains(logs.String(), tc.want) {
				t.Errorf("stderr lacks %q:\n%s", tc.want, logs)
			}
		})
	}
	if n := e.requests.Load(); n != 0 {
		t.Errorf("%d requests reached the API; bad input must be refused before any", n)
	}
	if entries, _ := os.ReadDir(e.dir); len(entries) != 2 {
		t.Errorf("files left beside the config: %v", entries)
	}
}

func TestBackfillDryRun(t *testing.T) {
	t.Parallel()
	e := newBackfillEnv(t)
	pe, out, logs := e.env(t)
	to := e.today().AddDays(-1)
	file := filepath.Join(e.dir, "out.om")
	code := run([]string{"backfill", "--config.file=" + e.config, "--from=" + to.AddDays(-364).String(), "--to=" + to.String(),
		"--periods=day,month", "--output=" + file, "--dry-run"}, pe)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, logs)
	}
	for _, want := range []string{
		"account acme (America/New_York): 6 targets, 6 requests, 1 window(s) of 15m0s at 100 requests per window",
		fmt.Sprintf("%-20s %-5s 1 request(s): %s-%s", bfPhone2, "day", to.AddDays(-364), to),
		"total: 1 account(s), 6 targets, 6 requests",
		"dry run: no request sent, nothing written",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("plan lacks %q:\n%s", want, out)
		}
	}
	if n := e.requests.Load(); n != 0 {
		t.Errorf("a dry run sent %d requests", n)
	}
	if entries, _ := os.ReadDir(e.dir); len(entries) != 2 {
		t.Errorf("a dry run left files: %v", entries)
	}
}

// promQuery runs an instant query at a time and returns each series' value by
// its phone label.
func promQuery(t *testing.T, srv *promtest.Server, query string, at time.Time) map[string]float64 {
	t.Helper()
	vec, err := srv.Query(t.Context(), query, at)
	if err != nil {
		t.Fatalf("at %s: %v", at, err)
	}
	out := map[string]float64{}
	for _, s := range vec {
		out[string(s.Metric["phone"])] = float64(s.Value)
	}
	return out
}

// TestBackfillPrometheusEndToEnd backfills 90 days from the simulator,
// imports them with the real promtool, starts a real Prometheus on the
// blocks and checks what it answers against the simulator's ground truth.
func TestBackfillPrometheusEndToEnd(t *testing.T) {
	t.Parallel()
	promtest.Require(t, "promtool", "prometheus")
	e := newBackfillEnv(t)
	pe, _, logs := e.env(t)
	to := e.today().AddDays(-1)
	from := to.AddDays(-89)
	file := filepath.Join(e.dir, "history.om")
	code := run([]string{"backfill", "--config.file=" + e.config, "--from=" + from.String(), "--to=" + to.String(),
		"--resolution=1h", "--label=job=voicetrends", "--label=instance=exporter:10141", "--output=" + file}, pe)
	if code != 0 {
		t.Fatalf("backfill exit %d:\n%s", code, logs)
	}
	if st := e.sim.Stats(bfLogin); st.DataRequests != 9 || st.DataRateLimited != 0 {
		t.Errorf("%d data requests (%d rate limited), want 9: one per target", st.DataRequests, st.DataRateLimited)
	}
	fi, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	_, summary, _ := strings.Cut(logs.String(), "msg=\"backfill written\"")
	t.Logf("backfill wrote %d bytes:%s", fi.Size(), summary)

	blocks := filepath.Join(t.TempDir(), "data")
	promtest.Promtool(t, "tsdb", "create-blocks-from", "openmetrics", "--quiet", "--max-block-duration=486h", file, blocks)
	srv := promtest.Start(t, promtest.Options{StoragePath: blocks, ExtraArgs: []string{"--storage.tsdb.retention.time=10y"}})

	at := func(d voicetrends.Date, hour int) time.Time {
		return time.Date(d.Year, d.Month, d.Day, hour, 0, 0, 0, e.loc)
	}
	// Each metric's value, from the simulator's bucket, in the exporter's units.
	calls := func(b voicetrends.Bucket) (float64, bool) { return b.Get(voicetrends.Calls) }
	callSeconds := func(b voicetrends.Bucket) (float64, bool) {
		v, ok := b.Get(voicetrends.CallMinutes)
		return v * 60, ok
	}
	periodStart := func(b voicetrends.Bucket) (float64, bool) { return float64(b.Start.Unix()), true }
	expect := func(name string, value func(voicetrends.Bucket) (float64, bool), when time.Time, period voicetrends.Period, bucketDay voicetrends.Date) {
		t.Helper()
		// The extra labels make the history the same series a scrape of the exporter gives.
		query := fmt.Sprintf(`%s{window="previous",period=%q,job="voicetrends",instance="exporter:10141"}`, name, period)
		got := promQuery(t, srv, query, when)
		for _, phone := range []string{voicetrends.AllPhones, bfPhone1, bfPhone2} {
			want, ok := value(e.sim.Bucket(bfLogin, phone, period, bucketDay))
			if v, present := got[phone]; !ok || !present || v != want {
				t.Errorf("%s for %s at %s: got %v (present %v), want %v, the %s bucket holding %s", query, phone, when.Format(time.RFC3339), v, present, want, period, bucketDay)
			}
		}
	}

	// Days to look at: every tenth, the last, and both sides of any DST change.
	days := map[voicetrends.Date]bool{to: true}
	for d := from.AddDays(1); !d.After(to); d = d.AddDays(1) {
		if from.DaysUntil(d)%10 == 0 {
			days[d] = true
		}
		if at(d.AddDays(1), 0).Sub(at(d, 0)) != 24*time.Hour {
			days[d], days[d.AddDays(1)] = true, true
			t.Logf("the range holds a DST change: %s lasts %s", d, at(d.AddDays(1), 0).Sub(at(d, 0)))
		}
	}
	// The backfill writes nothing at or after now - 3h (Prometheus' head block):
	// the last day's last hour is looked at only where the cut-off allows.
	cutoff := e.clock.Now().Add(-3 * time.Hour)
	lastHour := func(d voicetrends.Date) time.Time {
		last := at(d.AddDays(1), 0).Add(-time.Hour)
		if !last.Before(cutoff) {
			last = cutoff.Add(-time.Nanosecond).Truncate(time.Hour)
		}
		return last
	}
	checked := 0
	for d := range days {
		if d.After(to) {
			continue
		}
		// Noon and the last hour of d show the day before; local midnight starts the next day.
		expect("voicetrends_calls", calls, at(d, 12), voicetrends.PeriodDay, d.AddDays(-1))
		expect("voicetrends_calls", calls, lastHour(d), voicetrends.PeriodDay, d.AddDays(-1))
		if d.Before(to) {
			expect("voicetrends_calls", calls, at(d.AddDays(1), 0), voicetrends.PeriodDay, d)
		}
		expect("voicetrends_call_seconds", callSeconds, at(d, 12), voicetrends.PeriodDay, d.AddDays(-1))
		expect("voicetrends_period_start_timestamp_seconds", periodStart, at(d, 12), voicetrends.PeriodDay, d.AddDays(-1))
		if d.After(from.AddDays(13)) { // the week before d's began after the first week fetched
			expect("voicetrends_calls", calls, at(d, 12), voicetrends.PeriodWeek, d.AddDays(-7))
		}
		if !d.Before(from.AddMonths(1)) { // the month before d's was fetched
			expect("voicetrends_calls", calls, at(d, 12), voicetrends.PeriodMonth, d.FirstOfMonth().AddDays(-1))
		}
		checked++
	}
	// Nothing before the first fetched bucket's successor, nothing after the end of --to.
	for _, when := range []time.Time{at(from, 12), at(to.AddDays(1), 0).Add(10 * time.Minute), cutoff.Add(6 * time.Minute)} {
		if got := promQuery(t, srv, `voicetrends_calls{period="day"}`, when); len(got) != 0 {
			t.Errorf("samples at %s: %v; want none", when, got)
		}
	}
	t.Logf("checked %d days of %s..%s against the simulator", checked, from, to)
}

// TestBackfillDryRunOnePhone: --phones redoes one number, in every period.
func TestBackfillDryRunOnePhone(t *testing.T) {
	t.Parallel()
	e := newBackfillEnv(t)
	pe, out, logs := e.env(t)
	to := e.today().AddDays(-1)
	code := run([]string{"backfill", "--config.file=" + e.config, "--from=" + to.AddDays(-30).String(), "--to=" + to.String(),
		"--phones=" + bfPhone2, "--dry-run"}, pe)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, logs)
	}
	if !strings.Contains(out.String(), "account acme (America/New_York): 3 targets, 3 requests") {
		t.Errorf("plan is not one number in three periods:\n%s", out)
	}
	for _, other := range []string{"ALL", bfPhone1} {
		if strings.Contains(out.String(), other+" ") {
			t.Errorf("plan holds %s:\n%s", other, out)
		}
	}
	if n := e.requests.Load(); n != 0 {
		t.Errorf("a dry run sent %d requests", n)
	}
}
