// Package config loads and validates the exporter's YAML configuration and
// keeps the running one safe to swap on reload.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	promconfig "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
	"gopkg.in/yaml.v3"

	"github.com/voicetrends/voicetrends_exporter/internal/closure"
	"github.com/voicetrends/voicetrends_exporter/voicetrends"
)

// Defaults for the optional account keys.
const (
	DefaultTimezone          = "America/New_York"
	DefaultRequestsPerWindow = 100
	DefaultWindow            = 15 * time.Minute
	DefaultRefreshInterval   = 5 * time.Minute
	DefaultMaxDataAge        = time.Hour
	DefaultSchedule          = ScheduleSqrt

	// ScheduleSqrt refreshes each target at a frequency proportional to the
	// square root of its calls, busy numbers more often than quiet ones.
	ScheduleSqrt = "sqrt"
	// ScheduleRoundRobin refreshes every target alike, least recently refreshed first.
	ScheduleRoundRobin = "round_robin"

	// APIDataLimit is Plum's documented data budget per window and account.
	APIDataLimit = 150
)

var accountNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// plumHost is the real API's host, whose paths all start with /api/.
var plumHost = func() string {
	u, _ := url.Parse(voicetrends.DefaultBaseURL)
	return u.Host
}()

// Config is the whole configuration file.
type Config struct {
	BaseURL    string                      `yaml:"base_url,omitempty"`
	HTTPClient promconfig.HTTPClientConfig `yaml:"http_client,omitempty"`
	Accounts   []Account                   `yaml:"accounts"`
}

// Account is one VoiceTrends account to poll.
type Account struct {
	Name              string               `yaml:"name"`
	Tool              voicetrends.Tool     `yaml:"tool"`
	Login             string               `yaml:"login"`
	PasswordFile      string               `yaml:"password_file,omitempty"`
	Password          promconfig.Secret    `yaml:"password,omitempty"`
	Phones            []string             `yaml:"phones,omitempty"`
	Periods           []voicetrends.Period `yaml:"periods,omitempty"`
	Timezone          string               `yaml:"timezone,omitempty"`
	RequestsPerWindow int                  `yaml:"requests_per_window,omitempty"`
	Window            model.Duration       `yaml:"window,omitempty"`
	RefreshInterval   model.Duration       `yaml:"refresh_interval,omitempty"`
	MaxDataAge        model.Duration       `yaml:"max_data_age,omitempty"`
	// DerivePeriods makes a target (account, phone): one day request serves
	// every period, the week and month summed from daily buckets.
	DerivePeriods bool `yaml:"derive_periods,omitempty"`
	// WeekStart names the first day of VoiceTrends' weeks (e.g. sunday), so
	// that derive_periods need not learn it from the API.
	WeekStart string `yaml:"week_start,omitempty"`
	// Schedule is how the budget is shared among the account's targets:
	// ScheduleSqrt (the default) or ScheduleRoundRobin.
	Schedule string `yaml:"schedule,omitempty"`
	// Closed lists the days the account is closed (see Closed).
	Closed *Closed `yaml:"closed,omitempty"`

	// WeekStartDay is WeekStart parsed; nil when it is to be learned. Set by Load.
	WeekStartDay *time.Weekday `yaml:"-"`

	// Location is Timezone loaded; set by Load.
	Location *time.Location `yaml:"-"`
	// Closures is Closed built, nil without closed; set by Load.
	Closures *closure.Calendar `yaml:"-"`
	// secret is the password in effect: Password, or password_file's content.
	secret string
}

// Secret returns the account's password, read from password_file where one is set.
func (a *Account) Secret() string { return a.secret }

// ClientConfig returns the API client configuration of account a, as the
// daemon and the backfill both need it: the base URL, the credentials, the
// zone, logins counted in the account's window as data requests are, and an
// HTTP client built from http_client. The caller adds its clock, limiter
// and observer.
func (c *Config) ClientConfig(a Account) (voicetrends.Config, error) {
	hc, err := promconfig.NewClientFromConfig(c.HTTPClient, "voicetrends")
	if err != nil {
		return voicetrends.Config{}, fmt.Errorf("building the HTTP client from http_client: %w", err)
	}
	return voicetrends.Config{
		BaseURL:    c.BaseURL,
		Tool:       a.Tool,
		Login:      a.Login,
		Password:   a.Secret(),
		HTTPClient: hc,
		Location:   a.Location,
		AuthWindow: time.Duration(a.Window),
	}, nil
}

