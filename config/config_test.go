package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/voicetrends/voicetrends_exporter/internal/clock"
	"github.com/voicetrends/voicetrends_exporter/internal/closure"
	"github.com/voicetrends/voicetrends_exporter/voicetrends"
)

func TestLoadInvalid(t *testing.T) {
	table := map[string]string{
		"invalid-bad-base-url.yml":              `1: base_url "ftp://example.com/api/" is not an http(s) URL: use e.g. https://voicetrends.plumvoice.com/api/`,
		"invalid-bad-duration.yml":              `6: accounts[0].refresh_interval: not a valid duration string: "often"`,
		"invalid-bad-http-client.yml":           `1: http_client: at most one of bearer_token & bearer_token_file must be configured`,
		"invalid-bad-name.yml":                  `2: accounts[0].name: "sup port" may hold only letters, digits, _ and -`,
		"invalid-bad-period.yml":                `6: accounts[0].periods[1]: unknown period "year": use day, week or month`,
		"invalid-bad-phone.yml":                 `6: accounts[0].phones[1]: invalid phone "617-555-1234": use ALL or up to 20 digits with an optional leading +`,
		"invalid-bad-timezone.yml":              `6: accounts[0].timezone: unknown time zone "Mars/Olympus_Mons": use an IANA name such as America/New_York`,
		"invalid-bad-week-start.yml":            `7: accounts[0].week_start: unknown day "mondy": use a weekday name such as sunday or monday`,
		"invalid-week-start-without-derive.yml": `6: accounts[0].week_start: is only used with derive_periods: true: set derive_periods or remove week_start`,
		"invalid-bad-schedule.yml":              `6: accounts[0].schedule: unknown schedule "roundrobin": use sqrt (busy numbers refreshed more often, the default) or round_robin (every target alike)`,
		"invalid-bad-tool.yml":                  `3: accounts[0].tool: unknown tool "voicexml": use dev, insight or fuseplus`,
		"invalid-both-passwords.yml":            `5: accounts[0].password: set either password or password_file, not both`,
		"invalid-budget-too-high.yml":           `6: accounts[0].requests_per_window: 200 is outside 1..150: the API allows 150 data requests per window, shared by every client of the account`,
		"invalid-duplicate-name.yml":            `6: accounts[1].name: duplicate account name "a" (also accounts[0]): give each account its own name`,
		"invalid-duplicate-phone.yml":           `6: accounts[0].phones[1]: "123" is listed twice: list each number once`,
		"invalid-empty.yml":                     `1: the file is empty: list at least one account under accounts`,
		"invalid-max-age-below-refresh.yml":     `7: accounts[0].max_data_age: 5m is shorter than refresh_interval 10m: figures would vanish between two refreshes`,
		"invalid-missing-login.yml":             `2: accounts[0].login: missing: set the account's VoiceTrends login`,
		"invalid-missing-name.yml":              `2: accounts[0].name: missing: every account needs a name made of letters, digits, _ and -`,
		"invalid-missing-password.yml":          `2: accounts[0].password_file: missing: set password_file (or password) for the account`,
		"invalid-no-accounts.yml":               `1: no accounts: list at least one account under accounts`,
		"invalid-not-yaml.yml":                  `1: did not find expected node content`,
		"invalid-path-injection-phone.yml":      `6: accounts[0].phones[0]: invalid phone "../auth": use ALL or up to 20 digits with an optional leading +`,
		"invalid-unknown-key.yml":               `6: accounts[0]: unknown key "pasword_file" (did you mean "password_file"?)`,
		"invalid-unknown-top-key.yml":           `1: unknown key "acounts" (did you mean "accounts"?)`,
		"invalid-unknown-nested-key.yml":        `3: http_client.tls_config: unknown key "ca_fle" (did you mean "ca_file"?)`,
		"invalid-legacy-timezone.yml":           `6: accounts[0].timezone: "EST" is a legacy zone name whose daylight saving is not a place's: use America/New_York (a fixed offset stays possible as an Etc/ name such as Etc/GMT+5)`,
		"invalid-legacy-timezone-rule.yml":      `6: accounts[0].timezone: "PST8PDT" is a legacy zone name whose daylight saving is not a place's: use America/Los_Angeles (a fixed offset stays possible as an Etc/ name such as Etc/GMT+5)`,
		"invalid-tab.yml":                       `4: a tab at column 1: YAML indents with spaces only, replace the tab with spaces`,
		"invalid-tab-before-dash.yml":           `2: a tab at column 1: YAML indents with spaces only, replace the tab with spaces`,
		"invalid-tab-after-dash.yml":            `7: a tab at column 8: YAML indents with spaces only, replace the tab with spaces`,
		"invalid-tab-first-line.yml":            `1: a tab at column 1: YAML indents with spaces only, replace the tab with spaces`,
		"invalid-duration-without-unit.yml":     `6: accounts[0].refresh_interval: 5 has no unit: add a unit, e.g. 5m`,
		"invalid-base-url-user-info.yml":        `1: base_url "https://jdoe:<secret>@voicetrends.plumvoice.com/api/" must not contain user info: set login and password instead`,
		"invalid-base-url-without-api.yml":      `1: base_url "https://voicetrends.plumvoice.com/" lacks the API's /api/ path, so every request would get 404: the base URL is probably wrong, use https://voicetrends.plumvoice.com/api/`,
		"invalid-unreadable-password-file.yml":  `5: accounts[0].password_file: cannot read "$TESTDATA/does-not-exist.txt" ("does-not-exist.txt" is relative to the config file's folder): no such file or directory: put the account's password in that file, or correct password_file`,
		"invalid-bad-indentation.yml":           `4: accounts[0].login: indented 3 spaces: indent it 4 spaces, as tool on line 3 (YAML nests keys by their indentation)`,
		"invalid-negative-duration.yml":         `6: accounts[0].refresh_interval: -5m is negative: use a positive duration such as 5m (the default)`,
		"invalid-closed-unknown-country.yml":    `7: accounts[0].closed.holidays: unknown country or region "Narnia": use an ISO 3166-1 code the holiday library knows (AR, AT, AU, BE, BG, BR, CA, CH, CY, CZ, DE, DK, EE, ES, FI, FR, GB, GR, HR, HU, IE, IS, IT, JP, KE, LT, LU, LV, MT, MW, MX, NC, NL, NO, NZ, PL, PT, RO, RS, RU, SE, SI, SK, TH, UA, US, ZA) or a region of AU, CH, DE written like DE-BY`,
		"invalid-closed-unknown-region.yml":     `7: accounts[0].closed.holidays: unknown region "DE-XY": the holiday library knows DE, DE-BB, DE-BE, DE-BW, DE-BY, DE-HB, DE-HE, DE-HH, DE-MV, DE-NI, DE-NW, DE-RP, DE-SH, DE-SL, DE-SN, DE-ST, DE-TH for DE; use one of them`,
		"invalid-closed-bad-date.yml":           `8: accounts[0].closed.dates[1]: "2026-12-32" is not a date: write it YYYY-MM-DD, e.g. 2026-12-24`,
		"invalid-closed-bad-open-date.yml":      `10: accounts[0].closed.open[1]: "27/11/2026" is not a date: write it YYYY-MM-DD, e.g. 2026-12-24`,
		"invalid-closed-duplicate-date.yml":     `7: accounts[0].closed.dates[1]: "2026-12-24" is listed twice: list each date once`,
		"invalid-closed-not-a-mapping.yml":      `6: accounts[0].closed: "US" is not a mapping: write e.g. closed: {holidays: US, dates: [2026-12-24]}`,
		"invalid-closed-date-not-a-list.yml":    `6: accounts[0].closed: dates is a list: write dates: [2026-12-24]`,
		"invalid-closed-two-countries.yml":      `6: accounts[0].closed: holidays takes one country or region: write e.g. holidays: US or holidays: DE-BY, and list more days under dates`,
		"invalid-closed-unknown-key.yml":        `7: accounts[0].closed: unknown key "holiday" (did you mean "holidays"?)`,
	}
	// $TESTDATA is the folder's absolute path, which a message about a
	// relative password_file shows.
	testdata, err := filepath.Abs("testdata")
	if err != nil {
		t.Fatal(err)
	}
	for file, want := range table {
		t.Run(file, func(t *testing.T) {
			path := filepath.Join("testdata", file)
			_, err := Load(path)
			if err == nil {
				t.Fatalf("Load(%s) succeeded, want error", path)
			}
			if got, want := err.Error(), path+":"+strings.ReplaceAll(want, "$TESTDATA", testdata); got != want {
				t.Errorf("Load(%s) error\n got: %s\nwant: %s", path, got, want)
			}
		})
	}
	// Every invalid-*.yml file must be in the table above.
	files, _ := filepath.Glob("testdata/invalid-*.yml")
	for _, f := range files {
		if _, ok := table[filepath.Base(f)]; !ok {
			t.Errorf("%s is not in the table: add its expected error", f)
		}
	}
	if len(files) < len(table) {
		t.Errorf("found %d invalid-*.yml files, the table has %d", len(files), len(table))
	}
}

