package voicetrends

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/voicetrends/voicetrends_exporter/internal/clock"
)

// credentials are the temporary login and password from /auth.
type credentials struct {
	login, password string
	obtained        time.Time
	accepted        bool // the API answered a data request made with them other than 401; guarded by logins.mu
}

// logins is a client's login state, behind its own mutex: the temporary
// credentials in use, the logins counted in the window (by the client, and by
// the API's auth headers), the backoff after failed logins and the hold after
// refused credentials. It reads the clock and nothing else; the Client sends
// the requests (see Client.credentials).
type logins struct {
	clock  clock.Clock
	limit  int           // logins per window, of which a fifth is left to other clients
	window time.Duration // the window logins are counted in

	mu          sync.Mutex
	creds       *credentials
	winEnd      time.Time // end of the window loginsInWin counts
	loginsInWin int       // logins sent in that window
	// The API's own count, from the latest auth response's X-RateLimit-*
	// headers: it knows the account's other clients and its own window.
	apiLimit, apiUsed int
	apiReset          time.Time // zero when no header has told
	failures          int       // consecutive failed logins
	nextLogin         time.Time // backoff: no login before this
	lastErr           error     // last login error, for LoginDeferredError

	// A 401 on credentials the API never accepted says the API refuses the
	// account or is unwell, not that they expired: logging in again would
	// only burn the login budget. Such a streak holds data requests back.
	refused    int       // consecutive 401s on credentials never accepted
	holdUntil  time.Time // no data request before this
	refusedErr error     // the latest such 401
	reloginFor bool      // the next login replaces credentials a 401 refused
	lastLogin  time.Time // when the latest login was sent
}

// Login makes sure the client holds fresh temporary credentials, logging in
// as Volume does when it has none: for checking an account's login on its
// own, as --config.check.online does.
func (c *Client) Login(ctx context.Context) error {
	if _, err := c.credentials(ctx, nil); err != nil {
		return fmt.Errorf("voicetrends: %w", err)
	}
	return nil
}

// credentials returns fresh temporary credentials, logging in when there
// are none, they are older than CredentialLifetime, or they are stale (the
// ones that just got a 401). One login runs at a time.
func (c *Client) credentials(ctx context.Context, stale *credentials) (*credentials, error) {
	if cur, err := c.logins.current(stale); cur != nil || err != nil {
		return cur, err
	}
	select {
	case c.loginSem <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for another login: %w", ctx.Err())
	}
	defer func() { <-c.loginSem }()
	// Another caller may have logged in while this one waited, or a hold begun.
	if cur, err := c.logins.begin(stale); cur != nil || err != nil {
		return cur, err
	}
	creds, rl, err := c.login(ctx)
	return c.logins.end(creds, rl, err, ctx.Err() != nil)
}

// current returns the credentials to use now, the hold that keeps requests
// back, or neither when a login is needed.
func (l *logins) current(stale *credentials) (*credentials, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.heldLocked(); err != nil {
		return nil, err
	}
	return l.usableLocked(stale), nil
}

// begin is current for the caller about to log in: it also refuses a login
// that the backoff or the login counts defer, and counts the one it allows.
func (l *logins) begin(stale *credentials) (*credentials, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock.Now()
	if err := l.heldLocked(); err != nil {
		return nil, err
	}
	if cur := l.usableLocked(stale); cur != nil {
		return cur, nil
	}
	if now.Before(l.nextLogin) {
		return nil, &LoginDeferredError{
			Until:  l.nextLogin,
			Reason: fmt.Sprintf("backing off after %d failed login(s)", l.failures),
			Last:   l.lastErr,
		}
	}
	if err := l.allowedLocked(now); err != nil {
		return nil, err
	}
	l.loginsInWin++
	l.apiUsed++ // until the answer's headers say better
	l.lastLogin = now
	return nil, nil
}

// end records a login's outcome: the credentials it got, or its error and
// the backoff that follows (not when the caller gave up, which says nothing
// of the API).
func (l *logins) end(creds *credentials, rl RateLimit, err error, gaveUp bool) (*credentials, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.correctLocked(rl)
	if err != nil {
		if !gaveUp {
			l.failures++
			delay := l.window
			if l.failures < 32 {
				delay = min(loginBackoffBase<<(l.failures-1), l.window)
			}
			l.nextLogin = l.clock.Now().Add(delay)
			if reset, ok := IsRateLimited(err); ok && reset.After(l.nextLogin) {
				l.nextLogin = reset
			}
			l.lastErr = err
		}
		return nil, err
	}
	creds.obtained = l.clock.Now()
	l.creds, l.failures, l.nextLogin, l.lastErr = creds, 0, time.Time{}, nil
	return creds, nil
}

// usableLocked returns the credentials in use unless they are missing,
// stale or older than CredentialLifetime. The caller holds l.mu.
func (l *logins) usableLocked(stale *credentials) *credentials {
	cur := l.creds
	if cur == nil || cur == stale || !l.clock.Now().Before(cur.obtained.Add(CredentialLifetime)) {
		return nil
	}
	return cur
}

