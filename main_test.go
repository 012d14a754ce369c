package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/voicetrends/voicetrends_exporter/internal/testlog"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"golang.org/x/crypto/bcrypt"

	"github.com/voicetrends/voicetrends_exporter/internal/clock"
	"github.com/voicetrends/voicetrends_exporter/internal/clock/clocktest"
	"github.com/voicetrends/voicetrends_exporter/prometheus/promtest"
	"github.com/voicetrends/voicetrends_exporter/voicetrends"
	"github.com/voicetrends/voicetrends_exporter/voicetrends/simulator"
)

// The daemon tests run the whole program through run, against the simulator
// served by httptest, and talk to it over HTTP on a loopback port.

// Passwords of the simulated accounts; distinctive so that a leak is found.
const (
	supportPassword = "pw-Support-7Hq2xQ"
	salesPassword   = "pw-Sales-Vb2mK8"
	opsPassword     = "pw-Ops-K9pL4w"
)

var secrets = []string{supportPassword, salesPassword, opsPassword}

// waitBound bounds every wait for the daemon; nothing here should take a second.
const waitBound = 10 * time.Second

// testClocks holds each test's one clock, shared by the program and the
// test's fake API, so that both reason about the same "today".
var testClocks sync.Map // *testing.T → clock.Clock

// testClock returns test t's clock: clocktest's (the wall clock, or
// VOICETRENDS_TEST_NOW), the same on every call within t.
func testClock(t *testing.T) clock.Clock {
	t.Helper()
	if c, ok := testClocks.Load(t); ok {
		return c.(clock.Clock)
	}
	c := clocktest.Clock(t)
	testClocks.Store(t, c)
	t.Cleanup(func() { testClocks.Delete(t) })
	return c
}

// newEnv returns an env for run that writes to buffers, runs on the test's
// clock and hears the signals the test sends.
func newEnv(t *testing.T) (e env, out, logs *testlog.Buffer) {
	t.Helper()
	out, logs = &testlog.Buffer{}, &testlog.Buffer{}
	return env{stdout: out, stderr: logs, clock: testClock(t), signals: make(chan os.Signal, 4), idleTimeout: 2 * time.Minute}, out, logs
}

func assertNotListening(t *testing.T, addr string) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return
	}
	_ = conn.Close()
	if ours, known := listensInThisProcess(addr); known && !ours {
		// Released ports are free for anyone: another package's test
		// binary or Prometheus took this one after run let it go.
		t.Logf("%s is taken by another process, not by run", addr)
		return
	}
	t.Errorf("something listens on %s after run returned", addr)
}

// listensInThisProcess reports whether a listening socket on addr's port is
// one of this process's file descriptors, as Linux's /proc shows them; known
// is false where /proc cannot tell.
func listensInThisProcess(addr string) (ours, known bool) {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return false, false
	}
	n, err := strconv.Atoi(port)
	if err != nil {
		return false, false
	}
	suffix := fmt.Sprintf(":%04X", n)
	inodes := map[string]bool{}
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(table)
		if err != nil {
			return false, false
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			// sl local_address rem_address st ... inode: the fields 1, 3 and 9.
			f := strings.Fields(line)
			if len(f) > 9 && strings.HasSuffix(f[1], suffix) && f[3] == "0A" {
				inodes["socket:["+f[9]+"]"] = true
			}
		}
	}
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return false, false
	}
	for _, fd := range fds {
		if target, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name())); err == nil && inodes[target] {
			return true, true
		}
	}
	return false, true
}

func assertNoSecrets(t *testing.T, where, text string) {
	t.Helper()
	for _, s := range secrets {
		if strings.Contains(text, s) {
			t.Errorf("%s shows the password %q", where, s)
		}
	}
}

// waitFor polls cond until it holds or waitBound passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitBound)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up after %s waiting for %s", waitBound, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// fakeAPI serves the simulator, with a hook that runs before each request
// (it may block, to hold a request in flight) and one after it.
type fakeAPI struct {
	sim   *simulator.Simulator
	url   string
	clock clock.Clock // the program's and the simulator's

	mu     sync.Mutex
	before func(*http.Request)
	after  func(r *http.Request, code int)
}

func newFakeAPI(t *testing.T) *fakeAPI {
	t.Helper()
	loc := func(name string) *time.Location {
		l, err := time.LoadLocation(name)
		if err != nil {
			t.Fatalf("loading %s: %v", name, err)
		}
		return l
	}
	clk := testClock(t)
	f := &fakeAPI{clock: clk, sim: simulator.New(simulator.Options{Seed: 7, Now: clk.Now, Accounts: []simulator.Account{
		{Tool: voicetrends.ToolDev, Login: "acme-support", Password: supportPassword,
			Phones: []string{"+18005550100", "+18005550101"}, TimeZone: loc("America/New_York")},
		{Tool: voicetrends.ToolFusePlus, Login: "acme-sales", Password: salesPassword,
			Phones: []string{"+442079460000"}, TimeZone: loc("Europe/London")},
		{Tool: voicetrends.ToolInsight, Login: "acme-ops", Password: opsPassword,
			Phones: []string{"+13125550100"}, TimeZone: loc("America/Chicago")},
	}})}
	server := httptest.NewServer(f)
	t.Cleanup(func() {
		f.setHooks(nil, nil) // a held request must not hold up Close
		server.Close()
	})
	f.url = server.URL + "/"
	return f
}

