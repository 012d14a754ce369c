package collector

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/voicetrends/voicetrends_exporter/config"
	"github.com/voicetrends/voicetrends_exporter/internal/clock"
	"github.com/voicetrends/voicetrends_exporter/internal/clock/clocktest"
	"github.com/voicetrends/voicetrends_exporter/internal/closure"
	"github.com/voicetrends/voicetrends_exporter/voicetrends"
	"github.com/voicetrends/voicetrends_exporter/voicetrends/simulator"
)

// closedExporter applies accounts (YAML items under accounts:, each given
// its credentials) on a manual clock at now and publishes each account's
// first snapshot as its poller does, without a request: closures need none.
func closedExporter(t *testing.T, now time.Time, accounts ...string) (*Exporter, *clock.Manual, paths) {
	t.Helper()
	text := "accounts:\n"
	for _, a := range accounts {
		text += "  - tool: dev\n    login: l\n    password: p\n" + a
	}
	cfg, err := config.Parse([]byte(text), t.TempDir())
	if err != nil {
		t.Fatalf("config: %v\n%s", err, text)
	}
	clk := clock.NewManual(now)
	e := New(Options{Clock: clk})
	if err := e.Apply(cfg); err != nil {
		t.Fatal(err)
	}
	for _, a := range *e.accounts.Load() {
		e.pollerFor(a)
	}
	return e, clk, newPaths(t, e)
}

