package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/voicetrends/voicetrends_exporter/prometheus/promtest"
)

// TestConfigCheck: --config.check refuses what serve refuses, builds the
// HTTP clients without a request, and prints each account's plan; what is
// wrong goes to stderr as plain text for a person, not as a log line.
func TestConfigCheck(t *testing.T) {
	t.Parallel()
	api := newFakeAPI(t)
	dir := testDir(t)
	phones := make([]string, 0, 51)
	phones = append(phones, "ALL")
	for i := range 50 {
		phones = append(phones, fmt.Sprintf("%q", fmt.Sprint(6175550100+i)))
	}
	big := writeTemp(t, dir, "big.yml", fmt.Sprintf(`base_url: %q
accounts:
  - name: support
    tool: dev
    login: acme-support
    password_file: support.pw
    phones: [%s]
  - name: sales
    tool: fuseplus
    login: acme-sales
    password_file: sales.pw
    periods: [day]
    requests_per_window: 1
    refresh_interval: 10m
    max_data_age: 30m
    schedule: round_robin
`, api.url, strings.Join(phones, ", ")))
	derived := writeTemp(t, dir, "derived.yml", fmt.Sprintf(`base_url: %q
accounts:
  - name: support
    tool: dev
    login: acme-support
    password_file: support.pw
    phones: [%s]
    derive_periods: true
    max_data_age: 20m
`, api.url, strings.Join(phones, ", ")))
	missingCA := writeTemp(t, dir, "missing-ca.yml", fmt.Sprintf(`base_url: %q
http_client:
  tls_config:
    ca_file: %s
accounts:
  - name: support
    tool: dev
    login: acme-support
    password_file: support.pw
`, api.url, filepath.Join(dir, "no-ca.pem")))
	badWeb := writeTemp(t, dir, "web.yml", "tls_server_config:\n  cert_file: nope.crt\n")
	typo := writeTemp(t, dir, "typo.yml", "accounts:\n  - name: support\n    tool: dev\n    login: acme-support\n    pasword_file: support.pw\n")

	tests := []struct {
		name    string
		args    []string
		code    int
		wantOut string   // stdout, exactly
		wantErr []string // in stderr, which then starts with the file's name
	}{
		{
			name: "plan",
			args: []string{"--config.file=" + big},
			wantOut: big + ": configuration is valid: 2 account(s)\n" +
				"  account support: 153 target(s), 153 request(s) per refresh, budget 100 per 15m, refresh every 22m57s, max_data_age 1h\n" +
				"    the budget stretches refresh_interval 5m to 22m57s: 153 requests x (15m / 5m) = 459 per window, more than requests_per_window 100; derive_periods: true would make one request per number serve all 3 periods, refreshing up to 3 times as often\n" +
				"    schedule sqrt: round-robin would refresh every target every 22m57s; expected, with calls assumed to fall as 1/rank over the 50 numbers until the exporter has measured them: busiest every 6m18s, quietest every 44m35s, ALL every 5m; the calls' mean refresh interval 0.78 x round-robin's (square-root optimum 0.72)\n" +
				"  account sales: 1 target(s), 1 request(s) per refresh, budget 1 per 15m, refresh every 15m, max_data_age 30m\n" +
				"    the budget stretches refresh_interval 10m to 15m: 1 requests x (15m / 10m) = 2 per window, more than requests_per_window 1\n" +
				"    schedule round_robin: every target every 15m\n",
		},
		{
			name: "plan with derive_periods",
			args: []string{"--config.file=" + derived},
			wantOut: derived + ": configuration is valid: 1 account(s)\n" +
				"  account support: 51 target(s), 51 request(s) per refresh (derive_periods; plus 1 week request a day to learn the week's first day), budget 100 per 15m, refresh every 7m39s, max_data_age 20m\n" +
				"    the budget stretches refresh_interval 5m to 7m39s: 51 requests x (15m / 5m) = 153 per window, more than requests_per_window 100\n" +
				"    schedule sqrt: round-robin would refresh every target every 7m39s; expected, with calls assumed to fall as 1/rank over the 50 numbers until the exporter has measured them: busiest every 5m, quietest every 12m11s, ALL every 5m; the calls' mean refresh interval 0.81 x round-robin's (square-root optimum 0.72)\n",
		},
		{
			name:    "missing ca_file",
			args:    []string{"--config.file=" + missingCA},
			code:    1,
			wantErr: []string{missingCA + `: account "support": building the HTTP client from http_client`, "no-ca.pem", "no such file or directory"},
		},
		{
			name:    "bad web config",
			args:    []string{"--config.file=" + big, "--web.config.file=" + badWeb},
			code:    1,
			wantErr: []string{badWeb + ": --web.config.file: missing one of key or key_file"},
		},
		{
			name:    "unknown key",
			args:    []string{"--config.file=" + typo},
			code:    1,
			wantErr: []string{typo + `:5: accounts[0]: unknown key "pasword_file" (did you mean "password_file"?)` + "\n"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, out, logs := newEnv(t)
			addr := promtest.FreePort(t)
			code := run(append([]string{"--config.check", "--web.listen-address=" + addr}, tt.args...), e)
			if code != tt.code {
				t.Errorf("run returned %d, want %d; log:\n%s", code, tt.code, logs.String())
			}
			if got := out.String(); got != tt.wantOut {
				t.Errorf("stdout\n got: %q\nwant: %q", got, tt.wantOut)
			}
			stderr := logs.String()
			for _, w := range tt.wantErr {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr does not say %q:\n%s", w, stderr)
				}
			}
			if len(tt.wantErr) == 0 && stderr != "" {
				t.Errorf("stderr = %q, want nothing", stderr)
			}
			if len(tt.wantErr) > 0 && !strings.HasPrefix(stderr, strings.SplitN(tt.wantErr[0], ":", 2)[0]+":") {
				t.Errorf("stderr is not plain text starting with the file's name:\n%s", stderr)
			}
			assertNotListening(t, addr)
		})
	}
	for _, login := range []string{"acme-support", "acme-sales"} {
		if st := api.sim.Stats(login); st.AuthRequests != 0 || st.DataRequests != 0 {
			t.Errorf("%s: --config.check sent %d logins and %d data requests, want none", login, st.AuthRequests, st.DataRequests)
		}
	}
}