func (f *fakeAPI) setHooks(before func(*http.Request), after func(*http.Request, int)) {
	f.mu.Lock()
	f.before, f.after = before, after
	f.mu.Unlock()
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	before, after := f.before, f.after
	f.mu.Unlock()
	if before != nil {
		before(r)
	}
	rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
	f.sim.ServeHTTP(rec, r)
	if after != nil {
		after(r, rec.code)
	}
}

type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.code = code
	r.ResponseWriter.WriteHeader(code)
}

// holdUntil returns a before hook that holds requests until gate closes
// (or the client gives up).
func holdUntil(gate <-chan struct{}) func(*http.Request) {
	return func(r *http.Request) {
		select {
		case <-gate:
		case <-r.Context().Done():
		}
	}
}

func isVolume(r *http.Request) bool { return strings.Contains(r.URL.Path, "/volume/") }

// account is one account of a test configuration file.
type account struct {
	name, tool, login string
	periods           string // YAML flow list
	timezone          string // the simulator's zone of the login
}

var (
	support = account{"support", "dev", "acme-support", "[day]", "America/New_York"}
	sales   = account{"sales", "fuseplus", "acme-sales", "[day]", "Europe/London"}
	ops     = account{"ops", "insight", "acme-ops", "[day]", "America/Chicago"}
)

// writeConfig writes a configuration of accounts to path, each reading its
// password from <name>.pw beside it (relative, as a config usually does).
func writeConfig(t *testing.T, path, baseURL string, accounts ...account) {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "base_url: %q\naccounts:\n", baseURL)
	for _, a := range accounts {
		fmt.Fprintf(&b, "  - name: %s\n    tool: %s\n    login: %s\n    password_file: %s.pw\n    phones: [ALL]\n    periods: %s\n    timezone: %s\n",
			a.name, a.tool, a.login, a.name, a.periods, a.timezone)
	}
	writeFile(t, path, b.String())
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatalf("writing %s: %v", path, err)
	}
}

// supportSetup starts a fake API and writes a config of the support account
// for it into a new test directory.
func supportSetup(t *testing.T) (api *fakeAPI, dir, cfg string) {
	t.Helper()
	api, dir = newFakeAPI(t), testDir(t)
	cfg = filepath.Join(dir, "voicetrends.yml")
	writeConfig(t, cfg, api.url, support)
	return api, dir, cfg
}

// addWeeklyTarget reloads support with a weekly target and waits until its
// data request reaches the API (inFlight closes), where the caller's hook
// may hold it.
func addWeeklyTarget(t *testing.T, api *fakeAPI, d *testDaemon, cfg string, inFlight <-chan struct{}) {
	t.Helper()
	weekly := support
	weekly.periods = "[day, week]"
	writeConfig(t, cfg, api.url, weekly)
	if code, body, _ := d.do(http.MethodPost, "/-/reload"); code != http.StatusOK {
		t.Fatalf("POST /-/reload = %d %q", code, body)
	}
	select {
	case <-inFlight:
	case <-time.After(waitBound):
		t.Fatalf("no data request after adding a target")
	}
}

// testDir returns a directory holding each account's password file.
func testDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for name, pw := range map[string]string{"support": supportPassword, "sales": salesPassword, "ops": opsPassword} {
		writeFile(t, filepath.Join(dir, name+".pw"), pw+"\n")
	}
	return dir
}

// listeningOn finds the address exporter-toolkit logs once it listens.
var listeningOn = regexp.MustCompile(`msg="Listening on" address=(\S+)`)

// testDaemon is one run of the program in a goroutine.
type testDaemon struct {
	t          *testing.T
	addr       string
	signals    chan os.Signal
	done       chan int
	logs       *testlog.Buffer
	user, pass string // basic auth for every request, when set
	client     *http.Client
}

// startDaemon runs the program with args and a free --web.listen-address,
// and returns once it answers HTTP. The test's end stops it.
func startDaemon(t *testing.T, args ...string) *testDaemon {
	t.Helper()
	e, _, _ := newEnv(t)
	return startDaemonIn(t, e, args...)
}

