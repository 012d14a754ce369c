package main

import (
	"bytes"
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/voicetrends/voicetrends_exporter/collector"
	"github.com/voicetrends/voicetrends_exporter/internal/closure"
	"github.com/voicetrends/voicetrends_exporter/voicetrends"
)

// page is a parsed landing page.
type page struct{ root *html.Node }

func parsePage(t *testing.T, body string) page {
	t.Helper()
	root, err := html.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parsing the landing page: %v", err)
	}
	return page{root}
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func hasClass(n *html.Node, class string) bool {
	for _, c := range strings.Fields(attr(n, "class")) {
		if c == class {
			return true
		}
	}
	return false
}

// find returns the elements under n that match.
func find(n *html.Node, match func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && match(n) {
			out = append(out, n)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return out
}

func byID(id string) func(*html.Node) bool {
	return func(n *html.Node) bool { return attr(n, "id") == id }
}
func byTag(tag string) func(*html.Node) bool {
	return func(n *html.Node) bool { return n.Data == tag }
}

// text is n's text with whitespace collapsed.
func text(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return strings.Join(strings.Fields(b.String()), " ")
}

// cells returns the text of a row's cells by class.
func cells(row *html.Node) map[string]string {
	out := map[string]string{}
	for _, td := range find(row, byTag("td")) {
		for _, c := range strings.Fields(attr(td, "class")) {
			out[c] = text(td)
		}
	}
	return out
}

// accountRow returns the cells of the account's row in the accounts table.
func (p page) accountRow(t *testing.T, name string) map[string]string {
	t.Helper()
	rows := find(p.root, byID("account-"+name))
	if len(rows) != 1 {
		t.Fatalf("the landing page has %d rows for account %s, want 1", len(rows), name)
	}
	return cells(rows[0])
}

// failing returns the cells of each row of the account's failing targets.
func (p page) failing(name string) []map[string]string {
	var out []map[string]string
	for _, table := range find(p.root, byID("failing-"+name)) {
		for _, tbody := range find(table, byTag("tbody")) {
			for _, tr := range find(tbody, byTag("tr")) {
				out = append(out, cells(tr))
			}
		}
	}
	return out
}

func TestLandingPageRendering(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 8, 6, 59, 30, 0, time.UTC)
	plan := func(targets int, stretched bool) collector.Plan {
		p := collector.Plan{Targets: targets, RefreshInterval: 5 * time.Minute, Interval: 5 * time.Minute}
		if stretched {
			p.Interval = 22*time.Minute + 57*time.Second
		}
		return p
	}
	// 06:59:30 UTC is 01:59:30 in New York, a minute before its clocks go
	// forward: the window's end is at 03:00 there, under another offset.
	ny, _ := time.LoadLocation("America/New_York")
	london, _ := time.LoadLocation("Europe/London")
	data := landingData{Version: "1.2.3", TelemetryPath: "/metrics", Now: now, Accounts: []collector.AccountStatus{
		{Name: "support", Location: ny, Up: true, Tried: true, LastError: "volume 400", LastErrorAt: now.Add(-time.Hour),
			Spent: 17, Budget: 100, WindowEnd: now.Add(30 * time.Second), Plan: plan(153, true),
			Failing: []collector.TargetStatus{
				{Phone: "+19995550000", Period: "day", LastError: "HTTP 400 Bad Request: not a number of this account <script>alert(1)</script>", LastAttempt: now.Add(-2 * time.Minute)},
				{Phone: "6175550100", Period: "week", LastError: "HTTP 502 Bad Gateway", LastAttempt: now.Add(-10 * time.Second), LastSuccess: now.Add(-(time.Hour + 30*time.Second))},
			},
			// The square-root schedule: each target its own interval.
			Targets: []collector.TargetStatus{
				{Phone: "ALL", Period: "day", LastSuccess: now.Add(-time.Minute), NextRefresh: now.Add(4 * time.Minute), Interval: 5 * time.Minute},
				{Phone: "6175550100", Period: "day", LastSuccess: now.Add(-time.Hour), NextRefresh: now.Add(8 * time.Minute), Interval: time.Hour + 8*time.Minute + 51*time.Second},
			}},
		{Name: "ops", Location: london, Tried: true, LastError: `voicetrends: volume 20260307/20260308/day/ALL: auth: HTTP 401 Unauthorized: <b>invalid</b> "login"`, LastErrorAt: now.Add(-90 * time.Second),
			Spent: 0, Budget: 100, WindowEnd: now.Add(30 * time.Second), Plan: plan(1, false)},
		// No zone: UTC.
		{Name: "sales", Plan: plan(3, false), Budget: 50, WindowEnd: now.Add(30 * time.Second)},
	}}
	var buf bytes.Buffer
	if err := renderLanding(&buf, data); err != nil {
		t.Fatal(err)
	}
	p := parsePage(t, buf.String())

	for name, want := range map[string]map[string]string{
		"ops": {"state": "down", "budget": "0 of 100 (window ends 2026-03-08 07:00 +00:00)", "interval": "every 5m", "failing": "0 of 1",
			"last-error": `voicetrends: volume 20260307/20260308/day/ALL: auth: HTTP 401 Unauthorized: <b>invalid</b> "login" (1m30s ago)`},
		"sales": {"state": "starting", "budget": "0 of 50 (window ends 2026-03-08 07:00 +00:00)", "failing": "0 of 3", "last-error": "none"},
		"support": {"state": "up", "budget": "17 of 100 (window ends 2026-03-08 03:00 -04:00)", "failing": "2 of 153",
			"interval": "every 22m57s (stretched from 5m by the budget)", "last-error": "volume 400 (1h ago)"},
	} {
		got := p.accountRow(t, name)
		for k, v := range want {
			if got[k] != v {
				t.Errorf("account %s, %s: %q, want %q", name, k, got[k], v)
			}
		}
	}
	// The errors' markup is text, not markup: the account's <b> here, a target's <script> below.
	if n := find(p.root, byTag("b")); len(n) != 0 {
		t.Errorf("an error's <b> became an element: the page does not escape errors")
	}
	want := []map[string]string{
		{"phone": "+19995550000", "period": "day", "error": "HTTP 400 Bad Request: not a number of this account <script>alert(1)</script>", "attempt": "2m ago", "success": "never"},
		{"phone": "6175550100", "period": "week", "error": "HTTP 502 Bad Gateway", "attempt": "10s ago", "success": "1h30s ago"},
	}
	got := p.failing("support")
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("support's failing targets:\n got: %v\nwant: %v", got, want)
	}
	for i, want := range []map[string]string{
		{"every": "5m", "next": "in 4m (2026-03-08 03:03 -04:00)"},
		{"every": "1h8m51s", "next": "in 8m (2026-03-08 03:07 -04:00)"},
	} {
		if rows := p.tableRows("targets-support"); len(rows) != 2 || rows[i]["every"] != want["every"] || rows[i]["next"] != want["next"] {
			t.Errorf("support's targets %v: want target %d refreshed every %s, next %s", rows, i, want["every"], want["next"])
		}
	}
	if got := p.classText(t, "detail-support", "refresh"); got != "round robin every 22m57s (stretched from 5m by the budget) · each target every 5m to 1h8m51s" {
		t.Errorf("support's refresh summary: %q", got)
	}
	// The accounts as given (Status gives them as configured), not by name:
	// in the table, the sections and what needs attention.
	order, sections := p.accountOrder()
	var attention []string
	for _, n := range find(p.root, func(n *html.Node) bool { return hasClass(n, "account-problems") }) {
		attention = append(attention, strings.TrimPrefix(attr(n, "id"), "attention-")+": "+text(find(n, byTag("ul"))[0]))
	}
	if want := "[support ops sales]"; fmt.Sprint(order) != want || fmt.Sprint(sections) != want {
		t.Errorf("accounts in the table %v, sections %v, want %s", order, sections, want)
	}
	if want := `[support: 2 of 153 targets failing ops: down: voicetrends: volume 20260307/20260308/day/ALL: auth: HTTP 401 Unauthorized: <b>invalid</b> "login"]`; fmt.Sprint(attention) != want {
		t.Errorf("what needs attention:\n got %v\nwant %s", attention, want)
	}
	if rows := p.failing("ops"); len(rows) != 0 {
		t.Errorf("ops has no failing target, the page lists %v", rows)
	}
	links := map[string]bool{}
	for _, a := range find(p.root, byTag("a")) {
		links[attr(a, "href")] = true
	}
	for _, href := range []string{"/metrics", "/-/healthy", "/-/ready"} {
		if !links[href] {
			t.Errorf("no link to %s", href)
		}
	}
	if s := find(p.root, byTag("script")); len(s) != 0 {
		t.Errorf("the page has %d scripts, want none", len(s))
	}
}

