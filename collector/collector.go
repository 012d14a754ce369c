package collector

import (
	"context"
	"fmt"
	"net/http"
	"reflect"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
	promconfig "github.com/prometheus/common/config"

	"github.com/voicetrends/voicetrends_exporter/config"
	"github.com/voicetrends/voicetrends_exporter/internal/budget"
	"github.com/voicetrends/voicetrends_exporter/internal/clock"
	"github.com/voicetrends/voicetrends_exporter/voicetrends"
)

// haltTimeout bounds how long a reload waits for a request in flight.
const haltTimeout = 10 * time.Second

// Options configure an Exporter.
type Options struct {
	Logger log.Logger
	// Clock drives polling, budgets and the scrape's withdrawal of figures
	// past max_data_age; nil is the wall clock.
	Clock clock.Clock
	// Timeout bounds each API request, body included; zero is
	// voicetrends.DefaultTimeout.
	Timeout time.Duration
}

// Exporter polls every configured account and serves the figures as a
// prometheus.Collector. Apply reconciles it with a (re)loaded configuration.
type Exporter struct {
	logger  log.Logger
	clock   clock.Clock
	timeout time.Duration

	mu       sync.Mutex // serialises Apply, Start and Shutdown
	started  bool       // Start was called: Apply starts pollers at once
	accounts atomic.Pointer[map[string]*account]
	// order is the accounts' names as configured, for the status page;
	// stored just after accounts, so a reader may briefly see the other's.
	order  atomic.Pointer[[]string]
	wanted atomic.Uint32 // the variants scrapes asked for (a format, gzip or not): the pollers keep them encoded

	// closed ends when Close is called (Shutdown calls it first, before it
	// waits for Apply): every gate is a child of it, so that from then on no
	// poller starts a request, and a reload stops waiting.
	closed   context.Context
	closeAll context.CancelFunc
}

// account is one account's running parts. Its client and budget outlive a
// reload that leaves the credentials alone, so that a reload neither logs in
// again nor forgets what it spent.
type account struct {
	cfg      config.Account
	identity clientIdentity
	client   *voicetrends.Client
	budget   *budget.Budget
	instr    *instrumentation
	gate     *gate // read by the client's transport and limiter
	snapshot atomic.Pointer[accountSnapshot]
	encoding atomic.Pointer[encoding] // the latest snapshot's, or an older one's until encode runs
	encodeMu sync.Mutex               // one encode at a time

	run  *gateRun      // the running poller's opening of the gate; nil before Start
	done chan struct{} // closed when that poller has returned
}

// clientIdentity is what a client is made of; when it changes the
// credentials must be thrown away.
type clientIdentity struct {
	baseURL    string
	httpClient promconfig.HTTPClientConfig
	tool       voicetrends.Tool
	login      string
	secret     string
}

// New returns an Exporter with no accounts.
func New(opts Options) *Exporter {
	e := &Exporter{logger: opts.Logger, clock: opts.Clock, timeout: opts.Timeout}
	if e.logger == nil {
		e.logger = log.NewNopLogger()
	}
	if e.clock == nil {
		e.clock = clock.Real{}
	}
	empty := map[string]*account{}
	e.accounts.Store(&empty)
	e.closed, e.closeAll = context.WithCancel(context.Background())
	return e
}

