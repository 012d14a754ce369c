package voicetrends_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/voicetrends/voicetrends_exporter/internal/clock"
	"github.com/voicetrends/voicetrends_exporter/voicetrends"
	"github.com/voicetrends/voicetrends_exporter/voicetrends/simulator"
)

const (
	supportLogin = "demo-support"
	supportPass  = "demo-support-pass"
	supportPhone = "+18005550100"
)

// t0 starts a rate-limit window.
var t0 = time.Date(2024, 6, 12, 15, 0, 0, 0, time.UTC)

// seen is one request as the server received it.
type seen struct {
	method, path, auth, accept, agent, contentType string
	form                                           url.Values
}

// env is a simulator behind httptest, recording every request.
type env struct {
	sim *simulator.Simulator
	srv *httptest.Server
	clk *clock.Manual

	mu       sync.Mutex
	requests []seen
}

func newEnv(t *testing.T, now time.Time, opts simulator.Options) *env {
	t.Helper()
	e := &env{clk: clock.NewManual(now)}
	opts.Accounts = simulator.DemoAccounts()
	opts.Now = e.clk.Now
	opts.Seed = 3
	e.sim = simulator.New(opts)
	e.srv = httptest.NewServer(e.record(e.sim))
	t.Cleanup(e.srv.Close)
	return e
}

func (e *env) record(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(body))
		e.mu.Lock()
		e.requests = append(e.requests, seen{r.Method, r.URL.EscapedPath(), r.Header.Get("Authorization"),
			r.Header.Get("Accept"), r.Header.Get("User-Agent"), r.Header.Get("Content-Type"), form})
		e.mu.Unlock()
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		next.ServeHTTP(w, r)
	})
}

func (e *env) seen() []seen {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]seen(nil), e.requests...)
}

func (e *env) config() voicetrends.Config {
	ny, _ := time.LoadLocation("America/New_York")
	return voicetrends.Config{
		BaseURL:  e.srv.URL + "/",
		Tool:     voicetrends.ToolDev,
		Login:    supportLogin,
		Password: supportPass,
		Clock:    e.clk,
		Location: ny,
	}
}

func (e *env) client(t *testing.T, edit func(*voicetrends.Config)) *voicetrends.Client {
	t.Helper()
	cfg := e.config()
	if edit != nil {
		edit(&cfg)
	}
	c, err := voicetrends.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func date(y int, m time.Month, d int) voicetrends.Date {
	return voicetrends.Date{Year: y, Month: m, Day: d}
}

func oneDay(phone string) voicetrends.VolumeRequest {
	return voicetrends.VolumeRequest{Start: date(2024, 6, 10), End: date(2024, 6, 10), Period: voicetrends.PeriodDay, Phone: phone}
}

func sameBuckets(t *testing.T, got []voicetrends.Bucket, want []voicetrends.Bucket) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d buckets, want %d", len(got), len(want))
	}
	for i := range got {
		if !got[i].Start.Equal(want[i].Start) {
			t.Fatalf("bucket %d starts %v, want %v", i, got[i].Start, want[i].Start)
		}
		for _, f := range voicetrends.Figures {
			gv, gok := got[i].Get(f)
			wv, wok := want[i].Get(f)
			if gv != wv || gok != wok {
				t.Errorf("bucket %d %s = %v (present %v), want %v (present %v)", i, f.Key(), gv, gok, wv, wok)
			}
		}
	}
}

func TestNewValidates(t *testing.T) {
	tests := []struct {
		name string
		edit func(*voicetrends.Config)
		want string
	}{
		{"unknown tool", func(c *voicetrends.Config) { c.Tool = "voice" }, `unknown tool "voice": use dev, insight or fuseplus`},
		{"no tool", func(c *voicetrends.Config) { c.Tool = "" }, "unknown tool"},
		{"no login", func(c *voicetrends.Config) { c.Login = "" }, "empty login"},
		{"no password", func(c *voicetrends.Config) { c.Password = "" }, "empty password"},
		{"ftp", func(c *voicetrends.Config) { c.BaseURL = "ftp://voicetrends.plumvoice.com/api/" }, "is not an http(s) URL"},
		{"no host", func(c *voicetrends.Config) { c.BaseURL = "https:///api/" }, "has no host"},
		{"unparsable", func(c *voicetrends.Config) { c.BaseURL = "http://[::1" }, "is not an http(s) URL"},
		{"user info", func(c *voicetrends.Config) { c.BaseURL = "https://u:hunter2@voicetrends.plumvoice.com/api/" }, "must not contain user info"},
		{"query", func(c *voicetrends.Config) { c.BaseURL = "https://voicetrends.plumvoice.com/api/?x=1" }, "query"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := voicetrends.Config{Tool: voicetrends.ToolDev, Login: "l", Password: "p4ssw0rd"}
			tt.edit(&cfg)
			_, err := voicetrends.New(cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New() error %v, want %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "p4ssw0rd") {
				t.Errorf("error shows a secret: %v", err)
			}
		})
	}
}

