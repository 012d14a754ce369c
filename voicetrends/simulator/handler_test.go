package simulator

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/voicetrends/voicetrends_exporter/voicetrends"
)

// t0 is a quarter-hour boundary: the start of a rate-limit window.
var t0 = time.Date(2024, 6, 12, 15, 0, 0, 0, time.UTC)

type answer struct {
	code   int
	header http.Header
	body   []byte
}

func (a answer) errorText(t *testing.T) string {
	t.Helper()
	var e struct{ Error string }
	if err := json.Unmarshal(a.body, &e); err != nil || e.Error == "" {
		t.Fatalf("body %q is not an error object", a.body)
	}
	return e.Error
}

func do(t *testing.T, h http.Handler, method, target string, body io.Reader, prepare func(*http.Request)) answer {
	t.Helper()
	r := httptest.NewRequest(method, target, body)
	if prepare != nil {
		prepare(r)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	b, _ := io.ReadAll(w.Result().Body)
	return answer{w.Code, w.Result().Header, b}
}

func authForm(tool, login, password string) func(*http.Request) {
	return func(r *http.Request) {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Body = io.NopCloser(strings.NewReader(url.Values{"tool": {tool}, "login": {login}, "password": {password}}.Encode()))
	}
}

// login authenticates as the demo support account and returns the temporary credentials.
func login(t *testing.T, h http.Handler) (string, string) {
	t.Helper()
	a := do(t, h, http.MethodPost, "/auth", nil, authForm("dev", "demo-support", "demo-support-pass"))
	if a.code != http.StatusOK {
		t.Fatalf("auth: %d %s", a.code, a.body)
	}
	var c struct{ Login, Password string }
	if err := json.Unmarshal(a.body, &c); err != nil {
		t.Fatal(err)
	}
	return c.Login, c.Password
}

func basic(user, pass string) func(*http.Request) {
	return func(r *http.Request) { r.SetBasicAuth(user, pass) }
}

func checkRateHeaders(t *testing.T, a answer, limit, remaining int, reset time.Time) {
	t.Helper()
	want := map[string]string{
		"X-RateLimit-Limit":     strconv.Itoa(limit),
		"X-RateLimit-Remaining": strconv.Itoa(remaining),
		"X-RateLimit-Reset":     strconv.FormatInt(reset.Unix(), 10),
	}
	for k, v := range want {
		if got := a.header.Get(k); got != v {
			t.Errorf("%s = %q, want %q (status %d)", k, got, v, a.code)
		}
	}
}

func TestAuth(t *testing.T) {
	sim, _ := demoSim(t0.Add(5*time.Minute), Options{})
	reset := t0.Add(15 * time.Minute)
	hex32 := regexp.MustCompile(`^[0-9a-f]{32}$`)

	a := do(t, sim, http.MethodPost, "/auth", nil, authForm("dev", "demo-support", "demo-support-pass"))
	var c struct{ Login, Password string }
	if a.code != http.StatusOK || json.Unmarshal(a.body, &c) != nil || !hex32.MatchString(c.Login) || !hex32.MatchString(c.Password) || c.Login == c.Password {
		t.Fatalf("auth: %d %s", a.code, a.body)
	}
	checkRateHeaders(t, a, 15, 14, reset)

	tests := []struct {
		name    string
		method  string
		path    string
		prepare func(*http.Request)
		code    int
		message string
	}{
		{"GET", http.MethodGet, "/auth", nil, 405, "only POST allowed"},
		{"no login", http.MethodPost, "/auth", authForm("dev", "", "x"), 400, "missing login"},
		{"unknown tool", http.MethodPost, "/auth", authForm("voice", "demo-support", "demo-support-pass"), 400, "invalid tool"},
		{"wrong password", http.MethodPost, "/auth", authForm("dev", "demo-support", "nope"), 401, "invalid credentials"},
		{"wrong tool for account", http.MethodPost, "/auth", authForm("fuseplus", "demo-support", "demo-support-pass"), 401, "invalid credentials"},
		{"under /api", http.MethodPost, "/api/auth", authForm("fuseplus", "demo-sales", "demo-sales-pass"), 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := do(t, sim, tt.method, tt.path, nil, tt.prepare)
			if a.code != tt.code {
				t.Fatalf("status %d, want %d: %s", a.code, tt.code, a.body)
			}
			if tt.message != "" && !strings.Contains(a.errorText(t), tt.message) {
				t.Errorf("error %q, want it to mention %q", a.errorText(t), tt.message)
			}
			if a.header.Get("X-RateLimit-Limit") != "15" || a.header.Get("X-RateLimit-Reset") != strconv.FormatInt(reset.Unix(), 10) {
				t.Errorf("auth group headers missing: %v", a.header)
			}
		})
	}
	if st := sim.Stats("demo-support"); st.AuthRequests != 4 || st.AuthSucceeded != 1 {
		t.Errorf("stats %+v, want 4 auth requests, 1 success", st)
	}
}