// Zone names that stay possible: places, fixed offsets as Etc/ names, UTC.
func TestTimezonesAccepted(t *testing.T) {
	for _, zone := range []string{"America/New_York", "America/Phoenix", "Pacific/Honolulu", "Etc/GMT+5", "Etc/UTC", "UTC"} {
		doc := "accounts:\n  - name: a\n    tool: dev\n    login: x\n    password: p\n    timezone: " + zone + "\n"
		if _, err := Parse([]byte(doc), "."); err != nil {
			t.Errorf("timezone %s refused: %v", zone, err)
		}
	}
}

// A tab after the indentation, or inside a value, is no mistake.
func TestTabOutsideIndentationAccepted(t *testing.T) {
	doc := "accounts:\n  - name: a\t# the support line\n    tool: dev\n    login: x\n    password: \"p\\tq\"\n"
	if _, err := Parse([]byte(doc), "."); err != nil {
		t.Errorf("a tab outside the indentation refused: %v", err)
	}
}

func TestLoadValid(t *testing.T) {
	cfg, err := Load("testdata/valid.yml")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.BaseURL != voicetrends.DefaultBaseURL {
		t.Errorf("base_url default = %q", cfg.BaseURL)
	}
	support, sales := cfg.Accounts[0], cfg.Accounts[1]
	for _, c := range []struct {
		name      string
		got, want any
	}{
		{"support secret from file", support.Secret(), "s3cr3t-from-file"},
		{"support phones", strings.Join(support.Phones, ","), "ALL,6175551234,+16175550000"},
		{"support periods", len(support.Periods), 2},
		{"support location", support.Location.String(), "Europe/London"},
		{"support budget", support.RequestsPerWindow, 120},
		{"support refresh", time.Duration(support.RefreshInterval), 10 * time.Minute},
		{"support max age", time.Duration(support.MaxDataAge), 2 * time.Hour},
		{"support derive_periods", support.DerivePeriods, true},
		{"support week start", fmt.Sprint(support.WeekStartDay), "Monday"},
		{"sales default derive_periods", sales.DerivePeriods, false},
		{"sales week start learned", sales.WeekStartDay == nil, true},
		{"sales inline secret", sales.Secret(), "hunter2-inline"},
		{"sales default phones", strings.Join(sales.Phones, ","), "ALL"},
		{"sales default periods", len(sales.Periods), 3},
		{"sales default timezone", sales.Location.String(), "America/New_York"},
		{"sales default budget", sales.RequestsPerWindow, 100},
		{"sales default window", time.Duration(sales.Window), 15 * time.Minute},
		{"sales default refresh", time.Duration(sales.RefreshInterval), 5 * time.Minute},
		{"sales default max age", time.Duration(sales.MaxDataAge), time.Hour},
		{"support closures", support.Closures.Region(), "DE-BY"},
		{"support closed on a listed date", closedOn(support, "2026-12-24"), "2026-12-24 Thu closed.dates"},
		{"support closed on a holiday", closedOn(support, "2026-12-25"), "2026-12-25 Fri Weihnachtstag"},
		{"support open on a holiday", closedOn(support, "2026-12-26"), ""},
		{"sales without closures", sales.Closures == nil, true},
		{"sales never closed", closedOn(sales, "2026-12-25"), ""},
	} {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

// closedOn describes a's closure on day (YYYY-MM-DD), "" when open.
func closedOn(a Account, day string) string {
	d, err := closure.ParseDate(day)
	if err != nil {
		return err.Error()
	}
	if c, ok := a.Closures.On(d); ok {
		return c.String()
	}
	return ""
}

// The printed configuration round-trips, and no password survives printing.
func TestStringRedactsAndRoundTrips(t *testing.T) {
	cfg, err := Load("testdata/valid.yml")
	if err != nil {
		t.Fatal(err)
	}
	out := cfg.String()
	for _, secret := range []string{"hunter2-inline", "s3cr3t-from-file"} {
		if strings.Contains(out, secret) {
			t.Fatalf("printed config leaks %q:\n%s", secret, out)
		}
	}
	if !strings.Contains(out, "password: <secret>") {
		t.Errorf("printed config does not show the redacted password:\n%s", out)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "secret.txt"), []byte("s3cr3t-from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	again, err := Parse([]byte(out), dir)
	if err != nil {
		t.Fatalf("printed config does not load again: %v\n%s", err, out)
	}
	if again.String() != out {
		t.Errorf("round trip changed the config:\n%s\nthen:\n%s", out, again.String())
	}
	if again.Accounts[1].Secret() != "<secret>" {
		t.Errorf("redacted password reloaded as %q", again.Accounts[1].Secret())
	}
}

func TestSafeReload(t *testing.T) {
	clk := clock.NewManual(time.Unix(1_700_000_000, 0))
	good, err := Load("testdata/valid.yml")
	if err != nil {
		t.Fatal(err)
	}
	s := NewSafe(good, clk)
	clk.Advance(time.Minute)
	if err := s.Reload("testdata/invalid-bad-tool.yml", nil); err == nil {
		t.Fatal("reload of an invalid file succeeded")
	}
	if s.Get() != good {
		t.Error("a failed reload replaced the running config")
	}
	want := `
# HELP voicetrends_config_last_reload_success_timestamp_seconds Timestamp of the last successful configuration reload.
# TYPE voicetrends_config_last_reload_success_timestamp_seconds gauge
voicetrends_config_last_reload_success_timestamp_seconds 1.7e+09
# HELP voicetrends_config_last_reload_successful Whether the last configuration reload attempt was successful (1) or not (0).
# TYPE voicetrends_config_last_reload_successful gauge
voicetrends_config_last_reload_successful 0
`
	if err := testutil.CollectAndCompare(s, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
	if err := s.Reload("testdata/valid.yml", nil); err != nil {
		t.Fatal(err)
	}
	if s.Get() == good {
		t.Error("a good reload kept the old config")
	}
	want = strings.Replace(strings.Replace(want, "1.7e+09", "1.70000006e+09", 1), "successful 0", "successful 1", 1)
	if err := testutil.CollectAndCompare(s, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
}

// A systemd unit's LoadCredential= puts the password under
// $CREDENTIALS_DIRECTORY; password_file may name it so.
func TestPasswordFileFromCredentialsDirectory(t *testing.T) {
	creds := t.TempDir()
	if err := os.WriteFile(filepath.Join(creds, "password"), []byte("from-credential\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	config := func(path string) []byte {
		return []byte("accounts:\n  - name: a\n    tool: dev\n    login: l\n    password_file: " + path + "\n")
	}
	for _, path := range []string{"${CREDENTIALS_DIRECTORY}/password", "$CREDENTIALS_DIRECTORY/password"} {
		t.Run(path, func(t *testing.T) {
			t.Setenv("CREDENTIALS_DIRECTORY", creds)
			cfg, err := Parse(config(path), t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			if got := cfg.Accounts[0].Secret(); got != "from-credential" {
				t.Errorf("secret = %q, want the credential's", got)
			}
		})
	}
	t.Run("outside systemd", func(t *testing.T) {
		t.Setenv("CREDENTIALS_DIRECTORY", "")
		_, err := Parse(config("${CREDENTIALS_DIRECTORY}/password"), t.TempDir())
		if err == nil || !strings.Contains(err.Error(), "5: accounts[0].password_file:") || !strings.Contains(err.Error(), "LoadCredential=") {
			t.Errorf("error = %v, want one naming the key and LoadCredential=", err)
		}
	})
	t.Run("other variables are not expanded", func(t *testing.T) {
		t.Setenv("HOME", creds)
		_, err := Parse(config("$HOME/password"), t.TempDir())
		if err == nil || !strings.Contains(err.Error(), "$HOME/password") {
			t.Errorf("error = %v, want $HOME taken literally", err)
		}
	})
}

// The unknown-key check knows every key of prometheus/common's http_client,
// inline and nested ones included.
func TestHTTPClientKeysAccepted(t *testing.T) {
	for _, block := range []string{
		"  basic_auth: {username: u, password: p}\n  tls_config: {insecure_skip_verify: true, server_name: x, min_version: TLS12}\n  follow_redirects: false\n  enable_http2: false\n",
		"  authorization: {type: Bearer, credentials: c}\n  proxy_url: http://proxy:3128\n  no_proxy: localhost\n  proxy_connect_header: {X-A: [b]}\n",
		"  oauth2: {client_id: i, client_secret: s, token_url: http://t/, scopes: [a], endpoint_params: {k: v}, tls_config: {insecure_skip_verify: true}}\n",
		"  http_headers: {X-Tenant: {values: [a]}, X-Other: {secrets: [b]}}\n  proxy_from_environment: true\n",
	} {
		doc := "http_client:\n" + block + "accounts:\n  - name: a\n    tool: dev\n    login: x\n    password: p\n"
		if _, err := Parse([]byte(doc), "."); err != nil && strings.Contains(err.Error(), "unknown key") {
			t.Errorf("refused a known key: %v\n%s", err, doc)
		}
	}
}

// TestIndentationMistakes: a line indented to a column no block above
// opened is named by its own line and key, with the column to use,
// wherever the parser gave up; other syntax errors keep the parser's words.
func TestIndentationMistakes(t *testing.T) {
	t.Parallel()
	const head = "accounts:\n  - name: a\n    tool: dev\n"
	for _, c := range []struct{ doc, want string }{
		{head + "  login: x\n    password: p\n", "4: accounts[0].login: indented 2 spaces: indent it 4 spaces, as tool on line 3 (YAML nests keys by their indentation)"},
		{head + "      login: x\n    password: p\n", "4: accounts[0].login: indented 6 spaces: indent it 4 spaces, as tool on line 3 (YAML nests keys by their indentation)"},
		{head + "    login: x\n    password: p\n  - name: b\n    tool: dev\n    login: y\n     password: q\n", "9: accounts[1].password: indented 5 spaces: indent it 4 spaces, as login on line 8 (YAML nests keys by their indentation)"},
		{head + "    login: x\n    password: p\n    phones:\n      - ALL\n     - \"123\"\n", "8: accounts[0].phones[1]: indented 5 spaces: indent it 6 spaces, as line 7 (YAML nests keys by their indentation)"},
		{"base_url: http://x/\n accounts:\n  - name: a\n", "2: accounts: indented 1 space: indent it 0 spaces, as base_url on line 1 (YAML nests keys by their indentation)"},
		{"accounts:\n- name: a\n  tool: dev\n - name: b\n", "4: accounts[1].name: indented 1 space: indent it 0 spaces, as line 2 (YAML nests keys by their indentation)"},
		{"accounts:\n  - name: a: b\n    tool: dev\n", "2: mapping values are not allowed in this context"},
	} {
		_, err := Parse([]byte(c.doc), ".")
		if err == nil || err.Error() != c.want {
			t.Errorf("Parse(%q) error\n got: %v\nwant: %s", c.doc, err, c.want)
		}
	}
}
