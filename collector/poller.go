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
	"github.com/voicetrends/voicetrends_exporter/collector/calendar"
	"github.com/voicetrends/voicetrends_exporter/config"
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
	plan     Plan
	interval time.Duration // plan.Interval
	up       bool
	tried    bool  // a refresh has finished, well or not
	zoneErr  error // the latest answer's buckets were not midnights in the configured zone
	// lastError is the latest refresh error, scrubbed, and when it came.
	lastError   string
	lastErrorAt time.Time
	snapshot    *atomic.Pointer[accountSnapshot]

	// weekStart is the week's first day for derive_periods: configured,
	// learned from the API, or nil while unknown.
	weekStart *time.Weekday
	// weekNext is when the week's first day is next asked for.
	weekNext time.Time
	// weekErr is why the latest week request taught nothing, for logging once per change.
	weekErr string
	// holdReason is why the budget holds requests, for logging once per hold.
	holdReason string
	// settle, when set, brings the exposition up to date before the poller
	// sleeps and returns when it goes stale (a midnight, a withdrawal), so that
	// the poller wakes to encode it again then; zero is never.
	settle func() time.Time
}

// newPoller builds a poller for cfg, keeping the state of targets that
// carry over from a previous poller of the account.
func newPoller(cfg config.Account, fetcher voicetrends.VolumeFetcher, b *budget.Budget, clock clock.Clock, logger log.Logger, snap *atomic.Pointer[accountSnapshot]) *poller {
	old := map[targetKey]target{}
	p := &poller{cfg: cfg, fetcher: fetcher, budget: b, clock: clock, logger: logger, snapshot: snap}
	if prev := snap.Load(); prev != nil {
		p.up, p.tried = prev.up, prev.tried
		p.lastError, p.lastErrorAt = prev.lastError, prev.lastErrorAt
		p.weekStart, p.weekNext = prev.weekStart, prev.weekNext
		if prev.location.String() == cfg.Location.String() {
			p.zoneErr = prev.zoneErr // a new timezone must show itself right first
		} else {
			p.weekStart, p.weekNext = nil, time.Time{} // learned in the old zone
		}
		for _, t := range prev.targets {
			old[t.targetKey] = t
		}
	}
	if cfg.WeekStartDay != nil {
		p.weekStart = cfg.WeekStartDay
	}
	today := voicetrends.DateIn(clock.Now(), cfg.Location)
	for _, k := range targetKeys(cfg) {
		t := newTarget(k, cfg.Periods)
		if o, ok := old[k]; ok {
			periods := t.periods
			t = o
			if k.period == "" {
				// The periods may have changed: serve the new ones from the days kept.
				t.periods = periods
				p.derive(&t, today)
			}
		}
		p.targets = append(p.targets, t)
	}
	p.plan = PlanFor(cfg)
	p.interval = p.plan.Interval
	p.publish()
	return p
}

// maxAge is the plan's max_data_age, stretched with the interval.
func (p *poller) maxAge() time.Duration { return p.plan.MaxDataAge }

func (p *poller) publish() {
	p.snapshot.Store(&accountSnapshot{
		name:        p.cfg.Name,
		location:    p.cfg.Location,
		maxAge:      p.maxAge(),
		perWindow:   p.cfg.RequestsPerWindow,
		interval:    p.interval,
		up:          p.up,
		tried:       p.tried,
		zoneErr:     p.zoneErr,
		targets:     append([]target(nil), p.targets...),
		lastError:   p.lastError,
		lastErrorAt: p.lastErrorAt,
		weekStart:   p.weekStart,
		weekNext:    p.weekNext,
	})
}

// run refreshes until the gate run r closes. Every request carries r's
// aborted context, so that a request under way at the close may finish until
// the abort (see gate).
func (p *poller) run(r *gateRun) {
	level.Info(p.logger).Log("msg", "polling", "targets", len(p.targets), "refresh_interval", p.interval,
		"requests_per_window", p.cfg.RequestsPerWindow, "window", time.Duration(p.cfg.Window))
	if p.plan.Stretched() {
		level.Warn(p.logger).Log("msg", p.plan.StretchNote(), "refresh_interval", p.plan.RefreshInterval, "effective", p.interval, "max_data_age", p.maxAge())
	}
	for r.closed.Err() == nil {
		wait := p.step(r.aborted)
		if wait > 0 && p.settle != nil {
			if stale := p.settle(); !stale.IsZero() {
				wait = min(wait, max(stale.Sub(p.clock.Now()), time.Millisecond))
			}
		}
		if wait > 0 {
			_ = p.clock.Sleep(r.closed, wait)
		}
	}
}