func TestAuthenticate(t *testing.T) {
	e := newEnv(t, t0, simulator.Options{})
	c := e.client(t, func(c *voicetrends.Config) { c.BaseURL = e.srv.URL + "/api" }) // trailing slash added
	if len(e.seen()) != 0 {
		t.Fatal("New sent a request")
	}
	if err := c.Authenticate(context.Background()); err != nil {
		t.Fatal(err)
	}
	reqs := e.seen()
	want := url.Values{"tool": {"dev"}, "login": {supportLogin}, "password": {supportPass}}
	if len(reqs) != 1 || reqs[0].method != "POST" || reqs[0].path != "/api/auth" || reqs[0].auth != "" ||
		reqs[0].contentType != "application/x-www-form-urlencoded" || reqs[0].accept != "application/json" ||
		reqs[0].form.Encode() != want.Encode() {
		t.Fatalf("requests %+v", reqs)
	}
	if st := e.sim.Stats(supportLogin); st.AuthSucceeded != 1 {
		t.Errorf("stats %+v", st)
	}

	bad := e.client(t, func(c *voicetrends.Config) { c.Password = "wrong-password" })
	err := bad.Authenticate(context.Background())
	var apiErr *voicetrends.APIError
	if !voicetrends.IsUnauthorized(err) || !errors.As(err, &apiErr) || apiErr.Endpoint != voicetrends.EndpointAuth ||
		apiErr.Message != "invalid credentials or inactive account" || apiErr.RateLimit.Limit != 15 || apiErr.RateLimit.Remaining != 13 {
		t.Fatalf("error %v (%+v)", err, apiErr)
	}
	if strings.Contains(err.Error(), "wrong-password") {
		t.Errorf("error shows the password: %v", err)
	}
}

func TestVolumeMatchesSimulator(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	london, _ := time.LoadLocation("Europe/London")
	now := time.Date(2024, 7, 3, 0, 0, 20, 0, ny) // today's buckets have no calls yet
	tests := []struct {
		name   string
		login  string
		loc    *time.Location
		req    voicetrends.VolumeRequest
		path   string
		starts []voicetrends.Date
		faults simulator.Faults
	}{
		{"days of one number", supportLogin, ny,
			voicetrends.VolumeRequest{Start: date(2024, 6, 29), End: date(2024, 7, 3), Period: voicetrends.PeriodDay, Phone: supportPhone},
			"/volume/20240629/20240703/day/+18005550100",
			[]voicetrends.Date{date(2024, 6, 29), date(2024, 6, 30), date(2024, 7, 1), date(2024, 7, 2), date(2024, 7, 3)}, simulator.Faults{}},
		{"PHP quirks decode the same", supportLogin, ny,
			voicetrends.VolumeRequest{Start: date(2024, 6, 29), End: date(2024, 7, 3), Period: voicetrends.PeriodDay, Phone: supportPhone},
			"/volume/20240629/20240703/day/+18005550100",
			[]voicetrends.Date{date(2024, 6, 29), date(2024, 6, 30), date(2024, 7, 1), date(2024, 7, 2), date(2024, 7, 3)},
			simulator.Faults{EmptyAsArray: true, NumbersAsStrings: true}},
		{"weeks of ALL", supportLogin, ny,
			voicetrends.VolumeRequest{Start: date(2024, 6, 2), End: date(2024, 7, 3), Period: voicetrends.PeriodWeek, Phone: voicetrends.AllPhones},
			"/volume/20240602/20240703/week/ALL",
			[]voicetrends.Date{date(2024, 6, 2), date(2024, 6, 9), date(2024, 6, 16), date(2024, 6, 23), date(2024, 6, 30)}, simulator.Faults{}},
		{"months across DST in London", "demo-sales", london,
			voicetrends.VolumeRequest{Start: date(2024, 1, 1), End: date(2024, 6, 30), Period: voicetrends.PeriodMonth, Phone: "+442079460001"},
			"/volume/20240101/20240630/month/+442079460001",
			[]voicetrends.Date{date(2024, 1, 1), date(2024, 2, 1), date(2024, 3, 1), date(2024, 4, 1), date(2024, 5, 1), date(2024, 6, 1)}, simulator.Faults{}},
		{"only the future", supportLogin, ny,
			voicetrends.VolumeRequest{Start: date(2024, 7, 4), End: date(2024, 7, 9), Period: voicetrends.PeriodDay, Phone: voicetrends.AllPhones},
			"/volume/20240704/20240709/day/ALL", nil, simulator.Faults{EmptyAsArray: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, now, simulator.Options{})
			e.sim.SetFaults(tt.faults)
			c := e.client(t, func(c *voicetrends.Config) {
				c.Login, c.Location = tt.login, tt.loc
				c.Tool, c.Password = voicetrends.ToolDev, supportPass
				if tt.login == "demo-sales" {
					c.Tool, c.Password = voicetrends.ToolFusePlus, "demo-sales-pass"
				}
			})
			resp, err := c.Volume(context.Background(), tt.req)
			if err != nil {
				t.Fatal(err)
			}
			var want []voicetrends.Bucket
			for _, d := range tt.starts {
				want = append(want, e.sim.Bucket(tt.login, tt.req.Phone, tt.req.Period, d))
			}
			sameBuckets(t, resp.Buckets, want)
			for i, b := range resp.Buckets {
				if b.Start.Location() != tt.loc || !b.Start.Equal(tt.starts[i].Midnight(tt.loc)) || b.Start.Hour() != 0 {
					t.Errorf("bucket %d starts %v, want local midnight of %s", i, b.Start, tt.starts[i])
				}
			}
			if n := len(resp.Buckets); n > 0 && tt.req.Period == voicetrends.PeriodDay {
				last := resp.Buckets[n-1]
				if v, ok := last.Get(voicetrends.Calls); !ok || v != 0 || sent(last, voicetrends.TransferRate) || sent(last, voicetrends.AverageCallLength) {
					t.Errorf("today: calls %v (present %v), rates present %v: want 0 calls and absent rates", v, ok, sent(last, voicetrends.TransferRate))
				}
			}
			if rl := resp.RateLimit; rl.Limit != 150 || rl.Remaining != 149 || !rl.Reset.Equal(time.Date(2024, 7, 3, 4, 15, 0, 0, time.UTC)) {
				t.Errorf("rate limit %+v", rl)
			}
			reqs := e.seen()
			if len(reqs) != 2 {
				t.Fatalf("%d requests, want auth and volume", len(reqs))
			}
			v := reqs[1]
			user, pass, _ := (&http.Request{Header: http.Header{"Authorization": {v.auth}}}).BasicAuth()
			hex32 := regexp.MustCompile(`^[0-9a-f]{32}$`)
			if v.method != "GET" || v.path != tt.path || v.accept != "application/json" || !hex32.MatchString(user) || !hex32.MatchString(pass) {
				t.Errorf("request %+v (basic %q)", v, user)
			}
		})
	}
}

