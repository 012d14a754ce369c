package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"golang.org/x/net/html"

	"github.com/voicetrends/voicetrends_exporter/prometheus/promtest"
)

// chromiumTimeout bounds one page load in headless Chromium.
const chromiumTimeout = time.Minute

// screenshotWidth is the width of the status page's screenshot, a laptop's.
const screenshotWidth = 1280

// bannerColour is the demo banner's background (landing.go's .banner).
var bannerColour = [3]uint8{0xff, 0xf3, 0xcd}

// chromiumLaunches bounds the launches of one page load. Debian's Chromium
// sometimes dies of a segmentation fault at start, whatever the page (about
// one launch in 75 with both cores busy, also on a data: URL); a crash is
// the browser's, so the load is tried again with a fresh profile.
const chromiumLaunches = 3

// inChromium loads url in headless Chromium with a fresh profile, fetching
// nothing else, and returns the DOM after load and a screenshot 1280 px wide
// of the same load.
func inChromium(t *testing.T, url string) (page, image.Image) {
	t.Helper()
	for launch := 1; ; launch++ {
		dom, shot, err := runChromium(t.TempDir(), url)
		if sig, ok := crashSignal(err); ok && launch < chromiumLaunches {
			t.Logf("chromium died of %v at launch %d of %d; launching it again", sig, launch, chromiumLaunches)
			continue
		}
		if err != nil {
			t.Fatalf("chromium, launch %d of %d: %v", launch, chromiumLaunches, err)
		}
		img, err := png.Decode(bytes.NewReader(shot))
		if err != nil {
			t.Fatalf("the screenshot: %v", err)
		}
		if dir := os.Getenv("VOICETRENDS_SCREENSHOTS"); dir != "" {
			name := filepath.Join(dir, strings.NewReplacer("/", "-").Replace(t.Name())+".png")
			if err := os.WriteFile(name, shot, 0o644); err != nil {
				t.Errorf("keeping the screenshot: %v", err)
			}
		}
		if w := img.Bounds().Dx(); w != screenshotWidth {
			t.Errorf("the screenshot is %d px wide, want %d", w, screenshotWidth)
		}
		return parsePage(t, dom), img
	}
}

// runChromium runs one headless Chromium with its profile in dir and returns
// the DOM it dumped and its screenshot. An error carries what Chromium
// printed on stderr and wraps the *exec.ExitError, if any.
func runChromium(dir, url string) (dom string, shot []byte, err error) {
	shotPath := filepath.Join(dir, "status-page.png")
	ctx, cancel := context.WithTimeout(context.Background(), chromiumTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
		"--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir="+filepath.Join(dir, "profile"), fmt.Sprintf("--window-size=%d,1600", screenshotWidth),
		"--screenshot="+shotPath, "--dump-dom", url)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", nil, fmt.Errorf("%w\n%s", err, stderr.String())
	}
	if shot, err = os.ReadFile(shotPath); err != nil {
		return "", nil, fmt.Errorf("chromium wrote no screenshot: %w\n%s", err, stderr.String())
	}
	return stdout.String(), shot, nil
}

// crashSignal reports the signal err's process died of when that is a crash
// of its own: not SIGKILL, which is chromiumTimeout's, nor an exit status.
func crashSignal(err error) (syscall.Signal, bool) {
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		return 0, false
	}
	status, ok := exit.Sys().(syscall.WaitStatus)
	if !ok || !status.Signaled() {
		return 0, false
	}
	switch sig := status.Signal(); sig {
	case syscall.SIGSEGV, syscall.SIGBUS, syscall.SIGILL, syscall.SIGABRT, syscall.SIGTRAP:
		return sig, true
	default:
		return 0, false
	}
}

// showsBanner reports whether the top of the screenshot shows the demo
// banner's background.
func showsBanner(img image.Image) bool {
	b := img.Bounds()
	for y := b.Min.Y; y < b.Min.Y+200 && y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if [3]uint8{uint8(r >> 8), uint8(g >> 8), uint8(bl >> 8)} == bannerColour {
				return true
			}
		}
	}
	return false
}

// dayFigures are a scrape's day figures by account, phone, window and name,
// written as the status page writes them.
func dayFigures(s scrape) map[string]string {
	out := map[string]string{}
	for name, format := range map[string]func(float64) string{
		"voicetrends_calls":          func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) },
		"voicetrends_transfers":      func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) },
		"voicetrends_transfer_ratio": func(v float64) string { return strconv.FormatFloat(v*100, 'f', 1, 64) + " %" },
	} {
		fam := s.families[name]
		if fam == nil {
			continue
		}
		for _, m := range fam.GetMetric() {
			l := map[string]string{}
			for _, lp := range m.GetLabel() {
				l[lp.GetName()] = lp.GetValue()
			}
			if l["period"] == "day" {
				out[l["account"]+" "+l["phone"]+" "+l["window"]+" "+name] = format(m.GetGauge().GetValue())
			}
		}
	}
	return out
}

