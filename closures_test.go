package main

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/voicetrends/voicetrends_exporter/collector"
	"github.com/voicetrends/voicetrends_exporter/internal/clock"
	"github.com/voicetrends/voicetrends_exporter/internal/closure"
	"github.com/voicetrends/voicetrends_exporter/prometheus/promtest"
	"github.com/voicetrends/voicetrends_exporter/voicetrends"
)

// TestConfigCheckListsClosures: --config.check lists each account's closed
// days for twelve months from today in its zone, named, observed days
// marked, and says which open date changes nothing.
func TestConfigCheckListsClosures(t *testing.T) {
	t.Parallel()
	dir := testDir(t)
	cfg := filepath.Join(dir, "closed.yml")
	writeFile(t, cfg, `accounts:
  - name: support
    tool: dev
    login: acme-support
    password_file: support.pw
    timezone: America/Los_Angeles
    closed:
      holidays: US
      dates: [2026-12-24]
      open: [2026-11-26, 2026-11-27]
  - name: sales
    tool: dev
    login: acme-sales
    password_file: sales.pw
`)
	e, out, logs := newEnv(t)
	// 05:00 UTC on 1 July is still 30 June in Los Angeles.
	e.clock = clock.NewManual(time.Date(2026, 7, 1, 5, 0, 0, 0, time.UTC))
	if code := run([]string{"--config.check", "--config.file=" + cfg, "--web.listen-address=" + promtest.FreePort(t)}, e); code != 0 {
		t.Fatalf("run returned %d; log:\n%s", code, logs.String())
	}
	want := fmt.Sprint(cfg, `: configuration is valid: 2 account(s)
  account support: 3 target(s), 3 request(s) per refresh, budget 100 per 15m, refresh every 5m, max_data_age 1h
  account sales: 3 target(s), 3 request(s) per refresh, budget 100 per 15m, refresh every 5m, max_data_age 1h
  account support closed on 13 day(s) from 2026-06-30 to 2027-06-29 (holidays US, America/Los_Angeles):
    2026-07-03 Fri Independence Day (observed)
    2026-07-04 Sat Independence Day
    2026-09-07 Mon Labor Day
    2026-10-12 Mon Columbus Day
    2026-11-11 Wed Veterans Day
    2026-12-24 Thu closed.dates
    2026-12-25 Fri Christmas Day
    2027-01-01 Fri New Year's Day
    2027-01-18 Mon Martin Luther King Jr. Day
    2027-02-15 Mon Presidents' Day
    2027-05-31 Mon Memorial Day
    2027-06-18 Fri Juneteenth (observed)
    2027-06-19 Sat Juneteenth
    note: open 2026-11-27 changes nothing: neither the holidays nor dates close it
`)
	if got := out.String(); got != want {
		t.Errorf("stdout\n got: %s\nwant: %s", got, want)
	}
}

// The status page says, per account, whether it is closed today and its
// next closure.
func TestLandingPageShowsClosures(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 7, 3, 15, 0, 0, 0, time.UTC)
	july := func(day int, name string, observed bool) *closure.Closure {
		return &closure.Closure{Date: voicetrends.Date{Year: 2026, Month: time.July, Day: day}, Name: name, Observed: observed}
	}
	plan := collector.Plan{Targets: 1, RefreshInterval: 5 * time.Minute, Interval: 5 * time.Minute}
	data := landingData{TelemetryPath: "/metrics", Now: now, Accounts: []collector.AccountStatus{
		{Name: "ops", Plan: plan},
		{Name: "sales", Plan: plan, Closures: collector.ClosureStatus{Configured: true, Next: july(24, closure.DatesName, false)}},
		{Name: "support", Plan: plan, Closures: collector.ClosureStatus{Configured: true, Holidays: "US",
			Today: july(3, "Independence Day", true), Next: july(4, "Independence Day", false)}},
		{Name: "tech", Plan: plan, Closures: collector.ClosureStatus{Configured: true}},
	}}
	var buf bytes.Buffer
	if err := renderLanding(&buf, data); err != nil {
		t.Fatal(err)
	}
	p := parsePage(t, buf.String())
	for name, want := range map[string]string{
		"ops":     "none configured",
		"sales":   "open today · next closure: 2026-07-24 Fri closed.dates",
		"support": "closed today: 2026-07-03 Fri Independence Day (observed) · next closure: 2026-07-04 Sat Independence Day (holidays US)",
		"tech":    "open today · next closure: none within a year",
	} {
		var got []string
		for _, section := range find(p.root, byID("detail-"+name)) {
			for _, dd := range find(section, func(n *html.Node) bool { return n.Data == "dd" && hasClass(n, "closed") }) {
				got = append(got, text(dd))
			}
		}
		if len(got) != 1 || got[0] != want {
			t.Errorf("%s's closed days: %q, want %q", name, got, want)
		}
	}
}

