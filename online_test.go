package main

import (
	"fmt"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/voicetrends/voicetrends_exporter/prometheus/promtest"
)

// TestConfigCheckOnline: --config.check --config.check.online against the
// simulator logs in once per account and asks once per number, and says
// per number "ok", "not a number of this account" or the API's error.
func TestConfigCheckOnline(t *testing.T) {
	t.Parallel()
	const toolHint = " (check tool as well as login and password: one of dev | insight | fuseplus, the Plum tool the account belongs to)"
	api := newFakeAPI(t)
	dir := testDir(t)
	writeFile(t, filepath.Join(dir, "wrong.pw"), "not-the-password\n")
	conf := func(name, tool, pwFile, phones string) string {
		return writeTemp(t, dir, name+".yml", fmt.Sprintf("base_url: %q\naccounts:\n  - name: support\n    tool: %s\n    login: acme-support\n    password_file: %s\n    phones: %s\n    periods: [day]\n    timezone: America/New_York\n",
			api.url, tool, pwFile, phones))
	}
	valid := func(file string) string {
		return file + ": configuration is valid: 1 account(s)\n" +
			"  account support: 2 target(s), 2 request(s) per refresh, budget 100 per 15m, refresh every 5m, max_data_age 1h\n" +
			file + ": checking against the API at " + api.url + "\n"
	}
	good := conf("good", "dev", "support.pw", `[ALL, "+18005550100"]`)
	wrongPassword := conf("wrong-password", "dev", "wrong.pw", `[ALL, "+18005550100"]`)
	wrongTool := conf("wrong-tool", "insight", "support.pw", `[ALL, "+18005550100"]`)
	notOurs := conf("not-ours", "dev", "support.pw", `["18005550101", "+442079460000"]`)
	tests := []struct {
		name      string
		file      string
		code      int
		want      string // stdout, with "ok, N calls today so far" shortened to "ok"
		logins    int
		dataSpent int
	}{
		{"good account", good, 0, valid(good) +
			"  account support (tool dev): logged in\n" +
			"    ALL: ok\n" +
			"    +18005550100: ok\n" +
			good + ": online check passed: 3 check(s)\n", 1, 2},
		{"wrong password", wrongPassword, 1, valid(wrongPassword) +
			"  account support (tool dev): login failed: voicetrends: auth: HTTP 401 Unauthorized: invalid credentials or inactive account" + toolHint + "\n" +
			"    ALL: not checked: no login\n" +
			"    +18005550100: not checked: no login\n" +
			wrongPassword + ": online check failed: 3 of 3 check(s)\n", 1, 0},
		{"wrong tool", wrongTool, 1, valid(wrongTool) +
			"  account support (tool insight): login failed: voicetrends: auth: HTTP 401 Unauthorized: invalid credentials or inactive account" + toolHint + "\n" +
			"    ALL: not checked: no login\n" +
			"    +18005550100: not checked: no login\n" +
			wrongTool + ": online check failed: 3 of 3 check(s)\n", 1, 0},
		{"numbers not of the account", notOurs, 1, valid(notOurs) +
			"  account support (tool dev): logged in\n" +
			`    18005550101: not a number of this account (the API: HTTP 400 Bad Request: phone "18005550101" is not a number of this account); if the account lists it as +18005550101, write that in phones` + "\n" +
			`    +442079460000: not a number of this account (the API: HTTP 400 Bad Request: phone "+442079460000" is not a number of this account); if the account lists it as 442079460000, write that in phones` + "\n" +
			notOurs + ": online check failed: 2 of 3 check(s)\n", 1, 2},
	}
	calls := regexp.MustCompile(`: ok, \d+ calls today so far\n`)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := api.sim.Stats("acme-support")
			e, out, logs := newEnv(t)
			e.clock = api.clock
			addr := promtest.FreePort(t)
			code := run([]string{"--config.check", "--config.check.online", "--web.listen-address=" + addr, "--config.file=" + tt.file}, e)
			if code != tt.code {
				t.Errorf("run returned %d, want %d; log:\n%s", code, tt.code, logs.String())
			}
			if tt.code == 0 && len(calls.FindAllString(out.String(), -1)) != 2 {
				t.Errorf("stdout does not give today's calls of both numbers:\n%s", out.String())
			}
			if got := calls.ReplaceAllString(out.String(), ": ok\n"); got != tt.want {
				t.Errorf("stdout\n got: %s\nwant: %s", got, tt.want)
			}
			assertNoSecrets(t, "stdout", out.String())
			assertNoSecrets(t, "the log", logs.String())
			after := api.sim.Stats("acme-support")
			if logins, spent := after.AuthRequests-before.AuthRequests, after.DataRequests-before.DataRequests; logins != tt.logins || spent != tt.dataSpent {
				t.Errorf("%d login(s) and %d data request(s), want %d and %d", logins, spent, tt.logins, tt.dataSpent)
			}
			assertNotListening(t, addr)
		})
	}
}

// TestConfigCheckOnlineNeedsCheck: the online check is part of --config.check.
func TestConfigCheckOnlineNeedsCheck(t *testing.T) {
	t.Parallel()
	e, _, logs := newEnv(t)
	if code := run([]string{"--demo", "--config.check.online"}, e); code != 2 {
		t.Errorf("run returned %d, want 2", code)
	}
	if want := "voicetrends_exporter: --config.check.online checks with --config.check: give both; try --help\n"; logs.String() != want {
		t.Errorf("stderr %q, want %q", logs.String(), want)
	}
}