func TestVolumeErrors(t *testing.T) {
	reset := t0.Add(15 * time.Minute)
	tests := []struct {
		name       string
		faults     simulator.Faults
		phone      string
		check      func(error) bool
		message    string
		status     int
		rl         voicetrends.RateLimit
		auths      int // logins the call cost
		dataServed int // requests the server saw on /volume
	}{
		{"another account's phone", simulator.Faults{}, "+442079460000", voicetrends.IsBadRequest,
			`phone "+442079460000" is not a number of this account`, 400, voicetrends.RateLimit{Limit: 150, Remaining: 149, Reset: reset}, 1, 1},
		{"rate limited", simulator.Faults{Force429: true}, supportPhone, func(err error) bool { r, ok := voicetrends.IsRateLimited(err); return ok && r.Equal(reset) },
			"rate limit exceeded", 429, voicetrends.RateLimit{Limit: 150, Remaining: 0, Reset: reset}, 1, 1},
		{"server error", simulator.Faults{ServerErrorRate: 1}, supportPhone, isServerError,
			"unknown error", 500, voicetrends.RateLimit{Limit: 150, Remaining: 149, Reset: reset}, 1, 1},
		{"HTML from a proxy", simulator.Faults{BadGatewayRate: 1}, supportPhone, isServerError,
			"unexpected body: 502 Bad Gateway 502 Bad Gateway", 502, voicetrends.RateLimit{Limit: -1, Remaining: -1}, 1, 1},
		// Credentials the API has not accepted yet are refused: that is the
		// API refusing the account, not an expiry, so no second login.
		{"refused fresh credentials", simulator.Faults{Force401: true}, supportPhone, voicetrends.IsUnauthorized,
			"invalid or expired credentials", 401, voicetrends.RateLimit{Limit: 150, Remaining: 150, Reset: reset}, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, t0.Add(time.Minute), simulator.Options{})
			c := e.client(t, nil)
			if err := c.Authenticate(context.Background()); err != nil {
				t.Fatal(err)
			}
			e.sim.SetFaults(tt.faults)
			before := len(e.seen())
			_, err := c.Volume(context.Background(), oneDay(tt.phone))
			if !tt.check(err) {
				t.Fatalf("error %v fails the check", err)
			}
			var apiErr *voicetrends.APIError
			if !errors.As(err, &apiErr) || apiErr.StatusCode != tt.status || apiErr.Message != tt.message || apiErr.Endpoint != voicetrends.EndpointVolume {
				t.Fatalf("error %#v, want %d %q", apiErr, tt.status, tt.message)
			}
			if rl := apiErr.RateLimit; rl.Limit != tt.rl.Limit || rl.Remaining != tt.rl.Remaining || !rl.Reset.Equal(tt.rl.Reset) {
				t.Errorf("rate limit %+v, want %+v", rl, tt.rl)
			}
			if !strings.HasPrefix(err.Error(), "voicetrends: volume 20240610/20240610/day/") {
				t.Errorf("error lacks context: %v", err)
			}
			auths, data := 0, 0
			for _, r := range e.seen()[before:] {
				if r.path == "/auth" {
					auths++
				} else {
					data++
				}
			}
			wantAuths, wantData := tt.auths-1, tt.dataServed
			if auths != wantAuths || data != wantData {
				t.Errorf("%d logins and %d data requests, want %d and %d", auths, data, wantAuths, wantData)
			}
		})
	}

	t.Run("malformed body", func(t *testing.T) {
		e := newEnv(t, t0, simulator.Options{})
		e.sim.SetFaults(simulator.Faults{MalformedRate: 1})
		_, err := e.client(t, nil).Volume(context.Background(), oneDay(supportPhone))
		var apiErr *voicetrends.APIError
		if err == nil || errors.As(err, &apiErr) || !strings.Contains(err.Error(), `field "calls"`) && !strings.Contains(err.Error(), "not valid JSON") {
			t.Fatalf("error %v, want a decode error", err)
		}
	})
}