// Load reads and validates the file at path.
func Load(path string) (*Config, error) {
	content, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading config file: %w (pass the right path with --config.file)", err)
	}
	cfg, err := Parse(content, filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("%s:%w", path, err)
	}
	return cfg, nil
}

// Parse decodes and validates a configuration; relative password_file paths
// are resolved against dir. Errors start with the line they are about.
func Parse(content []byte, dir string) (*Config, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(content, &root); err != nil {
		if line, col := tabAt(content); line > 0 && (strings.Contains(err.Error(), "tab") || strings.Contains(err.Error(), "cannot start any token")) {
			return nil, fmt.Errorf("%d: a tab at column %d: YAML indents with spaces only, replace the tab with spaces", line, col)
		}
		if msg := misindented(content, err); msg != "" {
			return nil, errors.New(msg)
		}
		return nil, yamlError(err)
	}
	if msg := unknownKey(&root); msg != "" {
		return nil, errors.New(msg)
	}
	cfg := &Config{}
	dec := yaml.NewDecoder(bytes.NewReader(content))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("1: the file is empty: list at least one account under accounts")
		}
		if msg := err.Error(); !strings.HasPrefix(msg, "yaml: ") {
			// A value's own unmarshaler (a duration, http_client) said no
			// without a position: find the key that fails on its own.
			line, field := locate(&root)
			if m := badDuration.FindStringSubmatch(msg); m != nil && bareNumber.MatchString(m[1]) {
				return nil, fmt.Errorf("%d: %s: %s has no unit: add a unit, e.g. 5m", line, field, m[1])
			} else if m != nil && strings.HasPrefix(m[1], "-") {
				return nil, fmt.Errorf("%d: %s: %s is negative: use a positive duration such as %s", line, field, m[1], durationExample(field))
			}
			return nil, fmt.Errorf("%d: %s: %w", line, field, err)
		}
		return nil, yamlError(err)
	}
	if err := cfg.validate(&root, dir); err != nil {
		return nil, err
	}
	return cfg, nil
}

var (
	badDuration = regexp.MustCompile(`not a valid duration string: "([^"]*)"`)
)

// durationExample is a good value for the duration key at path: its
// default, where it has one.
func durationExample(path string) string {
	defaults := map[string]time.Duration{"window": DefaultWindow, "refresh_interval": DefaultRefreshInterval, "max_data_age": DefaultMaxDataAge}
	if d, ok := defaults[path[strings.LastIndex(path, ".")+1:]]; ok {
		return model.Duration(d).String() + " (the default)"
	}
	return "5m"
}

// locate returns the line and path of the deepest key whose value fails to
// decode on its own, by decoding one key at a time. It runs only on errors.
func locate(root *yaml.Node) (int, string) {
	if root.Kind != yaml.DocumentNode || len(root.Content) == 0 || root.Content[0].Kind != yaml.MappingNode {
		return 1, "document"
	}
	mapping := func(kv ...*yaml.Node) *yaml.Node {
		return &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Content: kv}
	}
	seq := func(items ...*yaml.Node) *yaml.Node {
		return &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Content: items}
	}
	fails := func(n *yaml.Node) bool {
		b, err := yaml.Marshal(n)
		if err != nil {
			return true
		}
		dec := yaml.NewDecoder(bytes.NewReader(b))
		dec.KnownFields(true)
		return dec.Decode(&Config{}) != nil
	}
	top := root.Content[0]
	for i := 0; i+1 < len(top.Content); i += 2 {
		k, v := top.Content[i], top.Content[i+1]
		if !fails(mapping(k, v)) {
			continue
		}
		if k.Value == "accounts" && v.Kind == yaml.SequenceNode {
			for j, item := range v.Content {
				if !fails(mapping(k, seq(item))) {
					continue
				}
				for m := 0; item.Kind == yaml.MappingNode && m+1 < len(item.Content); m += 2 {
					ik, iv := item.Content[m], item.Content[m+1]
					if fails(mapping(k, seq(mapping(ik, iv)))) {
						return ik.Line, fmt.Sprintf("accounts[%d].%s", j, ik.Value)
					}
				}
				return item.Line, fmt.Sprintf("accounts[%d]", j)
			}
		}
		return k.Line, k.Value
	}
	return top.Line, "document"
}

