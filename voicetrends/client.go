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
	AuthLimit  int              // logins per AuthWindow; default DefaultAuthLimit
	AuthWindow time.Duration    // default DefaultAuthWindow, aligned to multiples of itself since the Unix epoch
	// Location is the account's time zone: bucket starts are returned in it.
	// Default UTC (the instant is the same either way).
	Location *time.Location
}

// String describes the configuration without the password.
func (c Config) String() string {
	pw := ""
	if c.Password != "" {
		pw = "<redacted>"
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
	winStart    time.Time // the auth window loginsInWin counts
	loginsInWin int
	failures    int       // consecutive failed logins
	nextLogin   time.Time // backoff: no login before this
	lastErr     error     // last login error, for LoginDeferredError
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
	base, err := normaliseBaseURL(cfg.BaseURL)
	if err != nil {
		return nil, err
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

func normaliseBaseURL(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("voicetrends: invalid base URL %q: %w", s, err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return "", fmt.Errorf("voicetrends: base URL %q: scheme must be http or https, e.g. %s", s, DefaultBaseURL)
	case u.Host == "":
		return "", fmt.Errorf("voicetrends: base URL %q has no host, e.g. %s", s, DefaultBaseURL)
	case u.User != nil:
		// Credentials in a URL end up in every error message that quotes it.
		return "", errors.New("voicetrends: base URL must not contain user info; set login and password instead")
	case u.RawQuery != "" || u.Fragment != "":
		return "", fmt.Errorf("voicetrends: base URL %q must not have a query or fragment", s)
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
// any request, logs in when it has no fresh credentials and, on a 401,
// logs in once more and retries once; a second 401 is returned. Errors
// from the API are *APIError (see the Is* helpers); a login that may not
// happen yet is *LoginDeferredError, returned at once.
func (c *Client) Volume(ctx context.Context, req VolumeRequest) (*VolumeResponse, error) {
	path, err := volumePath(req)
	if err != nil {
		return nil, fmt.Errorf("voicetrends: %w", err)
	}
	wrap := func(err error) error {
		return fmt.Errorf("voicetrends: volume %s: %w", path, err)
	}
	creds, err := c.credentials(ctx, nil, false)
	if err != nil {
		return nil, wrap(err)
	}
	resp, err := c.volume(ctx, path, creds)
	if !IsUnauthorized(err) {
		if err != nil {
			return nil, wrap(err)
		}
		return resp, nil
	}
	// The credentials expired or were revoked early: one fresh login, one retry.
	c.mu.Lock()
	if c.creds == creds {
		c.creds = nil
	}
	c.mu.Unlock()
	creds, lerr := c.credentials(ctx, creds, false)
	if lerr != nil {
		return nil, wrap(fmt.Errorf("after %v: %w", err, lerr))
	}
	resp, err = c.volume(ctx, path, creds)
	if err != nil {
		if IsUnauthorized(err) {
			c.mu.Lock()
			if c.creds == creds {
				c.creds = nil
			}
			c.mu.Unlock()
		}
		return nil, wrap(err)
	}
	return resp, nil
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
	if cur := usable(); cur != nil { // another caller logged in while we waited
		c.mu.Unlock()
		return cur, nil
	}
	now := c.cfg.Now()
	if now.Before(c.nextLogin) {
		err := &LoginDeferredError{
			Until:  c.nextLogin,
			Reason: fmt.Sprintf("backing off after %d failed login(s)", c.failures),
			Last:   c.lastErr,
		}
		c.mu.Unlock()
		return nil, err
	}
	winStart, winEnd := AlignedWindow(now, c.cfg.AuthWindow)
	if !winStart.Equal(c.winStart) {
		c.winStart, c.loginsInWin = winStart, 0
	}
	if c.loginsInWin >= c.cfg.AuthLimit {
		err := &LoginDeferredError{
			Until:  winEnd,
			Reason: fmt.Sprintf("%d logins already sent in this %s window, the most allowed", c.loginsInWin, c.cfg.AuthWindow),
			Last:   c.lastErr,
		}
		c.mu.Unlock()
		return nil, err
	}
	c.loginsInWin++
	c.mu.Unlock()

	creds, err := c.login(ctx)

	c.mu.Lock()
	defer c.mu.Unlock()
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

// login sends one /auth request.
func (c *Client) login(ctx context.Context) (*credentials, error) {
	form := url.Values{
		"tool":     {string(c.cfg.Tool)},
		"login":    {c.cfg.Login},
		"password": {c.cfg.Password},
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"auth", strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("auth: building request: %w", err)
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
	}, nil)
	if err != nil {
		return nil, err
	}
	return creds, nil
}

// volume sends one data request, gated by the Limiter.
func (c *Client) volume(ctx context.Context, path string, creds *credentials) (*VolumeResponse, error) {
	if c.cfg.Limiter != nil {
		if err := c.cfg.Limiter.Wait(ctx); err != nil {
			return nil, fmt.Errorf("waiting for the data budget: %w", err)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"volume/"+path, nil)
	if err != nil {
		if c.cfg.Limiter != nil {
			c.cfg.Limiter.Observe(unknownRateLimit, 0)
		}
		return nil, fmt.Errorf("building request: %w", err)
	}
	resp := &VolumeResponse{RateLimit: unknownRateLimit}
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
	}, func(rl RateLimit, code int) {
		resp.RateLimit = rl
		if c.cfg.Limiter != nil {
			c.cfg.Limiter.Observe(rl, code)
		}
	})
	if err != nil {
		return nil, err
	}
	return resp, nil
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

	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	code = resp.StatusCode
	rl = ParseRateLimit(resp.Header)
	if code != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		return &APIError{Endpoint: endpoint, StatusCode: code, Message: redact(errorMessage(body), secrets...), RateLimit: rl}
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

func (e *scrubbedError) Error() string { return redact(e.err.Error(), e.secrets...) }
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
