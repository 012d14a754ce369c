package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/voicetrends/voicetrends_exporter/voicetrends"
)

func TestLoadInvalid(t *testing.T) {
	for file, want := range map[string]string{
		"invalid-bad-base-url.yml":             `1: base_url "ftp://example.com/api/" is not an http(s) URL: use e.g. https://voicetrends.plumvoice.com/api/`,
		"invalid-bad-duration.yml":             `6: accounts[0].refresh_interval: not a valid duration string: "often"`,
		"invalid-bad-http-client.yml":          `1: http_client: at most one of bearer_token & bearer_token_file must be configured`,
		"invalid-bad-name.yml":                 `2: accounts[0].name: "sup port" may hold only letters, digits, _ and -`,
		"invalid-bad-period.yml":               `6: accounts[0].periods[1]: unknown period "year": use day, week or month`,
		"invalid-bad-phone.yml":                `6: accounts[0].phones[1]: invalid phone "617-555-1234": use ALL or up to 20 digits with an optional leading +`,
		"invalid-bad-timezone.yml":             `6: accounts[0].timezone: unknown time zone "Mars/Olympus_Mons": use an IANA name such as America/New_York`,
		"invalid-bad-tool.yml":                 `3: accounts[0].tool: unknown tool "voicexml": use dev, insight or fuseplus`,
		"invalid-both-passwords.yml":           `5: accounts[0].password: set either password or password_file, not both`,
		"invalid-budget-too-high.yml":          `6: accounts[0].requests_per_window: 200 is outside 1..150: the API allows 150 data requests per window, shared by every client of the account`,
		"invalid-duplicate-name.yml":           `6: accounts[1].name: duplicate account name "a" (also accounts[0]): give each account its own name`,
		"invalid-duplicate-phone.yml":          `6: accounts[0].phones[1]: "123" is listed twice: list each number once`,
		"invalid-empty.yml":                    `1: the file is empty: list at least one account under accounts`,
		"invalid-max-age-below-refresh.yml":    `7: accounts[0].max_data_age: 5m is shorter than refresh_interval 10m: figures would vanish between two refreshes`,
		"invalid-missing-login.yml":            `2: accounts[0].login: missing: set the account's VoiceTrends login`,
		"invalid-missing-name.yml":             `2: accounts[0].name: missing: every account needs a name made of letters, digits, _ and -`,
		"invalid-missing-password.yml":         `2: accounts[0].password_file: missing: set password_file (or password) for the account`,
		"invalid-no-accounts.yml":              `1: no accounts: list at least one account under accounts`,
		"invalid-not-yaml.yml":                 `1: did not find expected node content`,
		"invalid-path-injection-phone.yml":     `6: accounts[0].phones[0]: invalid phone "../auth": use ALL or up to 20 digits with an optional leading +`,
		"invalid-unknown-key.yml":              `6: field passwrod_file not found in type config.Account`,
		"invalid-unknown-top-key.yml":          `1: field acounts not found in type config.Config`,
		"invalid-unreadable-password-file.yml": `5: accounts[0].password_file: cannot read "testdata/does-not-exist.txt": no such file or directory`,
	} {
		t.Run(file, func(t *testing.T) {
			path := filepath.Join("testdata", file)
			_, err := Load(path)
			if err == nil {
				t.Fatalf("Load(%s) succeeded, want error", path)
			}
			if got, want := err.Error(), path+":"+want; got != want {
				t.Errorf("Load(%s) error\n got: %s\nwant: %s", path, got, want)
			}
		})
	}
	// Every invalid-*.yml file must be in the table above.
	files, _ := filepath.Glob("testdata/invalid-*.yml")
	if len(files) != 23 {
		t.Errorf("found %d invalid-*.yml files, the table has 23: add the new file's expected error", len(files))
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
		{"sales inline secret", sales.Secret(), "hunter2-inline"},
		{"sales default phones", strings.Join(sales.Phones, ","), "ALL"},
		{"sales default periods", len(sales.Periods), 3},
		{"sales default timezone", sales.Location.String(), "America/New_York"},
		{"sales default budget", sales.RequestsPerWindow, 100},
		{"sales default window", time.Duration(sales.Window), 15 * time.Minute},
		{"sales default refresh", time.Duration(sales.RefreshInterval), 5 * time.Minute},
		{"sales default max age", time.Duration(sales.MaxDataAge), time.Hour},
	} {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
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
	now := time.Unix(1_700_000_000, 0)
	clock := func() time.Time { return now }
	good, err := Load("testdata/valid.yml")
	if err != nil {
		t.Fatal(err)
	}
	s := NewSafe(good, clock)
	now = now.Add(time.Minute)
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
