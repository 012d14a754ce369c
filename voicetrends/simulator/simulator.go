// Package simulator is a stand-in for Plum's VoiceTrends API: an
// http.Handler serving /auth and /volume/{start}/{end}/{period}/{phone} as
// the docs describe them, with rate limits, expiring temporary credentials,
// deterministic synthetic traffic and switches for the PHP backend's quirks
// and for faults. Tests, the exporter's demo mode and the compose stack run
// against it; its clock is injectable so that tests cross windows and
// midnights without sleeping.
//
// Where Plum's docs are silent the simulator decides, and says so here:
//   - A volume answer holds every bucket whose start date lies in
//     [start, end] and has begun by now; each bucket holds its whole
//     period's calls up to now, even when the range starts or ends inside it.
//   - The week starts on Options.WeekStart (Sunday by default); the real
//     first day is undocumented, so clients must not assume one.
//   - Buckets with no calls are sent with zero counts and minutes but
//     without transfer_rate and average_call_length (no division by zero).
//   - Ranges longer than MaxRangeDays are refused with 400.
//   - Requests are served at the root and under /api/ alike.
//   - Accept is ignored: every answer is JSON.
//   - Every authenticated data request spends the account's budget, whatever
//     its answer; a request over the limit gets 429 and spends nothing.
//   - The Date header is read from the simulator's clock, like the rate-limit
//     windows: a clock that runs ahead of or behind the client's (Options.Now)
//     shows in both, as a real server's would.
package simulator

import (
	"crypto/subtle"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	_ "time/tzdata" // accounts name IANA zones; a scratch container has no zoneinfo

	"github.com/voicetrends/voicetrends_exporter/voicetrends"
)

// Defaults for Options' zero values.
const (
	DefaultWindow        = 15 * time.Minute
	DefaultDataLimit     = 150
	DefaultAuthLimit     = 15
	DefaultCredentialTTL = 24 * time.Hour
	DefaultTimeZone      = "America/New_York"
	// MaxRangeDays bounds a volume request's date range, so that one request
	// cannot make the simulator compute centuries of traffic.
	MaxRangeDays = 3700
)

// Account is one API account: the tool and credentials it logs in with,
// the phone numbers it owns and the time zone its buckets follow.
type Account struct {
	Tool     voicetrends.Tool
	Login    string
	Password string
	Phones   []string
	TimeZone *time.Location // nil means America/New_York
	// DailyCalls sets a phone's mean calls per day over a week (0: a
	// dormant number), for traffic shaped like a real contact centre's;
	// a phone not in it draws its rate from the seed.
	DailyCalls map[string]float64
}

// String describes the account without its password.
func (a Account) String() string {
	return fmt.Sprintf("simulator.Account{Tool:%q Login:%q Phones:%q}", a.Tool, a.Login, a.Phones)
}

// GoString is String, so that %#v hides the password too.
func (a Account) GoString() string { return a.String() }

// Options configures a Simulator. Zero values take the defaults.
type Options struct {
	Accounts      []Account
	Window        time.Duration    // rate-limit window, aligned to the Unix epoch; default 15m
	DataLimit     int              // data requests per window per account; default 150
	AuthLimit     int              // auth requests per window per login; default 15
	Now           func() time.Time // the clock; default time.Now
	Seed          int64            // drives the traffic and the temporary credentials
	WeekStart     time.Weekday     // first day of a week bucket; default Sunday
	CredentialTTL time.Duration    // temporary credentials expire this long after their last use; default 24h
	// CredentialUses, when above zero, makes temporary credentials expire
	// after that many data requests: a test's stand-in for the 24-hour
	// expiry, so that re-logins happen within seconds.
	CredentialUses int
}