// verdict records what the HTTP code of a data request made with creds
// says about them, and reports whether it was a 401 worth one fresh login:
// the credentials had been accepted before, so they have expired.
func (l *logins) verdict(creds *credentials, code int, err error) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case code == 0 || code == http.StatusTooManyRequests || code >= 500:
		// No answer, a rate limit or a server error (maybe a proxy's) says
		// nothing about the credentials.
		return false
	case code != http.StatusUnauthorized:
		creds.accepted = true
		if l.creds == creds {
			l.refused, l.holdUntil, l.refusedErr, l.reloginFor = 0, time.Time{}, nil, false
		}
		return false
	case creds.accepted:
		if l.creds == creds {
			l.creds, l.reloginFor = nil, true
		}
		return true
	}
	// Fresh credentials refused: back off instead of logging in again.
	if l.creds != creds {
		return false // an older request's verdict; the current credentials speak for themselves
	}
	l.refused++
	delay := refusedBackoffCap
	if l.refused < 16 {
		delay = min(refusedBackoffBase<<(l.refused-1), refusedBackoffCap)
	}
	now := l.clock.Now()
	l.holdUntil, l.refusedErr = now.Add(delay), err
	// These credentials may themselves be dead (revoked, not expired): after
	// a while, let the next attempt log in again, within the logins kept for
	// recovery.
	if now.Sub(l.lastLogin) >= l.streakReloginAfter() {
		l.creds, l.reloginFor = nil, true
	}
	return false
}

// heldLocked returns the error that holds requests back after refused
// credentials, or nil. The caller holds l.mu.
func (l *logins) heldLocked() error {
	if !l.clock.Now().Before(l.holdUntil) {
		return nil
	}
	return &LoginDeferredError{
		Until:  l.holdUntil,
		Reason: fmt.Sprintf("backing off after the API refused fresh credentials %d time(s) in a row", l.refused),
		Last:   l.refusedErr,
	}
}

// streakReloginAfter is how long a streak of refused credentials goes
// before it logs in again: twice the even share of one login in the window.
func (l *logins) streakReloginAfter() time.Duration {
	return max(refusedBackoffCap, 2*l.window/time.Duration(l.limit))
}

// loginReserves returns how many of a window's limit logins are never
// spent (left to the account's other clients) and how many more only an
// ordinary login may spend, never one that replaces credentials a 401
// refused (kept for recovery after a 401 storm).
func loginReserves(limit int) (others, recovery int) {
	return limit / 5, limit / 3
}

// allowedLocked returns why a login may not be sent at now, or nil.
// Logins are counted twice: by the client in its window, and by the API as
// its latest auth response's headers said, until that response's reset.
// Either count must leave the reserves alone: a share of the limit for the
// account's other clients and, for a login that replaces credentials a 401
// refused, a further share for recovery. The caller holds l.mu.
func (l *logins) allowedLocked(now time.Time) error {
	if !now.Before(l.winEnd) {
		_, l.winEnd = AlignedWindow(now, l.window)
		l.loginsInWin = 0
	}
	type count struct {
		whose       string
		limit, used int
		until       time.Time
	}
	counts := []count{{"this client's count in its " + l.window.String() + " window", l.limit, l.loginsInWin, l.winEnd}}
	if now.Before(l.apiReset) {
		counts = append(counts, count{"the API's count (X-RateLimit-Remaining)", l.apiLimit, l.apiUsed, l.apiReset})
	}
	var deferred *LoginDeferredError
	for _, n := range counts {
		others, recovery := loginReserves(n.limit)
		allowed, why := n.limit-others, "the rest are left to the account's other clients"
		if l.reloginFor {
			allowed, why = allowed-recovery, "the rest are kept for other clients and for recovery after a 401"
		}
		if n.used < allowed || deferred != nil && !n.until.After(deferred.Until) {
			continue
		}
		deferred = &LoginDeferredError{
			Until:  n.until,
			Reason: fmt.Sprintf("%d of %d logins spent by %s; %s", n.used, n.limit, n.whose, why),
			Last:   l.lastErr,
			Paced:  true,
		}
		if l.refusedErr != nil {
			deferred.Last = l.refusedErr
		}
	}
	if deferred == nil {
		return nil
	}
	return deferred
}

// correctLocked keeps the API's login count from an auth response's
// X-RateLimit-* headers, as the data budget keeps the data count. The
// caller holds l.mu.
func (l *logins) correctLocked(rl RateLimit) {
	now := l.clock.Now()
	if rl.Limit < 0 || rl.Remaining < 0 || !rl.Reset.After(now) || rl.Reset.Sub(now) > 24*time.Hour {
		if !now.Before(l.apiReset) {
			l.apiUsed = 0 // without a window to count in, the sent login counts for nothing
		}
		return
	}
	l.apiLimit, l.apiUsed, l.apiReset = rl.Limit, rl.Limit-rl.Remaining, rl.Reset
}

// login sends one /auth request and returns what it got, with the
// response's rate-limit headers.
func (c *Client) login(ctx context.Context) (*credentials, RateLimit, error) {
	form := url.Values{
		"tool":     {string(c.cfg.Tool)},
		"login":    {c.cfg.Login},
		"password": {c.cfg.Password},
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	rl := unknownRateLimit
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"auth", strings.NewReader(form.Encode()))
	if err != nil {
		return nil, rl, fmt.Errorf("auth: building request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	var creds *credentials
	err = c.exchange(req, EndpointAuth, nil, func(body io.Reader) error {
		var out struct {
			Login    string `json:"login"`
			Password string `json:"password"`
		}
		if err := json.NewDecoder(io.LimitReader(body, maxErrorBody)).Decode(&out); err != nil {
			// encoding/json quotes at most a character of the input, never a value.
			return fmt.Errorf("decoding the temporary credentials: %w", err)
		}
		if out.Login == "" || out.Password == "" {
			return errors.New("auth answer lacks the temporary login or password")
		}
		creds = &credentials{login: out.Login, password: out.Password}
		return nil
	}, func(got RateLimit, _ int) { rl = got })
	if err != nil {
		return nil, rl, err
	}
	return creds, rl, nil
}