// step refreshes the most overdue target if the budget allows, and returns
// how long to wait before the next step otherwise.
func (p *poller) step(ctx context.Context) time.Duration {
	now := p.clock.Now()
	if learnsWeekStart(p.cfg) && !now.Before(p.weekNext) {
		// First: the week figures of every derived target wait for it.
		if d := p.budgetDelay(); d > 0 {
			return d
		}
		p.learnWeekStart(ctx)
		p.publish()
		return 0
	}
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
	if d := p.budgetDelay(); d > 0 {
		return d
	}
	wait := p.refresh(ctx, &p.targets[next])
	p.publish()
	return wait
}

// budgetDelay returns how long the budget holds the next request. A hold
// beyond the even spread (the window spent, the API's reserve, a 429) is
// logged once, with its reason.
func (p *poller) budgetDelay() time.Duration {
	d, why := p.budget.Delay()
	switch {
	case d <= 0:
		p.holdReason = ""
	case why != budget.Spreading && why != p.holdReason:
		level.Info(p.logger).Log("msg", "the budget holds the next request", "reason", why, "for", d.Round(time.Second))
		p.holdReason = why
	}
	return d
}

// refresh fetches one target and records the outcome. It returns how long
// to wait before the next request: zero, or until the client may send
// again when it held the request back.
func (p *poller) refresh(ctx context.Context, t *target) time.Duration {
	loc := p.cfg.Location
	now := p.clock.Now()
	today := voicetrends.DateIn(now, loc)
	var req voicetrends.VolumeRequest
	if t.period == "" {
		req.Start, req.End = calendar.DeriveRequest(p.cfg.Periods, today, p.weekStart)
		req.Period, req.Phone = voicetrends.PeriodDay, t.phone
	} else {
		req.Start, req.End = calendar.Request(t.period, today)
		req.Period, req.Phone = t.period, t.phone
	}
	resp, err := p.fetcher.Volume(ctx, req)
	if err != nil && (ctx.Err() != nil || isClosed(err)) {
		return 0 // stopping: an aborted or refused request says nothing about the API
	}
	p.tried = true
	t.cache = new(scrapeCache) // the target changes below
	if err != nil {
		err = hint404(err)
		p.lastError, p.lastErrorAt = voicetrends.Scrub(err.Error(), p.cfg.Secret()), now
	}
	// up is about the account: can the exporter talk to the API for it?
	// One target's own problem (a 400 for a wrong phone) leaves it be.
	switch _, limited := voicetrends.IsRateLimited(err); {
	case voicetrends.IsAccountProblem(err): // a login's 429 included
		p.up = false
		// No target can succeed now: those never tried show as failing
		// rather than not at all.
		p.setUnreachable(true)
	case limited:
		// Not served: the budget now waits for the reset, and the target
		// stays first in line. The API answered, so up stays as it was.
		p.logState(t, err)
		return 0
	default:
		p.up = true
		p.setUnreachable(false) // untried now means not yet, not failing
	}
	if until, deferred := voicetrends.NextLogin(err); deferred {
		// Held back without a request: the target keeps its turn, and the
		// poller waits for the client instead of using up every target's turn.
		p.logState(t, err)
		return max(until.Sub(p.clock.Now()), time.Millisecond)
	}
	t.attempted, t.lastAttempt = true, now
	if err != nil {
		t.lastOK, t.lastError = false, p.lastError
		p.logState(t, err)
		return 0
	}
	if err := calendar.CheckMidnights(resp.Buckets, loc); err != nil {
		// A wrong timezone files every bucket under another day: serve
		// nothing rather than wrong figures, and say so once per account.
		t.lastOK, t.buckets, t.days, t.lastErr = false, nil, nil, "timezone"
		t.lastError = voicetrends.Scrub(err.Error(), p.cfg.Secret())
		p.lastError, p.lastErrorAt = t.lastError, now
		p.setZoneErr(err)
		return 0
	}
	if len(resp.Buckets) > 0 { // an empty answer says nothing of the zone
		p.setZoneErr(nil)
	}
	t.lastOK, t.lastSuccess, t.lastError = true, now, ""
	if t.period == "" {
		t.days = append([]voicetrends.Bucket(nil), resp.Buckets...)
		p.derive(t, today)
		t.nextRollover = calendar.DeriveRollover(p.cfg.Periods, now, loc, p.weekStart)
		p.logState(t, nil)
		return 0
	}
	cur, prev := calendar.Select(t.period, today, loc, resp.Buckets)
	t.buckets = [][]voicetrends.Bucket{keep(cur, prev)}
	var weekStart *voicetrends.Date
	if cur != nil {
		d := voicetrends.DateIn(cur.Start, loc)
		weekStart = &d
	}
	t.nextRollover = calendar.NextRollover(t.period, now, loc, weekStart)
	p.logState(t, nil)
	return 0
}