// startDaemonIn is startDaemon in the env e, whose stderr is a buffer.
func startDaemonIn(t *testing.T, e env, args ...string) *testDaemon {
	t.Helper()
	logs := e.stderr.(*testlog.Buffer)
	d := &testDaemon{
		t:       t,
		signals: e.signals,
		done:    make(chan int, 1),
		logs:    logs,
		client:  &http.Client{Timeout: waitBound},
	}
	// Port 0: the daemon binds a port of its own, and says which in its log.
	args = append(args, "--web.listen-address=127.0.0.1:0")
	go func() { d.done <- run(args, e) }()
	t.Cleanup(func() {
		select {
		case <-d.done:
		default:
			d.signals <- syscall.SIGTERM
			select {
			case <-d.done:
			case <-time.After(2 * shutdownTimeout):
				t.Errorf("run did not return after SIGTERM")
			}
		}
		assertNoSecrets(t, "the log", logs.String())
	})
	deadline := time.Now().Add(waitBound)
	for {
		select {
		case code := <-d.done:
			t.Fatalf("run returned %d before serving; log:\n%s", code, logs.String())
		default:
		}
		if m := listeningOn.FindStringSubmatch(logs.String()); m != nil {
			d.addr = m[1]
			// Any answer, 401 included, means the server listens.
			if resp, err := d.client.Get("http://" + d.addr + "/-/healthy"); err == nil {
				_ = resp.Body.Close()
				return d
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the daemon did not answer on the address it logged (%q); log:\n%s", d.addr, logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// do sends one request and returns the status, the body and the Allow header.
func (d *testDaemon) do(method, path string) (int, string, http.Header) {
	d.t.Helper()
	req, err := http.NewRequest(method, "http://"+d.addr+path, nil)
	if err != nil {
		d.t.Fatalf("building %s %s: %v", method, path, err)
	}
	if d.user != "" {
		req.SetBasicAuth(d.user, d.pass)
	}
	resp, err := d.client.Do(req)
	if err != nil {
		d.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		d.t.Fatalf("reading %s %s: %v", method, path, err)
	}
	return resp.StatusCode, string(body), resp.Header
}

func (d *testDaemon) get(path string) (int, string) {
	d.t.Helper()
	code, body, _ := d.do(http.MethodGet, path)
	return code, body
}

// metrics scrapes /metrics and parses it.
func (d *testDaemon) metrics() scrape {
	d.t.Helper()
	code, body := d.get("/metrics")
	if code != http.StatusOK {
		d.t.Fatalf("GET /metrics: %d %s", code, body)
	}
	assertNoSecrets(d.t, "/metrics", body)
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		d.t.Fatalf("parsing /metrics: %v\n%s", err, body)
	}
	return scrape{families, body}
}

func (d *testDaemon) waitReady() {
	d.t.Helper()
	waitFor(d.t, "/-/ready to answer 200", func() bool {
		code, _ := d.get("/-/ready")
		return code == http.StatusOK
	})
}

// waitTried waits until every one of an account's targets has had its first
// refresh attempt: /-/ready says only that each account has had one, and a
// test that asserts on every target must wait for all of them.
func (d *testDaemon) waitTried(account string, targets int) scrape {
	d.t.Helper()
	var m scrape
	waitFor(d.t, fmt.Sprintf("all %d targets of %s tried", targets, account), func() bool {
		m = d.metrics()
		return len(m.values("voicetrends_last_refresh_success", "account", account)) == targets
	})
	return m
}

// stop sends SIGTERM and returns run's exit code.
func (d *testDaemon) stop() int {
	d.t.Helper()
	d.signals <- syscall.SIGTERM
	return d.wait()
}

func (d *testDaemon) wait() int {
	d.t.Helper()
	return d.waitWithin(waitBound, "")
}

// waitWithin returns run's exit code, failing the test if run takes longer
// than bound to return; why says what it was waiting through.
func (d *testDaemon) waitWithin(bound time.Duration, why string) int {
	d.t.Helper()
	select {
	case code := <-d.done:
		d.done <- code // for the cleanup
		return code
	case <-time.After(bound):
		d.t.Fatalf("run did not return within %s%s; log:\n%s", bound, why, d.logs.String())
		return -1
	}
}

// scrape is one parsed /metrics answer.
type scrape struct {
	families map[string]*dto.MetricFamily
	text     string
}

// values returns the values of the series of name whose labels include
// the given name, value pairs.
func (s scrape) values(name string, labels ...string) []float64 {
	var out []float64
	fam := s.families[name]
	if fam == nil {
		return nil
	}
next:
	for _, m := range fam.GetMetric() {
		have := map[string]string{}
		for _, lp := range m.GetLabel() {
			have[lp.GetName()] = lp.GetValue()
		}
		for i := 0; i+1 < len(labels); i += 2 {
			if have[labels[i]] != labels[i+1] {
				continue next
			}
		}
		out = append(out, sampleValue(m))
	}
	return out
}

// sampleValue is a gauge's, a counter's or an untyped sample's value; 0 for
// a histogram or a summary, which are merely present.
func sampleValue(m *dto.Metric) float64 {
	switch {
	case m.GetGauge() != nil:
		return m.GetGauge().GetValue()
	case m.GetCounter() != nil:
		return m.GetCounter().GetValue()
	case m.GetUntyped() != nil:
		return m.GetUntyped().GetValue()
	}
	return 0
}

// value is the one series of name with labels; it fails the test otherwise.
func (s scrape) value(t *testing.T, name string, labels ...string) float64 {
	t.Helper()
	v := s.values(name, labels...)
	if len(v) != 1 {
		t.Fatalf("%s%v: want one series, have %d", name, labels, len(v))
	}
	return v[0]
}

// hasAccount reports whether any series has the label account="name".
func (s scrape) hasAccount(name string) bool {
	return strings.Contains(s.text, `account="`+name+`"`)
}

// previousDayCalls is the simulator's call count of yesterday (the previous
// day window, complete and so stable) for every number of login.
func previousDayCalls(t *testing.T, api *fakeAPI, login string) float64 {
	t.Helper()
	yesterday := voicetrends.DateIn(api.clock.Now(), api.sim.Location(login)).AddDays(-1)
	b := api.sim.Bucket(login, voicetrends.AllPhones, voicetrends.PeriodDay, yesterday)
	v, ok := b.Get(voicetrends.Calls)
	if !ok {
		t.Fatalf("the simulator has no call count for %s yesterday", login)
	}
	return v
}

func TestBadInputExitsBeforeListening(t *testing.T) {
	t.Parallel()
	api := newFakeAPI(t)
	dir := testDir(t)
	valid := filepath.Join(dir, "valid.yml")
	writeConfig(t, valid, api.url, support, sales)
	header := fmt.Sprintf("base_url: %q\naccounts:\n", api.url)
	supportKeys := "  - name: support\n    tool: dev\n    login: acme-support\n    password_file: support.pw\n"

	tests := []struct {
		name   string
		config string // written to bad.yml and passed as --config.file, unless empty
		args   []string
		want   []string // in the log
	}{
		{
			name: "missing config file",
			args: []string{"--config.file=" + filepath.Join(dir, "nope.yml")},
			want: []string{"nope.yml", "no such file or directory", "--config.file"},
		},
		{
			name:   "unknown key",
			config: header + supportKeys + "    phone: [ALL]\n",
			want:   []string{"bad.yml:7:", `accounts[0]: unknown key \"phone\" (did you mean \"phones\"?)`},
		},
		{
			name:   "bad timezone",
			config: header + supportKeys + "    timezone: Mars/Olympus_Mons\n",
			want:   []string{"bad.yml:7:", "accounts[0].timezone", "Mars/Olympus_Mons", "IANA"},
		},
		{
			name:   "duplicate account",
			config: header + supportKeys + "  - name: support\n    tool: insight\n    login: acme-ops\n    password: " + opsPassword + "\n",
			want:   []string{"bad.yml:7:", "accounts[1].name", "duplicate account name"},
		},
		{
			name:   "unreadable password_file",
			config: header + "  - name: support\n    tool: dev\n    login: acme-support\n    password_file: missing.pw\n",
			want:   []string{"bad.yml:6:", "accounts[0].password_file", "missing.pw", "no such file or directory"},
		},
		{
			name:   "budget above the API's",
			config: header + supportKeys + "    requests_per_window: 151\n",
			want:   []string{"bad.yml:7:", "accounts[0].requests_per_window", "151", "150"},
		},
		{
			name:   "phone with dashes",
			config: header + supportKeys + "    phones: [ALL, 617-555-0100]\n",
			want:   []string{"bad.yml:7:", "accounts[0].phones[1]", "617-555-0100"},
		},
		{
			name: "missing web config file",
			args: []string{"--config.file=" + valid, "--web.config.file=" + filepath.Join(dir, "no-web.yml")},
			want: []string{"--web.config.file", "no-web.yml"},
		},
		{
			name: "invalid web config file",
			args: []string{"--config.file=" + valid, "--web.config.file=" + writeTemp(t, dir, "web.yml", "basic_auth_user:\n  prom: x\n")},
			want: []string{"--web.config.file", "basic_auth_user"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, _, logs := newEnv(t)
			args := tt.args
			if tt.config != "" {
				args = append(args, "--config.file="+writeTemp(t, dir, "bad.yml", tt.config))
			}
			addr := promtest.FreePort(t)
			code := run(append(args, "--web.listen-address="+addr), e)
			if code != 1 {
				t.Errorf("run returned %d, want 1", code)
			}
			assertNotListening(t, addr)
			text := logs.String()
			for _, w := range tt.want {
				if !strings.Contains(text, w) {
					t.Errorf("the log does not say %q:\n%s", w, text)
				}
			}
			assertNoSecrets(t, "the log", text)
		})
	}
	// Nothing polled: every case stopped before the collector started.
	for _, login := range []string{"acme-support", "acme-sales", "acme-ops"} {
		if st := api.sim.Stats(login); st.AuthRequests != 0 || st.DataRequests != 0 {
			t.Errorf("%s: the API saw %d auth and %d data requests, want none", login, st.AuthRequests, st.DataRequests)
		}
	}
}

func writeTemp(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	writeFile(t, path, content)
	return path
}

func TestCommandLineExits(t *testing.T) {
	t.Parallel()
	api := newFakeAPI(t)
	dir := testDir(t)
	valid := filepath.Join(dir, "valid.yml")
	writeConfig(t, valid, api.url, support, sales)
	invalid := writeTemp(t, dir, "invalid.yml", "accounts: []\n")

	tests := []struct {
		name    string
		args    []string
		code    int
		wantOut string // in stdout
		wantLog string // in stderr
	}{
		{"config.check valid", []string{"--config.check", "--config.file=" + valid}, 0, valid + ": configuration is valid: 2 account(s)", ""},
		{"config.check invalid", []string{"--config.check", "--config.file=" + invalid}, 1, "", "invalid.yml:1: no accounts"},
		{"config.check missing", []string{"--config.check", "--config.file=" + filepath.Join(dir, "nope.yml")}, 1, "", "nope.yml: no such file"},
		{"version", []string{"--version"}, 0, "voicetrends_exporter, version", ""},
		{"help", []string{"--help"}, 0, "--config.file", ""},
		{"help command", []string{"help", "backfill"}, 0, "--from", ""},
		{"unknown flag", []string{"--no-such-flag"}, 2, "", "unknown long flag '--no-such-flag'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, out, logs := newEnv(t)
			addr := promtest.FreePort(t)
			code := run(append(tt.args, "--web.listen-address="+addr), e)
			if code != tt.code {
				t.Errorf("run returned %d, want %d; log:\n%s", code, tt.code, logs.String())
			}
			if !strings.Contains(out.String(), tt.wantOut) {
				t.Errorf("stdout %q does not say %q", out.String(), tt.wantOut)
			}
			if tt.wantOut == "" && out.String() != "" {
				t.Errorf("stdout = %q, want nothing", out.String())
			}
			if !strings.Contains(logs.String(), tt.wantLog) {
				t.Errorf("stderr does not say %q:\n%s", tt.wantLog, logs.String())
			}
			if tt.wantLog == "" && logs.String() != "" {
				t.Errorf("stderr = %q, want nothing", logs.String())
			}
			assertNotListening(t, addr)
			assertNoSecrets(t, "the output", out.String()+logs.String())
		})
	}
	if st := api.sim.Stats("acme-support"); st.AuthRequests != 0 {
		t.Errorf("--config.check logged in %d times, want none", st.AuthRequests)
	}
}

func TestReadiness(t *testing.T) {
	t.Parallel()
	api := newFakeAPI(t)
	gate := make(chan struct{})
	api.setHooks(holdUntil(gate), nil)
	dir := testDir(t)
	cfg := filepath.Join(dir, "voicetrends.yml")
	writeConfig(t, cfg, api.url, support, sales)
	d := startDaemon(t, "--config.file="+cfg)

	// The API holds every request: no first refresh can have finished.
	if code, body := d.get("/-/ready"); code != http.StatusServiceUnavailable {
		t.Errorf("GET /-/ready before any refresh = %d %q, want 503", code, body)
	}
	if code, body := d.get("/-/healthy"); code != http.StatusOK || body != "Healthy.\n" {
		t.Errorf("GET /-/healthy = %d %q, want 200 Healthy.", code, body)
	}
	before := d.metrics()
	if v := before.values("voicetrends_calls"); len(v) != 0 {
		t.Errorf("voicetrends_calls before any refresh: %v, want none", v)
	}
	for _, name := range []string{"support", "sales"} {
		if v := before.value(t, "voicetrends_up", "account", name); v != 0 {
			t.Errorf("voicetrends_up{account=%q} before any refresh = %v, want 0", name, v)
		}
	}

	close(gate)
	d.waitReady()
	after := d.metrics()
	for _, a := range []account{support, sales} {
		if v := after.value(t, "voicetrends_up", "account", a.name); v != 1 {
			t.Errorf("voicetrends_up{account=%q} = %v, want 1", a.name, v)
		}
		got := after.value(t, "voicetrends_calls", "account", a.name, "phone", "ALL", "period", "day", "window", "previous")
		if want := previousDayCalls(t, api, a.login); got != want {
			t.Errorf("voicetrends_calls{account=%q,period=day,window=previous} = %v, want the simulator's %v", a.name, got, want)
		}
	}
	if v := after.value(t, "voicetrends_config_last_reload_successful"); v != 1 {
		t.Errorf("voicetrends_config_last_reload_successful = %v, want 1", v)
	}

	code, landing := d.get("/")
	if code != http.StatusOK || !strings.Contains(landing, `href="/metrics"`) {
		t.Errorf("GET / = %d, want 200 and a link to /metrics:\n%s", code, landing)
	}
	assertNoSecrets(t, "the landing page", landing)
	if code := d.stop(); code != 0 {
		t.Errorf("run returned %d after SIGTERM, want 0", code)
	}
}

func TestReload(t *testing.T) {
	t.Parallel()
	api := newFakeAPI(t)
	dir := testDir(t)
	cfg := filepath.Join(dir, "voicetrends.yml")
	writeConfig(t, cfg, api.url, support, sales, ops)
	d := startDaemon(t, "--config.file="+cfg)
	d.waitReady()
	for _, a := range []account{support, sales, ops} {
		if st := api.sim.Stats(a.login); st.AuthRequests != 1 || st.DataRequests != 1 {
			t.Fatalf("%s at start: %d auth and %d data requests, want 1 and 1", a.login, st.AuthRequests, st.DataRequests)
		}
	}

	// Remove sales; leave support alone; give ops a new target on the same credentials.
	opsWeekly := ops
	opsWeekly.periods = "[day, week]"
	writeConfig(t, cfg, api.url, support, opsWeekly)
	if code, body, _ := d.do(http.MethodPost, "/-/reload"); code != http.StatusOK || body != "Configuration reloaded.\n" {
		t.Fatalf("POST /-/reload = %d %q, want 200", code, body)
	}
	var m scrape
	waitFor(t, "ops' weekly figures", func() bool {
		m = d.metrics()
		return len(m.values("voicetrends_calls", "account", "ops", "period", "week")) > 0
	})
	if m.hasAccount("sales") {
		t.Errorf("the removed account sales is still on /metrics")
	}
	if v := m.value(t, "voicetrends_config_last_reload_successful"); v != 1 {
		t.Errorf("voicetrends_config_last_reload_successful after a good reload = %v, want 1", v)
	}
	if st := api.sim.Stats("acme-support"); st.AuthRequests != 1 || st.DataRequests != 1 {
		t.Errorf("unchanged support after reload: %d auth and %d data requests, want 1 and 1 (untouched)", st.AuthRequests, st.DataRequests)
	}
	if st := api.sim.Stats("acme-ops"); st.AuthRequests != 1 || st.DataRequests != 2 {
		t.Errorf("ops after reload: %d auth and %d data requests, want 1 (kept credentials) and 2", st.AuthRequests, st.DataRequests)
	}

	// A bad configuration is refused and the running one stays.
	writeFile(t, cfg, fmt.Sprintf("base_url: %q\naccounts:\n  - name: support\n    tool: dev\n    login: acme-support\n    password_file: support.pw\n    timezone: Mars/Olympus_Mons\n", api.url))
	code, body, _ := d.do(http.MethodPost, "/-/reload")
	if code != http.StatusInternalServerError || !strings.Contains(body, "voicetrends.yml:7: accounts[0].timezone: unknown time zone \"Mars/Olympus_Mons\"") {
		t.Errorf("POST /-/reload of a bad file = %d %q, want 500 naming the file, line and field", code, body)
	}
	assertNoSecrets(t, "the reload answer", body)
	m = d.metrics()
	if v := m.value(t, "voicetrends_config_last_reload_successful"); v != 0 {
		t.Errorf("voicetrends_config_last_reload_successful after a bad reload = %v, want 0", v)
	}
	for _, name := range []string{"support", "ops"} {
		if v := m.value(t, "voicetrends_up", "account", name); v != 1 {
			t.Errorf("voicetrends_up{account=%q} after a bad reload = %v, want 1", name, v)
		}
		if len(m.values("voicetrends_calls", "account", name)) == 0 {
			t.Errorf("account %s lost its figures after a bad reload", name)
		}
	}
	if !strings.Contains(d.logs.String(), "reload refused; the running configuration stays") {
		t.Errorf("the refused reload is not logged:\n%s", d.logs.String())
	}

	if code, _, header := d.do(http.MethodGet, "/-/reload"); code != http.StatusMethodNotAllowed || header.Get("Allow") != http.MethodPost {
		t.Errorf("GET /-/reload = %d Allow %q, want 405 Allow POST", code, header.Get("Allow"))
	}

	// SIGHUP reloads too: sales comes back. The reload has finished once the
	// holder records its success, a moment after sales' poller has started.
	lastGood := m.value(t, "voicetrends_config_last_reload_success_timestamp_seconds")
	writeConfig(t, cfg, api.url, support, sales, opsWeekly)
	d.signals <- syscall.SIGHUP
	waitFor(t, "the SIGHUP reload to finish with sales back on /metrics", func() bool {
		m = d.metrics()
		return m.value(t, "voicetrends_config_last_reload_success_timestamp_seconds") > lastGood &&
			len(m.values("voicetrends_calls", "account", "sales")) > 0
	})
	if v := m.value(t, "voicetrends_config_last_reload_successful"); v != 1 {
		t.Errorf("voicetrends_config_last_reload_successful after SIGHUP = %v, want 1", v)
	}
	if got, want := m.value(t, "voicetrends_calls", "account", "sales", "phone", "ALL", "period", "day", "window", "previous"), previousDayCalls(t, api, "acme-sales"); got != want {
		t.Errorf("sales' previous day calls after SIGHUP = %v, want %v", got, want)
	}
	for _, login := range []string{"acme-support", "acme-ops"} {
		if st := api.sim.Stats(login); st.AuthRequests != 1 {
			t.Errorf("%s logged in %d times over three reloads, want 1", login, st.AuthRequests)
		}
	}
	if code := d.stop(); code != 0 {
		t.Errorf("run returned %d after SIGTERM, want 0", code)
	}
}

func TestGracefulShutdown(t *testing.T) {
	t.Parallel()
	api, _, cfg := supportSetup(t)
	d := startDaemon(t, "--config.file="+cfg)
	d.waitReady()

	// Hold the next data request in flight, then ask the daemon to stop.
	inFlight, release := make(chan struct{}), make(chan struct{})
	type outcome struct {
		code    int
		aborted error
	}
	finished := make(chan outcome, 1)
	var once sync.Once
	api.setHooks(func(r *http.Request) {
		if isVolume(r) {
			once.Do(func() { close(inFlight) })
			holdUntil(release)(r)
		}
	}, func(r *http.Request, code int) {
		if isVolume(r) {
			select {
			case finished <- outcome{code, r.Context().Err()}:
			default:
			}
		}
	})
	// A new target starts a data request at once.
	addWeeklyTarget(t, api, d, cfg, inFlight)
	d.signals <- syscall.SIGTERM
	waitFor(t, "the listener to close", func() bool {
		conn, err := net.DialTimeout("tcp", d.addr, time.Second)
		if err == nil {
			_ = conn.Close()
		}
		return err != nil
	})
	select {
	case code := <-d.done:
		t.Fatalf("run returned %d while a data request was in flight", code)
	default:
	}
	close(release)
	if code := d.wait(); code != 0 {
		t.Errorf("run returned %d after SIGTERM, want 0", code)
	}
	select {
	case o := <-finished:
		if o.code != http.StatusOK || o.aborted != nil {
			t.Errorf("the request in flight ended %d (client gave up: %v), want 200 and finished", o.code, o.aborted)
		}
	default:
		t.Errorf("run returned before the request in flight finished")
	}
	if st := api.sim.Stats("acme-support"); st.DataRequests != 2 {
		t.Errorf("the API served %d data requests, want 2 (the first refresh and the one in flight)", st.DataRequests)
	}
	if strings.Contains(d.logs.String(), "refresh failed") {
		t.Errorf("a refresh failed during shutdown:\n%s", d.logs.String())
	}
}

// TestReloadDuringShutdown: a reload request that waits while the daemon
// turns to SIGTERM is answered, and does not hold the shutdown up.
func TestReloadDuringShutdown(t *testing.T) {
	t.Parallel()
	api, _, cfg := supportSetup(t)
	d := startDaemon(t, "--config.file="+cfg, "--log.level=debug")
	d.waitReady()
	// Keep the daemon busy in a SIGHUP reload: it stops a poller whose data request is held.
	release := reloadHeldByRequest(t, api, d, cfg)
	d.signals <- syscall.SIGTERM
	reloaded := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodPost, "http://"+d.addr+"/-/reload", nil)
		resp, err := d.client.Do(req)
		if err != nil {
			reloaded <- -1
			return
		}
		_ = resp.Body.Close()
		reloaded <- resp.StatusCode
	}()
	// SIGTERM cuts the reload short, while the API still holds its request:
	// the late reload request is answered, or the daemon is gone first.
	waitFor(t, "the reload request to be answered or the daemon to exit, with the API's request still held", func() bool {
		if len(reloaded) > 0 {
			return true
		}
		select {
		case code := <-d.done:
			d.done <- code
			return true
		default:
			return false
		}
	})
	close(release)
	// A reload request that blocks the shutdown holds it up for shutdownTimeout.
	if code := d.waitWithin(shutdownTimeout/2, " of SIGTERM while a reload request waited"); code != 0 {
		t.Errorf("run returned %d, want 0", code)
	}
	select {
	case code := <-reloaded:
		// -1: refused, the server had stopped listening; also fine.
		if code != http.StatusOK && code != http.StatusServiceUnavailable && code != -1 {
			t.Errorf("the reload request during shutdown got %d, want 200, 503 or a refused connection", code)
		}
	case <-time.After(waitBound):
		t.Errorf("the reload request during shutdown got no answer")
	}
}

