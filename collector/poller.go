package collector

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"golang.org/x/time/rate"

	"github.com/voicetrends/voicetrends_exporter/config"
	"github.com/voicetrends/voicetrends_exporter/internal/budget"
	"github.com/voicetrends/voicetrends_exporter/internal/calendar"
	"github.com/voicetrends/voicetrends_exporter/internal/clock"
	"github.com/voicetrends/voicetrends_exporter/voicetrends"
)

// poller refreshes one account's targets, least recently refreshed first,
// never faster than its budget, and publishes a snapshot after each refresh.
// Its account state is the snapshot's own type: it changes its copy, and
// publish hands scrapes a copy that nobody changes.
type poller struct {
	accountSnapshot // the state it publishes

	cfg      config.Account
	fetcher  voicetrends.VolumeFetcher
	budget   *budget.Budget
	clock    clock.Clock
	logger   log.Logger
	plan     Plan
	retries  retryPacer
	sched    schedule
	snapshot *atomic.Pointer[accountSnapshot]

	// weekErr is why the latest week request taught nothing, for logging once per change.
	weekErr string
	// weekFailures counts the week requests in a row that taught nothing.
	weekFailures int
	// holdReason is why the budget holds requests, for logging once per hold.
	holdReason string
	// settle, when set, brings the exposition up to date before the poller
	// sleeps and returns when it goes stale (a midnight, a withdrawal), so that
	// the poller wakes to encode it again then; zero is never.
	settle func() time.Time
}

// newPoller builds a poller for the account a, fetching through fetcher
// (a's client, or a test's), keeping the state that carries over from the
// account's latest snapshot.
func newPoller(a *account, fetcher voicetrends.VolumeFetcher, clock clock.Clock, logger log.Logger) *poller {
	cfg := a.cfg
	p := &poller{cfg: cfg, fetcher: fetcher, budget: a.budget, clock: clock, logger: logger, snapshot: &a.snapshot}
	old := map[targetKey]target{}
	if prev := a.snapshot.Load(); prev != nil {
		p.accountSnapshot = *prev
		if prev.location.String() != cfg.Location.String() {
			// Learned in the old zone; a new timezone must show itself right first.
			p.weekStart, p.weekNext, p.zoneErr = nil, time.Time{}, nil
		}
		for _, t := range prev.targets {
			old[t.targetKey] = t
		}
	}
	if cfg.WeekStartDay != nil {
		p.weekStart = cfg.WeekStartDay
	}
	p.plan = PlanFor(cfg)
	p.name, p.location, p.perWindow = cfg.Name, cfg.Location, cfg.RequestsPerWindow
	p.closures = cfg.Closures
	p.interval, p.maxAge = p.plan.Interval, p.plan.MaxDataAge
	p.retries = newRetryPacer(cfg.RequestsPerWindow, time.Duration(cfg.Window))
	today := voicetrends.DateIn(clock.Now(), cfg.Location)
	p.targets = nil
	for _, k := range targetKeys(cfg) {
		t := newTarget(k, cfg.Periods)
		if o, ok := old[k]; ok {
			periods := t.periods
			t = o
			if k.derived {
				// The periods may have changed: serve the new ones from the days kept.
				t.periods = periods
				p.derive(&t, today)
			}
		}
		// The account's interval until the schedule, recomputed at the first
		// step from the figures kept, gives the target its own under the new
		// configuration.
		t.interval = 0
		p.targets = append(p.targets, t)
	}
	p.publish()
	return p
}

// publish hands scrapes a copy of the account's state.
func (p *poller) publish() {
	s := p.accountSnapshot
	s.targets = slices.Clone(p.targets)
	p.snapshot.Store(&s)
}