// Apply makes the running accounts match cfg (see Start): new accounts start, removed
// ones stop and vanish from the metrics, changed ones restart their poller
// keeping their figures, and unchanged ones run on untouched.
func (e *Exporter) Apply(cfg *config.Config) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	current := *e.accounts.Load()
	next := make(map[string]*account, len(cfg.Accounts))
	var changed []*account
	// First build every new part, so that a failure leaves the running accounts alone.
	for _, ac := range cfg.Accounts {
		id := clientIdentity{cfg.BaseURL, cfg.HTTPClient, ac.Tool, ac.Login, ac.Secret()}
		old := current[ac.Name]
		if old != nil && sameAccount(old.cfg, ac) && reflect.DeepEqual(old.identity, id) {
			next[ac.Name] = old
			continue
		}
		a := &account{cfg: ac, identity: id}
		if old != nil && reflect.DeepEqual(old.identity, id) {
			a.client, a.budget, a.instr, a.gate = old.client, old.budget, old.instr, old.gate
		} else {
			a.instr, a.gate = newInstrumentation(ac.Name), &gate{}
			a.budget = budget.New(ac.RequestsPerWindow, time.Duration(ac.Window), e.clock)
			client, err := e.newClient(cfg, ac, a)
			if err != nil {
				return fmt.Errorf("account %q: %w", ac.Name, err)
			}
			a.client = client
		}
		next[ac.Name] = a
		changed = append(changed, a)
	}
	// A shutdown cuts the wait short: it must not wait for a reload's.
	ctx, cancel := context.WithTimeout(context.Background(), haltTimeout)
	defer cancel()
	defer context.AfterFunc(e.closed, cancel)()
	for name, old := range current {
		if next[name] != old {
			// Said before the wait, so that a slow reload explains itself.
			level.Debug(e.logger).Log("msg", "reload: stopping the account's poller; a request under way may finish first", "account", name)
			old.halt(ctx)
		}
		if next[name] == nil {
			level.Info(e.logger).Log("msg", "account removed", "account", name)
		}
	}
	for _, a := range changed {
		if old := current[a.cfg.Name]; old != nil {
			// Carry the figures over; the new poller picks up where the old one stopped.
			a.snapshot.Store(old.snapshot.Load())
			a.encoding.Store(old.encoding.Load()) // its blocks serve again
			a.budget.Set(a.cfg.RequestsPerWindow, time.Duration(a.cfg.Window))
		}
		if e.started && e.closed.Err() == nil {
			e.start(a)
		}
	}
	e.accounts.Store(&next)
	order := make([]string, 0, len(cfg.Accounts))
	for _, ac := range cfg.Accounts {
		order = append(order, ac.Name)
	}
	e.order.Store(&order)
	return nil
}

// sameAccount compares two loads of an account; Timezone stands for
// Location, whose loads differ in their caches, and Closed for Closures.
func sameAccount(a, b config.Account) bool {
	a.Location, b.Location = nil, nil
	a.Closures, b.Closures = nil, nil
	return reflect.DeepEqual(a, b)
}

func (e *Exporter) newClient(cfg *config.Config, ac config.Account, a *account) (*voicetrends.Client, error) {
	cc, err := cfg.ClientConfig(ac)
	if err != nil {
		return nil, err
	}
	next := cc.HTTPClient.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	cc.HTTPClient.Transport = gateTransport{a.gate, next}
	cc.Clock, cc.Observer, cc.Limiter, cc.APIClock = e.clock, a.instr, gatedBudget{a.gate, a.budget}, a.budget.APIClock()
	cc.Timeout = e.timeout
	return voicetrends.New(cc)
}

// Start starts polling the accounts applied so far, and makes later Apply
// calls start theirs at once. Until then Apply only builds and checks, so
// that main can refuse bad input before any request is sent.
func (e *Exporter) Start() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.started {
		return
	}
	e.started = true
	for _, a := range *e.accounts.Load() {
		e.start(a)
	}
}

func (e *Exporter) start(a *account) {
	// A child of closed, so that Close closes it before returning.
	a.run, a.done = a.gate.open(e.closed), make(chan struct{})
	p := e.pollerFor(a)
	go func() {
		defer close(a.done)
		p.run(a.run)
	}()
}

// pollerFor builds the poller that runs a, carrying over the targets of its
// latest snapshot.
func (e *Exporter) pollerFor(a *account) *poller {
	p := newPoller(a, a.client, e.clock, log.With(e.logger, "account", a.cfg.Name))
	p.settle = func() time.Time { return e.settle(a) }
	return p
}