func TestAuthRateLimit(t *testing.T) {
	sim, clk := demoSim(t0.Add(time.Minute), Options{AuthLimit: 3, Window: 10 * time.Minute})
	for i := range 5 {
		a := do(t, sim, http.MethodPost, "/auth", nil, authForm("dev", "demo-support", "demo-support-pass"))
		want, remaining := 200, 2-i
		if i >= 3 {
			want, remaining = 429, 0
		}
		if a.code != want {
			t.Fatalf("auth %d: %d, want %d", i, a.code, want)
		}
		checkRateHeaders(t, a, 3, remaining, t0.Add(10*time.Minute))
	}
	clk.Set(t0.Add(10 * time.Minute))
	if a := do(t, sim, http.MethodPost, "/auth", nil, authForm("dev", "demo-support", "demo-support-pass")); a.code != 200 {
		t.Fatalf("next window: %d", a.code)
	}
	if st := sim.Stats("demo-support"); st.AuthRequests != 6 || st.AuthRateLimited != 2 || st.AuthSucceeded != 4 {
		t.Errorf("stats %+v", st)
	}
}

func TestVolumeErrors(t *testing.T) {
	sim, _ := demoSim(t0.Add(7*time.Minute), Options{})
	user, pass := login(t, sim)
	reset := t0.Add(15 * time.Minute)
	tests := []struct {
		name      string
		method    string
		path      string
		prepare   func(*http.Request)
		code      int
		message   string
		remaining int
	}{
		{"no auth", "GET", "/volume/20240601/20240607/day/ALL", nil, 401, "missing authentication", 150},
		{"bad password", "GET", "/volume/20240601/20240607/day/ALL", basic(user, "0000"), 401, "invalid", 150},
		{"unknown login", "GET", "/volume/20240601/20240607/day/ALL", basic("feed", pass), 401, "invalid", 150},
		{"real password is not a temporary one", "GET", "/volume/20240601/20240607/day/ALL", basic("demo-support", "demo-support-pass"), 401, "invalid", 150},
		{"POST", "POST", "/volume/20240601/20240607/day/ALL", basic(user, pass), 405, "only GET", 150},
		{"dashed date", "GET", "/volume/2024-06-01/20240607/day/ALL", basic(user, pass), 400, "start date", 149},
		{"impossible date", "GET", "/volume/20240601/20240230/day/ALL", basic(user, pass), 400, "end date", 148},
		{"start after end", "GET", "/volume/20240608/20240607/day/ALL", basic(user, pass), 400, "after", 147},
		{"unknown period", "GET", "/volume/20240601/20240607/year/ALL", basic(user, pass), 400, "period", 146},
		{"another account's phone", "GET", "/volume/20240601/20240607/day/+442079460000", basic(user, pass), 400, "not a number of this account", 145},
		{"three segments", "GET", "/volume/20240601/20240607/day", basic(user, pass), 400, "malformed", 144},
		{"range too long", "GET", "/volume/19900101/20240607/month/ALL", basic(user, pass), 400, "longer than", 143},
		{"unknown resource", "GET", "/performance/20240601/20240607/day/ALL", basic(user, pass), 404, "no such resource", 150},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := do(t, sim, tt.method, tt.path, nil, tt.prepare)
			if a.code != tt.code {
				t.Fatalf("status %d, want %d: %s", a.code, tt.code, a.body)
			}
			if msg := a.errorText(t); !strings.Contains(msg, tt.message) {
				t.Errorf("error %q, want it to mention %q", msg, tt.message)
			}
			checkRateHeaders(t, a, 150, tt.remaining, reset)
		})
	}
	if st := sim.Stats("demo-support"); st.DataRequests != 7 || len(st.DataServed) != 0 {
		t.Errorf("stats %+v, want 7 budgeted requests and none served", st)
	}
}