// Validate reports the first problem with the options, naming the fix.
func (o Options) Validate() error {
	if len(o.Accounts) == 0 {
		return fmt.Errorf("simulator: no accounts: add at least one (DemoAccounts has two)")
	}
	type key struct {
		tool  voicetrends.Tool
		login string
	}
	seen := map[key]bool{}
	for i, a := range o.Accounts {
		if _, err := voicetrends.ParseTool(string(a.Tool)); err != nil {
			return fmt.Errorf("simulator: account %d: %w", i, err)
		}
		if a.Login == "" || a.Password == "" {
			return fmt.Errorf("simulator: account %d: login and password must not be empty", i)
		}
		if seen[key{a.Tool, a.Login}] {
			return fmt.Errorf("simulator: account %d: login %q appears twice for tool %s", i, a.Login, a.Tool)
		}
		seen[key{a.Tool, a.Login}] = true
		if len(a.Phones) == 0 {
			return fmt.Errorf("simulator: account %q: no phone numbers: add at least one", a.Login)
		}
		phones := map[string]bool{}
		for _, p := range a.Phones {
			if err := voicetrends.ValidatePhone(p); err != nil || p == voicetrends.AllPhones {
				return fmt.Errorf("simulator: account %q: phone %q: use digits with an optional leading +", a.Login, p)
			}
			if phones[p] {
				return fmt.Errorf("simulator: account %q: phone %q listed twice", a.Login, p)
			}
			phones[p] = true
		}
	}
	if o.Window < 0 || o.DataLimit < 0 || o.AuthLimit < 0 || o.CredentialTTL < 0 || o.CredentialUses < 0 {
		return fmt.Errorf("simulator: window, limits, credential TTL and uses must not be negative")
	}
	if o.WeekStart < time.Sunday || o.WeekStart > time.Saturday {
		return fmt.Errorf("simulator: week start %d is not a weekday", o.WeekStart)
	}
	return nil
}

// Faults switches the PHP quirks and failures on. The zero value is a
// well-behaved API. ServerErrorRate, MalformedRate and BadGatewayRate are
// shares of requests from 0 to 1, drawn deterministically from the seed and
// the request's sequence number.
type Faults struct {
	EmptyAsArray     bool          // send an empty series as [] (PHP) instead of {}
	NumbersAsStrings bool          // send every number as a string ("12.5")
	Latency          time.Duration // added before every answer, /auth included
	ServerErrorRate  float64       // share of data requests answered 500 (after spending budget)
	// ServerErrorPhone, when set, has every data request naming it
	// answered 500 (after spending budget), as a backend that fails on one
	// number's data would.
	ServerErrorPhone string
	MalformedRate    float64 // share of data requests answered 200 with a body that does not decode
	BadGatewayRate   float64 // share of all requests answered 502 with an HTML page and no rate-limit headers, as a proxy would
	Force401         bool    // answer every data request 401, as if the credentials had been revoked
	Force429         bool    // answer every data request 429
	// Storm401 and Storm429 force those answers during part of every
	// period instead of always: a 401 storm while logins still succeed,
	// or a spell of 429s.
	Storm401, Storm429 Schedule
	// OtherClientPerWindow is how many data requests another client of the
	// same account spends at the start of each window.
	OtherClientPerWindow int
}

// Schedule is a recurring spell: the first For of every Every, aligned to
// multiples of Every since the Unix epoch on the simulator's clock (so a
// spell whose Every is a multiple of the rate-limit window starts with a
// window). The zero value is never active.
type Schedule struct {
	Every, For time.Duration
}

// Active reports whether the spell is on at t.
func (s Schedule) Active(t time.Time) bool {
	if s.Every <= 0 || s.For <= 0 {
		return false
	}
	start, _ := voicetrends.AlignedWindow(t, s.Every)
	return t.Sub(start) < s.For
}

// Validate reports a schedule that cannot be meant.
func (s Schedule) Validate() error {
	switch {
	case s.Every < 0 || s.For < 0:
		return fmt.Errorf("negative period or duration")
	case (s.Every > 0) != (s.For > 0):
		return fmt.Errorf("set both the period and the duration, or neither")
	case s.For > s.Every:
		return fmt.Errorf("duration %s is longer than the period %s", s.For, s.Every)
	}
	return nil
}

// Validate reports the first fault setting that cannot be meant, naming the fix.
func (f Faults) Validate() error {
	for _, r := range []struct {
		name string
		v    float64
	}{{"server error share", f.ServerErrorRate}, {"malformed share", f.MalformedRate}, {"bad gateway share", f.BadGatewayRate}} {
		if r.v < 0 || r.v > 1 {
			return fmt.Errorf("simulator: %s %v: use a share from 0 to 1", r.name, r.v)
		}
	}
	if f.Latency < 0 || f.OtherClientPerWindow < 0 {
		return fmt.Errorf("simulator: latency and the other client's spending must not be negative")
	}
	if err := f.Storm401.Validate(); err != nil {
		return fmt.Errorf("simulator: 401 storm: %w", err)
	}
	if err := f.Storm429.Validate(); err != nil {
		return fmt.Errorf("simulator: 429 spell: %w", err)
	}
	return nil
}