// halt stops the account's poller: it closes the gate, lets the request
// under way finish until ctx ends, then aborts it.
func (a *account) halt(ctx context.Context) {
	if a.run == nil {
		return // never started
	}
	a.run.close()
	select {
	case <-a.done:
	case <-ctx.Done():
		a.run.abort()
		<-a.done
	}
	a.run.abort() // releases the run's contexts
}

// Close closes every account's gate: from its return no poller starts a
// request, logins included; Shutdown then waits for the requests under way.
// A reload in progress stops waiting for the requests it halts.
func (e *Exporter) Close() { e.closeAll() }

// Shutdown closes every gate (see Close), lets the requests under way finish
// until ctx ends, then aborts them.
func (e *Exporter) Shutdown(ctx context.Context) {
	e.closeAll()
	e.mu.Lock()
	defer e.mu.Unlock()
	var wg sync.WaitGroup
	for _, a := range *e.accounts.Load() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a.halt(ctx)
		}()
	}
	wg.Wait()
	empty := map[string]*account{}
	e.accounts.Store(&empty)
}

// Ready reports whether every account has finished its first refresh attempt.
func (e *Exporter) Ready() bool {
	for _, a := range *e.accounts.Load() {
		if s := a.snapshot.Load(); s == nil || !s.tried {
			return false
		}
	}
	return true
}

// ReadyHandler serves /-/ready: 200 once Ready, 503 before.
func (e *Exporter) ReadyHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if !e.Ready() {
			http.Error(w, "Waiting for every account's first refresh.", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "Ready.")
	})
}

// Describe implements prometheus.Collector.
func (e *Exporter) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range descs() {
		ch <- d
	}
}

// Instrumentation returns the collector of the families that change
// between two refreshes: the API request counters and durations and the
// rate-limit headers of every account.
func (e *Exporter) Instrumentation() prometheus.Collector {
	return collectorFuncs{e.describeInstrumentation, func(ch chan<- prometheus.Metric) {
		for _, a := range e.sorted() {
			a.instr.collect(ch)
		}
	}}
}

// Snapshots returns the collector of the families Bodies serves, as const
// metrics built at each call: for the formats Bodies are not encoded in.
func (e *Exporter) Snapshots() prometheus.Collector {
	return collectorFuncs{func(ch chan<- *prometheus.Desc) {
		for _, d := range snapshotDescs {
			ch <- d
		}
	}, func(ch chan<- prometheus.Metric) {
		now := e.clock.Now()
		for _, a := range e.sorted() {
			if s := a.snapshot.Load(); s != nil {
				s.collect(ch, now)
			}
		}
	}}
}

func (e *Exporter) describeInstrumentation(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{limitDesc, remainingDesc, resetDesc} {
		ch <- d
	}
	newInstrumentation("").describe(ch)
}

// collectorFuncs is a prometheus.Collector made of two functions.
type collectorFuncs struct {
	describe func(chan<- *prometheus.Desc)
	collect  func(chan<- prometheus.Metric)
}

func (c collectorFuncs) Describe(ch chan<- *prometheus.Desc) { c.describe(ch) }
func (c collectorFuncs) Collect(ch chan<- prometheus.Metric) { c.collect(ch) }

// Collect implements prometheus.Collector: the instrumentation and the
// figures of every account, as const metrics built at each call. The daemon
// serves the figures from their encoding instead (see Bodies); Collect
// serves the protobuf format and the tests.
func (e *Exporter) Collect(ch chan<- prometheus.Metric) {
	now := e.clock.Now()
	for _, a := range e.sorted() {
		a.instr.collect(ch)
		if s := a.snapshot.Load(); s != nil {
			s.collect(ch, now)
		}
	}
}

// sorted returns the accounts by name, the order of their samples.
func (e *Exporter) sorted() []*account {
	accounts := *e.accounts.Load()
	names := make([]string, 0, len(accounts))
	for name := range accounts {
		names = append(names, name)
	}
	sort.Strings(names)
	out := make([]*account, len(names))
	for i, name := range names {
		out[i] = accounts[name]
	}
	return out
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