// yamlError turns yaml.v3's "yaml: line 3: ..." into "3: ...".
func yamlError(err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	msg = strings.TrimPrefix(msg, "unmarshal errors:\n  ")
	msg = strings.ReplaceAll(msg, "\n  ", "; ")
	return errors.New(strings.TrimPrefix(msg, "line "))
}

func (c *Config) validate(root *yaml.Node, dir string) error {
	at := func(path ...any) string { return strconv.Itoa(lineOf(root, path...)) }
	if c.BaseURL == "" {
		c.BaseURL = voicetrends.DefaultBaseURL
	}
	base, err := voicetrends.ParseBaseURL(c.BaseURL)
	if err != nil {
		return fmt.Errorf("%s: base_url %w", at("base_url"), err)
	}
	c.BaseURL = base
	if u, _ := url.Parse(c.BaseURL); u.Host == plumHost && !strings.HasPrefix(u.Path, "/api/") {
		return fmt.Errorf("%s: base_url %q lacks the API's /api/ path, so every request would get 404: the base URL is probably wrong, use %s", at("base_url"), c.BaseURL, voicetrends.DefaultBaseURL)
	}
	if px := &c.HTTPClient.ProxyConfig; (px.ProxyURL.URL == nil || px.ProxyURL.String() == "") && px.NoProxy == "" {
		// Like any HTTP client, honour HTTPS_PROXY and NO_PROXY unless told otherwise.
		px.ProxyFromEnvironment = true
	}
	if err := c.HTTPClient.Validate(); err != nil {
		return fmt.Errorf("%s: http_client: %w", at("http_client"), err)
	}
	if len(c.Accounts) == 0 {
		return fmt.Errorf("%s: no accounts: list at least one account under accounts", at("accounts"))
	}
	seen := map[string]int{}
	for i := range c.Accounts {
		a := &c.Accounts[i]
		if prev, dup := seen[a.Name]; dup {
			return fmt.Errorf("%s: accounts[%d].name: duplicate account name %q (also accounts[%d]): give each account its own name", at("accounts", i, "name"), i, a.Name, prev)
		}
		seen[a.Name] = i
		if err := a.validate(dir); err != nil {
			return fmt.Errorf("%s: accounts[%d].%w", at(append([]any{"accounts", i}, fieldPath(err.field)...)...), i, err)
		}
	}
	return nil
}

// fieldError is a validation error about one key of an account.
type fieldError struct {
	field string
	msg   string
}

func (e *fieldError) Error() string { return e.field + ": " + e.msg }

func fieldErr(field, format string, args ...any) *fieldError {
	return &fieldError{field: field, msg: fmt.Sprintf(format, args...)}
}

