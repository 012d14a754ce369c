package voicetrends

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	promconfig "github.com/prometheus/common/config"
	"github.com/prometheus/common/version"
)

// DefaultBaseURL is where Plum serves the VoiceTrends API.
const DefaultBaseURL = "https://voicetrends.plumvoice.com/api/"

// Endpoint names as the metrics label them.
const (
	EndpointAuth   = "auth"
	EndpointVolume = "volume"
)

// Defaults for Config's zero values.
const (
	DefaultTimeout    = 30 * time.Second
	DefaultAuthLimit  = 15               // documented logins per window
	DefaultAuthWindow = 15 * time.Minute // documented window
	// CredentialLifetime is how long temporary credentials are reused
	// before logging in again, as Plum recommends.
	CredentialLifetime = 24 * time.Hour
	// First delay after a failed login; it doubles with every further
	// failure, up to the auth window.
	loginBackoffBase = 5 * time.Second
	// First delay after fresh credentials are refused with a 401; it
	// doubles with every further refusal, up to refusedBackoffCap, which is
	// short so that figures flow again within seconds of the API's recovery.
	refusedBackoffBase = time.Second
	refusedBackoffCap  = 10 * time.Second
	// Error bodies are only read this far: enough for {"error": ...} or the
	// start of an HTML page.
	maxErrorBody = 64 << 10
)

// Observer is told of every HTTP exchange with the API so that the exporter
// can count requests and keep the rate-limit headers. Implementations must be
// safe for concurrent use.
type Observer interface {
	// ObserveRequest reports one exchange; code is 0 when no HTTP response came back.
	ObserveRequest(endpoint string, code int, d time.Duration)
	// ObserveRateLimit reports the rate-limit headers of one response.
	ObserveRateLimit(endpoint string, rl RateLimit)
}

// DataLimiter gates every data request the client sends, retries included,
// so that a budget sees each request that spends the account's data limit.
type DataLimiter interface {
	// Wait blocks until one data request may be sent, or ctx ends.
	Wait(ctx context.Context) error
	// Observe reports the outcome of a data request that Wait allowed:
	// its HTTP code (0 when no response came back) and rate-limit headers.
	Observe(rl RateLimit, code int)
}

// VolumeFetcher is what the exporter needs from the API; *Client implements it.
type VolumeFetcher interface {
	Volume(ctx context.Context, req VolumeRequest) (*VolumeResponse, error)
}

// Config configures a Client. Zero values take the documented defaults.
//
// Password is a secret: Config's String and GoString hide it, so %v, %+v
// and %#v of a Config or *Config are safe to log. (fmt cannot call those
// methods on an unexported struct field holding a Config, so never print a
// struct that embeds one that way.)
type Config struct {
	BaseURL    string           // default DefaultBaseURL; a missing trailing slash is added
	Tool       Tool             // dev, insight or fuseplus
	Login      string           // the account's login for Tool
	Password   string           // the account's password; secret
	HTTPClient *http.Client     // default: prometheus/common/config defaults with the proxy from the environment, TLS verification on
	UserAgent  string           // default "voicetrends_exporter/<version>"
	Timeout    time.Duration    // per HTTP request, body included; default DefaultTimeout
	Now        func() time.Time // the clock for credential age, login windows and backoff; default time.Now
	Observer   Observer         // optional: told of every exchange
	Limiter    DataLimiter      // optional: Wait before every data request, retries included; Observe after each
	APIClock   *APIClock        // optional: learns the API's clock from every answer of the API, logins included
	AuthLimit  int              // the API's logins per AuthWindow, of which a fifth is left to the account's other clients; default DefaultAuthLimit
	AuthWindow time.Duration    // the window logins are counted in (the account's window); default DefaultAuthWindow, aligned to multiples of itself since the Unix epoch
	// Location is the account's time zone: bucket starts are returned in it.
	// Default UTC (the instant is the same either way).
	Location *time.Location
}