// TestLandingPageShowsWhatIsWrong runs the daemon against the simulator
// with a number the account does not own and an account whose password the
// API refuses, and reads the page as a person would.
func TestLandingPageShowsWhatIsWrong(t *testing.T) {
	t.Parallel()
	d := startWithProblems(t, "+19995550000")
	code, body, header := d.do(http.MethodGet, "/")
	if code != http.StatusOK || !strings.HasPrefix(header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET / = %d %s", code, header.Get("Content-Type"))
	}
	assertNoSecrets(t, "the landing page", body)
	p := parsePage(t, body)

	support := p.accountRow(t, "support")
	// Whether one bad number makes the account down is voicetrends_up's
	// business (see the README); the page shows the failing target either way.
	if support["failing"] != "1 of 2" || !strings.Contains(support["last-error"], "HTTP 400") {
		t.Errorf("support's row: %v, want 1 of 2 failing, the 400 as last error", support)
	}
	// Two requests spent, unless a window began since (at a pinned "now" just before a boundary).
	// The account's zone is New York's.
	m := regexp.MustCompile(`^(\d+) of 100 \(window ends \d{4}-\d\d-\d\d \d\d:\d\d -0[45]:00\)$`).FindStringSubmatch(support["budget"])
	if m == nil || m[1] > "2" {
		t.Errorf("support's budget: %q, want at most 2 of 100 spent and the window's end", support["budget"])
	}
	rows := p.failing("support")
	if len(rows) != 1 || rows[0]["phone"] != "+19995550000" || rows[0]["success"] != "never" ||
		!strings.Contains(rows[0]["error"], "not a number of this account") {
		t.Errorf("support's failing targets: %v, want +19995550000 with the API's 400, never succeeded", rows)
	}
	ops := p.accountRow(t, "ops")
	if ops["state"] != "down" || !strings.Contains(ops["last-error"], "401") {
		t.Errorf("ops' row: %v, want down with the refused login", ops)
	}
	// As configured, not by name.
	if order, sections := p.accountOrder(); fmt.Sprint(order) != "[support ops]" || fmt.Sprint(sections) != "[support ops]" {
		t.Errorf("accounts in the table %v, sections %v, want support then ops as configured", order, sections)
	}
}

