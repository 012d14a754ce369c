package backfill

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"

	"github.com/voicetrends/voicetrends_exporter/config"
	"github.com/voicetrends/voicetrends_exporter/internal/budget"
	"github.com/voicetrends/voicetrends_exporter/internal/calendar"
	"github.com/voicetrends/voicetrends_exporter/internal/clock"
	"github.com/voicetrends/voicetrends_exporter/voicetrends"
)

const (
	// maxTransient is how many times one request is tried when the API
	// answers 5xx, an undecodable body or nothing at all.
	maxTransient = 4
	// maxRateLimited is how many 429s in a row one request survives; each
	// waits for the API's reset first.
	maxRateLimited = 10
	// transientBackoff is the first wait after a transient failure; it doubles.
	transientBackoff = 5 * time.Second
)

// FetchOptions configure Fetch.
type FetchOptions struct {
	Config   *config.Config // base_url and http_client
	Clock    clock.Clock    // budgets and back-off; nil is the wall clock
	Logger   log.Logger     // nil: no logs
	Progress *Progress      // nil: not reported
}

// TargetError is a target whose history could not be fetched.
type TargetError struct {
	Account, Phone string
	Period         voicetrends.Period
	Err            error
}

// Error names the target and its error.
func (e *TargetError) Error() string {
	return fmt.Sprintf("account %q phone %s period %s: %v", e.Account, e.Phone, e.Period, e.Err)
}

// Unwrap returns the target's error, for errors.Is and errors.As.
func (e *TargetError) Unwrap() error { return e.Err }

// Result is what Fetch brought back: a Series per target that succeeded, in
// plan order, and an error per target that did not.
type Result struct {
	Series   []Series
	Failed   []*TargetError
	Requests int // data requests sent, retries and split halves included
}

// Fetch runs the plan's requests: accounts side by side, each account's
// requests one after another through a budget of its requests_per_window
// that also obeys the API's rate-limit headers, so that it can run beside a
// live exporter. A range the API refuses as too large is split in halves; a
// 429 waits for the reset; 5xx and network errors are retried with back-off.
// A failed target does not stop the others; a rejected login stops its
// account. It returns an error only when ctx ends or a client cannot be built.
func (p *Plan) Fetch(ctx context.Context, opts FetchOptions) (*Result, error) {
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Logger == nil {
		opts.Logger = log.NewNopLogger()
	}
	if opts.Progress == nil {
		opts.Progress = &Progress{}
	}
	opts.Progress.addTotal(p.Requests())
	fetchers := make([]*fetcher, len(p.Accounts))
	for i := range p.Accounts {
		a := &p.Accounts[i]
		b := &countingLimiter{Budget: budget.New(a.Account.RequestsPerWindow, time.Duration(a.Account.Window), opts.Clock)}
		cc, err := opts.Config.ClientConfig(a.Account)
		if err != nil {
			return nil, err
		}
		cc.Clock, cc.Limiter, cc.APIClock = opts.Clock, b, b.APIClock()
		client, err := voicetrends.New(cc)
		if err != nil {
			return nil, fmt.Errorf("account %q: %w", a.Account.Name, err)
		}
		fetchers[i] = &fetcher{plan: a, client: client, limiter: b, clock: opts.Clock, progress: opts.Progress,
			logger: log.With(opts.Logger, "account", a.Account.Name)}
	}
	var wg sync.WaitGroup
	for _, f := range fetchers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f.run(ctx)
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("backfill interrupted: %w", err)
	}
	res := &Result{}
	for _, f := range fetchers {
		res.Series = append(res.Series, f.series...)
		res.Failed = append(res.Failed, f.failed...)
		res.Requests += int(f.limiter.sent.Load())
	}
	return res, nil
}

// countingLimiter is the account's budget, counting the data requests it
// lets through (logins are not data requests and do not pass it).
type countingLimiter struct {
	*budget.Budget
	sent atomic.Int64
}

// Wait implements voicetrends.DataLimiter.
func (c *countingLimiter) Wait(ctx context.Context) error {
	if err := c.Budget.Wait(ctx); err != nil {
		return err
	}
	c.sent.Add(1)
	return nil
}

// fetcher fetches one account's targets.
type fetcher struct {
	plan     *AccountPlan
	client   voicetrends.VolumeFetcher
	limiter  *countingLimiter
	clock    clock.Clock
	progress *Progress
	logger   log.Logger

	series []Series
	failed []*TargetError
}