// validate checks the account and fills in its defaults, step by step in
// the order of the keys in the README, so that the first error is the
// first key that is wrong.
func (a *Account) validate(dir string) *fieldError {
	for _, step := range []func() *fieldError{
		a.validateIdentity,
		func() *fieldError { return a.readSecret(dir) },
		a.validatePhones,
		a.validatePeriods,
		a.validateTimezone,
		a.validateBudget,
		a.validateWeekStart,
		a.validateSchedule,
		a.validateClosed,
	} {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

// validateIdentity checks name, tool and login.
func (a *Account) validateIdentity() *fieldError {
	if a.Name == "" {
		return fieldErr("name", "missing: every account needs a name made of letters, digits, _ and -")
	}
	if !accountNameRE.MatchString(a.Name) {
		return fieldErr("name", "%q may hold only letters, digits, _ and -", a.Name)
	}
	if a.Tool == "" {
		return fieldErr("tool", "missing: set dev, insight or fuseplus")
	}
	if _, err := voicetrends.ParseTool(string(a.Tool)); err != nil {
		return fieldErr("tool", "%v", err)
	}
	if a.Login == "" {
		return fieldErr("login", "missing: set the account's VoiceTrends login")
	}
	return nil
}

// readSecret takes the password from password or password_file, a relative
// file being relative to dir, the configuration file's folder.
func (a *Account) readSecret(dir string) *fieldError {
	switch {
	case a.PasswordFile != "" && a.Password != "":
		return fieldErr("password", "set either password or password_file, not both")
	case a.PasswordFile != "":
		path, err := expandCredentials(a.PasswordFile)
		if err != nil {
			return fieldErr("password_file", "%v", err)
		}
		b, err := os.ReadFile(resolve(dir, path))
		if err != nil {
			return fieldErr("password_file", "%s", unreadable(a.PasswordFile, dir, path, err))
		}
		a.secret = strings.TrimRight(string(b), "\r\n")
		if a.secret == "" {
			return fieldErr("password_file", "%q is empty: put the account's password in it", path)
		}
	case a.Password != "":
		a.secret = string(a.Password)
	default:
		return fieldErr("password_file", "missing: set password_file (or password) for the account")
	}
	return nil
}

// resolve makes path absolute, a relative one being relative to dir.
func resolve(dir, path string) string {
	if !filepath.IsAbs(path) {
		path = filepath.Join(dir, path)
	}
	if abs, err := filepath.Abs(path); err == nil {
		return abs
	}
	return path
}

// unreadable explains why password_file (written as in the file, path with
// $CREDENTIALS_DIRECTORY expanded) could not be read: it shows the absolute
// path, since a relative one is relative to the config file's folder rather
// than to where the exporter runs, and says what to do.
func unreadable(written, dir, path string, err error) string {
	msg := fmt.Sprintf("cannot read %q", resolve(dir, path))
	if !filepath.IsAbs(path) {
		msg += fmt.Sprintf(" (%q is relative to the config file's folder)", written)
	}
	msg += fmt.Sprintf(": %v", unwrapPathError(err))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		msg += ": put the account's password in that file, or correct password_file"
	case errors.Is(err, fs.ErrPermission):
		msg += ": let the user the exporter runs as read it"
	}
	return msg
}

// validatePhones checks each phone once; none means ALL.
func (a *Account) validatePhones() *fieldError {
	if len(a.Phones) == 0 {
		a.Phones = []string{voicetrends.AllPhones}
	}
	return checkEach("phones", "number", a.Phones, voicetrends.ValidatePhone)
}

// validatePeriods checks each period once; none means all three.
func (a *Account) validatePeriods() *fieldError {
	if len(a.Periods) == 0 {
		a.Periods = append([]voicetrends.Period(nil), voicetrends.Periods...)
	}
	return checkEach("periods", "period", a.Periods, func(p voicetrends.Period) error {
		_, err := voicetrends.ParsePeriod(string(p))
		return err
	})
}

// checkEach checks every item of the list key with check, and that none is
// listed twice.
func checkEach[T ~string](key, what string, items []T, check func(T) error) *fieldError {
	seen := map[T]bool{}
	for i, v := range items {
		if err := check(v); err != nil {
			return fieldErr(fmt.Sprintf("%s[%d]", key, i), "%v", err)
		}
		if seen[v] {
			return fieldErr(fmt.Sprintf("%s[%d]", key, i), "%q is listed twice: list each %s once", v, what)
		}
		seen[v] = true
	}
	return nil
}

// validateTimezone loads the account's zone, refusing legacy names.
func (a *Account) validateTimezone() *fieldError {
	if a.Timezone == "" {
		a.Timezone = DefaultTimezone
	}
	if zone, legacy := legacyZones[a.Timezone]; legacy {
		return fieldErr("timezone", "%q is a legacy zone name whose daylight saving is not a place's: use %s (a fixed offset stays possible as an Etc/ name such as Etc/GMT+5)", a.Timezone, zone)
	}
	loc, err := time.LoadLocation(a.Timezone)
	if err != nil || a.Timezone == "Local" {
		return fieldErr("timezone", "unknown time zone %q: use an IANA name such as America/New_York", a.Timezone)
	}
	a.Location = loc
	return nil
}

// validateBudget checks requests_per_window and the three durations.
func (a *Account) validateBudget() *fieldError {
	if a.RequestsPerWindow == 0 {
		a.RequestsPerWindow = DefaultRequestsPerWindow
	}
	if a.RequestsPerWindow < 0 || a.RequestsPerWindow > APIDataLimit {
		return fieldErr("requests_per_window", "%d is outside 1..%d: the API allows %d data requests per window, shared by every client of the account", a.RequestsPerWindow, APIDataLimit, APIDataLimit)
	}
	for _, d := range []struct {
		field string
		v     *model.Duration
		def   time.Duration
	}{
		{"window", &a.Window, DefaultWindow},
		{"refresh_interval", &a.RefreshInterval, DefaultRefreshInterval},
		{"max_data_age", &a.MaxDataAge, DefaultMaxDataAge},
	} {
		if *d.v == 0 {
			*d.v = model.Duration(d.def)
		}
		if *d.v < 0 {
			return fieldErr(d.field, "must be positive")
		}
	}
	if a.MaxDataAge < a.RefreshInterval {
		return fieldErr("max_data_age", "%s is shorter than refresh_interval %s: figures would vanish between two refreshes", a.MaxDataAge, a.RefreshInterval)
	}
	return nil
}

// validateWeekStart reads week_start, which only derive_periods uses.
func (a *Account) validateWeekStart() *fieldError {
	a.WeekStartDay = nil
	if a.WeekStart == "" {
		return nil
	}
	if !a.DerivePeriods {
		return fieldErr("week_start", "is only used with derive_periods: true: set derive_periods or remove week_start")
	}
	wd, ok := parseWeekday(a.WeekStart)
	if !ok {
		return fieldErr("week_start", "unknown day %q: use a weekday name such as sunday or monday", a.WeekStart)
	}
	a.WeekStartDay = &wd
	return nil
}

// validateSchedule checks schedule, defaulting to the square-root schedule.
func (a *Account) validateSchedule() *fieldError {
	switch a.Schedule {
	case "":
		a.Schedule = DefaultSchedule
	case ScheduleSqrt, ScheduleRoundRobin:
	default:
		return fieldErr("schedule", "unknown schedule %q: use sqrt (busy numbers refreshed more often, the default) or round_robin (every target alike)", a.Schedule)
	}
	return nil
}

// parseWeekday reads a weekday name in any case.
func parseWeekday(s string) (time.Weekday, bool) {
	for d := time.Sunday; d <= time.Saturday; d++ {
		if strings.EqualFold(s, d.String()) {
			return d, true
		}
	}
	return 0, false
}

// fieldPath splits "closed.dates[1]" into "closed", "dates", 1 for lineOf.
func fieldPath(field string) []any {
	var out []any
	for _, part := range strings.Split(field, ".") {
		name, index, ok := strings.Cut(strings.TrimSuffix(part, "]"), "[")
		if n, err := strconv.Atoi(index); ok && err == nil {
			out = append(out, name, n)
		} else {
			out = append(out, part)
		}
	}
	return out
}

func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// lineOf finds the line of the node at path (map keys and sequence indexes)
// below the document root, falling back to the deepest node found.
func lineOf(root *yaml.Node, path ...any) int {
	n := root
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	line := n.Line
	for _, p := range path {
		var next *yaml.Node
		switch key := p.(type) {
		case string:
			if n.Kind == yaml.MappingNode {
				for i := 0; i+1 < len(n.Content); i += 2 {
					if n.Content[i].Value == key {
						line, next = n.Content[i].Line, n.Content[i+1]
					}
				}
			}
		case int:
			if n.Kind == yaml.SequenceNode && key < len(n.Content) {
				next = n.Content[key]
				line = next.Line
			}
		}
		if next == nil {
			break
		}
		n = next
	}
	if line == 0 {
		line = 1
	}
	return line
}

// String renders the configuration as YAML with every secret redacted.
func (c *Config) String() string {
	b, err := yaml.Marshal(c)
	if err != nil {
		return fmt.Sprintf("<config: %v>", err)
	}
	return string(b)
}

// credentialsVar is where systemd puts the files of a unit's LoadCredential=:
// a password_file there lets the password stay readable by root alone.
const credentialsVar = "CREDENTIALS_DIRECTORY"

// expandCredentials replaces $CREDENTIALS_DIRECTORY or ${CREDENTIALS_DIRECTORY}
// in a password_file path. No other variable is expanded, so a path holding
// a $ otherwise means what it says.
func expandCredentials(path string) (string, error) {
	if !strings.Contains(path, "$"+credentialsVar) && !strings.Contains(path, "${"+credentialsVar+"}") {
		return path, nil
	}
	dir := os.Getenv(credentialsVar)
	if dir == "" {
		return "", fmt.Errorf("%q needs $%s, which systemd sets for a unit with LoadCredential=; outside systemd, set it to the directory holding the password file", path, credentialsVar)
	}
	path = strings.ReplaceAll(path, "${"+credentialsVar+"}", dir)
	return strings.ReplaceAll(path, "$"+credentialsVar, dir), nil
}
