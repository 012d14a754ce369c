package collector

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/voicetrends/voicetrends_exporter/config"
	"github.com/voicetrends/voicetrends_exporter/internal/clock"
	"github.com/voicetrends/voicetrends_exporter/voicetrends"
	"github.com/voicetrends/voicetrends_exporter/voicetrends/simulator"
)

const (
	testLogin    = "acme"
	testPassword = "correct horse battery staple"
)

var testNumbers = []string{"6175550100", "+16175550101", "6175550102", "6175550103", "6175550104", "6175550105"}

// harness runs one account's poller step by step against the simulator on
// a manual clock, so that tests cross windows and midnights without sleeping.
type harness struct {
	t        testing.TB
	clock    *clock.Manual
	sim      *simulator.Simulator
	server   *httptest.Server
	handler  http.Handler // the server's: the simulator, as nw shapes it
	exporter *Exporter
	account  *account
	poller   *poller
	registry *prometheus.Registry
	cfg      *config.Config // as applied

	mu       sync.Mutex
	requests []request // the data requests that reached the simulator
}

// request is one data request as the simulator got it.
type request struct {
	at   time.Time // on the exporter's clock
	path string    // /volume/{start}/{end}/{period}/{phone}, escaped
}

// reload applies cfg as a reload does and steps the poller Start would run.
func (h *harness) reload(cfg *config.Config) {
	h.t.Helper()
	if err := h.exporter.Apply(cfg); err != nil {
		h.t.Fatal(err)
	}
	h.cfg, h.account = cfg, (*h.exporter.accounts.Load())["acme"]
	h.poller = h.exporter.pollerFor(h.account)
}

// network shapes the way to the simulator on the manual clock.
type network struct {
	skew    time.Duration // the API's clock reads this much ahead of the exporter's
	rtt     time.Duration // each exchange takes this long, half of it each way
	timeout time.Duration // the exporter's timeout per request (Options.Timeout)
}

// newHarness starts at start; yaml holds the account's keys beyond name, tool, login and password.
func newHarness(t testing.TB, start time.Time, simOpts simulator.Options, yaml string) *harness {
	t.Helper()
	return newHarnessOn(t, start, simOpts, yaml, network{})
}

// newHarnessOn is newHarness with the API behind nw.
func newHarnessOn(t testing.TB, start time.Time, simOpts simulator.Options, yaml string, nw network) *harness {
	t.Helper()
	clk := clock.NewManual(start)
	simOpts.Now = func() time.Time { return clk.Now().Add(nw.skew) }
	if simOpts.Accounts == nil {
		simOpts.Accounts = []simulator.Account{{Tool: voicetrends.ToolDev, Login: testLogin, Password: testPassword, Phones: testNumbers}}
	}
	sim := simulator.New(simOpts)
	h := &harness{t: t, clock: clk, sim: sim}
	var handler http.Handler = sim
	if nw.rtt > 0 {
		handler = delayed(sim, clk, nw.rtt)
	}
	h.handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if path := r.URL.EscapedPath(); strings.Contains(path, "/volume/") {
			h.mu.Lock()
			h.requests = append(h.requests, request{clk.Now(), path})
			h.mu.Unlock()
		}
		handler.ServeHTTP(w, r)
	})
	server := httptest.NewServer(h.handler)
	t.Cleanup(server.Close)
	text := fmt.Sprintf("base_url: %s/\naccounts:\n  - name: acme\n    tool: dev\n    login: %s\n    password: %q\n%s", server.URL, testLogin, testPassword, yaml)
	cfg, err := config.Parse([]byte(text), t.TempDir())
	if err != nil {
		t.Fatalf("config: %v\n%s", err, text)
	}
	// Built as the daemon builds it, through Apply; the poller is stepped
	// here instead of running in Start's goroutine.
	e := New(Options{Clock: clk, Timeout: nw.timeout})
	if err := e.Apply(cfg); err != nil {
		t.Fatal(err)
	}
	a := (*e.accounts.Load())["acme"]
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(e)
	h.server, h.exporter, h.account, h.registry, h.cfg, h.poller = server, e, a, reg, cfg, e.pollerFor(a)
	return h
}

// serverDown closes the simulator's port: requests meet a refused connection.
func (h *harness) serverDown() { h.server.Close() }

// serverUp serves the simulator on the same port again.
func (h *harness) serverUp() {
	h.t.Helper()
	l, err := net.Listen("tcp", h.server.Listener.Addr().String())
	if err != nil {
		h.t.Fatal(err)
	}
	s := httptest.NewUnstartedServer(h.handler)
	s.Listener.Close()
	s.Listener = l
	s.Start()
	h.t.Cleanup(s.Close)
	h.server = s
}

// requestTimes returns when the data requests for phone and period reached
// the simulator, on the exporter's clock.
func (h *harness) requestTimes(phone string, period voicetrends.Period) []time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	suffix := "/" + string(period) + "/" + url.PathEscape(phone)
	var out []time.Time
	for _, r := range h.requests {
		if strings.HasSuffix(r.path, suffix) {
			out = append(out, r.at)
		}
	}
	return out
}

// delayed makes each exchange with next take rtt on clk: the request
// reaches next half of it after it was sent, the answer comes back the
// other half later. The poller's single goroutine waits for the answer
// meanwhile, so moving the clock here races with nothing.
func delayed(next http.Handler, clk *clock.Manual, rtt time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		clk.Advance(rtt / 2)
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		clk.Advance(rtt - rtt/2)
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	})
}

// runUntil steps the poller, moving the clock over every wait, until the
// clock reaches end.
func (h *harness) runUntil(end time.Time) {
	h.t.Helper()
	for steps := 0; h.clock.Now().Before(end); steps++ {
		if steps > 100000 {
			h.t.Fatal("poller does not settle")
		}
		wait := h.poller.step(context.Background())
		if wait <= 0 {
			continue
		}
		if next := h.clock.Now().Add(wait); next.After(end) {
			h.clock.Set(end)
		} else {
			h.clock.Set(next)
		}
	}
}

// refreshAll steps until every target has been attempted once.
func (h *harness) refreshAll() {
	h.t.Helper()
	for i := 0; ; i++ {
		done := true
		for _, t := range h.poller.targets {
			done = done && t.attempted
		}
		if done {
			return
		}
		if i > 10000 {
			h.t.Fatal("targets never all refreshed")
		}
		if wait := h.poller.step(context.Background()); wait > 0 {
			h.clock.Advance(wait)
		}
	}
}

// series gathers the named family as "label=value,..." → value.
func (h *harness) series(name string) map[string]float64 {
	h.t.Helper()
	mfs, err := h.registry.Gather()
	if err != nil {
		h.t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			out[labelKey(m.GetLabel())] = value(m)
		}
	}
	return out
}

func labelKey(pairs []*dto.LabelPair) string {
	var parts []string
	for _, p := range pairs {
		parts = append(parts, p.GetName()+"="+p.GetValue())
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

func value(m *dto.Metric) float64 {
	switch {
	case m.Gauge != nil:
		return m.GetGauge().GetValue()
	case m.Counter != nil:
		return m.GetCounter().GetValue()
	}
	return 0
}