// accountOrder returns the accounts' names in the order of the accounts
// table's rows and of the accounts' sections.
func (p page) accountOrder() (rows, sections []string) {
	for _, tr := range find(p.root, byTag("tr")) {
		if id := attr(tr, "id"); strings.HasPrefix(id, "account-") {
			rows = append(rows, strings.TrimPrefix(id, "account-"))
		}
	}
	for _, n := range find(p.root, func(n *html.Node) bool { return hasClass(n, "account") }) {
		sections = append(sections, strings.TrimPrefix(attr(n, "id"), "detail-"))
	}
	return rows, sections
}

// startWithProblems runs the daemon against the simulator with two
// accounts in trouble: support lists ALL and badPhone, a number the API
// refuses, and ops offers support's password, which the API refuses. It
// returns once support's two targets and ops' one have been tried (ops'
// refused login marks its target failing).
func startWithProblems(t *testing.T, badPhone string) *testDaemon {
	t.Helper()
	api := newFakeAPI(t)
	dir := testDir(t)
	cfg := filepath.Join(dir, "voicetrends.yml")
	writeFile(t, cfg, fmt.Sprintf(`base_url: %q
accounts:
  - name: support
    tool: dev
    login: acme-support
    password_file: support.pw
    phones: [ALL, %q]
    periods: [day]
  - name: ops
    tool: insight
    login: acme-ops
    password: %q
    periods: [day]
`, api.url, badPhone, supportPassword))
	d := startDaemon(t, "--config.file="+cfg)
	d.waitTried("support", 2)
	d.waitTried("ops", 1)
	return d
}

