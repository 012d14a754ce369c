package collector

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/voicetrends/voicetrends_exporter/config"
	"github.com/voicetrends/voicetrends_exporter/voicetrends"
	"github.com/voicetrends/voicetrends_exporter/voicetrends/clock"
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
	t        *testing.T
	clock    *clock.Manual
	sim      *simulator.Simulator
	exporter *Exporter
	account  *account
	poller   *poller
	registry *prometheus.Registry
	cfg      *config.Config // as applied
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
	skew time.Duration // the API's clock reads this much ahead of the exporter's
	rtt  time.Duration // each exchange takes this long, half of it each way
}

// newHarness starts at start; yaml holds the account's keys beyond name, tool, login and password.
func newHarness(t *testing.T, start time.Time, simOpts simulator.Options, yaml string) *harness {
	t.Helper()
	return newHarnessOn(t, start, simOpts, yaml, network{})
}

// newHarnessOn is newHarness with the API behind net.
func newHarnessOn(t *testing.T, start time.Time, simOpts simulator.Options, yaml string, net network) *harness {
	t.Helper()
	clk := clock.NewManual(start)
	simOpts.Now = func() time.Time { return clk.Now().Add(net.skew) }
	if simOpts.Accounts == nil {
		simOpts.Accounts = []simulator.Account{{Tool: voicetrends.ToolDev, Login: testLogin, Password: testPassword, Phones: testNumbers}}
	}
	sim := simulator.New(simOpts)
	var handler http.Handler = sim
	if net.rtt > 0 {
		handler = delayed(sim, clk, net.rtt)
	}
	server := httptest.NewServer(handler)
	t.Cleanup(server.Close)
	text := fmt.Sprintf("base_url: %s/\naccounts:\n  - name: acme\n    tool: dev\n    login: %s\n    password: %q\n%s", server.URL, testLogin, testPassword, yaml)
	cfg, err := config.Parse([]byte(text), t.TempDir())
	if err != nil {
		t.Fatalf("config: %v\n%s", err, text)
	}
	// Built as the daemon builds it, through Apply; the poller is stepped
	// here instead of running in Start's goroutine.
	e := New(Options{Clock: clk})
	if err := e.Apply(cfg); err != nil {
		t.Fatal(err)
	}
	a := (*e.accounts.Load())["acme"]
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(e)
	return &harness{t: t, clock: clk, sim: sim, exporter: e, account: a, registry: reg, cfg: cfg, poller: e.pollerFor(a)}
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
