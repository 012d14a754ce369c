package collector

import (
	"context"
	"errors"
	"net/http"
	"sync"

	"github.com/voicetrends/voicetrends_exporter/internal/budget"
	"github.com/voicetrends/voicetrends_exporter/voicetrends"
)

// errGateClosed refuses a request that would start after its account's gate
// closed.
var errGateClosed = errors.New("not sent: the account's poller is stopping")

// gate says whether one account may start a request, a login or a data
// request. Two words describe a poller's end, each with one meaning:
//
//   - close: no request starts from then on (a reload replaces the poller, or
//     the exporter shuts down); the requests under way may finish.
//   - abort: the requests under way are cut off too (a reload or a shutdown
//     waited long enough for them).
//
// The transport and the budget read the gate, so that a refused request
// neither reaches the API nor spends from the budget; the client knows
// nothing of it, and its requests end with the context the poller gives them,
// as any Go reader expects. The gate lives as long as the account's client,
// whose transport holds it, and each poller opens it anew.
type gate struct {
	mu  sync.Mutex
	run *gateRun // the current poller's; nil before the first
}

// gateRun is one opening of a gate, for one poller.
type gateRun struct {
	closed       context.Context // ends at close
	aborted      context.Context // ends at abort, which closes too
	closeClosed  context.CancelFunc
	closeAborted context.CancelFunc
}

// close lets no request start from now on.
func (r *gateRun) close() { r.closeClosed() }

// abort closes and cuts off the requests under way.
func (r *gateRun) abort() {
	r.closeClosed()
	r.closeAborted()
}

// open opens the gate for a new poller and returns its run. parent ending
// closes it too, so that a gate opened after the exporter closed is closed
// from the start.
func (g *gate) open(parent context.Context) *gateRun {
	r := &gateRun{}
	r.closed, r.closeClosed = context.WithCancel(parent)
	r.aborted, r.closeAborted = context.WithCancel(context.Background())
	g.mu.Lock()
	g.run = r
	g.mu.Unlock()
	return r
}

// current returns the run in force, nil when the gate was never opened.
func (g *gate) current() *gateRun {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.run
}

// check refuses a new request once the gate has closed. A gate never opened
// (the account was built, not started, as --config.check does) lets it pass.
func (g *gate) check() error {
	if r := g.current(); r != nil && r.closed.Err() != nil {
		return errGateClosed
	}
	return nil
}

// stopping reports whether the gate is closed: the poller that opened it is
// stopping, and its successor has not opened it again yet.
func (g *gate) stopping() bool { return g.check() != nil }

// isClosed reports whether err is the gate's refusal.
func isClosed(err error) bool { return errors.Is(err, errGateClosed) }

// whileOpen returns ctx, ended early when the gate closes: for waiting
// before a request, which a closing gate must cut short.
func (g *gate) whileOpen(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	if r := g.current(); r != nil {
		stop := context.AfterFunc(r.closed, cancel)
		return ctx, func() { stop(); cancel() }
	}
	return ctx, cancel
}

// gateTransport refuses to start a request once the gate has closed.
type gateTransport struct {
	gate *gate
	next http.RoundTripper
}

// RoundTrip implements http.RoundTripper.
func (t gateTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := t.gate.check(); err != nil {
		return nil, err
	}
	return t.next.RoundTrip(req)
}

// gatedBudget is the account's budget as the client's limiter: it refuses at
// once when the gate has closed, before anything is spent, and a wait for the
// budget ends when the gate closes.
type gatedBudget struct {
	gate *gate
	*budget.Budget
}

// Wait implements voicetrends.DataLimiter.
func (g gatedBudget) Wait(ctx context.Context) error {
	if err := g.gate.check(); err != nil {
		return err
	}
	ctx, cancel := g.gate.whileOpen(ctx)
	defer cancel()
	err := g.Budget.Wait(ctx)
	if err != nil && g.gate.check() != nil {
		return errGateClosed // the wait was cut short by the close
	}
	return err
}

var _ voicetrends.DataLimiter = gatedBudget{}