// A large account on a bad day lists the first failing targets and
// collapses the rest under their count: none is left out.
func TestLandingPageListsEveryFailingTarget(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 1, 5, 30, 0, 0, time.UTC)
	st := collector.AccountStatus{Name: "big", Tried: true, Plan: collector.Plan{Targets: 3000}}
	for i := range failingShown + 40 {
		st.Failing = append(st.Failing, collector.TargetStatus{Phone: fmt.Sprint(6175550000 + i), Period: "day", LastError: "HTTP 400", LastAttempt: now})
	}
	var buf bytes.Buffer
	if err := renderLanding(&buf, landingData{TelemetryPath: "/metrics", Now: now, Accounts: []collector.AccountStatus{st}}); err != nil {
		t.Fatal(err)
	}
	p := parsePage(t, buf.String())
	head, rest := p.failing("big"), p.tableRows("failing-rest-big")
	if len(head) != failingShown || len(rest) != 40 || head[0]["phone"] != "6175550000" || rest[39]["phone"] != fmt.Sprint(6175550000+failingShown+39) {
		t.Errorf("the page lists %d failing targets, then %d collapsed, want %d and 40, all in order", len(head), len(rest), failingShown)
	}
	if got := p.classText(t, "failing-more-big", "more"); !strings.HasPrefix(got, "40 more failing targets") {
		t.Errorf("the collapsed failing targets: %q, want their count", got)
	}
	if got, want := p.accountRow(t, "big")["failing"], fmt.Sprintf("%d of 3000", failingShown+40); got != want {
		t.Errorf("big's failing count: %q, want %s", got, want)
	}
}

// TestLandingPageShowsWrongTimezone: an account configured for New York
// whose VoiceTrends zone is London is flagged on the page and in the
// metrics, and serves no figure, whatever the hour.
func TestLandingPageShowsWrongTimezone(t *testing.T) {
	t.Parallel()
	api := newFakeAPI(t)
	dir := testDir(t)
	cfg := filepath.Join(dir, "voicetrends.yml")
	wrong := sales
	wrong.timezone = "America/New_York"
	writeConfig(t, cfg, api.url, support, wrong)
	d := startDaemon(t, "--config.file="+cfg)
	d.waitReady()

	m := d.metrics()
	if v := m.value(t, "voicetrends_timezone_mismatch", "account", "sales"); v != 1 {
		t.Errorf("voicetrends_timezone_mismatch{account=sales} = %v, want 1", v)
	}
	if v := m.value(t, "voicetrends_timezone_mismatch", "account", "support"); v != 0 {
		t.Errorf("voicetrends_timezone_mismatch{account=support} = %v, want 0", v)
	}
	if v := m.values("voicetrends_calls", "account", "sales"); len(v) != 0 {
		t.Errorf("sales serves voicetrends_calls %v under a wrong timezone, want none", v)
	}
	if v := m.values("voicetrends_calls", "account", "support"); len(v) == 0 {
		t.Errorf("support serves no voicetrends_calls")
	}
	_, body := d.get("/")
	p := parsePage(t, body)
	row := find(p.root, byID("account-sales"))
	if len(row) != 1 {
		t.Fatalf("no row for account sales:\n%s", body)
	}
	cell := find(row[0], func(n *html.Node) bool { return hasClass(n, "last-error") })
	if len(cell) != 1 || !strings.Contains(text(cell[0]), "wrong timezone: the API's buckets start at midnight UTC+0") ||
		!strings.Contains(text(cell[0]), "set the account's timezone:") {
		t.Errorf("sales' last error cell does not name the wrong timezone and the fix:\n%s", body)
	}
	if !strings.Contains(d.logs.String(), "wrong timezone: withholding the account's figures") {
		t.Errorf("the log does not say the timezone is wrong:\n%s", d.logs)
	}
}

// Logins the exporter defers to pace itself show beside the budget, and
// the account stays up.
func TestLandingPageShowsDeferredLogins(t *testing.T) {
	now := time.Date(2026, 3, 8, 6, 59, 30, 0, time.UTC)
	st := collector.AccountStatus{Name: "ops", Up: true, Tried: true, Spent: 40, Budget: 100, WindowEnd: now.Add(30 * time.Second),
		LoginDeferred: "12 of 15 logins spent by this client's count in its 15m window", LoginDeferredUntil: now.Add(30 * time.Second),
		Plan: collector.Plan{Targets: 3, RefreshInterval: 5 * time.Minute, Interval: 5 * time.Minute}}
	var buf bytes.Buffer
	if err := renderLanding(&buf, landingData{TelemetryPath: "/metrics", Now: now, Accounts: []collector.AccountStatus{st}}); err != nil {
		t.Fatal(err)
	}
	row := parsePage(t, buf.String()).accountRow(t, "ops")
	if row["state"] != "up" || !strings.Contains(row["budget"], "logins deferred until 2026-03-08 07:00 +00:00: 12 of 15 logins spent") {
		t.Errorf("state %q, budget %q: want up, and the deferral beside the budget", row["state"], row["budget"])
	}
}

