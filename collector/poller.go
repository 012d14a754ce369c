package collector

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"

	"github.com/voicetrends/voicetrends_exporter/collector/budget"
	"github.com/voicetrends/voicetrends_exporter/collector/config"
	"github.com/voicetrends/voicetrends_exporter/collector/window"
	"github.com/voicetrends/voicetrends_exporter/voicetrends"
	"github.com/voicetrends/voicetrends_exporter/voicetrends/clock"
)

// poller refreshes one account's targets, least recently refreshed first,
// never faster than its budget, and publishes a snapshot after each refresh.
type poller struct {
	cfg     config.Account
	fetcher voicetrends.VolumeFetcher
	budget  *budget.Budget
	clock   clock.Clock
	logger  log.Logger

	targets  []target
	interval time.Duration
	up       bool
	tried    bool  // a refresh has finished, well or not
	zoneErr  error // the latest answer's buckets were not midnights in the configured zone
	snapshot *atomic.Pointer[accountSnapshot]
}

// EffectiveInterval stretches refresh to fit targets into perWindow requests
// per window: targets x (window / interval) <= perWindow.
func EffectiveInterval(refresh, win time.Duration, targets, perWindow int) time.Duration {
	fit := time.Duration(float64(win) * float64(targets) / float64(perWindow))
	return max(refresh, fit.Round(time.Second))
}

// newPoller builds a poller for cfg, keeping the state of targets that
// carry over from a previous poller of the account.
func newPoller(cfg config.Account, fetcher voicetrends.VolumeFetcher, b *budget.Budget, clock clock.Clock, logger log.Logger, snap *atomic.Pointer[accountSnapshot]) *poller {
	old := map[targetKey]target{}
	up, tried := false, false
	var zoneErr error
	if prev := snap.Load(); prev != nil {
		up, tried = prev.up, prev.tried
		if prev.location.String() == cfg.Location.String() {
			zoneErr = prev.zoneErr // a new timezone must show itself right first
		}
		for _, t := range prev.targets {
			old[t.targetKey] = t
		}
	}
	p := &poller{cfg: cfg, fetcher: fetcher, budget: b, clock: clock, logger: logger, snapshot: snap, up: up, tried: tried, zoneErr: zoneErr}
	for _, phone := range cfg.Phones {
		for _, period := range cfg.Periods {
			k := targetKey{phone, period}
			t, ok := old[k]
			if !ok {
				t = newTarget(cfg.Name, k)
			}
			p.targets = append(p.targets, t)
		}
	}
	p.interval = EffectiveInterval(time.Duration(cfg.RefreshInterval), time.Duration(cfg.Window), len(p.targets), cfg.RequestsPerWindow)
	p.publish()
	return p
}

// maxAge is max_data_age, stretched to twice the effective interval when
// the budget makes refreshes rarer than that: figures must not blink out
// between two refreshes that come as often as the budget allows.
func (p *poller) maxAge() time.Duration {
	return max(time.Duration(p.cfg.MaxDataAge), 2*p.interval)
}

func (p *poller) publish() {
	p.snapshot.Store(&accountSnapshot{
		name:      p.cfg.Name,
		location:  p.cfg.Location,
		maxAge:    p.maxAge(),
		perWindow: p.cfg.RequestsPerWindow,
		interval:  p.interval,
		up:        p.up,
		tried:     p.tried,
		zoneErr:   p.zoneErr,
		targets:   append([]target(nil), p.targets...),
	})
}

// run refreshes until stop closes; requests in flight end with ctx.
func (p *poller) run(ctx context.Context, stop <-chan struct{}) {
	level.Info(p.logger).Log("msg", "polling", "targets", len(p.targets), "refresh_interval", p.interval,
		"requests_per_window", p.cfg.RequestsPerWindow, "window", time.Duration(p.cfg.Window))
	if p.interval > time.Duration(p.cfg.RefreshInterval) {
		level.Warn(p.logger).Log("msg", "the budget stretches refresh_interval: targets x (window / refresh_interval) exceeds requests_per_window",
			"refresh_interval", time.Duration(p.cfg.RefreshInterval), "effective", p.interval, "max_data_age", p.maxAge())
	}
	sleepCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-stop:
			cancel()
		case <-sleepCtx.Done():
		}
	}()
	for sleepCtx.Err() == nil {
		if wait := p.step(ctx); wait > 0 {
			_ = p.clock.Sleep(sleepCtx, wait)
		}
	}
}

// step refreshes the most overdue target if the budget allows, and returns
// how long to wait before the next step otherwise.
func (p *poller) step(ctx context.Context) time.Duration {
	now := p.clock.Now()
	next := -1
	var earliest time.Time
	for i := range p.targets {
		t := &p.targets[i]
		due := t.due(p.interval)
		if due.After(now) {
			if earliest.IsZero() || due.Before(earliest) {
				earliest = due
			}
			continue
		}
		if next < 0 || t.lastAttempt.Before(p.targets[next].lastAttempt) {
			next = i
		}
	}
	if next < 0 {
		return earliest.Sub(now)
	}
	if d, _ := p.budget.Delay(); d > 0 {
		return d
	}
	wait := p.refresh(ctx, &p.targets[next])
	p.publish()
	return wait
}