// String describes the configuration without the password.
func (c Config) String() string {
	pw := ""
	if c.Password != "" {
		pw = SecretPlaceholder
	}
	return fmt.Sprintf("voicetrends.Config{BaseURL:%q Tool:%q Login:%q Password:%q Timeout:%s AuthLimit:%d AuthWindow:%s}",
		c.BaseURL, c.Tool, c.Login, pw, c.Timeout, c.AuthLimit, c.AuthWindow)
}

// GoString is String, so that %#v hides the password too.
func (c Config) GoString() string { return c.String() }

// DefaultUserAgent is the User-Agent sent when Config.UserAgent is empty.
func DefaultUserAgent() string {
	v := version.Version
	if v == "" {
		v = "unknown"
	}
	return "voicetrends_exporter/" + v
}

// credentials are the temporary login and password from /auth.
type credentials struct {
	login, password string
	obtained        time.Time
	accepted        bool // the API answered a data request made with them other than 401; guarded by Client.mu
}

// Client talks to the VoiceTrends API for one account. It logs in lazily,
// reuses the temporary credentials, and is safe for concurrent use.
type Client struct {
	cfg      Config // defaults applied
	base     string // parsed and normalised, ends in "/"
	http     *http.Client
	loginSem chan struct{} // one login at a time

	mu          sync.Mutex
	creds       *credentials
	winEnd      time.Time // end of the AuthWindow loginsInWin counts
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

var _ VolumeFetcher = (*Client)(nil)

// New checks cfg and builds a Client. It sends no request.
func New(cfg Config) (*Client, error) {
	tool, err := ParseTool(string(cfg.Tool))
	if err != nil {
		return nil, fmt.Errorf("voicetrends: %w", err)
	}
	cfg.Tool = tool
	if cfg.Login == "" {
		return nil, errors.New("voicetrends: empty login: set the account's login for the tool")
	}
	if cfg.Password == "" {
		return nil, errors.New("voicetrends: empty password: set the account's password for the tool")
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	base, err := ParseBaseURL(cfg.BaseURL)
	if err != nil {
		return nil, fmt.Errorf("voicetrends: base URL %w", err)
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = DefaultUserAgent()
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.AuthLimit <= 0 {
		cfg.AuthLimit = DefaultAuthLimit
	}
	if cfg.AuthWindow <= 0 {
		cfg.AuthWindow = DefaultAuthWindow
	}
	if cfg.Location == nil {
		cfg.Location = time.UTC
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hcfg := promconfig.DefaultHTTPClientConfig
		hcfg.ProxyConfig.ProxyFromEnvironment = true
		hc, err = promconfig.NewClientFromConfig(hcfg, "voicetrends", promconfig.WithUserAgent(cfg.UserAgent))
		if err != nil {
			return nil, fmt.Errorf("voicetrends: building the HTTP client: %w", err)
		}
	}
	return &Client{cfg: cfg, base: base, http: hc, loginSem: make(chan struct{}, 1)}, nil
}

// ParseBaseURL checks a base URL and returns it with a trailing slash. The
// configuration and the client both call it, so that one set of rules holds.
// Its errors quote the URL only once Scrub has taken any password out.
func ParseBaseURL(s string) (string, error) {
	shown := Scrub(s)
	u, err := url.Parse(s)
	switch {
	case err != nil, u.Scheme != "http" && u.Scheme != "https":
		return "", fmt.Errorf("%q is not an http(s) URL: use e.g. %s", shown, DefaultBaseURL)
	case u.Host == "":
		return "", fmt.Errorf("%q has no host: use e.g. %s", shown, DefaultBaseURL)
	case u.User != nil:
		// Credentials in a URL end up in every error message that quotes it.
		return "", fmt.Errorf("%q must not contain user info: set login and password instead", shown)
	case u.RawQuery != "" || u.Fragment != "":
		return "", fmt.Errorf("%q must not have a query or fragment: use e.g. %s", shown, DefaultBaseURL)
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
		if u.RawPath != "" {
			u.RawPath += "/"
		}
	}
	return u.String(), nil
}

// String describes the client without any secret.
func (c *Client) String() string {
	return fmt.Sprintf("voicetrends.Client{BaseURL:%q Tool:%q Login:%q}", c.base, c.cfg.Tool, c.cfg.Login)
}

// GoString is String, so that %#v hides the secrets too.
func (c *Client) GoString() string { return c.String() }

// Volume fetches the Call Volume buckets of req. It validates req before
// any request and logs in when it has no fresh credentials. A 401 on
// credentials the API has accepted before means they expired: it logs in
// once more and retries once. A 401 on credentials the API never accepted
// means the API refuses the account for now: it is returned, and data
// requests and logins are held back with a capped exponential backoff
// (see LoginDeferredError), reusing those credentials when it ends. Errors
// from the API are *APIError (see the Is* helpers); a request or login that
// may not happen yet is *LoginDeferredError, returned at once.
func (c *Client) Volume(ctx context.Context, req VolumeRequest) (*VolumeResponse, error) {
	path, err := volumePath(req)
	if err != nil {
		return nil, fmt.Errorf("voicetrends: %w", err)
	}
	wrap := func(err error) error { return &volumeError{path: path, phone: req.Phone, err: err} }
	creds, err := c.credentials(ctx, nil, false)
	if err != nil {
		return nil, wrap(err)
	}
	resp, code, err := c.volume(ctx, path, creds)
	if !c.unauthorized(creds, code, err) {
		if err != nil {
			return nil, wrap(err)
		}
		return resp, nil
	}
	// The credentials had worked, so they expired or were revoked early: one fresh login, one retry.
	creds, lerr := c.credentials(ctx, creds, false)
	if lerr != nil {
		return nil, wrap(fmt.Errorf("after %v: %w", err, lerr))
	}
	resp, code, err = c.volume(ctx, path, creds)
	c.unauthorized(creds, code, err)
	if err != nil {
		return nil, wrap(err)
	}
	return resp, nil
}

// unauthorized records what the HTTP code of a data request made with
// creds says about them, and reports whether it was a 401 worth one fresh
// login: the credentials had been accepted before, so they have expired.
func (c *Client) unauthorized(creds *credentials, code int, err error) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case code == 0 || code == http.StatusTooManyRequests || code >= 500:
		// No answer, a rate limit or a server error (maybe a proxy's) says
		// nothing about the credentials.
		return false
	case code != http.StatusUnauthorized:
		creds.accepted = true
		if c.creds == creds {
			c.refused, c.holdUntil, c.refusedErr, c.reloginFor = 0, time.Time{}, nil, false
		}
		return false
	case creds.accepted:
		if c.creds == creds {
			c.creds, c.reloginFor = nil, true
		}
		return true
	}
	// Fresh credentials refused: back off instead of logging in again.
	if c.creds != creds {
		return false // an older request's verdict; the current credentials speak for themselves
	}
	c.refused++
	delay := refusedBackoffCap
	if c.refused < 16 {
		delay = min(refusedBackoffBase<<(c.refused-1), refusedBackoffCap)
	}
	now := c.cfg.Now()
	c.holdUntil, c.refusedErr = now.Add(delay), err
	// These credentials may themselves be dead (revoked, not expired): after
	// a while, let the next attempt log in again, within the logins kept for
	// recovery.
	if now.Sub(c.lastLogin) >= c.streakReloginAfter() {
		c.creds, c.reloginFor = nil, true
	}
	return false
}

// heldLocked returns the error that holds requests back after refused
// credentials, or nil. The caller holds c.mu.
func (c *Client) heldLocked(force bool) error {
	if force || !c.cfg.Now().Before(c.holdUntil) {
		return nil
	}
	return &LoginDeferredError{
		Until:  c.holdUntil,
		Reason: fmt.Sprintf("backing off after the API refused fresh credentials %d time(s) in a row", c.refused),
		Last:   c.refusedErr,
	}
}

// streakReloginAfter is how long a streak of refused credentials goes
// before it logs in again: twice the even share of one login in the window.
func (c *Client) streakReloginAfter() time.Duration {
	return max(refusedBackoffCap, 2*c.cfg.AuthWindow/time.Duration(c.cfg.AuthLimit))
}

// loginReserves returns how many of a window's limit logins are never
// spent (left to the account's other clients) and how many more only an
// ordinary login may spend, never one that replaces credentials a 401
// refused (kept for recovery after a 401 storm).
func loginReserves(limit int) (others, recovery int) {
	return limit / 5, limit / 3
}

// volumePath validates req and returns "start/end/period/phone", escaped.
func volumePath(req VolumeRequest) (string, error) {
	if err := ValidatePhone(req.Phone); err != nil {
		return "", err
	}
	if _, err := ParsePeriod(string(req.Period)); err != nil {
		return "", err
	}
	for _, d := range []struct {
		name string
		date Date
	}{{"start", req.Start}, {"end", req.End}} {
		if !d.date.Valid() {
			return "", fmt.Errorf("invalid %s date %04d-%02d-%02d: use a real calendar date", d.name, d.date.Year, int(d.date.Month), d.date.Day)
		}
	}
	if req.Start.After(req.End) {
		return "", fmt.Errorf("start date %s is after end date %s: swap them", req.Start, req.End)
	}
	segs := []string{req.Start.String(), req.End.String(), string(req.Period), req.Phone}
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/"), nil
}

// Authenticate logs in now, replacing any temporary credentials, within
// the same login limits and backoff as the lazy login of Volume.
func (c *Client) Authenticate(ctx context.Context) error {
	if _, err := c.credentials(ctx, nil, true); err != nil {
		return fmt.Errorf("voicetrends: %w", err)
	}
	return nil
}

// credentials returns fresh temporary credentials, logging in when there
// are none, they are older than CredentialLifetime, they are stale (the
// ones that just got a 401), or force is set.
func (c *Client) credentials(ctx context.Context, stale *credentials, force bool) (*credentials, error) {
	usable := func() *credentials {
		cur := c.creds
		if force || cur == nil || cur == stale || !c.cfg.Now().Before(cur.obtained.Add(CredentialLifetime)) {
			return nil
		}
		return cur
	}
	c.mu.Lock()
	if err := c.heldLocked(force); err != nil {
		c.mu.Unlock()
		return nil, err
	}
	cur := usable()
	c.mu.Unlock()
	if cur != nil {
		return cur, nil
	}

	select {
	case c.loginSem <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for another login: %w", ctx.Err())
	}
	defer func() { <-c.loginSem }()

	c.mu.Lock()
	now := c.cfg.Now()
	if err := c.heldLocked(force); err != nil {
		c.mu.Unlock()
		return nil, err
	}
	if cur := usable(); cur != nil { // another caller logged in while we waited, or a hold ended
		c.mu.Unlock()
		return cur, nil
	}
	if now.Before(c.nextLogin) {
		err := &LoginDeferredError{
			Until:  c.nextLogin,
			Reason: fmt.Sprintf("backing off after %d failed login(s)", c.failures),
			Last:   c.lastErr,
		}
		c.mu.Unlock()
		return nil, err
	}
	if err := c.loginAllowedLocked(now, force); err != nil {
		c.mu.Unlock()
		return nil, err
	}
	c.loginsInWin++
	c.apiUsed++ // until the answer's headers say better
	c.lastLogin = now
	c.mu.Unlock()

	creds, rl, err := c.login(ctx)

	c.mu.Lock()
	defer c.mu.Unlock()
	c.correctLogins(rl)
	if err != nil {
		if ctx.Err() == nil { // a caller giving up is no reason to back off
			c.failures++
			delay := c.cfg.AuthWindow
			if c.failures < 32 {
				delay = min(loginBackoffBase<<(c.failures-1), c.cfg.AuthWindow)
			}
			c.nextLogin = c.cfg.Now().Add(delay)
			if reset, ok := IsRateLimited(err); ok && reset.After(c.nextLogin) {
				c.nextLogin = reset
			}
			c.lastErr = err
		}
		return nil, err
	}
	creds.obtained = c.cfg.Now()
	c.creds, c.failures, c.nextLogin, c.lastErr = creds, 0, time.Time{}, nil
	return creds, nil
}

// loginAllowedLocked returns why a login may not be sent at now, or nil.
// Logins are counted twice: by the client in the configured AuthWindow,
// and by the API as its latest auth response's headers said, until that
// response's reset. Either count must leave the reserves alone: a share of
// the limit for the account's other clients and, for a login that replaces
// credentials a 401 refused, a further share for recovery. The caller
// holds c.mu.
func (c *Client) loginAllowedLocked(now time.Time, force bool) error {
	if !now.Before(c.winEnd) {
		_, c.winEnd = AlignedWindow(now, c.cfg.AuthWindow)
		c.loginsInWin = 0
	}
	type count struct {
		whose       string
		limit, used int
		until       time.Time
	}
	counts := []count{{"this client's count in its " + c.cfg.AuthWindow.String() + " window", c.cfg.AuthLimit, c.loginsInWin, c.winEnd}}
	if now.Before(c.apiReset) {
		counts = append(counts, count{"the API's count (X-RateLimit-Remaining)", c.apiLimit, c.apiUsed, c.apiReset})
	}
	var deferred *LoginDeferredError
	for _, n := range counts {
		others, recovery := loginReserves(n.limit)
		allowed, why := n.limit-others, "the rest are left to the account's other clients"
		if c.reloginFor && !force {
			allowed, why = allowed-recovery, "the rest are kept for other clients and for recovery after a 401"
		}
		if n.used < allowed || deferred != nil && !n.until.After(deferred.Until) {
			continue
		}
		deferred = &LoginDeferredError{
			Until:  n.until,
			Reason: fmt.Sprintf("%d of %d logins spent by %s; %s", n.used, n.limit, n.whose, why),
			Last:   c.lastErr,
			Paced:  true,
		}
		if c.refusedErr != nil {
			deferred.Last = c.refusedErr
		}
	}
	if deferred == nil {
		return nil
	}
	return deferred
}

// correctLogins keeps the API's login count from an auth response's
// X-RateLimit-* headers, as the data budget keeps the data count.
func (c *Client) correctLogins(rl RateLimit) {
	now := c.cfg.Now()
	if rl.Limit < 0 || rl.Remaining < 0 || !rl.Reset.After(now) || rl.Reset.Sub(now) > 24*time.Hour {
		if !now.Before(c.apiReset) {
			c.apiUsed = 0 // without a window to count in, the sent login counts for nothing
		}
		return
	}
	c.apiLimit, c.apiUsed, c.apiReset = rl.Limit, rl.Limit-rl.Remaining, rl.Reset
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

// volume sends one data request, gated by the Limiter.
// The HTTP code is 0 when no response came back.
func (c *Client) volume(ctx context.Context, path string, creds *credentials) (*VolumeResponse, int, error) {
	if c.cfg.Limiter != nil {
		if err := c.cfg.Limiter.Wait(ctx); err != nil {
			return nil, 0, fmt.Errorf("waiting for the data budget: %w", err)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"volume/"+path, nil)
	if err != nil {
		if c.cfg.Limiter != nil {
			c.cfg.Limiter.Observe(unknownRateLimit, 0)
		}
		return nil, 0, fmt.Errorf("building request: %w", err)
	}
	resp := &VolumeResponse{RateLimit: unknownRateLimit}
	code := 0
	err = c.exchange(req, EndpointVolume, creds, func(body io.Reader) error {
		buckets, err := DecodeVolume(body)
		if err != nil {
			return err
		}
		for i := range buckets {
			buckets[i].Start = buckets[i].Start.In(c.cfg.Location)
		}
		resp.Buckets = buckets
		return nil
	}, func(rl RateLimit, got int) {
		resp.RateLimit, code = rl, got
		if c.cfg.Limiter != nil {
			c.cfg.Limiter.Observe(rl, got)
		}
	})
	if err != nil {
		return nil, code, err
	}
	return resp, code, nil
}

var unknownRateLimit = RateLimit{Limit: -1, Remaining: -1}

// exchange sends req (with Basic auth when basic is set), reports it to the
// Observer (and to after, once the outcome is known), hands a 200 body to
// decode and turns anything else into an *APIError. Every secret is
// scrubbed from the error text.
func (c *Client) exchange(req *http.Request, endpoint string, basic *credentials, decode func(io.Reader) error, after func(RateLimit, int)) (err error) {
	secrets := []string{c.cfg.Password}
	if basic != nil {
		req.SetBasicAuth(basic.login, basic.password)
		// The header value is a secret too, as is each half of it.
		secrets = append(secrets, basic.login, basic.password,
			base64.StdEncoding.EncodeToString([]byte(basic.login+":"+basic.password)))
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.cfg.UserAgent)

	began := time.Now() // durations use the real clock even when Now is injected
	code := 0
	rl := unknownRateLimit
	defer func() {
		if c.cfg.Observer != nil {
			c.cfg.Observer.ObserveRequest(endpoint, code, time.Since(began))
			if code != 0 {
				c.cfg.Observer.ObserveRateLimit(endpoint, rl)
			}
		}
		if after != nil {
			after(rl, code)
		}
		if err != nil {
			err = &scrubbedError{err: err, secrets: secrets}
		}
	}()

	sent := c.cfg.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	code = resp.StatusCode
	rl = ParseRateLimit(resp.Header)
	if c.cfg.APIClock != nil && rl.Known() { // before after(): the limiter reads the reset by the API's clock
		c.cfg.APIClock.Observe(sent, c.cfg.Now(), resp.Header)
	}
	if code != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		return &APIError{Endpoint: endpoint, StatusCode: code, Message: Scrub(errorMessage(body), secrets...), RateLimit: rl}
	}
	if err := decode(resp.Body); err != nil {
		return fmt.Errorf("%s: %w", endpoint, err)
	}
	return nil
}

// errorMessage is the body's "error" text, or a short snippet of a body
// that is not the API's JSON (an HTML page from a proxy, say).
func errorMessage(body []byte) string {
	var e struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil && len(e.Error) > 0 {
		var s string
		if json.Unmarshal(e.Error, &s) == nil {
			return snippet([]byte(s), 200)
		}
		return snippet(e.Error, 200)
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return "empty body"
	}
	return "unexpected body: " + snippet(body, 120)
}

// scrubbedError removes secrets from an error's text while keeping the
// chain for errors.Is and errors.As (transport errors can quote a URL, and
// a server can echo anything).
type scrubbedError struct {
	err     error
	secrets []string
}

func (e *scrubbedError) Error() string { return Scrub(e.err.Error(), e.secrets...) }
func (e *scrubbedError) Unwrap() error { return e.err }

// GoString keeps %#v from printing the secrets list.
func (e *scrubbedError) GoString() string { return fmt.Sprintf("voicetrends.error(%q)", e.Error()) }

// ParseRateLimit reads the X-RateLimit-* headers. A missing or malformed
// header is unknown: -1 for the counts, zero for Reset.
func ParseRateLimit(h http.Header) RateLimit {
	rl := unknownRateLimit
	if v, err := strconv.Atoi(strings.TrimSpace(h.Get("X-RateLimit-Limit"))); err == nil && v >= 0 {
		rl.Limit = v
	}
	if v, err := strconv.Atoi(strings.TrimSpace(h.Get("X-RateLimit-Remaining"))); err == nil && v >= 0 {
		rl.Remaining = v
	}
	if v, err := strconv.ParseInt(strings.TrimSpace(h.Get("X-RateLimit-Reset")), 10, 64); err == nil && v > 0 && v <= maxTimestamp {
		rl.Reset = time.Unix(v, 0).UTC()
	}
	return rl
}