// bigNow is the instant of bigAccounts: 09:15 in New York on Christmas Eve.
var bigNow = time.Date(2026, 12, 24, 14, 15, 0, 0, time.UTC)

// bigPhones is how many numbers, ALL aside, bigAccounts' large account has.
const bigPhones = 300

// bigCalls is number i's calls today in bigAccounts: all distinct, in no
// order of i, so that the page's ranking shows.
func bigCalls(i int) float64 { return float64((i * 7919) % 1009) }

// bigAccounts are two accounts as Status gives them at bigNow, configured
// in this order: callcentre, closed today, with bigPhones numbers over
// three periods, 28 failing targets (week, every 11th number) of which 3 are past max_data_age; then
// backoffice, in London, with two numbers, all well.
func bigAccounts() []collector.AccountStatus {
	ny, _ := time.LoadLocation("America/New_York")
	london, _ := time.LoadLocation("Europe/London")
	periods := []string{"day", "week", "month"}
	cc := collector.AccountStatus{Name: "callcentre", Location: ny, Zone: "America/New_York", Up: true, Tried: true,
		Spent: 61, Budget: 100, WindowEnd: bigNow.Add(15 * time.Minute), Periods: periods,
		LastError: "HTTP 502 Bad Gateway", LastErrorAt: bigNow.Add(-3 * time.Minute),
		Plan: collector.Plan{Targets: 3 * (bigPhones + 1), RefreshInterval: 5 * time.Minute, Interval: 22*time.Minute + 57*time.Second},
		Closures: collector.ClosureStatus{Configured: true, Holidays: "US",
			Today: &closure.Closure{Date: voicetrends.DateOf(bigNow), Name: "Christmas Eve"},
			Next:  &closure.Closure{Date: voicetrends.DateOf(bigNow).AddDays(1), Name: "Christmas Day"}},
		Oldest: bigNow.Add(-3 * time.Hour)}
	for i := range bigPhones + 1 {
		phone := voicetrends.AllPhones
		today, yesterday := voicetrends.Bucket{}, voicetrends.Bucket{}
		if i > 0 {
			phone = fmt.Sprintf("+1617555%04d", i)
			today.Set(voicetrends.Calls, bigCalls(i))
			yesterday.Set(voicetrends.Calls, bigCalls(i)+100)
		} else {
			today.Set(voicetrends.Calls, 151234)
			yesterday.Set(voicetrends.Calls, 181234)
		}
		today.Set(voicetrends.Transfers, 3)
		today.Set(voicetrends.TransferRate, 12.5)
		yesterday.Set(voicetrends.Transfers, 4)
		yesterday.Set(voicetrends.TransferRate, 10)
		// The square-root schedule: ALL every 5m, the others up to 2h.
		interval := 5*time.Minute + time.Duration(i%24)*5*time.Minute
		cc.Phones = append(cc.Phones, phone)
		cc.Numbers = append(cc.Numbers, collector.NumberStatus{Phone: phone, Today: &today, Yesterday: &yesterday, Interval: interval})
		for _, period := range periods {
			t := collector.TargetStatus{Phone: phone, Period: period, LastAttempt: bigNow.Add(-time.Minute), LastSuccess: bigNow.Add(-time.Minute),
				NextRefresh: bigNow.Add(interval - time.Minute), Interval: interval}
			if period == "week" && i%11 == 1 { // 28 of them
				t.LastError, t.LastSuccess = "HTTP 502 Bad Gateway", bigNow.Add(-time.Hour)
				if len(cc.Failing) < 3 {
					t.LastSuccess = bigNow.Add(-3 * time.Hour)
					cc.Stale++
				}
				cc.Failing = append(cc.Failing, t)
			} else {
				cc.OK++
			}
			cc.Targets = append(cc.Targets, t)
		}
	}
	bo := collector.AccountStatus{Name: "backoffice", Location: london, Zone: "Europe/London", Up: true, Tried: true,
		Spent: 4, Budget: 100, WindowEnd: bigNow.Add(15 * time.Minute), Periods: []string{"day"}, Phones: []string{voicetrends.AllPhones, "+442079460000"},
		Plan: collector.Plan{Targets: 2, RefreshInterval: 5 * time.Minute, Interval: 5 * time.Minute}, Oldest: bigNow.Add(-time.Minute), OK: 2}
	for _, phone := range bo.Phones {
		bo.Targets = append(bo.Targets, collector.TargetStatus{Phone: phone, Period: "day", LastAttempt: bigNow.Add(-time.Minute), LastSuccess: bigNow.Add(-time.Minute),
			NextRefresh: bigNow.Add(4 * time.Minute), Interval: 5 * time.Minute})
		bo.Numbers = append(bo.Numbers, collector.NumberStatus{Phone: phone, Interval: 5 * time.Minute})
	}
	return []collector.AccountStatus{cc, bo}
}