func TestVolumeAnswer(t *testing.T) {
	ny := mustLoc(t, "America/New_York")
	now := time.Date(2024, 6, 12, 11, 20, 0, 0, ny)
	sim, _ := demoSim(now, Options{})
	user, pass := login(t, sim)
	tests := []struct {
		path   string
		period voicetrends.Period
		phone  string
		starts []voicetrends.Date
	}{
		{"/volume/20240605/20240612/day/%2B18005550101", voicetrends.PeriodDay, "+18005550101",
			[]voicetrends.Date{date(2024, 6, 5), date(2024, 6, 6), date(2024, 6, 7), date(2024, 6, 8), date(2024, 6, 9), date(2024, 6, 10), date(2024, 6, 11), date(2024, 6, 12)}},
		{"/volume/20240610/20240620/day/ALL", voicetrends.PeriodDay, "ALL", // no bucket for days that have not begun
			[]voicetrends.Date{date(2024, 6, 10), date(2024, 6, 11), date(2024, 6, 12)}},
		{"/volume/20240505/20240612/week/ALL", voicetrends.PeriodWeek, "ALL", // Sundays in range
			[]voicetrends.Date{date(2024, 5, 5), date(2024, 5, 12), date(2024, 5, 19), date(2024, 5, 26), date(2024, 6, 2), date(2024, 6, 9)}},
		{"/volume/20240506/20240612/week/ALL", voicetrends.PeriodWeek, "ALL", // a range starting mid-week skips that week
			[]voicetrends.Date{date(2024, 5, 12), date(2024, 5, 19), date(2024, 5, 26), date(2024, 6, 2), date(2024, 6, 9)}},
		{"/volume/20240101/20240630/month/+18005550102", voicetrends.PeriodMonth, "+18005550102",
			[]voicetrends.Date{date(2024, 1, 1), date(2024, 2, 1), date(2024, 3, 1), date(2024, 4, 1), date(2024, 5, 1), date(2024, 6, 1)}},
		{"/api/volume/20240701/20240731/month/ALL", voicetrends.PeriodMonth, "ALL", nil},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			a := do(t, sim, "GET", tt.path, nil, basic(user, pass))
			if a.code != 200 || a.header.Get("Content-Type") != "application/json" {
				t.Fatalf("status %d %s: %s", a.code, a.header.Get("Content-Type"), a.body)
			}
			buckets, err := voicetrends.DecodeVolume(strings.NewReader(string(a.body)))
			if err != nil {
				t.Fatal(err)
			}
			if len(buckets) != len(tt.starts) {
				t.Fatalf("%d buckets, want %d: %s", len(buckets), len(tt.starts), a.body)
			}
			for i, b := range buckets {
				want := sim.Bucket("demo-support", tt.phone, tt.period, tt.starts[i])
				if !b.Start.Equal(tt.starts[i].Midnight(ny)) || !sameBucket(b, want) {
					t.Errorf("bucket %d: %+v, want %+v", i, b, want)
				}
			}
		})
	}
}

func TestDataRateLimit(t *testing.T) {
	sim, clk := demoSim(t0.Add(14*time.Minute), Options{DataLimit: 5})
	u1, p1 := login(t, sim)
	u2, p2 := login(t, sim) // a second client of the same account shares the budget
	path := "/volume/20240601/20240601/day/ALL"
	for window := range 2 {
		start := t0.Add(time.Duration(window) * 15 * time.Minute)
		clk.Set(start.Add(14 * time.Minute))
		for i := range 7 {
			u, p := u1, p1
			if i%2 == 1 {
				u, p = u2, p2
			}
			a := do(t, sim, "GET", path, nil, basic(u, p))
			want, remaining := 200, 4-i
			if i >= 5 {
				want, remaining = 429, 0
			}
			if a.code != want {
				t.Fatalf("window %d request %d: %d, want %d", window, i, a.code, want)
			}
			checkRateHeaders(t, a, 5, remaining, start.Add(15*time.Minute))
			if want == 429 && a.errorText(t) != "rate limit exceeded" {
				t.Errorf("429 body %s", a.body)
			}
		}
	}
	st := sim.Stats("demo-support")
	if st.DataRequests != 10 || st.DataRateLimited != 4 || st.DataServed[t0] != 5 || st.DataServed[t0.Add(15*time.Minute)] != 5 {
		t.Errorf("stats %+v", st)
	}
}

