package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

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

// checkNumbers: the account's per-number table lists phones in order, with
// today's and yesterday's calls, transfers and transfer rate as /metrics
// serves them ("–" where it serves none).
func checkNumbers(t *testing.T, p page, figures map[string]string, account string, phones []string) {
	t.Helper()
	rows := p.tableRows("numbers-" + account)
	if len(rows) != len(phones) {
		t.Fatalf("%s: %d rows of numbers, want %d (%v)", account, len(rows), len(phones), phones)
	}
	for i, phone := range phones {
		if rows[i]["phone"] != phone {
			t.Errorf("%s: row %d is %q, want %s", account, i, rows[i]["phone"], phone)
		}
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
	nextRefresh = regexp.MustCompile(`^(due now|in (\d+[hms])+ \(\d\d:\d\d:\d\d UTC\))(, a retry)?$`)
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
// the demo and with a failing account, and reads the screenshot's page.
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
			if !strings.HasPrefix(attr(a, "href"), "/") {
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
