//go:build soak

// The soak runs the built exporter against the built simulator, with the
// simulator's faults on, for -soak.duration (20 minutes by default), and
// checks that nothing degrades. It is opt-in, behind the soak build tag:
//
//	go test -tags soak -run TestSoak -timeout 30m -soak.duration 20m -v .
//
// It needs Linux's /proc for the processes' memory and file descriptors.
package main

import (
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/voicetrends/voicetrends_exporter/prometheus/promtest"
)

var (
	soakDuration = flag.Duration("soak.duration", 20*time.Minute, "How long the soak runs.")
	soakEvery    = flag.Duration("soak.scrape-interval", 2*time.Second, "How often the soak scrapes the exporter.")
)

// The soak's API: one-minute windows, so that 20 minutes cross 20 of them,
// another client spending a fifth of each, credentials that expire after
// 40 uses, a 10 s storm of 401s every 5 minutes and a 5 s spell of 429s at
// the start of every fourth window, on top of latency, 500s, 502s and
// malformed bodies.
const (
	soakWindow     = time.Minute
	soak401Every   = 5 * time.Minute
	soak401For     = 10 * time.Second
	soak429Every   = 4 * time.Minute
	soak429For     = 5 * time.Second
	soakMaxDataAge = 4 * time.Minute // four windows, as the default 1h is four 15-minute windows
	soakWarmUp     = time.Minute
)

var soakSimulatorFlags = []string{
	"--seed=9", "--window=" + soakWindow.String(), "--data-limit=40", "--auth-limit=15", "--credential-uses=40",
	"--fault.latency=30ms", "--fault.server-errors=0.03", "--fault.bad-gateway=0.02", "--fault.malformed=0.02",
	"--fault.empty-as-array", "--fault.numbers-as-strings",
	"--fault.401-every=" + soak401Every.String(), "--fault.401-for=" + soak401For.String(),
	"--fault.429-every=" + soak429Every.String(), "--fault.429-for=" + soak429For.String(),
	"--fault.other-client=8",
}

const soakConfig = `base_url: %q
accounts:
  - name: support
    tool: dev
    login: demo-support
    password: demo-support-pass
    phones: [ALL, "+18005550100", "+18005550101", "+18005550102"]
    requests_per_window: 30
    window: 1m
    refresh_interval: 15s
    max_data_age: 4m
  - name: sales
    tool: fuseplus
    login: demo-sales
    password: demo-sales-pass
    phones: [ALL, "+442079460000", "+442079460001"]
    timezone: Europe/London
    requests_per_window: 30
    window: 1m
    refresh_interval: 15s
    max_data_age: 4m
`

// soakSample is one scrape of the exporter and a look at both processes.
type soakSample struct {
	at                  time.Time
	exporterRSS, simRSS float64 // bytes, from /proc
	heap                float64 // go_memstats_heap_inuse_bytes
	goroutines          float64
	fds                 float64
	requests            map[string]float64 // "account endpoint code" → count
	lastSuccess         map[string]float64 // "account phone period" → Unix time
	up                  map[string]float64
}