func TestCredentialExpiry(t *testing.T) {
	sim, clk := demoSim(t0, Options{})
	user, pass := login(t, sim)
	path := "/volume/20240601/20240601/day/ALL"
	for _, step := range []struct {
		after time.Duration
		code  int
	}{
		{20 * time.Hour, 200}, // each use restarts the 24 hours
		{23*time.Hour + 59*time.Minute, 200},
		{24 * time.Hour, 401},
		{time.Minute, 401}, // gone for good
	} {
		clk.Advance(step.after)
		if a := do(t, sim, "GET", path, nil, basic(user, pass)); a.code != step.code {
			t.Fatalf("after %v more: %d, want %d", step.after, a.code, step.code)
		}
	}
	if st := sim.Stats("demo-support"); st.Unauthorized != 1 || st.DataRequests != 2 {
		t.Errorf("stats %+v", st)
	}
}

func TestFaults(t *testing.T) {
	ny := mustLoc(t, "America/New_York")
	midnight := time.Date(2024, 6, 12, 0, 0, 0, 0, ny)
	path := "/volume/20240611/20240612/day/%2B18005550100"
	tests := []struct {
		name   string
		faults Faults
		check  func(t *testing.T, a answer)
	}{
		{"empty series as object", Faults{}, func(t *testing.T, a answer) {
			if !strings.Contains(string(a.body), `"transfer_rate":{"`) || !strings.Contains(string(a.body), `"average_call_length":{"`) {
				t.Errorf("body %s", a.body)
			}
		}},
		{"numbers as strings", Faults{NumbersAsStrings: true}, func(t *testing.T, a answer) {
			if !regexp.MustCompile(`"calls":\{"\d+":"\d+","\d+":"0"\}`).Match(a.body) {
				t.Errorf("body %s", a.body)
			}
		}},
		{"server errors", Faults{ServerErrorRate: 1}, func(t *testing.T, a answer) {
			if a.code != 500 || a.errorText(t) != "unknown error" || a.header.Get("X-RateLimit-Remaining") != "149" {
				t.Errorf("%d %s %v", a.code, a.body, a.header)
			}
		}},
		{"server errors for the phone asked", Faults{ServerErrorPhone: "+18005550100"}, func(t *testing.T, a answer) {
			if a.code != 500 || a.errorText(t) != "unknown error" || a.header.Get("X-RateLimit-Remaining") != "149" {
				t.Errorf("%d %s %v", a.code, a.body, a.header)
			}
		}},
		{"no server errors for another phone", Faults{ServerErrorPhone: "+18005550101"}, func(t *testing.T, a answer) {
			if a.code != 200 {
				t.Errorf("%d %s", a.code, a.body)
			}
		}},
		{"malformed", Faults{MalformedRate: 1}, func(t *testing.T, a answer) {
			if _, err := voicetrends.DecodeVolume(strings.NewReader(string(a.body))); a.code != 200 || err == nil {
				t.Errorf("%d, decode error %v: %s", a.code, err, a.body)
			}
		}},
		{"bad gateway", Faults{BadGatewayRate: 1}, func(t *testing.T, a answer) {
			if a.code != 502 || !strings.Contains(string(a.body), "<h1>502 Bad Gateway</h1>") || a.header.Get("X-RateLimit-Limit") != "" {
				t.Errorf("%d %s %v", a.code, a.body, a.header)
			}
		}},
		{"forced 401", Faults{Force401: true}, func(t *testing.T, a answer) {
			if a.code != 401 || a.header.Get("X-RateLimit-Remaining") != "150" {
				t.Errorf("%d %v", a.code, a.header)
			}
		}},
		{"forced 429", Faults{Force429: true}, func(t *testing.T, a answer) {
			if a.code != 429 || a.header.Get("X-RateLimit-Remaining") != "0" {
				t.Errorf("%d %v", a.code, a.header)
			}
		}},
		{"other client", Faults{OtherClientPerWindow: 100}, func(t *testing.T, a answer) {
			if a.code != 200 || a.header.Get("X-RateLimit-Remaining") != "49" {
				t.Errorf("%d %v", a.code, a.header)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim, _ := demoSim(midnight, Options{}) // today's bucket has no calls yet
			user, pass := login(t, sim)
			sim.SetFaults(tt.faults)
			a := do(t, sim, "GET", path, nil, basic(user, pass))
			tt.check(t, a)
		})
	}

	t.Run("empty series as array", func(t *testing.T) {
		sim, _ := demoSim(midnight, Options{})
		user, pass := login(t, sim)
		sim.SetFaults(Faults{EmptyAsArray: true})
		a := do(t, sim, "GET", "/volume/20240612/20240612/day/ALL", nil, basic(user, pass))
		if !strings.Contains(string(a.body), `"transfer_rate":[],"average_call_length":[]`) {
			t.Errorf("body %s", a.body)
		}
		a = do(t, sim, "GET", "/volume/20240613/20240620/day/ALL", nil, basic(user, pass))
		if string(a.body) != `{"calls":[],"call_minutes":[],"transfers":[],"transfer_minutes":[],"transfer_rate":[],"average_call_length":[]}` {
			t.Errorf("future range: %s", a.body)
		}
	})

	t.Run("error share is deterministic", func(t *testing.T) {
		run := func() []int {
			sim, _ := demoSim(midnight, Options{DataLimit: 1000})
			user, pass := login(t, sim)
			sim.SetFaults(Faults{ServerErrorRate: 0.3})
			var failed []int
			for i := range 200 {
				if do(t, sim, "GET", path, nil, basic(user, pass)).code == 500 {
					failed = append(failed, i)
				}
			}
			return failed
		}
		a, b := run(), run()
		if len(a) < 40 || len(a) > 80 || len(a) != len(b) {
			t.Fatalf("%d and %d of 200 failed, want about 60 both times", len(a), len(b))
		}
		for i := range a {
			if a[i] != b[i] {
				t.Fatalf("runs differ at %d: %v vs %v", i, a[i], b[i])
			}
		}
	})

	t.Run("latency respects the client", func(t *testing.T) {
		sim, _ := demoSim(midnight, Options{})
		sim.SetFaults(Faults{Latency: time.Hour})
		srv := httptest.NewServer(sim)
		defer srv.Close()
		c := &http.Client{Timeout: 20 * time.Millisecond}
		if _, err := c.Get(srv.URL + "/volume/20240611/20240612/day/ALL"); err == nil {
			t.Fatal("no timeout despite an hour of latency")
		}
	})
}

func TestOptionsValidate(t *testing.T) {
	good := DemoAccounts()
	tests := []struct {
		name string
		edit func(o *Options)
		want string
	}{
		{"demo", func(o *Options) {}, ""},
		{"none", func(o *Options) { o.Accounts = nil }, "no accounts"},
		{"tool", func(o *Options) { o.Accounts[0].Tool = "voice" }, "unknown tool"},
		{"password", func(o *Options) { o.Accounts[0].Password = "" }, "must not be empty"},
		{"duplicate", func(o *Options) { o.Accounts[1].Login, o.Accounts[1].Tool = "demo-support", "dev" }, "appears twice"},
		{"phone", func(o *Options) { o.Accounts[0].Phones = []string{"555-0100"} }, `phone "555-0100"`},
		{"ALL as a phone", func(o *Options) { o.Accounts[0].Phones = []string{"ALL"} }, `phone "ALL"`},
		{"no phones", func(o *Options) { o.Accounts[0].Phones = nil }, "no phone numbers"},
		{"negative", func(o *Options) { o.DataLimit = -1 }, "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := Options{Accounts: append([]Account(nil), good...)}
			tt.edit(&o)
			err := o.Validate()
			if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Fatalf("Validate() = %v, want %q", err, tt.want)
			}
		})
	}
	for _, a := range good {
		if s := a.String() + a.GoString(); strings.Contains(s, a.Password) {
			t.Errorf("String shows the password: %s", s)
		}
	}
}