func TestWebConfigBasicAuth(t *testing.T) {
	t.Parallel()
	_, dir, cfg := supportSetup(t)
	const user, pass = "prometheus", "scrape-Pa55-word"
	hash, err := bcrypt.GenerateFromPassword([]byte(pass), bcrypt.MinCost)
	if err != nil {
		t.Fatalf("bcrypt: %v", err)
	}
	webConfig := writeTemp(t, dir, "web.yml", fmt.Sprintf("basic_auth_users:\n  %s: %s\n", user, hash))
	d := startDaemon(t, "--config.file="+cfg, "--web.config.file="+webConfig)

	tests := []struct {
		name       string
		user, pass string
		want       int
	}{
		{"no credentials", "", "", http.StatusUnauthorized},
		{"wrong password", user, "guess", http.StatusUnauthorized},
		{"unknown user", "mallory", pass, http.StatusUnauthorized},
		{"right credentials", user, pass, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d.user, d.pass = tt.user, tt.pass
			code, body := d.get("/metrics")
			if code != tt.want {
				t.Errorf("GET /metrics = %d, want %d", code, tt.want)
			}
			if has := strings.Contains(body, "voicetrends_up"); has != (tt.want == http.StatusOK) {
				t.Errorf("the answer shows metrics: %v, want %v", has, tt.want == http.StatusOK)
			}
		})
	}
	d.user, d.pass = user, pass
	d.waitReady()
	if code := d.stop(); code != 0 {
		t.Errorf("run returned %d after SIGTERM, want 0", code)
	}
	if strings.Contains(d.logs.String(), pass) {
		t.Errorf("the log shows the web password")
	}
}