func TestRateLimitWindows(t *testing.T) {
	e := newEnv(t, t0.Add(2*time.Minute), simulator.Options{})
	c := e.client(t, nil)
	ctx := context.Background()
	windows := []struct {
		other int // another client's spending
		ok    int
	}{{0, 150}, {0, 150}, {100, 50}}
	for w, win := range windows {
		start := t0.Add(time.Duration(w) * 15 * time.Minute)
		reset := start.Add(15 * time.Minute)
		e.clk.Set(start.Add(2 * time.Minute))
		e.sim.SetFaults(simulator.Faults{OtherClientPerWindow: win.other})
		ok, limited := 0, 0
		for i := range win.ok + 10 {
			e.clk.Advance(time.Second) // requests spread through the window
			resp, err := c.Volume(ctx, oneDay(supportPhone))
			if err == nil {
				ok++
				if want := win.ok - ok; resp.RateLimit.Remaining != want || resp.RateLimit.Limit != 150 || !resp.RateLimit.Reset.Equal(reset) {
					t.Fatalf("window %d request %d: %+v, want %d remaining, reset %v", w, i, resp.RateLimit, want, reset)
				}
				continue
			}
			r, isRL := voicetrends.IsRateLimited(err)
			if !isRL || !r.Equal(reset) || i < win.ok {
				t.Fatalf("window %d request %d: %v (reset %v), want a 429 resetting at %v only after %d", w, i, err, r, reset, win.ok)
			}
			limited++
		}
		if ok != win.ok || limited != 10 {
			t.Fatalf("window %d: %d ok and %d limited, want %d and 10", w, ok, limited, win.ok)
		}
	}
	st := e.sim.Stats(supportLogin)
	for w, win := range windows {
		if got := st.DataServed[t0.Add(time.Duration(w)*15*time.Minute)]; got != win.ok {
			t.Errorf("window %d: simulator served %d", w, got)
		}
	}
	if st.AuthRequests != 1 || st.DataRateLimited != 30 {
		t.Errorf("stats %+v: want one login and 30 refusals", st)
	}
}