// setUnreachable marks the targets never tried as failing (on) or as
// merely waiting their turn (off), renewing the scrape cache of those
// that change.
func (p *poller) setUnreachable(on bool) {
	for i := range p.targets {
		t := &p.targets[i]
		if want := on && !t.attempted; t.unreachable != want {
			t.unreachable, t.cache = want, new(scrapeCache)
		}
	}
}

// derive makes a derived target's buckets, one list per view, from its days
// as seen on today. The slices are new: snapshots share the old ones.
func (p *poller) derive(t *target, today voicetrends.Date) {
	if t.lastSuccess.IsZero() {
		return
	}
	out := make([][]voicetrends.Bucket, len(t.periods))
	for i, period := range t.periods {
		out[i] = calendar.Derive(period, today, p.cfg.Location, p.weekStart, t.days)
	}
	t.buckets, t.cache = out, new(scrapeCache)
}

// learnWeekStart asks the API which day its weeks start on: one week
// request over the last seven days, once a local day, since Plum does not
// document it. A new answer re-derives every target from the days it holds.
func (p *poller) learnWeekStart(ctx context.Context) {
	loc := p.cfg.Location
	now := p.clock.Now()
	today := voicetrends.DateIn(now, loc)
	start, end := calendar.WeekStartRequest(today)
	phone := p.cfg.Phones[0]
	resp, err := p.fetcher.Volume(ctx, voicetrends.VolumeRequest{Start: start, End: end, Period: voicetrends.PeriodWeek, Phone: phone})
	if ctx.Err() != nil || isClosed(err) {
		return
	}
	if _, limited := voicetrends.IsRateLimited(err); limited {
		return // the budget now waits for the reset
	}
	var wd time.Weekday
	ok := false
	if err == nil {
		// A bucket off local midnight would name the wrong weekday; the
		// day requests report the wrong timezone.
		if err = calendar.CheckMidnights(resp.Buckets, loc); err == nil {
			wd, ok = calendar.WeekStartOf(resp.Buckets, loc)
		}
	}
	if !ok {
		// Retry after an interval; the other periods are served meanwhile.
		p.weekNext = now.Add(p.interval)
		why := "no week bucket"
		if err != nil {
			why = errorClass(err)
		}
		if why != p.weekErr {
			level.Warn(p.logger).Log("msg", "could not learn the first day of the week; week figures wait for it (set week_start to skip this request)", "phone", phone, "err", err)
		}
		p.weekErr = why
		return
	}
	p.weekNext, p.weekErr = voicetrends.PeriodDay.Next(today).Midnight(loc), ""
	if p.weekStart != nil && *p.weekStart == wd {
		return
	}
	level.Info(p.logger).Log("msg", "learned the first day of the week from the API", "week_start", wd)
	p.weekStart = &wd
	for i := range p.targets {
		t := &p.targets[i]
		if t.period == "" {
			p.derive(t, today)
			t.nextRollover = calendar.DeriveRollover(p.cfg.Periods, now, loc, p.weekStart)
		}
	}
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
		level.Warn(p.logger).Log("msg", "refresh failed; keeping the last figures until max_data_age", "phone", t.phone, "period", t.periodLabel(), "err", err)
	} else if was != "" {
		level.Info(p.logger).Log("msg", "refresh recovered", "phone", t.phone, "period", t.periodLabel())
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