// refresh fetches one target and records the outcome. It returns how long
// to wait before the next request: zero, or until the client may send
// again when it held the request back.
func (p *poller) refresh(ctx context.Context, t *target) time.Duration {
	loc := p.cfg.Location
	now := p.clock.Now()
	today := voicetrends.DateIn(now, loc)
	start, end := window.Request(t.period, today)
	resp, err := p.fetcher.Volume(ctx, voicetrends.VolumeRequest{Start: start, End: end, Period: t.period, Phone: t.phone})
	if ctx.Err() != nil {
		return 0 // shutting down: an interrupted request says nothing about the API
	}
	p.tried = true
	// up is about the account: can the exporter talk to the API for it?
	// One target's own problem (a 400 for a wrong phone) leaves it be.
	switch _, limited := voicetrends.IsRateLimited(err); {
	case voicetrends.IsAccountProblem(err): // a login's 429 included
		p.up = false
		// No target can succeed now: those never tried show as failing
		// rather than not at all.
		for i := range p.targets {
			p.targets[i].unreachable = !p.targets[i].attempted
		}
	case limited:
		// Not served: the budget now waits for the reset, and the target
		// stays first in line. The API answered, so up stays as it was.
		p.logState(t, err)
		return 0
	default:
		p.up = true
		for i := range p.targets {
			p.targets[i].unreachable = false // untried now means not yet, not failing
		}
	}
	if until, deferred := voicetrends.NextLogin(err); deferred {
		// Held back without a request: the target keeps its turn, and the
		// poller waits for the client instead of using up every target's turn.
		p.logState(t, err)
		return max(until.Sub(p.clock.Now()), time.Millisecond)
	}
	t.attempted, t.lastAttempt = true, now
	if err != nil {
		t.lastOK = false
		p.logState(t, err)
		return 0
	}
	if err := window.CheckMidnights(resp.Buckets, loc); err != nil {
		// A wrong timezone files every bucket under another day: serve
		// nothing rather than wrong figures, and say so once per account.
		t.lastOK, t.buckets, t.lastErr = false, nil, "timezone"
		p.setZoneErr(err)
		return 0
	}
	if len(resp.Buckets) > 0 { // an empty answer says nothing of the zone
		p.setZoneErr(nil)
	}
	t.lastOK, t.lastSuccess = true, now
	cur, prev := window.Select(t.period, today, loc, resp.Buckets)
	t.buckets = keep(cur, prev)
	var weekStart *voicetrends.Date
	if cur != nil {
		d := voicetrends.DateIn(cur.Start, loc)
		weekStart = &d
	}
	t.nextRollover = window.NextRollover(t.period, now, loc, weekStart)
	p.logState(t, nil)
	return 0
}

// setZoneErr records whether the API's buckets fit the configured timezone,
// logging each change once for the whole account.
func (p *poller) setZoneErr(err error) {
	switch {
	case err != nil && p.zoneErr == nil:
		level.Error(p.logger).Log("msg", "wrong timezone: withholding the account's figures", "timezone", p.cfg.Location, "err", err)
	case err == nil && p.zoneErr != nil:
		level.Info(p.logger).Log("msg", "the API's buckets start at midnight in the configured timezone again", "timezone", p.cfg.Location)
	}
	p.zoneErr = err
}

// keep copies the two buckets a scrape may serve, so that a large answer is not held.
func keep(bs ...*voicetrends.Bucket) []voicetrends.Bucket {
	var out []voicetrends.Bucket
	for _, b := range bs {
		if b != nil {
			out = append(out, *b)
		}
	}
	return out
}

// logState logs a target's errors once per change of state, not once per attempt.
func (p *poller) logState(t *target, err error) {
	msg := ""
	if err != nil {
		msg = errorClass(err)
	}
	if msg == t.lastErr {
		return
	}
	was := t.lastErr
	t.lastErr = msg
	if err != nil {
		level.Warn(p.logger).Log("msg", "refresh failed; keeping the last figures until max_data_age", "phone", t.phone, "period", t.period, "err", err)
	} else if was != "" {
		level.Info(p.logger).Log("msg", "refresh recovered", "phone", t.phone, "period", t.period)
	}
}

// errorClass is the part of an error that makes a new state worth a log line.
func errorClass(err error) string {
	var apiErr *voicetrends.APIError
	if errors.As(err, &apiErr) {
		return fmt.Sprintf("%s %d", apiErr.Endpoint, apiErr.StatusCode)
	}
	return "error"
}