func (f *fetcher) run(ctx context.Context) {
	a := f.plan
	var fatal error                // ends the account: its login is refused
	notOwned := map[string]error{} // phones the API says the account does not own
	for _, t := range a.Targets {
		if ctx.Err() != nil {
			return
		}
		var buckets []voicetrends.Bucket
		err := fatal
		reported := false // the number's refusal is logged already
		if err == nil {
			err = notOwned[t.Phone]
			reported = err != nil
		}
		skipped := err != nil
		if skipped {
			f.progress.done.Add(int64(len(t.Ranges))) // never sent
		} else {
			buckets, err = f.target(ctx, t)
		}
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			var zone *calendar.ZoneMismatchError
			switch {
			case fatal != nil:
			case voicetrends.IsUnauthorized(err):
				fatal = fmt.Errorf("login refused, skipping the account's other targets: %w", err)
				err = fatal
			case errors.As(err, &zone):
				// Every bucket of the account would land on a wrong day.
				fatal = fmt.Errorf("refusing the account's history, skipping its other targets: %w", err)
				err = fatal
			case !skipped && namesPhone(err, t.Phone):
				err = fmt.Errorf("the account does not own this number (the API's 400 names it), so its other periods are skipped; check it or remove it from phones: %w", err)
				notOwned[t.Phone] = err
			}
			f.failed = append(f.failed, &TargetError{Account: a.Account.Name, Phone: t.Phone, Period: t.Period, Err: err})
			f.progress.failed.Add(1)
			if !reported {
				level.Error(f.logger).Log("msg", "cannot fetch the target's history; the others go on", "phone", t.Phone, "period", t.Period, "err", err)
			}
			continue
		}
		f.series = append(f.series, Series{
			Account: a.Account.Name, Phone: t.Phone, Period: t.Period,
			Location: a.Account.Location, Buckets: buckets, Until: a.Until,
		})
		level.Debug(f.logger).Log("msg", "fetched", "phone", t.Phone, "period", t.Period, "buckets", len(buckets))
	}
}

// target fetches every planned range of t, splitting a refused one in halves.
func (f *fetcher) target(ctx context.Context, t Target) ([]voicetrends.Bucket, error) {
	queue := append([]Range(nil), t.Ranges...)
	var out []voicetrends.Bucket
	for len(queue) > 0 {
		r := queue[0]
		queue = queue[1:]
		splittable := r.Days() > minSplitDays
		resp, err := f.volume(ctx, voicetrends.VolumeRequest{Start: r.Start, End: r.End, Period: t.Period, Phone: t.Phone}, splittable)
		if err == nil {
			if err := calendar.CheckMidnights(resp.Buckets, f.plan.Account.Location); err != nil {
				f.progress.done.Add(int64(1 + len(queue)))
				return nil, err
			}
			out = append(out, resp.Buckets...)
			f.progress.done.Add(1)
			continue
		}
		if splittable && tooLarge(err) && !namesPhone(err, t.Phone) {
			first, second := r.halves()
			level.Info(f.logger).Log("msg", "the API refused a range; splitting it in halves", "phone", t.Phone, "period", t.Period, "range", r, "err", err)
			queue = append([]Range{first, second}, queue...)
			f.progress.addTotal(1)
			continue
		}
		f.progress.done.Add(int64(1 + len(queue))) // the rest of the target will not be sent
		return nil, err
	}
	return out, nil
}

// volume sends one request, waiting out 429s and login back-offs and
// retrying transient failures. When splittable, a refusal that a shorter
// range may cure returns at once so that the caller splits the range.
func (f *fetcher) volume(ctx context.Context, req voicetrends.VolumeRequest, splittable bool) (*voicetrends.VolumeResponse, error) {
	transient, limited := 0, 0
	backoff := transientBackoff
	for {
		resp, err := f.client.Volume(ctx, req)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if err == nil {
			return resp, nil
		}
		var wait time.Duration
		if _, ok := voicetrends.IsRateLimited(err); ok {
			// The budget saw the 429 and holds the next request until the reset.
			if limited++; limited >= maxRateLimited {
				return nil, err
			}
			level.Warn(f.logger).Log("msg", "rate limited; waiting for the API's reset", "err", err)
			continue
		}
		if until, ok := voicetrends.NextLogin(err); ok {
			if voicetrends.IsUnauthorized(err) {
				return nil, err
			}
			wait = until.Sub(f.clock.Now())
		} else if voicetrends.IsUnauthorized(err) || voicetrends.IsBadRequest(err) || errors.Is(err, voicetrends.ErrBodyTooLarge) || splittable && tooLarge(err) {
			return nil, err
		}
		if transient++; transient >= maxTransient {
			return nil, err
		}
		if wait <= 0 {
			wait = backoff
			backoff *= 2
		}
		level.Warn(f.logger).Log("msg", "request failed; retrying", "in", wait, "err", err)
		if err := f.clock.Sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

// namesPhone reports whether err is a 400 whose message names phone: the
// API refuses the number itself (one the account does not own), which no
// shorter range or other period cures.
func namesPhone(err error, phone string) bool {
	var e *voicetrends.APIError
	if phone == voicetrends.AllPhones || !errors.As(err, &e) || e.StatusCode != http.StatusBadRequest {
		return false
	}
	return strings.Contains(e.Message, strings.TrimPrefix(phone, "+"))
}

// tooLarge reports whether the API refused a range in a way that a shorter
// range may cure: a 400, a body over the client's limit, or a timeout.
func tooLarge(err error) bool {
	if voicetrends.IsBadRequest(err) || errors.Is(err, voicetrends.ErrBodyTooLarge) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout() || errors.Is(err, context.DeadlineExceeded)
}