// Stats counts what the simulator did for one login.
type Stats struct {
	AuthRequests    int // /auth requests naming the login
	AuthSucceeded   int // of which answered 200
	AuthRateLimited int // of which answered 429
	DataRequests    int // authenticated data requests that spent budget
	DataRateLimited int // data requests answered 429
	Unauthorized    int // data requests answered 401 with this account's (expired or revoked) credentials
	ServerErrors    int // data requests answered 500
	// DataServed counts data requests answered 200, by window start (UTC).
	DataServed map[time.Time]int
}

// Simulator is the fake API. Create it with New; it is safe for concurrent use.
type Simulator struct {
	opts     Options
	accounts []*account

	mu      sync.Mutex
	faults  Faults
	rng     *rand.Rand
	creds   map[string]*tempCred // by temporary login
	dataWin map[*account]*window
	authWin map[string]*window // by submitted login
	stats   map[string]*Stats
	seq     uint64 // requests seen, for deterministic fault draws
}

type account struct {
	Account
	loc *time.Location

	mu      sync.Mutex         // guards numbers; a number is never changed once in it
	numbers map[string]*number // by phone
}

type tempCred struct {
	acct     *account
	password string
	lastUse  time.Time
	uses     int // data requests made with them
}

type window struct {
	start time.Time
	used  int
}