// TestSecretsNeverShown looks for every password, read from a file, given
// inline or refused by the API, in everything the daemon shows, at debug level.
func TestSecretsNeverShown(t *testing.T) {
	t.Parallel()
	api := newFakeAPI(t)
	dir := testDir(t)
	cfg := filepath.Join(dir, "voicetrends.yml")
	// support reads its password from a file, sales has it inline, and
	// ops offers support's password, which the API refuses.
	writeFile(t, cfg, fmt.Sprintf(`base_url: %q
accounts:
  - name: support
    tool: dev
    login: acme-support
    password_file: support.pw
    phones: [ALL]
    periods: [day]
  - name: sales
    tool: fuseplus
    login: acme-sales
    password: %q
    phones: [ALL]
    periods: [day]
  - name: ops
    tool: insight
    login: acme-ops
    password: %q
    phones: [ALL]
    periods: [day]
`, api.url, salesPassword, supportPassword))
	d := startDaemon(t, "--config.file="+cfg, "--log.level=debug")
	d.waitReady()

	m := d.metrics()
	if v := m.value(t, "voicetrends_up", "account", "ops"); v != 0 {
		t.Errorf("voicetrends_up{account=ops} with a wrong password = %v, want 0", v)
	}
	if v := m.value(t, "voicetrends_up", "account", "support"); v != 1 {
		t.Errorf("voicetrends_up{account=support} = %v, want 1", v)
	}
	if st := api.sim.Stats("acme-ops"); st.AuthRequests == 0 || st.AuthSucceeded != 0 {
		t.Errorf("ops: %d logins, %d succeeded; want a refused login", st.AuthRequests, st.AuthSucceeded)
	}
	for _, path := range []string{"/", "/-/ready", "/-/healthy", "/metrics"} {
		_, body := d.get(path)
		assertNoSecrets(t, path, body)
	}
	// A refused reload explains itself without the password.
	writeFile(t, cfg, fmt.Sprintf("base_url: %q\naccounts:\n  - name: sales\n    tool: fuseplus\n    login: acme-sales\n    password: %q\n    password_file: support.pw\n", api.url, salesPassword))
	code, body, _ := d.do(http.MethodPost, "/-/reload")
	if code != http.StatusInternalServerError || !strings.Contains(body, "either password or password_file") {
		t.Errorf("POST /-/reload with both passwords = %d %q, want 500 saying why", code, body)
	}
	assertNoSecrets(t, "the reload answer", body)
	if code := d.stop(); code != 0 {
		t.Errorf("run returned %d after SIGTERM, want 0", code)
	}
	logs := d.logs.String()
	if !strings.Contains(logs, "account=ops") || !strings.Contains(logs, "refresh failed") {
		t.Errorf("the log shows nothing to search:\n%s", logs)
	}
	assertNoSecrets(t, "the log", logs)
}

// TestListensInThisProcess: the check behind assertNotListening finds this
// process's own listener, so a listener run leaks still fails the test.
func TestListensInThisProcess(t *testing.T) {
	t.Parallel()
	addr := promtest.FreePort(t)
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	ours, known := listensInThisProcess(addr)
	_ = l.Close()
	if !known || !ours {
		t.Errorf("listensInThisProcess(%s) = %v, %v with a listener of this process, want true, true", addr, ours, known)
	}
	if ours, _ := listensInThisProcess(addr); ours {
		t.Errorf("listensInThisProcess(%s) = true after the listener closed", addr)
	}
}
