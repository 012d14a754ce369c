package collector

import (
	"context"
	"io"
	"net/http"

	"github.com/voicetrends/voicetrends_exporter/collector/budget"
	"github.com/voicetrends/voicetrends_exporter/voicetrends"
)

// A poller hands the client a context that ends when the poller is told to
// stop (a reload or a shutdown): from then on no new request may start. A
// request already under way must still be allowed to finish, until the
// harder context of the poller ends; that one rides along as a value.
//
// The client is left alone: the gate sits in the HTTP transport (logins and
// data alike) and in front of the budget (so that a refused request spends
// nothing).

type hardKey struct{}

// withHard returns stop carrying hard, the context that aborts requests
// under way.
func withHard(stop, hard context.Context) context.Context {
	return context.WithValue(stop, hardKey{}, hard)
}

// gateTransport refuses to start a request whose context has ended, and
// lets one that started run on until the hard context ends.
type gateTransport struct{ next http.RoundTripper }

// RoundTrip implements http.RoundTripper.
func (g gateTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	hard, ok := ctx.Value(hardKey{}).(context.Context)
	if !ok {
		return g.next.RoundTrip(req)
	}
	if err := ctx.Err(); err != nil {
		return nil, err // stopping: no new request
	}
	// Detached from the stop, not from the client's own timeout.
	var run context.Context
	var cancel context.CancelFunc
	if deadline, ok := ctx.Deadline(); ok {
		run, cancel = context.WithDeadline(context.WithoutCancel(ctx), deadline)
	} else {
		run, cancel = context.WithCancel(context.WithoutCancel(ctx))
	}
	unhook := context.AfterFunc(hard, cancel)
	done := func() { unhook(); cancel() }
	resp, err := g.next.RoundTrip(req.WithContext(run))
	if err != nil {
		done()
		return nil, err
	}
	resp.Body = &doneBody{ReadCloser: resp.Body, done: done}
	return resp, nil
}

// doneBody releases the request's context once the body is closed.
type doneBody struct {
	io.ReadCloser
	done func()
}

func (b *doneBody) Close() error {
	err := b.ReadCloser.Close()
	b.done()
	return err
}

// gatedBudget is the account's budget as the client's limiter, refusing at
// once when the context has ended, before anything is spent.
type gatedBudget struct{ *budget.Budget }

// Wait implements voicetrends.DataLimiter.
func (g gatedBudget) Wait(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return g.Budget.Wait(ctx)
}

var _ voicetrends.DataLimiter = gatedBudget{}