// run refreshes until the gate run r closes. Every request carries r's
// aborted context, so that a request under way at the close may finish until
// the abort (see gate).
func (p *poller) run(r *gateRun) {
	level.Info(p.logger).Log("msg", "polling", "targets", len(p.targets), "refresh_interval", p.interval,
		"requests_per_window", p.cfg.RequestsPerWindow, "window", time.Duration(p.cfg.Window), "schedule", p.cfg.Schedule)
	if p.plan.Stretched() {
		level.Warn(p.logger).Log("msg", p.plan.StretchNote(), "refresh_interval", p.plan.RefreshInterval, "effective", p.interval, "max_data_age", p.maxAge)
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
// how long to wait before the next step otherwise. Targets whose turn it is
// go least recently refreshed first, or under the square-root schedule
// earliest due first; a retry of a failed target goes before those whose
// turn came after it fell due, within the retries' share.
func (p *poller) step(ctx context.Context) time.Duration {
	now := p.clock.Now()
	p.recompute(now)
	sqrt := p.sqrt()
	if learnsWeekStart(p.cfg) && !now.Before(p.weekNext) {
		// First: the week figures of every derived target wait for it.
		if d := p.budgetDelay(); d > 0 {
			return d
		}
		p.learnWeekStart(ctx)
		p.publish()
		return 0
	}
	turn, retry, early := -1, -1, -1
	var turnDue, retryDue, earliest, earlyDue time.Time
	for i := range p.targets {
		t := &p.targets[i]
		due, isRetry := t.next(p.interval)
		switch {
		case due.After(now):
			if earliest.IsZero() || due.Before(earliest) {
				earliest = due
			}
			if !isRetry && !now.Before(t.lastAttempt.Add(p.plan.RefreshInterval)) && (early < 0 || p.first(sqrt, t, due, &p.targets[early], earlyDue)) {
				early, earlyDue = i, due
			}
		case isRetry:
			if retry < 0 || due.Before(retryDue) {
				retry, retryDue = i, due
			}
		case turn < 0 || p.first(sqrt, t, due, &p.targets[turn], turnDue):
			turn, turnDue = i, due
		}
	}
	if turn < 0 && retry < 0 && sqrt && p.plan.Stretched() && early >= 0 {
		// The budget is the limit, and each refresh comes a little after
		// its deadline: a request the budget allows goes to the target due
		// next rather than being lost.
		turn, turnDue = early, earlyDue
	}
	if turn < 0 && retry < 0 {
		return earliest.Sub(now)
	}
	if d := p.budgetDelay(); d > 0 {
		return d
	}
	next := turn
	var reserved *rate.Reservation
	if retry >= 0 && (turn < 0 || retryDue.Before(turnDue)) {
		res, d := p.retries.take(now)
		switch {
		case res != nil:
			next, reserved = retry, res
		case turn < 0: // the retries' share is spent: wait for it, or for a turn
			if !earliest.IsZero() {
				d = min(d, earliest.Sub(now))
			}
			return d
		}
	}
	t := &p.targets[next]
	before := t.lastAttempt
	wait := p.refresh(ctx, t)
	if reserved != nil && t.lastAttempt.Equal(before) {
		reserved.CancelAt(now) // held back without a request: the share is not spent
	}
	p.publish()
	return wait
}

// first reports whether t, due at due, goes before u, due at uDue: the
// least recently refreshed first, or under the square-root schedule
// (sqrt) the earliest due, then, among targets due at once at a rollover,
// the one whose own interval ends first, so that a quiet number refreshed
// long ago does not wait for every busy one.
func (p *poller) first(sqrt bool, t *target, due time.Time, u *target, uDue time.Time) bool {
	if sqrt {
		if !due.Equal(uDue) {
			return due.Before(uDue)
		}
		if a, b := t.lastAttempt.Add(t.own(p.interval)), u.lastAttempt.Add(u.own(p.interval)); !a.Equal(b) {
			return a.Before(b)
		}
	}
	return t.lastAttempt.Before(u.lastAttempt)
}

// budgetDelay returns how long the budget holds the next request. A hold
// beyond the even spread (the window spent, the API's reserve, a 429) is
// logged once, with its reason.
func (p *poller) budgetDelay() time.Duration {
	d, why := p.budget.Delay()
	switch {
	case d <= 0:
		p.holdReason = ""
	case !budget.Routine(why) && why != p.holdReason:
		level.Info(p.logger).Log("msg", "the budget holds the next request", "reason", why, "for", d.Round(time.Second))
		p.holdReason = why
	}
	return d
}

// refresh fetches one target and records the outcome. It returns how long
// to wait before the next request: zero, or until the client may send
// again when it held the request back.
func (p *poller) refresh(ctx context.Context, t *target) time.Duration {
	now := p.clock.Now()
	today := voicetrends.DateIn(now, p.cfg.Location)
	resp, err := p.fetcher.Volume(ctx, p.request(t, today))
	if err != nil && (ctx.Err() != nil || isClosed(err)) {
		return 0 // stopping: an aborted or refused request says nothing about the API
	}
	if d := pacedLogin(err); d != nil {
		// The client paces its logins: the API has not failed, so up and
		// the last error stay as they were, and the target keeps its turn.
		p.setLoginDeferred(d)
		return max(d.Until.Sub(p.clock.Now()), time.Millisecond)
	}
	p.setLoginDeferred(nil)
	p.tried = true
	t.rev = new(revision) // the target changes below
	if wait, done := p.failed(t, err, now); done {
		return wait
	}
	p.succeeded(t, resp, now, today)
	return 0
}

// request is what a refresh of t asks for on today.
func (p *poller) request(t *target, today voicetrends.Date) voicetrends.VolumeRequest {
	req := voicetrends.VolumeRequest{Phone: t.phone, Period: t.period}
	if t.derived {
		req.Start, req.End = calendar.DeriveRequest(p.cfg.Periods, today, p.weekStart)
		req.Period = voicetrends.PeriodDay
	} else {
		req.Start, req.End = calendar.Request(t.period, today)
	}
	return req
}

// failed records what err says about the account and the target. done is
// false when there was no error: the answer is then the caller's to record.
func (p *poller) failed(t *target, err error, now time.Time) (wait time.Duration, done bool) {
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
		return 0, true
	default:
		p.up = true
		p.setUnreachable(false) // untried now means not yet, not failing
	}
	if until, deferred := voicetrends.NextLogin(err); deferred {
		// Held back without a request: the target keeps its turn, and the
		// poller waits for the client instead of using up every target's turn.
		p.logState(t, err)
		return max(until.Sub(p.clock.Now()), time.Millisecond), true
	}
	failures := t.failures
	t.attempted, t.lastAttempt, t.failures = true, now, 0
	if err == nil {
		return 0, false
	}
	t.lastOK, t.lastError = false, p.lastError
	if retryable(err) {
		t.failures = failures + 1 // tried again soon; a success or a 400 resets it
	}
	p.logState(t, err)
	return 0, true
}

// succeeded keeps a good answer's buckets, unless they do not start at
// midnight in the account's zone.
func (p *poller) succeeded(t *target, resp *voicetrends.VolumeResponse, now time.Time, today voicetrends.Date) {
	loc := p.cfg.Location
	if err := calendar.CheckMidnights(resp.Buckets, loc); err != nil {
		// A wrong timezone files every bucket under another day: serve
		// nothing rather than wrong figures, and say so once per account.
		t.lastOK, t.buckets, t.days, t.lastErr = false, nil, nil, "timezone"
		t.lastError = voicetrends.Scrub(err.Error(), p.cfg.Secret())
		p.lastError, p.lastErrorAt = t.lastError, now
		p.setZoneErr(err)
		return
	}
	if len(resp.Buckets) > 0 { // an empty answer says nothing of the zone
		p.setZoneErr(nil)
	}
	t.lastOK, t.lastSuccess, t.lastError = true, now, ""
	defer p.logState(t, nil)
	defer p.sched.noteSuccess(t, loc)
	if t.derived {
		t.days = append([]voicetrends.Bucket(nil), resp.Buckets...)
		p.derive(t, today)
		t.nextRollover = calendar.DeriveRollover(p.cfg.Periods, now, loc, p.weekStart)
		return
	}
	cur, prev := calendar.Select(t.period, today, loc, resp.Buckets)
	t.buckets = [][]voicetrends.Bucket{keep(cur, prev)}
	var weekStart *voicetrends.Date
	if cur != nil {
		d := voicetrends.DateIn(cur.Start, loc)
		weekStart = &d
	}
	t.nextRollover = calendar.NextRollover(t.period, now, loc, weekStart)
}

// pacedLogin returns the login deferral in err when the client paces its
// logins, or nil.
func pacedLogin(err error) *voicetrends.LoginDeferredError {
	var d *voicetrends.LoginDeferredError
	if errors.As(err, &d) && d.Paced {
		return d
	}
	return nil
}

// setLoginDeferred records whether the client paces its logins (d, or nil
// after any other outcome), logging each change once.
func (p *poller) setLoginDeferred(d *voicetrends.LoginDeferredError) {
	switch {
	case d != nil && p.loginDeferred == "":
		level.Info(p.logger).Log("msg", "logins deferred to stay inside the account's login budget; the figures wait", "until", d.Until, "reason", d.Reason)
	case d == nil && p.loginDeferred != "":
		level.Info(p.logger).Log("msg", "logins resumed")
	}
	if d == nil {
		p.loginDeferred, p.loginDeferredUntil = "", time.Time{}
		return
	}
	p.loginDeferred, p.loginDeferredUntil = d.Reason, d.Until
}

// setUnreachable marks the targets never tried as failing (on) or as
// merely waiting their turn (off), renewing the scrape cache of those
// that change.
func (p *poller) setUnreachable(on bool) {
	for i := range p.targets {
		t := &p.targets[i]
		if want := on && !t.attempted; t.unreachable != want {
			t.unreachable, t.rev = want, new(revision)
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
	t.buckets, t.rev = out, new(revision)
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
		// Retry soon, backing off to the interval, as a failed target; the
		// other periods are served meanwhile.
		p.weekFailures++
		p.weekNext = now.Add(retryAfter(p.weekFailures, p.interval))
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
	p.weekNext, p.weekErr, p.weekFailures = voicetrends.PeriodDay.Next(today).Midnight(loc), "", 0
	if p.weekStart != nil && *p.weekStart == wd {
		return
	}
	level.Info(p.logger).Log("msg", "learned the first day of the week from the API", "week_start", wd)
	p.weekStart = &wd
	for i := range p.targets {
		t := &p.targets[i]
		if t.derived {
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