func TestCredentialUses(t *testing.T) {
	sim, _ := demoSim(t0, Options{CredentialUses: 3})
	user, pass := login(t, sim)
	path := "/volume/20240601/20240601/day/ALL"
	var codes []int
	for range 5 {
		codes = append(codes, do(t, sim, "GET", path, nil, basic(user, pass)).code)
	}
	if got := fmt.Sprint(codes); got != "[200 200 200 401 401]" {
		t.Fatalf("codes %s, want three uses then 401", got)
	}
	user, pass = login(t, sim)
	if a := do(t, sim, "GET", path, nil, basic(user, pass)); a.code != 200 {
		t.Fatalf("fresh credentials: %d", a.code)
	}
}

func TestStorms(t *testing.T) {
	sim, clk := demoSim(t0, Options{Window: time.Minute})
	sim.SetFaults(Faults{
		Storm401: Schedule{Every: 5 * time.Minute, For: 10 * time.Second},
		Storm429: Schedule{Every: 3 * time.Minute, For: 5 * time.Second},
	})
	path := "/volume/20240601/20240601/day/ALL"
	for _, c := range []struct {
		at   time.Duration // since t0, a multiple of both periods... and of neither
		code int
	}{
		{0, 401}, // both spells: the 401 wins, as a revoked credential would
		{9 * time.Second, 401},
		{10 * time.Second, 200},
		{3 * time.Minute, 429},
		{3*time.Minute + 4*time.Second, 429},
		{3*time.Minute + 5*time.Second, 200},
		{5*time.Minute + time.Second, 401},
		{5*time.Minute + 11*time.Second, 200},
	} {
		clk.Set(t0.Add(c.at))
		user, pass := login(t, sim)
		if a := do(t, sim, "GET", path, nil, basic(user, pass)); a.code != c.code {
			t.Errorf("at +%v: %d, want %d", c.at, a.code, c.code)
		}
	}
	for _, c := range []struct {
		s    Schedule
		fine bool
	}{{Schedule{}, true}, {Schedule{time.Minute, time.Second}, true}, {Schedule{time.Minute, 0}, false}, {Schedule{time.Second, time.Minute}, false}, {Schedule{-time.Minute, time.Second}, false}} {
		if err := (Faults{Storm401: c.s}).Validate(); (err == nil) != c.fine {
			t.Errorf("%+v: error %v, want fine=%v", c.s, err, c.fine)
		}
	}
	if err := (Faults{ServerErrorRate: 1.5}).Validate(); err == nil {
		t.Error("a share of 1.5 passed")
	}
}

// The Date header is the simulator's clock, like the windows of its
// rate-limit headers: a skewed clock shows in both.
func TestDateFollowsTheClock(t *testing.T) {
	ahead := 4 * time.Second
	sim, clk := demoSim(t0.Add(14*time.Minute+57*time.Second+300*time.Millisecond), Options{})
	skewed := New(Options{Accounts: DemoAccounts(), Seed: 42, Now: func() time.Time { return clk.Now().Add(ahead) }})
	for _, c := range []struct {
		name      string
		sim       *Simulator
		date      string
		windowEnd time.Time
	}{
		{"on time", sim, "Wed, 12 Jun 2024 15:14:57 GMT", t0.Add(15 * time.Minute)},
		{"4 s ahead", skewed, "Wed, 12 Jun 2024 15:15:01 GMT", t0.Add(30 * time.Minute)},
	} {
		a := do(t, c.sim, http.MethodPost, "/auth", nil, authForm("dev", "demo-support", "demo-support-pass"))
		if got := a.header.Get("Date"); got != c.date {
			t.Errorf("%s: Date %q, want %q", c.name, got, c.date)
		}
		checkRateHeaders(t, a, 15, 14, c.windowEnd)
	}
}