func TestCredentialLifecycle(t *testing.T) {
	ctx := context.Background()
	t.Run("lazy and reused", func(t *testing.T) {
		e := newEnv(t, t0, simulator.Options{})
		c := e.client(t, nil)
		if st := e.sim.Stats(supportLogin); st.AuthRequests != 0 {
			t.Fatalf("login before any request: %+v", st)
		}
		for range 5 {
			e.clk.Advance(time.Hour)
			if _, err := c.Volume(ctx, oneDay(supportPhone)); err != nil {
				t.Fatal(err)
			}
		}
		if st := e.sim.Stats(supportLogin); st.AuthRequests != 1 || st.DataRequests != 5 {
			t.Fatalf("stats %+v, want 1 login for 5 requests", st)
		}
	})
	t.Run("renewed after 24 hours", func(t *testing.T) {
		e := newEnv(t, t0, simulator.Options{})
		c := e.client(t, nil)
		steps := []struct {
			advance time.Duration
			auths   int
		}{{0, 1}, {23*time.Hour + 59*time.Minute, 1}, {time.Minute, 2}, {time.Hour, 2}}
		for _, s := range steps {
			e.clk.Advance(s.advance)
			if _, err := c.Volume(ctx, oneDay(supportPhone)); err != nil {
				t.Fatal(err)
			}
			if st := e.sim.Stats(supportLogin); st.AuthRequests != s.auths || st.Unauthorized != 0 {
				t.Fatalf("after %v: %+v, want %d logins and no 401", s.advance, st, s.auths)
			}
		}
	})
	t.Run("expired credential costs exactly one re-login", func(t *testing.T) {
		e := newEnv(t, t0, simulator.Options{CredentialTTL: time.Hour})
		limiter := &countingLimiter{}
		c := e.client(t, func(c *voicetrends.Config) { c.Limiter = limiter })
		if _, err := c.Volume(ctx, oneDay(supportPhone)); err != nil {
			t.Fatal(err)
		}
		e.clk.Advance(2 * time.Hour) // the server forgot the credentials; the client cannot know
		resp, err := c.Volume(ctx, oneDay(supportPhone))
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Buckets) != 1 || !sent(resp.Buckets[0], voicetrends.Calls) {
			t.Fatalf("buckets %+v", resp.Buckets)
		}
		if st := e.sim.Stats(supportLogin); st.AuthRequests != 2 || st.Unauthorized != 1 || st.DataRequests != 2 {
			t.Fatalf("stats %+v, want 2 logins, 1 expiry, 2 served", st)
		}
		if w, codes := limiter.get(); w != 3 || fmt.Sprint(codes) != "[200 401 200]" {
			t.Fatalf("limiter saw %d waits, codes %v; want the retry gated too", w, codes)
		}
	})
	t.Run("concurrent callers share one login", func(t *testing.T) {
		e := newEnv(t, t0, simulator.Options{})
		c := e.client(t, nil)
		var wg sync.WaitGroup
		errs := make(chan error, 16)
		for range 16 {
			wg.Go(func() {
				if _, err := c.Volume(ctx, oneDay(voicetrends.AllPhones)); err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if st := e.sim.Stats(supportLogin); st.AuthRequests != 1 || st.DataRequests != 16 {
			t.Fatalf("stats %+v, want 1 login", st)
		}
	})
}

func TestLoginBackoff(t *testing.T) {
	e := newEnv(t, t0, simulator.Options{AuthLimit: 1000})
	c := e.client(t, func(c *voicetrends.Config) { c.Password = "wrong-password" })
	ctx := context.Background()

	_, err := c.Volume(ctx, oneDay(supportPhone))
	if !voicetrends.IsUnauthorized(err) {
		t.Fatalf("error %v, want the login's 401", err)
	}
	attempts := 1
	for _, delay := range []time.Duration{5, 10, 20, 40, 80, 160, 320, 640, 900, 900} {
		delay *= time.Second
		// Until the delay has passed, no request is sent and nothing blocks.
		_, err := c.Volume(ctx, oneDay(supportPhone))
		until, ok := voicetrends.NextLogin(err)
		if !ok || !until.Equal(e.clk.Now().Add(delay)) {
			t.Fatalf("after %d failures: %v, want a login deferred by %v", attempts, err, delay)
		}
		if !voicetrends.IsUnauthorized(err) || !strings.Contains(err.Error(), "last login error: auth: HTTP 401 Unauthorized: invalid credentials") ||
			!strings.Contains(err.Error(), until.UTC().Format(time.RFC3339)) {
			t.Fatalf("error %q lacks the time or the last error", err)
		}
		e.clk.Advance(delay - time.Second)
		if err := c.Authenticate(ctx); err == nil {
			t.Fatal("login succeeded")
		} else if _, ok := voicetrends.NextLogin(err); !ok {
			t.Fatalf("a second early: %v", err)
		}
		if st := e.sim.Stats(supportLogin); st.AuthRequests != attempts {
			t.Fatalf("%d logins sent, want %d", st.AuthRequests, attempts)
		}
		e.clk.Advance(time.Second)
		if err := c.Authenticate(ctx); !voicetrends.IsUnauthorized(err) {
			t.Fatalf("error %v", err)
		} else if _, deferred := voicetrends.NextLogin(err); deferred {
			t.Fatalf("still deferred at the promised time: %v", err)
		}
		attempts++
	}
	if st := e.sim.Stats(supportLogin); st.AuthRequests != attempts || st.DataRequests != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestLoginLimit(t *testing.T) {
	ctx := context.Background()
	t.Run("own budget", func(t *testing.T) {
		e := newEnv(t, t0.Add(time.Minute), simulator.Options{AuthLimit: 100})
		c := e.client(t, func(c *voicetrends.Config) { c.AuthLimit, c.AuthWindow = 3, 10*time.Minute })
		for i := range 3 {
			if err := c.Authenticate(ctx); err != nil {
				t.Fatalf("login %d: %v", i, err)
			}
		}
		err := c.Authenticate(ctx)
		if until, ok := voicetrends.NextLogin(err); !ok || !until.Equal(t0.Add(10*time.Minute)) || !strings.Contains(err.Error(), "3 of 3 logins spent by this client's count in its 10m0s window") {
			t.Fatalf("4th login: %v", err)
		}
		// Volume still works with the credentials it has.
		if _, err := c.Volume(ctx, oneDay(supportPhone)); err != nil {
			t.Fatal(err)
		}
		e.clk.Set(t0.Add(10 * time.Minute))
		if err := c.Authenticate(ctx); err != nil {
			t.Fatalf("next window: %v", err)
		}
		if st := e.sim.Stats(supportLogin); st.AuthRequests != 4 {
			t.Fatalf("stats %+v", st)
		}
	})
	t.Run("server says 429", func(t *testing.T) {
		e := newEnv(t, t0.Add(time.Minute), simulator.Options{AuthLimit: 2})
		other := e.client(t, nil) // another client of the account spends the logins
		for range 2 {
			if err := other.Authenticate(ctx); err != nil {
				t.Fatal(err)
			}
		}
		c := e.client(t, nil)
		err := c.Authenticate(ctx)
		if reset, ok := voicetrends.IsRateLimited(err); !ok || !reset.Equal(t0.Add(15*time.Minute)) {
			t.Fatalf("error %v", err)
		}
		err = c.Authenticate(ctx)
		if until, ok := voicetrends.NextLogin(err); !ok || !until.Equal(t0.Add(15*time.Minute)) {
			t.Fatalf("error %v, want a login deferred to the reset", err)
		}
		if st := e.sim.Stats(supportLogin); st.AuthRequests != 3 {
			t.Fatalf("stats %+v", st)
		}
	})
}

func TestSafeRequests(t *testing.T) {
	e := newEnv(t, t0, simulator.Options{})
	c := e.client(t, nil)
	good := oneDay(supportPhone)
	tests := []struct {
		name string
		edit func(*voicetrends.VolumeRequest)
		want string
	}{
		{"path traversal", func(r *voicetrends.VolumeRequest) { r.Phone = "../auth" }, `invalid phone "../auth"`},
		{"slash", func(r *voicetrends.VolumeRequest) { r.Phone = "1/2" }, "invalid phone"},
		{"escaped dots", func(r *voicetrends.VolumeRequest) { r.Phone = "%2e%2e" }, "invalid phone"},
		{"space", func(r *voicetrends.VolumeRequest) { r.Phone = "+1 800" }, "invalid phone"},
		{"empty phone", func(r *voicetrends.VolumeRequest) { r.Phone = "" }, "invalid phone"},
		{"plus only", func(r *voicetrends.VolumeRequest) { r.Phone = "+" }, "invalid phone"},
		{"lower-case all", func(r *voicetrends.VolumeRequest) { r.Phone = "all" }, "invalid phone"},
		{"ALL with suffix", func(r *voicetrends.VolumeRequest) { r.Phone = "ALL/x" }, "invalid phone"},
		{"unknown period", func(r *voicetrends.VolumeRequest) { r.Period = "year" }, `unknown period "year": use day, week or month`},
		{"upper-case period", func(r *voicetrends.VolumeRequest) { r.Period = "DAY" }, "unknown period"},
		{"zero date", func(r *voicetrends.VolumeRequest) { r.Start = voicetrends.Date{} }, "invalid start date"},
		{"30 February", func(r *voicetrends.VolumeRequest) { r.End = date(2024, 2, 30) }, "invalid end date 2024-02-30"},
		{"start after end", func(r *voicetrends.VolumeRequest) { r.Start = date(2024, 6, 11) }, "start date 20240611 is after end date 20240610"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := good
			tt.edit(&req)
			_, err := c.Volume(context.Background(), req)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
		})
	}
	if n := len(e.seen()); n != 0 {
		t.Fatalf("%d requests sent for invalid input", n)
	}
}

func TestHTTPBehaviour(t *testing.T) {
	ctx := context.Background()
	t.Run("user agent", func(t *testing.T) {
		e := newEnv(t, t0, simulator.Options{})
		if _, err := e.client(t, nil).Volume(ctx, oneDay(supportPhone)); err != nil {
			t.Fatal(err)
		}
		if err := e.client(t, func(c *voicetrends.Config) { c.UserAgent = "custom/1" }).Authenticate(ctx); err != nil {
			t.Fatal(err)
		}
		reqs := e.seen()
		if len(reqs) != 3 || reqs[0].agent != voicetrends.DefaultUserAgent() || reqs[1].agent != reqs[0].agent || reqs[2].agent != "custom/1" ||
			!strings.HasPrefix(reqs[0].agent, "voicetrends_exporter/") {
			t.Fatalf("agents %q %q %q", reqs[0].agent, reqs[1].agent, reqs[2].agent)
		}
	})
	t.Run("timeout and cancellation", func(t *testing.T) {
		e := newEnv(t, t0, simulator.Options{})
		limiter := &countingLimiter{}
		c := e.client(t, func(c *voicetrends.Config) { c.Timeout = 50 * time.Millisecond; c.Limiter = limiter })
		if err := c.Authenticate(ctx); err != nil {
			t.Fatal(err)
		}
		e.sim.SetFaults(simulator.Faults{Latency: time.Hour})
		if _, err := c.Volume(ctx, oneDay(supportPhone)); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("error %v, want the per-request timeout", err)
		}
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := c.Volume(cctx, oneDay(supportPhone)); !errors.Is(err, context.Canceled) {
			t.Fatalf("error %v, want the cancellation", err)
		}
		// The limiter is asked for both (this one ignores ctx); both report no response.
		if w, codes := limiter.get(); w != 2 || fmt.Sprint(codes) != "[0 0]" {
			t.Fatalf("limiter: %d waits, codes %v", w, codes)
		}
	})
	t.Run("TLS is verified", func(t *testing.T) {
		e := newEnv(t, t0, simulator.Options{})
		tlsSrv := httptest.NewUnstartedServer(e.sim)
		tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is expected
		tlsSrv.StartTLS()
		defer tlsSrv.Close()
		err := e.client(t, func(c *voicetrends.Config) { c.BaseURL = tlsSrv.URL }).Authenticate(ctx)
		if err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Fatalf("error %v, want a certificate error", err)
		}
		if err := e.client(t, func(c *voicetrends.Config) { c.BaseURL, c.HTTPClient = tlsSrv.URL, tlsSrv.Client() }).Authenticate(ctx); err != nil {
			t.Fatalf("with the test CA: %v", err)
		}
	})
	t.Run("proxy from the environment", func(t *testing.T) {
		e := newEnv(t, t0, simulator.Options{})
		var mu sync.Mutex
		var hosts []string
		proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			hosts = append(hosts, r.URL.Host)
			mu.Unlock()
			e.sim.ServeHTTP(w, r)
		}))
		defer proxy.Close()
		t.Setenv("HTTP_PROXY", proxy.URL)
		t.Setenv("http_proxy", proxy.URL)
		t.Setenv("NO_PROXY", "")
		t.Setenv("no_proxy", "")
		c := e.client(t, func(c *voicetrends.Config) { c.BaseURL = "http://voicetrends.invalid/api/" })
		if _, err := c.Volume(ctx, oneDay(supportPhone)); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		defer mu.Unlock()
		if fmt.Sprint(hosts) != "[voicetrends.invalid voicetrends.invalid]" {
			t.Fatalf("proxy saw %v", hosts)
		}
	})
}

