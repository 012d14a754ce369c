package voicetrends

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	promconfig "github.com/prometheus/common/config"
	"github.com/prometheus/common/version"

	"github.com/voicetrends/voicetrends_exporter/internal/clock"
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
	BaseURL    string        // default DefaultBaseURL; a missing trailing slash is added
	Tool       Tool          // dev, insight or fuseplus
	Login      string        // the account's login for Tool
	Password   string        // the account's password; secret
	HTTPClient *http.Client  // default: prometheus/common/config defaults with the proxy from the environment, TLS verification on
	UserAgent  string        // default "voicetrends_exporter/<version>"
	Timeout    time.Duration // per HTTP request, body included; default DefaultTimeout
	Clock      clock.Clock   // the clock for credential age, login windows and backoff; default the wall clock
	Observer   Observer      // optional: told of every exchange
	Limiter    DataLimiter   // optional: Wait before every data request, retries included; Observe after each
	APIClock   *APIClock     // optional: learns the API's clock from every answer of the API, logins included
	AuthLimit  int           // the API's logins per AuthWindow, of which a fifth is left to the account's other clients; default DefaultAuthLimit
	AuthWindow time.Duration // the window logins are counted in (the account's window); default DefaultAuthWindow, aligned to multiples of itself since the Unix epoch
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

// Client talks to the VoiceTrends API for one account. It logs in lazily,
// reuses the temporary credentials, and is safe for concurrent use.
type Client struct {
	cfg      Config // defaults applied
	base     string // parsed and normalised, ends in "/"
	http     *http.Client
	loginSem chan struct{} // one login at a time

	logins *logins // the login state: credentials, counts, backoff
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
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
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
	logins := &logins{clock: cfg.Clock, limit: cfg.AuthLimit, window: cfg.AuthWindow}
	return &Client{cfg: cfg, base: base, http: hc, loginSem: make(chan struct{}, 1), logins: logins}, nil
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
	creds, err := c.credentials(ctx, nil)
	if err != nil {
		return nil, wrap(err)
	}
	resp, code, err := c.volume(ctx, path, creds)
	if !c.logins.verdict(creds, code, err) {
		if err != nil {
			return nil, wrap(err)
		}
		return resp, nil
	}
	// The credentials had worked, so they expired or were revoked early: one fresh login, one retry.
	creds, lerr := c.credentials(ctx, creds)
	if lerr != nil {
		return nil, wrap(fmt.Errorf("after %v: %w", err, lerr))
	}
	resp, code, err = c.volume(ctx, path, creds)
	c.logins.verdict(creds, code, err)
	if err != nil {
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