func TestSoak(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "voicetrends_exporter")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	simAddr, webAddr := promtest.FreePort(t), promtest.FreePort(t)
	sim := startProcess(t, bin, filepath.Join(dir, "simulator.log"), append([]string{"simulator", "--listen-address=" + simAddr}, soakSimulatorFlags...)...)
	waitHTTP(t, "http://"+simAddr+"/auth")
	cfg := filepath.Join(dir, "voicetrends.yml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(soakConfig, "http://"+simAddr+"/")), 0o600); err != nil {
		t.Fatal(err)
	}
	exporter := startProcess(t, bin, filepath.Join(dir, "exporter.log"), "--config.file="+cfg, "--web.listen-address="+webAddr)
	waitHTTP(t, "http://"+webAddr+"/-/healthy")

	began := time.Now()
	t.Logf("soak: %v against the simulator with %s", *soakDuration, strings.Join(soakSimulatorFlags, " "))
	var samples []soakSample
	tick := time.NewTicker(*soakEvery)
	defer tick.Stop()
	for time.Since(began) < *soakDuration {
		<-tick.C
		for _, p := range []*process{sim, exporter} {
			if p.exited() {
				t.Fatalf("%s exited during the soak (%v); its log:\n%s", p.name, p.err, tail(p.log, 40))
			}
		}
		s, err := sampleSoak("http://"+webAddr+"/metrics", exporter.cmd.Process.Pid, sim.cmd.Process.Pid)
		if err != nil {
			t.Fatalf("at +%v: %v", time.Since(began).Round(time.Second), err)
		}
		samples = append(samples, s)
		checkFresh(t, began, s)
	}
	for _, p := range []*process{exporter, sim} {
		if p.exited() {
			t.Fatalf("%s exited during the soak (%v)", p.name, p.err)
		}
		if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		select {
		case <-p.done:
			if p.err != nil {
				t.Errorf("%s exited with %v after SIGTERM", p.name, p.err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("%s did not exit within 10 s of SIGTERM", p.name)
		}
	}
	logText, err := os.ReadFile(exporter.log)
	if err != nil {
		t.Fatal(err)
	}
	reportSoak(t, began, samples, string(logText))
	if t.Failed() {
		t.Logf("the exporter's log ends:\n%s", tail(exporter.log, 60))
	}
}

// checkFresh asserts that after the warm-up every target's figures are
// younger than max_data_age: no lock-out, every target refreshed.
func checkFresh(t *testing.T, began time.Time, s soakSample) {
	t.Helper()
	if s.at.Sub(began) < soakWarmUp {
		return
	}
	if len(s.lastSuccess) != 21 {
		t.Errorf("at +%v: %d targets have succeeded, want all 21", s.at.Sub(began).Round(time.Second), len(s.lastSuccess))
	}
	for target, ts := range s.lastSuccess {
		if age := s.at.Sub(time.Unix(int64(ts), 0)); age > soakMaxDataAge {
			t.Errorf("at +%v: %s last refreshed %v ago, past max_data_age %v", s.at.Sub(began).Round(time.Second), target, age.Round(time.Second), soakMaxDataAge)
		}
	}
}

// reportSoak checks the run as a whole and logs its figures.
func reportSoak(t *testing.T, began time.Time, samples []soakSample, exporterLog string) {
	t.Helper()
	if len(samples) < 8 {
		t.Fatalf("only %d samples; run the soak for longer", len(samples))
	}
	var steady []soakSample // after the warm-up
	for _, s := range samples {
		if s.at.Sub(began) >= soakWarmUp {
			steady = append(steady, s)
		}
	}
	half := len(steady) / 2
	first, second := steady[:half], steady[half:]
	peak := func(ss []soakSample, f func(soakSample) float64) float64 {
		m := 0.0
		for _, s := range ss {
			m = max(m, f(s))
		}
		return m
	}
	rss := func(s soakSample) float64 { return s.exporterRSS }
	heap := func(s soakSample) float64 { return s.heap }
	gor := func(s soakSample) float64 { return s.goroutines }
	fds := func(s soakSample) float64 { return s.fds }
	simRSS := func(s soakSample) float64 { return s.simRSS }
	const mib = 1 << 20
	// Flat: the second half's peak stays within a quarter (and 4 MiB) of the first half's.
	for _, c := range []struct {
		name  string
		f     func(soakSample) float64
		slack float64
	}{{"exporter RSS", rss, 4 * mib}, {"exporter heap in use", heap, 4 * mib}, {"goroutines", gor, 3}, {"file descriptors", fds, 3}} {
		a, b := peak(first, c.f), peak(second, c.f)
		if b > a*1.25+c.slack {
			t.Errorf("%s grows: peak %.0f in the first half of the steady state, %.0f in the second", c.name, a, b)
		}
	}

	last := samples[len(samples)-1]
	elapsed := last.at.Sub(began)
	spells := 0 // 429 spells that touched the run
	for s := began.Truncate(soak429Every); !s.After(last.at); s = s.Add(soak429Every) {
		if !s.Add(soak429For).Before(began) {
			spells++
		}
	}
	storms := 0 // 401 storms wholly inside the run
	for s := began.Truncate(soak401Every); !s.Add(soak401For).After(last.at); s = s.Add(soak401Every) {
		if !s.Before(began) {
			storms++
		}
	}
	codes := map[string]float64{} // "endpoint code" over both accounts
	for k, v := range last.requests {
		f := strings.Fields(k)
		codes[f[1]+" "+f[2]] += v
	}
	for _, account := range []string{"support", "sales"} {
		if n := last.requests[account+" auth 429"]; n != 0 {
			t.Errorf("%s: %v logins answered 429", account, n)
		}
		// At most the first 429 of each spell: the budget then waits for the window's reset.
		if n := last.requests[account+" volume 429"]; n > float64(spells) {
			t.Errorf("%s: %v data requests answered 429 in %d spells of 429s, want at most one per spell", account, n, spells)
		}
		windows := elapsed.Minutes() + 1
		if n := last.requests[account+" auth 200"]; n > 12*windows {
			t.Errorf("%s: %v logins in %.0f windows", account, n, windows)
		}
	}

	// Each 401 storm: at most 5 logins per account from its start until 15 s
	// after its end, and a good answer again within those 15 s.
	var stormLines []string
	for s := began.Truncate(soak401Every).Add(soak401Every); !s.Add(soak401For + 15*time.Second).After(last.at); s = s.Add(soak401Every) {
		var before, after *soakSample
		for i := range samples {
			if samples[i].at.Before(s) {
				before = &samples[i]
			} else if after == nil && !samples[i].at.Before(s.Add(soak401For+15*time.Second)) {
				after = &samples[i]
			}
		}
		if before == nil || after == nil {
			continue
		}
		line := s.Format(time.TimeOnly) + ":"
		end := s.Add(soak401For)
		for _, account := range []string{"support", "sales"} {
			logins := after.requests[account+" auth 200"] - before.requests[account+" auth 200"]
			// The first good answer after the end lies between the last
			// sample before it and the first sample whose 200s grew: the
			// storm answers every data request 401, so a 200 is after it.
			var atEnd *soakSample
			recovered := time.Duration(-1)
			for i := range samples {
				ss := &samples[i]
				if !ss.at.After(end) {
					atEnd = ss
					continue
				}
				if atEnd != nil && ss.requests[account+" volume 200"] > atEnd.requests[account+" volume 200"] {
					recovered = ss.at.Sub(end)
					break
				}
			}
			line += fmt.Sprintf(" %s %v logins, good answer within %v of the end;", account, logins, recovered.Round(time.Second))
			if logins > 5 {
				t.Errorf("401 storm at %s: %s logged in %v times, want at most 5", s.Format(time.TimeOnly), account, logins)
			}
			if recovered < 0 || recovered > 15*time.Second+*soakEvery {
				t.Errorf("401 storm at %s: %s had no good answer within 15 s after its end (first seen %v after it, sampling every %v)", s.Format(time.TimeOnly), account, recovered, *soakEvery)
			}
		}
		stormLines = append(stormLines, line)
	}

	keys := make([]string, 0, len(codes))
	for k := range codes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var req strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&req, " %s=%.0f", strings.ReplaceAll(k, " ", ":"), codes[k])
	}
	oldest := 0.0
	for _, s := range steady {
		for _, ts := range s.lastSuccess {
			oldest = max(oldest, s.at.Sub(time.Unix(int64(ts), 0)).Seconds())
		}
	}
	t.Logf("soak figures after %v (%d samples, %d 401 storms, %d 429 spells):", elapsed.Round(time.Second), len(samples), storms, spells)
	t.Logf("  exporter RSS MiB: first half peak %.1f, second half peak %.1f, last %.1f; simulator RSS last %.1f MiB",
		peak(first, rss)/mib, peak(second, rss)/mib, last.exporterRSS/mib, peak(second, simRSS)/mib)
	t.Logf("  exporter heap in use MiB: first half peak %.1f, second half peak %.1f", peak(first, heap)/mib, peak(second, heap)/mib)
	t.Logf("  goroutines: first half peak %.0f, second half peak %.0f, last %.0f; fds: peak %.0f, last %.0f",
		peak(first, gor), peak(second, gor), last.goroutines, peak(steady, fds), last.fds)
	t.Logf("  requests (endpoint:code):%s", req.String())
	t.Logf("  per account: support logins %.0f, sales logins %.0f; support data 429s %.0f, sales data 429s %.0f",
		last.requests["support auth 200"], last.requests["sales auth 200"], last.requests["support volume 429"], last.requests["sales volume 429"])
	for _, l := range stormLines {
		t.Logf("  401 storm at %s", l)
	}
	t.Logf("  oldest figures seen after warm-up: %.0fs (max_data_age %v); voicetrends_up at the end: %v", oldest, soakMaxDataAge, last.up)
	if n := strings.Count(exporterLog, "level=error"); n > 0 {
		t.Logf("  the exporter logged %d errors", n)
	}
}