type observed struct {
	endpoint string
	code     int
}

type recordingObserver struct {
	mu    sync.Mutex
	calls []observed
	rls   []voicetrends.RateLimit
}

func (o *recordingObserver) ObserveRequest(endpoint string, code int, d time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.calls = append(o.calls, observed{endpoint, code})
}

func (o *recordingObserver) ObserveRateLimit(endpoint string, rl voicetrends.RateLimit) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.rls = append(o.rls, rl)
}

type countingLimiter struct {
	mu    sync.Mutex
	waits int
	codes []int
	err   error
}

func (l *countingLimiter) Wait(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.waits++
	return l.err
}

func (l *countingLimiter) Observe(rl voicetrends.RateLimit, code int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.codes = append(l.codes, code)
}

func (l *countingLimiter) get() (int, []int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.waits, append([]int(nil), l.codes...)
}

func TestObserverAndLimiter(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, t0.Add(3*time.Minute), simulator.Options{})
	obs := &recordingObserver{}
	lim := &countingLimiter{}
	c := e.client(t, func(c *voicetrends.Config) { c.Observer, c.Limiter = obs, lim })
	if _, err := c.Volume(ctx, oneDay(supportPhone)); err != nil {
		t.Fatal(err)
	}
	e.sim.SetFaults(simulator.Faults{Force401: true})
	if _, err := c.Volume(ctx, oneDay(supportPhone)); !voicetrends.IsUnauthorized(err) {
		t.Fatal(err)
	}
	reset := t0.Add(15 * time.Minute)
	wantCalls := "[{auth 200} {volume 200} {volume 401} {auth 200} {volume 401}]"
	wantRLs := fmt.Sprint([]voicetrends.RateLimit{{Limit: 15, Remaining: 14, Reset: reset}, {Limit: 150, Remaining: 149, Reset: reset},
		{Limit: 150, Remaining: 149, Reset: reset}, {Limit: 15, Remaining: 13, Reset: reset}, {Limit: 150, Remaining: 149, Reset: reset}})
	obs.mu.Lock()
	if fmt.Sprint(obs.calls) != wantCalls || fmt.Sprint(obs.rls) != wantRLs {
		t.Errorf("observed %v\n%v\nwant %v\n%v", obs.calls, obs.rls, wantCalls, wantRLs)
	}
	obs.mu.Unlock()
	if w, codes := lim.get(); w != 3 || fmt.Sprint(codes) != "[200 401 401]" {
		t.Errorf("limiter: %d waits, codes %v", w, codes)
	}

	// A limiter that refuses stops the request before it is sent.
	e.sim.SetFaults(simulator.Faults{})
	e.clk.Advance(time.Minute) // past the backoff after the refused fresh credentials
	before := len(e.seen())
	lim.err = errors.New("budget spent")
	if _, err := c.Volume(ctx, oneDay(supportPhone)); err == nil || !strings.Contains(err.Error(), "budget spent") {
		t.Fatalf("error %v", err)
	}
	if n := len(e.seen()) - before; n != 0 { // the refused credentials are tried again: no login
		t.Fatalf("%d requests sent past a refusing limiter", n)
	}

	// No response at all: code 0 and no rate-limit report.
	lim.err = nil
	e.srv.Close()
	obs.mu.Lock()
	obs.calls, obs.rls = nil, nil
	obs.mu.Unlock()
	if _, err := c.Volume(ctx, oneDay(supportPhone)); err == nil {
		t.Fatal("no error from a closed server")
	}
	obs.mu.Lock()
	defer obs.mu.Unlock()
	if fmt.Sprint(obs.calls) != "[{volume 0}]" || len(obs.rls) != 0 {
		t.Errorf("observed %v %v", obs.calls, obs.rls)
	}
}