// Every mistake in closed stops the exporter with exit 1 before it listens,
// naming the file and the key (the exact messages: config's TestLoadInvalid).
func TestClosedMistakesExit1(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("config/testdata/invalid-closed-*.yml")
	if err != nil || len(files) < 5 {
		t.Fatalf("found %d invalid-closed-*.yml files (%v), want the five mistakes and more", len(files), err)
	}
	for _, file := range files {
		for _, check := range []bool{false, true} {
			t.Run(fmt.Sprint(filepath.Base(file), " check=", check), func(t *testing.T) {
				e, out, logs := newEnv(t)
				addr := promtest.FreePort(t)
				args := []string{"--config.file=" + file, "--web.listen-address=" + addr}
				if check {
					args = append(args, "--config.check")
				}
				if code := run(args, e); code != 1 {
					t.Errorf("run returned %d, want 1; log:\n%s", code, logs.String())
				}
				if !strings.Contains(logs.String(), file+":") || !strings.Contains(logs.String(), ": accounts[0].closed") {
					t.Errorf("the log does not name %s and the closed key:\n%s", file, logs.String())
				}
				if out.String() != "" {
					t.Errorf("stdout = %q, want nothing", out.String())
				}
				assertNotListening(t, addr)
			})
		}
	}
}

// POST /-/reload adds a closure of today to a running account, and the next
// scrape of /metrics serves it; reloading without it serves 0 again.
func TestReloadAddsAndRemovesAClosureInMetrics(t *testing.T) {
	t.Parallel()
	_, _, cfg := supportSetup(t)
	d := startDaemon(t, "--config.file="+cfg)
	if v := d.waitTried("support", 1).value(t, "voicetrends_closed", "account", "support"); v != 0 {
		t.Fatalf("voicetrends_closed before the reload = %v, want 0", v)
	}
	original, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// Closed from yesterday to tomorrow, so that a local midnight passing
	// meanwhile changes nothing.
	ny, _ := time.LoadLocation(support.timezone)
	today := voicetrends.DateIn(testClock(t).Now(), ny)
	closed := fmt.Sprintf("    closed:\n      dates: [%s, %s, %s]\n", closure.FormatDate(today.AddDays(-1)), closure.FormatDate(today), closure.FormatDate(today.AddDays(1)))
	for _, c := range []struct {
		name, content string
		want          float64
	}{
		{"adds", string(original) + closed, 1},
		{"removes", string(original), 0},
	} {
		writeFile(t, cfg, c.content)
		if code, body, _ := d.do(http.MethodPost, "/-/reload"); code != http.StatusOK {
			t.Fatalf("POST /-/reload = %d %q", code, body)
		}
		m := d.metrics()
		if v := m.value(t, "voicetrends_closed", "account", "support"); v != c.want {
			t.Errorf("after a reload that %s the closure: voicetrends_closed = %v, want %v", c.name, v, c.want)
		}
		if n := len(m.values("voicetrends_closure_info", "account", "support")); n != int(c.want) {
			t.Errorf("after a reload that %s the closure: %d voicetrends_closure_info series, want %v", c.name, n, c.want)
		}
	}
}