// loadBetweenScrapes loads the status page in Chromium between two scrapes
// of /metrics, again while a refresh lands in between, so that the page and
// the returned figures come from one snapshot.
func loadBetweenScrapes(t *testing.T, d *testDaemon) (page, image.Image, map[string]string) {
	t.Helper()
	for try := 0; ; try++ {
		before := dayFigures(d.metrics())
		p, img := inChromium(t, "http://"+d.addr+"/")
		if after := dayFigures(d.metrics()); reflect.DeepEqual(before, after) {
			return p, img, before
		}
		if try == 5 {
			t.Fatal("the figures changed during each of 6 page loads")
		}
	}
}

// tableRows returns the cells, by class, of each body row of the table id.
func (p page) tableRows(id string) []map[string]string {
	var out []map[string]string
	for _, table := range find(p.root, byID(id)) {
		for _, tbody := range find(table, byTag("tbody")) {
			for _, tr := range find(tbody, byTag("tr")) {
				out = append(out, cells(tr))
			}
		}
	}
	return out
}

// classText is the text of the first element of class under the element id.
func (p page) classText(t *testing.T, id, class string) string {
	t.Helper()
	for _, n := range find(p.root, byID(id)) {
		if found := find(n, func(n *html.Node) bool { return hasClass(n, class) }); len(found) > 0 {
			return text(found[0])
		}
	}
	t.Errorf("no .%s under #%s", class, id)
	return ""
}

// failingColour is the colour of what is failing on the page (.down).
var failingColour = [3]uint8{0xb0, 0x00, 0x20}

// showsColourAbove reports whether the screenshot shows colour above y.
func showsColourAbove(img image.Image, colour [3]uint8, y int) bool {
	b := img.Bounds()
	for py := b.Min.Y; py < b.Min.Y+y && py < b.Max.Y; py++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, py).RGBA()
			if [3]uint8{uint8(r >> 8), uint8(g >> 8), uint8(bl >> 8)} == colour {
				return true
			}
		}
	}
	return false
}