// TestNoSecretInErrors drives every failure and checks that no error text,
// nor the printed Config and Client, holds the password, the temporary
// credentials or an Authorization value.
func TestNoSecretInErrors(t *testing.T) {
	const tempLogin, tempPass = "57b264aa1b794ff89d4effaafdf5e4b0", "25d421b1ee6c44daa2d34808e9466f5c"
	token := base64.StdEncoding.EncodeToString([]byte(tempLogin + ":" + tempPass))
	// A hostile or broken server that echoes everything it gets.
	mode := "json"
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		m := mode
		mu.Unlock()
		if r.URL.Path == "/auth" && m != "auth-echo" {
			fmt.Fprintf(w, `{"login":%q,"password":%q}`, tempLogin, tempPass)
			return
		}
		echo := fmt.Sprintf("Authorization: %s; body %s; path %s", r.Header.Get("Authorization"), body, r.URL.Path)
		switch m {
		case "html":
			w.WriteHeader(502)
			fmt.Fprintf(w, "<html><body><pre>%s</pre></body></html>", echo)
		case "json", "auth-echo":
			w.WriteHeader(401)
			fmt.Fprintf(w, `{"error":%q}`, echo)
		case "decode":
			fmt.Fprintf(w, `{"calls":{%q:1}}`, tempPass)
		case "login-json":
			fmt.Fprintf(w, `{"calls":{"1":%q}}`, tempLogin)
		}
	}))
	defer srv.Close()

	clk := clock.NewManual(t0)
	cfg := voicetrends.Config{BaseURL: srv.URL, Tool: voicetrends.ToolInsight, Login: "acme", Password: "S3cr3t-Passw0rd", Clock: clk}
	c, err := voicetrends.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, m := range []string{"html", "json", "decode", "login-json", "auth-echo"} {
		mu.Lock()
		mode = m
		mu.Unlock()
		if m == "auth-echo" {
			if err := c.Authenticate(context.Background()); err == nil {
				t.Fatal("no error")
			} else {
				texts = append(texts, err.Error())
			}
			// Backing off now: the deferral quotes the last error.
			_, err = c.Volume(context.Background(), oneDay("ALL"))
		} else {
			_, err = c.Volume(context.Background(), oneDay("ALL"))
		}
		if err == nil {
			t.Fatalf("%s: no error", m)
		}
		texts = append(texts, err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", errors.Unwrap(err)))
	}
	texts = append(texts, fmt.Sprint(cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg), fmt.Sprintf("%v", &cfg),
		fmt.Sprint(c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c))
	header := regexp.MustCompile(`Basic [A-Za-z0-9+/=]{8,}`)
	for _, text := range texts {
		for _, secret := range []string{cfg.Password, tempLogin, tempPass, token} {
			if strings.Contains(text, secret) {
				t.Errorf("%q shows %q", text, secret)
			}
		}
		if header.MatchString(text) {
			t.Errorf("%q shows an Authorization value", text)
		}
	}
	if !strings.Contains(texts[0], "HTTP 502") || !strings.Contains(texts[0], voicetrends.SecretPlaceholder) {
		t.Errorf("error %q, want a readable, redacted snippet", texts[0])
	}
}