// BenchmarkStatusPage300 renders the status page of bigAccounts: 301
// numbers over 3 periods and a small account.
func BenchmarkStatusPage300(b *testing.B) {
	data := landingData{Version: "1.2.3", TelemetryPath: "/metrics", Now: bigNow, Refresh: landingRefresh, Accounts: bigAccounts()}
	var buf bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		if err := renderLanding(&buf, data); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/page")
	b.ReportMetric(float64(buf.Len()), "bytes/page")
}

// TestLandingPageAttention: each thing wrong with an account is said first,
// under the account, its times in the account's zone; an account with none
// is not listed, and a page with none says so.
func TestLandingPageAttention(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 6, 14, 15, 0, 0, time.UTC)
	ny, _ := time.LoadLocation("America/New_York")
	ok := collector.AccountStatus{Name: "acme", Location: ny, Up: true, Tried: true, Plan: collector.Plan{Targets: 3}, OK: 3}
	with := func(change func(*collector.AccountStatus)) collector.AccountStatus {
		st := ok
		change(&st)
		return st
	}
	for _, tc := range []struct {
		name string
		st   collector.AccountStatus
		want []string // class: text of each item
	}{
		{"all well", ok, nil},
		{"starting", with(func(st *collector.AccountStatus) { st.Up, st.Tried, st.OK = false, false, 0 }), nil},
		{"stopping", with(func(st *collector.AccountStatus) { st.Up, st.Stopping, st.LastError = false, true, "context canceled" }), nil},
		{"down", with(func(st *collector.AccountStatus) { st.Up, st.LastError = false, "HTTP 401 Unauthorized" }),
			[]string{"down: down: HTTP 401 Unauthorized"}},
		{"wrong zone", with(func(st *collector.AccountStatus) {
			st.Timezone = "the API's buckets start at midnight UTC+0: set the account's timezone: UTC"
		}), []string{"zone: wrong timezone, figures withheld: the API's buckets start at midnight UTC+0: set the account's timezone: UTC"}},
		{"deferred", with(func(st *collector.AccountStatus) {
			st.LoginDeferred, st.LoginDeferredUntil = "12 of 15 logins spent", now.Add(15*time.Minute)
		}), []string{"deferred: logins deferred until 2026-12-06 09:30 -05:00: 12 of 15 logins spent"}},
		{"failing and stale", with(func(st *collector.AccountStatus) {
			st.OK, st.Stale = 2, 1
			st.Failing = []collector.TargetStatus{{Phone: "ALL", Period: "week", LastError: "HTTP 502"}}
		}), []string{"failing: 1 of 3 targets failing", "stale: 1 targets' figures older than max_data_age, withdrawn from the metrics"}},
		{"closed", with(func(st *collector.AccountStatus) {
			st.Closures = collector.ClosureStatus{Configured: true, Today: &closure.Closure{Date: voicetrends.DateOf(now), Name: "closed.dates"}}
		}), []string{"closed: closed today: 2026-12-06 Sun closed.dates"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := renderLanding(&buf, landingData{TelemetryPath: "/metrics", Now: now, Accounts: []collector.AccountStatus{tc.st}}); err != nil {
				t.Fatal(err)
			}
			p := parsePage(t, buf.String())
			var got []string
			for _, li := range find(p.root, byTag("li")) {
				got = append(got, attr(li, "class")+": "+text(li))
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("what needs attention:\n got %q\nwant %q", got, tc.want)
			}
			if listed, well := len(find(p.root, byID("attention-acme"))) == 1, len(find(p.root, byID("all-well"))) == 1; listed == well || listed != (tc.want != nil) {
				t.Errorf("acme listed %v, the page says all is well %v; want one or the other", listed, well)
			}
		})
	}
}