// checkBigAccount reads bigAccounts' page: what needs attention first, the
// summary, the busiest numbers and the collapsed rest with its count, every
// number and target listed, times in each account's zone.
func checkBigAccount(t *testing.T, p page, img image.Image) {
	t.Helper()
	// Document order: attention, then the accounts table, then the sections, as configured.
	var order []string
	for _, n := range find(p.root, func(n *html.Node) bool { return attr(n, "id") != "" }) {
		switch id := attr(n, "id"); id {
		case "attention", "accounts", "detail-callcentre", "detail-backoffice":
			order = append(order, id)
		}
	}
	if want := "[attention accounts detail-callcentre detail-backoffice]"; fmt.Sprint(order) != want {
		t.Errorf("the page's order %v, want %s", order, want)
	}
	if !showsColourAbove(img, failingColour, 500) {
		t.Error("the screenshot's first 500 px show nothing failing")
	}
	var problems []string
	for _, li := range find(p.root, byTag("li")) {
		problems = append(problems, attr(li, "class")+": "+text(li))
	}
	if want := []string{
		"failing: 28 of 903 targets failing",
		"stale: 3 targets' figures older than max_data_age, withdrawn from the metrics",
		"closed: closed today: 2026-12-24 Thu Christmas Eve",
	}; !reflect.DeepEqual(problems, want) {
		t.Errorf("what needs attention:\n got %q\nwant %q", problems, want)
	}
	if n := len(find(p.root, byID("attention-backoffice"))); n != 0 {
		t.Error("backoffice, all well, needs attention")
	}
	// Every failing target, the first 10 shown, the others collapsed under their count.
	head, rest := p.tableRows("failing-callcentre"), p.tableRows("failing-rest-callcentre")
	if len(head) != 10 || len(rest) != 18 || head[0]["phone"] != "+16175550001" || rest[17]["phone"] != "+16175550298" {
		t.Errorf("failing targets: %d shown, %d collapsed, want 10 and 18 from +16175550001 to +16175550298", len(head), len(rest))
	}
	if got := p.classText(t, "failing-more-callcentre", "more"); !strings.HasPrefix(got, "18 more failing targets") {
		t.Errorf("collapsed failing targets %q, want their count", got)
	}
	// The summary.
	for class, want := range map[string]string{
		"zone":    "America/New_York",
		"targets": "903: 875 ok, 28 failing, 0 not tried yet · 3 with figures older than max_data_age",
		"budget":  "61 of 100 data requests spent this window, which ends 2026-12-24 09:30 -05:00",
		"refresh": "round robin every 22m57s (stretched from 5m by the budget) · each target every 5m to 2h",
		"oldest":  "fetched 3h ago",
		"closed":  "closed today: 2026-12-24 Thu Christmas Eve · next closure: 2026-12-25 Fri Christmas Day (holidays US)",
	} {
		if got := p.classText(t, "detail-callcentre", class); got != want {
			t.Errorf("callcentre's %s: %q, want %q", class, got, want)
		}
	}
	if got := p.classText(t, "detail-backoffice", "budget"); got != "4 of 100 data requests spent this window, which ends 2026-12-24 14:30 +00:00" {
		t.Errorf("backoffice's budget %q, want its window's end in London's zone", got)
	}
	if got := p.accountRow(t, "callcentre")["budget"]; got != "61 of 100 (window ends 2026-12-24 09:30 -05:00)" {
		t.Errorf("callcentre's row: budget %q", got)
	}
	// The busiest numbers, by today's calls, each with its own interval.
	var want []int
	for i := 1; i <= bigPhones; i++ {
		want = append(want, i)
	}
	slices.SortStableFunc(want, func(a, b int) int { return int(bigCalls(b) - bigCalls(a)) })
	top := p.tableRows("numbers-callcentre")
	if len(top) != 11 || top[0]["phone"] != "ALL" || top[0]["today-calls"] != "151234" || top[0]["every"] != "5m" {
		t.Fatalf("busiest numbers: %v, want ALL then 10", top)
	}
	for k, i := range want[:10] {
		row := top[k+1]
		if wantRow := (map[string]string{"phone": fmt.Sprintf("+1617555%04d", i), "today-calls": fmt.Sprint(bigCalls(i)),
			"yesterday-calls": fmt.Sprint(bigCalls(i) + 100), "every": model.Duration(5*time.Minute + time.Duration(i%24)*5*time.Minute).String()}); row["phone"] != wantRow["phone"] ||
			row["today-calls"] != wantRow["today-calls"] || row["yesterday-calls"] != wantRow["yesterday-calls"] || row["every"] != wantRow["every"] {
			t.Errorf("busiest number %d: %v, want %v", k+1, row, wantRow)
		}
	}
	// The rest, collapsed under its count: no number left out.
	if got := p.classText(t, "rest-callcentre", "rest"); !strings.HasPrefix(got, "290 more numbers, busiest first") {
		t.Errorf("the collapsed numbers: %q", got)
	}
	rows := p.numberRows("callcentre")
	var phones []string
	for _, row := range rows {
		phones = append(phones, row["phone"])
	}
	if !reflect.DeepEqual(sorted(phones), sorted(bigAccounts()[0].Phones)) || !busiestFirst(rows) {
		t.Errorf("the numbers' tables list %d numbers, want all %d once, busiest first", len(phones), bigPhones+1)
	}
	if got := p.classText(t, "detail-callcentre", "phones"); strings.Count(got, ", ") != bigPhones {
		t.Errorf("the configured numbers list %d numbers", strings.Count(got, ", ")+1)
	}
	// Every target, collapsed, its next refresh in the account's zone.
	targets := p.tableRows("targets-callcentre")
	if len(targets) != 903 || targets[0]["next"] != "in 4m (2026-12-24 09:19 -05:00)" || targets[902]["next"] != "in 1h4m (2026-12-24 10:19 -05:00)" {
		t.Errorf("every target: %d rows, first due %q, last %q", len(targets), targets[0]["next"], targets[len(targets)-1]["next"])
	}
	for _, d := range find(p.root, byTag("details")) {
		if _, open := attrOK(d, "open"); open {
			t.Errorf("details %q is open: the page should show it collapsed", attr(d, "id"))
		}
	}
	if got := len(find(p.root, byTag("details"))); got != 5 {
		t.Errorf("%d collapsed parts, want 5: the failing targets, numbers and targets of callcentre, its configured numbers, backoffice's targets", got)
	}
}