func sampleSoak(url string, exporterPID, simPID int) (soakSample, error) {
	s := soakSample{at: time.Now(), requests: map[string]float64{}, lastSuccess: map[string]float64{}, up: map[string]float64{}}
	resp, err := http.Get(url)
	if err != nil {
		return s, fmt.Errorf("scraping: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return s, fmt.Errorf("scrape answered %d", resp.StatusCode)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return s, fmt.Errorf("parsing the scrape: %w", err)
	}
	one := func(name string) float64 {
		if f := families[name]; f != nil && len(f.GetMetric()) > 0 {
			return sampleValue(f.GetMetric()[0])
		}
		return -1
	}
	s.heap, s.goroutines, s.fds = one("go_memstats_heap_inuse_bytes"), one("go_goroutines"), one("process_open_fds")
	each := func(name string, into map[string]float64, labels ...string) {
		for _, m := range families[name].GetMetric() {
			have := map[string]string{}
			for _, lp := range m.GetLabel() {
				have[lp.GetName()] = lp.GetValue()
			}
			var key []string
			for _, l := range labels {
				key = append(key, have[l])
			}
			into[strings.Join(key, " ")] = sampleValue(m)
		}
	}
	each("voicetrends_api_requests_total", s.requests, "account", "endpoint", "code")
	each("voicetrends_last_success_timestamp_seconds", s.lastSuccess, "account", "phone", "period")
	each("voicetrends_up", s.up, "account")
	if s.exporterRSS, err = procRSS(exporterPID); err != nil {
		return s, err
	}
	if s.simRSS, err = procRSS(simPID); err != nil {
		return s, err
	}
	return s, nil
}