// closureLines returns the closure samples of a scrape of the encoded
// exposition, after checking that it matches the const metrics.
func closureLines(t *testing.T, p paths, when string) string {
	t.Helper()
	var out []string
	for line := range strings.SplitSeq(assertSameExposition(t, p, when), "\n") {
		if strings.HasPrefix(line, "voicetrends_clos") || strings.HasPrefix(line, "voicetrends_next_closure") {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}

// A date closed today, wherever "today" falls (VOICETRENDS_TEST_NOW), serves
// 1 for its account and 0 for another, until the account's local midnight,
// and the scrapes in between reuse one encoding.
func TestClosedToday(t *testing.T) {
	now := clocktest.Now(t)
	auckland, _ := time.LoadLocation("Pacific/Auckland")
	today := voicetrends.DateIn(now, auckland)
	tomorrow := today.AddDays(1).Midnight(auckland)
	e, clk, p := closedExporter(t, now,
		"    name: open\n    timezone: America/Los_Angeles\n",
		fmt.Sprintf("    name: shut\n    timezone: Pacific/Auckland\n    closed:\n      dates: [%s]\n", closure.FormatDate(today)),
	)
	want := `voicetrends_closed{account="open"} 0
voicetrends_closed{account="shut"} 1
voicetrends_closure_info{account="shut",name="closed.dates",observed="false"} 1`
	if got := closureLines(t, p, "today"); got != want {
		t.Errorf("closure samples today:\n%s\nwant:\n%s", got, want)
	}
	shut := (*e.accounts.Load())["shut"]
	enc := shut.encoding.Load()
	clk.Set(tomorrow.Add(-time.Nanosecond))
	if got := closureLines(t, p, "the last instant of today"); got != want {
		t.Errorf("closure samples at the day's last instant:\n%s\nwant:\n%s", got, want)
	}
	if shut.encoding.Load() != enc {
		t.Error("a scrape on the same local day encoded the account again")
	}
	clk.Set(tomorrow)
	want = "voicetrends_closed{account=\"open\"} 0\nvoicetrends_closed{account=\"shut\"} 0"
	if got := closureLines(t, p, "local midnight"); got != want {
		t.Errorf("closure samples at local midnight:\n%s\nwant:\n%s", got, want)
	}
	if st := e.Status(); st[1].Closures.Today != nil || st[0].Closures.Today != nil {
		t.Errorf("status after the closure: %+v, %+v", st[0].Closures, st[1].Closures)
	}
}

// A US holiday and its observed day, and a listed date on a DST change day,
// close from the account's local midnight to the next: every instant is
// fixed, so the test holds at any VOICETRENDS_TEST_NOW.
func TestClosedFromLocalMidnight(t *testing.T) {
	la, _ := time.LoadLocation("America/Los_Angeles")
	ny, _ := time.LoadLocation("America/New_York")
	at := func(s string) time.Time {
		t.Helper()
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	e, clk, p := closedExporter(t, at("2026-07-01T12:00:00Z"),
		"    name: la\n    timezone: America/Los_Angeles\n    closed:\n      holidays: US\n",
		"    name: ny\n    timezone: America/New_York\n    closed:\n      dates: [2026-11-01]\n",
	)
	july3 := time.Date(2026, 7, 3, 0, 0, 0, 0, la)      // 07:00 UTC, under PDT
	july4 := time.Date(2026, 7, 4, 0, 0, 0, 0, la)      // the holiday itself, a Saturday
	labor := time.Date(2026, 9, 7, 0, 0, 0, 0, la)      // Labor Day
	nov1 := time.Date(2026, 11, 1, 0, 0, 0, 0, ny)      // 04:00 UTC, still EDT
	veterans := time.Date(2026, 11, 11, 0, 0, 0, 0, la) // PST by then
	// want renders the closure samples: la's and ny's voicetrends_closed,
	// today's closure_info line if any, and each next closure (zero: none).
	want := func(la, ny int, info string, nextLA, nextNY time.Time) string {
		out := fmt.Sprintf("voicetrends_closed{account=\"la\"} %d\nvoicetrends_closed{account=\"ny\"} %d", la, ny)
		if info != "" {
			out += "\nvoicetrends_closure_info{" + info + "} 1"
		}
		for _, n := range []struct {
			account string
			next    time.Time
		}{{"la", nextLA}, {"ny", nextNY}} {
			if !n.next.IsZero() {
				out += fmt.Sprintf("\nvoicetrends_next_closure_timestamp_seconds{account=%q} %s", n.account, ts(n.next))
			}
		}
		return out
	}
	const (
		observed = `account="la",name="Independence Day",observed="true"`
		holiday  = `account="la",name="Independence Day",observed="false"`
		listed   = `account="ny",name="closed.dates",observed="false"`
	)
	for _, c := range []struct {
		at   string
		want string
	}{
		{"2026-07-03T06:59:59Z", want(0, 0, "", july3, nov1)},
		{"2026-07-03T07:00:00Z", want(1, 0, observed, july4, nov1)},
		{"2026-07-05T06:59:59Z", want(1, 0, holiday, labor, nov1)},
		{"2026-07-05T07:00:00Z", want(0, 0, "", labor, nov1)},
		// New York's 25-hour day: closed from 04:00 UTC to 05:00 UTC the next day.
		{"2026-11-01T03:59:59Z", want(0, 0, "", veterans, nov1)},
		{"2026-11-01T04:00:00Z", want(0, 1, listed, veterans, time.Time{})},
		{"2026-11-02T04:59:59Z", want(0, 1, listed, veterans, time.Time{})},
		{"2026-11-02T05:00:00Z", want(0, 0, "", veterans, time.Time{})},
	} {
		clk.Set(at(c.at))
		if got := closureLines(t, p, c.at); got != c.want {
			t.Errorf("at %s:\n%s\nwant:\n%s", c.at, got, c.want)
		}
	}
	clk.Set(at("2026-07-03T07:00:00Z"))
	st := e.Status()[0].Closures
	if st.Holidays != "US" || st.Today == nil || st.Today.String() != "2026-07-03 Fri Independence Day (observed)" ||
		st.Next == nil || st.Next.String() != "2026-07-04 Sat Independence Day" {
		t.Errorf("la's status on July 3: %+v", st)
	}
}

// ts formats t as the text format writes a timestamp sample.
func ts(t time.Time) string { return fmt.Sprint(float64(t.Unix())) }

// A reload that adds a closure for today serves it at once, and one that
// removes it serves 0 again, without a request.
func TestReloadAddsAndRemovesAClosure(t *testing.T) {
	now := clocktest.Now(t)
	h := newHarness(t, now, simulator.Options{Seed: 3}, "    phones: [ALL]\n    periods: [day]\n    timezone: Asia/Kolkata\n")
	h.refreshAll()
	p := newPaths(t, h.exporter)
	served := h.sim.Stats(testLogin).DataRequests
	closed := func(when string) string {
		t.Helper()
		return closureLines(t, p, when)
	}
	if got, want := closed("before"), `voicetrends_closed{account="acme"} 0`; got != want {
		t.Fatalf("before the reload:\n%s\nwant %s", got, want)
	}
	kolkata, _ := time.LoadLocation("Asia/Kolkata")
	today := voicetrends.DateIn(now, kolkata)
	// The harness' configuration, as its file would hold it.
	text := fmt.Sprintf("base_url: %s/\naccounts:\n  - name: acme\n    tool: dev\n    login: %s\n    password: %q\n    phones: [ALL]\n    periods: [day]\n    timezone: Asia/Kolkata\n",
		h.server.URL, testLogin, testPassword)
	withClosure := text + fmt.Sprintf("    closed:\n      dates: [%s, %s]\n", closure.FormatDate(today), closure.FormatDate(today.AddDays(3)))
	for _, c := range []struct{ name, text, want string }{
		{"adds", withClosure, fmt.Sprintf(`voicetrends_closed{account="acme"} 1
voicetrends_closure_info{account="acme",name="closed.dates",observed="false"} 1
voicetrends_next_closure_timestamp_seconds{account="acme"} %s`, ts(today.AddDays(3).Midnight(kolkata)))},
		{"removes", text, `voicetrends_closed{account="acme"} 0`},
	} {
		cfg, err := config.Parse([]byte(c.text), t.TempDir())
		if err != nil {
			t.Fatalf("%s: %v\n%s", c.name, err, c.text)
		}
		h.reload(cfg)
		if got := closed("a reload that " + c.name + " a closure"); got != c.want {
			t.Errorf("after a reload that %s a closure:\n%s\nwant:\n%s", c.name, got, c.want)
		}
	}
	if n := h.sim.Stats(testLogin).DataRequests; n != served {
		t.Errorf("the reloads cost %d data requests, want none", n-served)
	}
}