// New builds a Simulator. It does not validate opts (call Options.Validate
// for user input); an account with an invalid field simply never matches.
func New(opts Options) *Simulator {
	if opts.Window <= 0 {
		opts.Window = DefaultWindow
	}
	if opts.DataLimit <= 0 {
		opts.DataLimit = DefaultDataLimit
	}
	if opts.AuthLimit <= 0 {
		opts.AuthLimit = DefaultAuthLimit
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.CredentialTTL <= 0 {
		opts.CredentialTTL = DefaultCredentialTTL
	}
	s := &Simulator{
		opts:    opts,
		rng:     rand.New(rand.NewPCG(uint64(opts.Seed), 0x5eed)),
		creds:   map[string]*tempCred{},
		dataWin: map[*account]*window{},
		authWin: map[string]*window{},
		stats:   map[string]*Stats{},
	}
	for _, a := range opts.Accounts {
		loc := a.TimeZone
		if loc == nil {
			var err error
			if loc, err = time.LoadLocation(DefaultTimeZone); err != nil {
				loc = time.UTC // unreachable: time/tzdata is embedded
			}
		}
		acct := &account{Account: a, loc: loc, numbers: map[string]*number{}}
		acct.Phones = slices.Clone(a.Phones)
		acct.TimeZone = loc
		for _, p := range a.Phones {
			acct.numbers[p] = newNumber(opts.Seed, a.Login, p, loc)
			if daily, ok := a.DailyCalls[p]; ok {
				acct.numbers[p].setPeak(daily / meanDay)
			}
		}
		s.accounts = append(s.accounts, acct)
	}
	return s
}

// SetDailyCalls changes the mean calls per day of phone, of the account
// that logs in as login, from its whole past on: a dormant number (0) that
// comes alive, or a busy one that falls quiet. It reports whether the
// account owns phone.
func (s *Simulator) SetDailyCalls(login, phone string, calls float64) bool {
	a := s.accountByLogin(login)
	if a == nil {
		return false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	old := a.numbers[phone]
	if old == nil {
		return false
	}
	n := *old
	n.setPeak(calls / meanDay)
	a.numbers[phone] = &n
	return true
}

// SetFaults switches quirks and faults; it takes effect on the next request.
func (s *Simulator) SetFaults(f Faults) {
	s.mu.Lock()
	s.faults = f
	s.mu.Unlock()
}

// Stats returns a copy of the counters of login.
func (s *Simulator) Stats(login string) Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.statsLocked(login)
	out := *st
	out.DataServed = make(map[time.Time]int, len(st.DataServed))
	for k, v := range st.DataServed {
		out.DataServed[k] = v
	}
	return out
}

func (s *Simulator) statsLocked(login string) *Stats {
	st := s.stats[login]
	if st == nil {
		st = &Stats{DataServed: map[time.Time]int{}}
		s.stats[login] = st
	}
	return st
}

// Location returns the time zone of the account with login, or nil.
func (s *Simulator) Location(login string) *time.Location {
	if a := s.accountByLogin(login); a != nil {
		return a.loc
	}
	return nil
}

// Bucket is the ground truth: exactly what /volume returns, as of Now(),
// for the bucket of period that holds the date start (a start inside a
// period is moved back to the period's first day). A bucket that has not
// begun yet holds zero calls. An unknown login or a phone the account does
// not own gives a Bucket with no figures.
func (s *Simulator) Bucket(login, phone string, period voicetrends.Period, start voicetrends.Date) voicetrends.Bucket {
	a := s.accountByLogin(login)
	if a == nil {
		return voicetrends.Bucket{}
	}
	nums := a.numbersFor(phone)
	if nums == nil {
		return voicetrends.Bucket{}
	}
	first := periodStart(period, start, s.opts.WeekStart)
	return s.bucket(a, nums, first, period.Next(first), s.opts.Now())
}

func (s *Simulator) accountByLogin(login string) *account {
	for _, a := range s.accounts {
		if a.Login == login {
			return a
		}
	}
	return nil
}

func (s *Simulator) account(tool voicetrends.Tool, login, password string) *account {
	for _, a := range s.accounts {
		if a.Tool == tool && a.Login == login {
			if subtle.ConstantTimeCompare([]byte(a.Password), []byte(password)) == 1 {
				return a
			}
			return nil
		}
	}
	return nil
}

// numbersFor returns the models behind phone (all of them for ALL), or nil
// when the account does not own phone.
func (a *account) numbersFor(phone string) []*number {
	a.mu.Lock()
	defer a.mu.Unlock()
	if phone == voicetrends.AllPhones {
		out := make([]*number, 0, len(a.Phones))
		for _, p := range a.Phones {
			out = append(out, a.numbers[p])
		}
		return out
	}
	if n := a.numbers[phone]; n != nil {
		return []*number{n}
	}
	return nil
}

// bucket computes the bucket of the period [first, next) as of now.
func (s *Simulator) bucket(a *account, nums []*number, first, next voicetrends.Date, now time.Time) voicetrends.Bucket {
	from, to := first.Midnight(a.loc), next.Midnight(a.loc)
	if now.Before(to) {
		to = now
	}
	var t tally
	for _, n := range nums {
		t.add(n.traffic(from, to))
	}
	return t.bucket(from)
}

// periodStart is the first day of the period holding d.
func periodStart(p voicetrends.Period, d voicetrends.Date, weekStart time.Weekday) voicetrends.Date {
	switch p {
	case voicetrends.PeriodWeek:
		return d.AddDays(-((int(d.Weekday()) - int(weekStart) + 7) % 7))
	case voicetrends.PeriodMonth:
		return voicetrends.Date{Year: d.Year, Month: d.Month, Day: 1}
	}
	return d
}

// DemoAccounts returns two demo accounts with fictional numbers (the US
// 555-01xx and UK 020 7946 0xxx ranges are reserved for fiction):
//   - "demo-support", tool dev, password "demo-support-pass", three
//     numbers, America/New_York;
//   - "demo-sales", tool fuseplus, password "demo-sales-pass", two
//     numbers, Europe/London.
func DemoAccounts() []Account {
	london, err := time.LoadLocation("Europe/London")
	if err != nil {
		london = time.UTC // unreachable: time/tzdata is embedded
	}
	newYork, err := time.LoadLocation(DefaultTimeZone)
	if err != nil {
		newYork = time.UTC
	}
	return []Account{
		{
			Tool: voicetrends.ToolDev, Login: "demo-support", Password: "demo-support-pass",
			Phones:   []string{"+18005550100", "+18005550101", "+18005550102"},
			TimeZone: newYork,
		},
		{
			Tool: voicetrends.ToolFusePlus, Login: "demo-sales", Password: "demo-sales-pass",
			Phones:   []string{"+442079460000", "+442079460001"},
			TimeZone: london,
		},
	}
}