// A 401 on credentials the API has never accepted is the API refusing the
// account, not an expiry: no login for it, and a capped exponential
// backoff during which nothing is sent.
func TestRefusedCredentialsBackOff(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, t0, simulator.Options{})
	c := e.client(t, nil)
	if _, err := c.Volume(ctx, oneDay(supportPhone)); err != nil {
		t.Fatal(err)
	}
	e.sim.SetFaults(simulator.Faults{Force401: true})
	// Accepted credentials refused: they expired, so one login and one retry, which is refused too.
	if _, err := c.Volume(ctx, oneDay(supportPhone)); !voicetrends.IsUnauthorized(err) {
		t.Fatalf("error %v, want a 401", err)
	}
	if st := e.sim.Stats(supportLogin); st.AuthRequests != 2 || st.Unauthorized != 2 {
		t.Fatalf("stats %+v, want 2 logins and 2 refusals", st)
	}
	var delays []time.Duration
	for e.clk.Now().Before(t0.Add(90 * time.Second)) {
		sent := len(e.seen())
		_, err := c.Volume(ctx, oneDay(supportPhone))
		until, held := voicetrends.NextLogin(err)
		if !held || !voicetrends.IsUnauthorized(err) || !strings.Contains(err.Error(), "refused fresh credentials") {
			t.Fatalf("error %v, want a hold that names the refusal", err)
		}
		if n := len(e.seen()) - sent; n != 0 {
			t.Fatalf("%d requests sent during the hold", n)
		}
		delays = append(delays, until.Sub(e.clk.Now()))
		e.clk.Set(until)
		if _, err := c.Volume(ctx, oneDay(supportPhone)); !voicetrends.IsUnauthorized(err) {
			t.Fatalf("error %v, want the 401 of the retry", err)
		}
	}
	if got := fmt.Sprint(delays); got != "[1s 2s 4s 8s 10s 10s 10s 10s 10s 10s 10s 10s]" {
		t.Errorf("holds %s, want doubling from 1s, capped at 10s", got)
	}
	if st := e.sim.Stats(supportLogin); st.AuthRequests != 2 {
		t.Errorf("%d logins during 90 s of refusals, want still 2", st.AuthRequests)
	}
	// Refused for two minutes since the last login: the credentials may
	// themselves be dead, so the streak logs in once more.
	for e.clk.Now().Before(t0.Add(3 * time.Minute)) {
		_, err := c.Volume(ctx, oneDay(supportPhone))
		if until, held := voicetrends.NextLogin(err); held {
			e.clk.Set(until)
		}
	}
	if st := e.sim.Stats(supportLogin); st.AuthRequests != 3 {
		t.Errorf("%d logins after 3 minutes of refusals, want 3", st.AuthRequests)
	}
	// The API answers again: the next attempt after the hold succeeds, with no extra login.
	e.sim.SetFaults(simulator.Faults{})
	e.clk.Advance(10 * time.Second)
	if _, err := c.Volume(ctx, oneDay(supportPhone)); err != nil {
		t.Fatalf("after the storm: %v", err)
	}
	if st := e.sim.Stats(supportLogin); st.AuthRequests != 3 {
		t.Errorf("%d logins, want no new one after the storm", st.AuthRequests)
	}
}

// Logins that replace expired or refused credentials leave a reserve for
// the account's other clients and for recovery; ordinary logins leave the
// other clients' share only.
func TestLoginReserves(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, t0, simulator.Options{CredentialUses: 1, AuthLimit: 100})
	c := e.client(t, nil) // 15 logins per 15 minutes: 3 for others, 5 more for recovery
	for i := range 6 {
		if _, err := c.Volume(ctx, oneDay(supportPhone)); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	if st := e.sim.Stats(supportLogin); st.AuthRequests != 6 {
		t.Fatalf("%d logins, want 6", st.AuthRequests)
	}
	_, err := c.Volume(ctx, oneDay(supportPhone)) // the 7th re-login is fine
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Volume(ctx, oneDay(supportPhone))
	if until, ok := voicetrends.NextLogin(err); !ok || !until.Equal(t0.Add(15*time.Minute)) || !strings.Contains(err.Error(), "7 of 15 logins spent") ||
		!strings.Contains(err.Error(), "kept for other clients and for recovery") {
		t.Fatalf("8th re-login: %v, want it deferred to the window's end", err)
	}
	// An ordinary login may still use the recovery share, not the others'.
	for i := range 5 {
		if err := c.Authenticate(ctx); err != nil {
			t.Fatalf("ordinary login %d: %v", i, err)
		}
	}
	if err := c.Authenticate(ctx); !strings.Contains(fmt.Sprint(err), "12 of 15 logins spent") {
		t.Fatalf("13th login: %v, want it deferred", err)
	}
	if st := e.sim.Stats(supportLogin); st.AuthRequests != 12 || st.AuthRateLimited != 0 {
		t.Errorf("stats %+v, want 12 logins", st)
	}
}

// The auth response's X-RateLimit-* headers correct the login count: a
// lower limit, or logins spent by the account's other clients, defer the
// next login instead of meeting a 429.
func TestLoginCountFromHeaders(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, t0.Add(time.Minute), simulator.Options{AuthLimit: 5})
	other := e.client(t, nil)
	for range 2 {
		if err := other.Authenticate(ctx); err != nil {
			t.Fatal(err)
		}
	}
	c := e.client(t, nil) // believes in 15 logins per window
	for i := range 2 {    // the API says 5, 2 already spent: 1 stays for others, so 2 more
		if err := c.Authenticate(ctx); err != nil {
			t.Fatalf("login %d: %v", i, err)
		}
	}
	err := c.Authenticate(ctx)
	if until, ok := voicetrends.NextLogin(err); !ok || !until.Equal(t0.Add(15*time.Minute)) || !strings.Contains(err.Error(), "4 of 5 logins spent by the API's count") {
		t.Fatalf("3rd login: %v, want it deferred to the API's reset", err)
	}
	if st := e.sim.Stats(supportLogin); st.AuthRequests != 4 || st.AuthRateLimited != 0 {
		t.Errorf("stats %+v, want 4 logins and no 429", st)
	}
	e.clk.Set(t0.Add(15 * time.Minute))
	if err := c.Authenticate(ctx); err != nil {
		t.Fatalf("after the reset: %v", err)
	}
}

// sent reports whether the API sent figure f in b.
func sent(b voicetrends.Bucket, f voicetrends.Figure) bool {
	_, ok := b.Get(f)
	return ok
}

// isServerError reports whether err carries a 5xx answer.
func isServerError(err error) bool {
	var e *voicetrends.APIError
	return errors.As(err, &e) && e.StatusCode >= 500 && e.StatusCode <= 599
}