// attrOK returns n's attribute key and whether n has it.
func attrOK(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

// numberRows returns the rows of the account's numbers: the busiest, then
// the rest collapsed.
func (p page) numberRows(account string) []map[string]string {
	return append(p.tableRows("numbers-"+account), p.tableRows("numbers-rest-"+account)...)
}

// busiestFirst reports whether rows come ALL first, then by today's calls
// from the most, those without figures last.
func busiestFirst(rows []map[string]string) bool {
	prev := math.Inf(1)
	for i, row := range rows {
		if row["phone"] == "ALL" {
			if i != 0 {
				return false
			}
			continue
		}
		calls := math.Inf(-1)
		if row["today-calls"] != "–" {
			v, err := strconv.ParseFloat(row["today-calls"], 64)
			if err != nil {
				return false
			}
			calls = v
		}
		if calls > prev {
			return false
		}
		prev = calls
	}
	return true
}

// checkNumbers: the account's per-number tables list every phone once, ALL
// first and then the busiest by today's calls, with today's and yesterday's
// calls, transfers and transfer rate as /metrics serves them ("–" where it
// serves none).
func checkNumbers(t *testing.T, p page, figures map[string]string, account string, phones []string) {
	t.Helper()
	rows := p.numberRows(account)
	var got []string
	for _, row := range rows {
		got = append(got, row["phone"])
	}
	if !reflect.DeepEqual(sorted(got), sorted(phones)) {
		t.Fatalf("%s: numbers %v, want %v", account, got, phones)
	}
	if !busiestFirst(rows) {
		t.Errorf("%s: numbers %v, want ALL first then the busiest by today's calls", account, rows)
	}
	for i, phone := range got {
		for class, key := range map[string]string{
			"today-calls": "current voicetrends_calls", "today-transfers": "current voicetrends_transfers", "today-rate": "current voicetrends_transfer_ratio",
			"yesterday-calls": "previous voicetrends_calls", "yesterday-transfers": "previous voicetrends_transfers", "yesterday-rate": "previous voicetrends_transfer_ratio",
		} {
			want, ok := figures[account+" "+phone+" "+key]
			if !ok {
				want = "–"
			}
			if got := rows[i][class]; got != want {
				t.Errorf("%s %s %s: page %q, /metrics %q", account, phone, class, got, want)
			}
		}
	}
}

var (
	nextRefresh = regexp.MustCompile(`^(due now|in (\d+[hms])+ \(\d{4}-\d\d-\d\d \d\d:\d\d [+-]\d\d:\d\d\))(, a retry)?$`)
	fetchedAgo  = regexp.MustCompile(`^fetched (\d+[hms])+ ago$`)
)

// TestCrashSignal: only a process that crashed is launched again, not one
// that exited with a status or that chromiumTimeout killed.
func TestCrashSignal(t *testing.T) {
	for _, tc := range []struct {
		script string
		want   syscall.Signal
		crash  bool
	}{
		{"kill -SEGV $$", syscall.SIGSEGV, true},
		{"kill -ABRT $$", syscall.SIGABRT, true},
		{"kill -KILL $$", 0, false},
		{"kill -TERM $$", 0, false},
		{"exit 1", 0, false},
		{"exit 0", 0, false},
	} {
		err := exec.Command("sh", "-c", tc.script).Run()
		if sig, crash := crashSignal(fmt.Errorf("chromium: %w", err)); sig != tc.want || crash != tc.crash {
			t.Errorf("%s: crashSignal = %v, %v; want %v, %v", tc.script, sig, crash, tc.want, tc.crash)
		}
	}
}

// TestStatusPageInChromium renders the status page as a browser does, in
// the demo, with a failing account and with an account of 300 numbers, and
// reads the screenshot's page.
func TestStatusPageInChromium(t *testing.T) {
	promtest.RequireFrom(t, "chromium", "status page test in headless Chromium", "chromium")
	t.Parallel()
	t.Run("demo", func(t *testing.T) {
		t.Parallel()
		d := startDaemon(t, "--demo")
		// Ready: each account has refreshed; the budget spreads the other
		// targets' first refreshes over the next minutes ("due now").
		d.waitReady()
		p, img, figures := loadBetweenScrapes(t, d)
		if got := p.classText(t, "demo-banner", "banner"); !strings.Contains(got, "every figure on this page and on /metrics is synthetic") {
			t.Errorf("demo banner %q", got)
		}
		if !showsBanner(img) {
			t.Error("the screenshot's top shows no demo banner")
		}
		if title := text(find(p.root, byTag("title"))[0]); title != "[DEMO] VoiceTrends Exporter" {
			t.Errorf("title %q", title)
		}
		refresh := find(p.root, func(n *html.Node) bool { return n.Data == "meta" && attr(n, "http-equiv") == "refresh" })
		if len(refresh) != 1 || attr(refresh[0], "content") != "30" {
			t.Errorf("the page does not reload itself every 30s")
		}
		// One page, nothing fetched from elsewhere, no script.
		for _, n := range find(p.root, func(n *html.Node) bool { return attr(n, "src") != "" || n.Data == "link" || n.Data == "script" }) {
			t.Errorf("the page loads <%s> %v", n.Data, n.Attr)
		}
		for _, a := range find(p.root, byTag("a")) {
			if href := attr(a, "href"); !strings.HasPrefix(href, "/") && !strings.HasPrefix(href, "#") {
				t.Errorf("a link leaves the exporter: %s", attr(a, "href"))
			}
		}
		for account, want := range map[string]struct {
			zone   string
			phones []string
		}{
			"support": {"America/New_York", []string{"ALL", "+18005550100", "+18005550101", "+18005550102"}},
			"sales":   {"Europe/London", []string{"ALL", "+442079460000", "+442079460001"}},
		} {
			id := "detail-" + account
			if got := p.classText(t, id, "zone"); got != want.zone {
				t.Errorf("%s: time zone %q, want %s", account, got, want.zone)
			}
			if got := p.classText(t, id, "phones"); got != strings.Join(want.phones, ", ") {
				t.Errorf("%s: numbers %q", account, got)
			}
			if got := p.classText(t, id, "periods"); got != "day, week, month" {
				t.Errorf("%s: periods %q", account, got)
			}
			if got := p.classText(t, id, "oldest"); !fetchedAgo.MatchString(strings.Split(got, " · ")[0]) {
				t.Errorf("%s: oldest figures %q", account, got)
			}
			checkNumbers(t, p, figures, account, want.phones)
			if _, ok := figures[account+" ALL current voicetrends_calls"]; !ok {
				t.Errorf("%s: /metrics has no calls today for ALL: the comparison proves little", account)
			}
			targets := p.tableRows("targets-" + account)
			if len(targets) != 3*len(want.phones) {
				t.Errorf("%s: %d targets, want %d", account, len(targets), 3*len(want.phones))
			}
			for _, row := range targets {
				if !nextRefresh.MatchString(row["next"]) {
					t.Errorf("%s %s %s: next refresh %q", account, row["phone"], row["period"], row["next"])
				}
			}
		}
	})
	t.Run("300 numbers", func(t *testing.T) {
		t.Parallel()
		data := landingData{Version: "1.2.3", TelemetryPath: "/metrics", Now: bigNow, Refresh: landingRefresh, Accounts: bigAccounts()}
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			if err := renderLanding(w, data); err != nil {
				t.Errorf("rendering: %v", err)
			}
		}))
		t.Cleanup(srv.Close)
		p, img := inChromium(t, srv.URL+"/")
		checkBigAccount(t, p, img)
	})
	t.Run("failing", func(t *testing.T) {
		t.Parallel()
		// 18005550101 is +18005550101 of acme-support, written without its +.
		d := startWithProblems(t, "18005550101")
		p, img, figures := loadBetweenScrapes(t, d)
		if len(find(p.root, byID("demo-banner"))) != 0 || showsBanner(img) {
			t.Error("a demo banner on a real account's page")
		}
		ops := p.accountRow(t, "ops")
		if ops["state"] != "down" || !strings.Contains(ops["last-error"], "HTTP 401 Unauthorized") ||
			!strings.Contains(ops["last-error"], "check tool as well as login and password: one of dev | insight | fuseplus") {
			t.Errorf("ops: %v, want down with the refused login and the tool to check", ops)
		}
		if got := p.classText(t, "detail-ops", "oldest"); got != "none yet · 1 target(s) without figures yet" {
			t.Errorf("ops: oldest figures %q", got)
		}
		checkNumbers(t, p, figures, "ops", []string{"ALL"})
		if rows := p.tableRows("numbers-ops"); len(rows) == 1 && rows[0]["today-calls"] != "–" {
			t.Errorf("ops shows calls %q without a login", rows[0]["today-calls"])
		}
		failing := p.tableRows("failing-support")
		if len(failing) != 1 || failing[0]["phone"] != "18005550101" || failing[0]["success"] != "never" ||
			!strings.Contains(failing[0]["error"], `phone "18005550101" is not a number of this account (if the account lists it as +18005550101, write that in phones)`) {
			t.Errorf("support's failing targets: %v, want 18005550101 refused, with its + form", failing)
		}
		checkNumbers(t, p, figures, "support", []string{"ALL", "18005550101"})
		if _, ok := figures["support ALL previous voicetrends_calls"]; !ok {
			t.Error("support serves no calls of yesterday for ALL: the comparison proves little")
		}
		assertNoSecrets(t, "the status page", text(p.root))
	})
}

// sorted returns a sorted copy of s.
func sorted(s []string) []string { return slices.Sorted(slices.Values(s)) }
