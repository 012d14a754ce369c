package main

import (
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"

	"github.com/voicetrends/voicetrends_exporter/config"
	"github.com/voicetrends/voicetrends_exporter/internal/clock"
	"github.com/voicetrends/voicetrends_exporter/voicetrends/simulator"
)

// demoRefreshInterval shows figures moving in a demo while ALL and every
// demo number, in all three periods, still fit the default budget.
const demoRefreshInterval = 2 * time.Minute

// startDemo serves the simulator on a loopback port and returns a
// configuration of its demo accounts.
func startDemo(logger log.Logger, clk clock.Clock) (*config.Config, func(), error) {
	server, baseURL, accounts, err := startSimulator("127.0.0.1:0", clk)
	if err != nil {
		return nil, nil, err
	}
	cfg, err := demoConfig(baseURL, accounts)
	if err != nil {
		_ = server.Close()
		return nil, nil, err
	}
	level.Warn(logger).Log("msg", "DEMO MODE: serving SYNTHETIC data from an in-process VoiceTrends simulator, not a real account",
		"simulator", cfg.BaseURL, "accounts", len(cfg.Accounts))
	return cfg, func() { _ = server.Close() }, nil
}

// demoConfig configures every demo account with ALL and each of its numbers
// in all periods. It goes through the same parser and checks as a file.
func demoConfig(baseURL string, accounts []simulator.Account) (*config.Config, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "base_url: %q\naccounts:\n", baseURL)
	for _, a := range accounts {
		phones := `"ALL"`
		for _, p := range a.Phones {
			phones += fmt.Sprintf(", %q", p)
		}
		fmt.Fprintf(&b, "  - name: %q\n    tool: %q\n    login: %q\n    password: %q\n    phones: [%s]\n    timezone: %q\n    refresh_interval: %s\n",
			strings.TrimPrefix(a.Login, "demo-"), a.Tool, a.Login, a.Password, phones, a.TimeZone, demoRefreshInterval)
	}
	cfg, err := config.Parse([]byte(b.String()), os.TempDir())
	if err != nil {
		return nil, fmt.Errorf("demo configuration: %w", err)
	}
	return cfg, nil
}

// startSimulator serves the simulator with the demo accounts on address, on clk.
func startSimulator(address string, clk clock.Clock) (*http.Server, string, []simulator.Account, error) {
	accounts := simulator.DemoAccounts()
	server, baseURL, err := serveSimulator(address, simulator.New(simulator.Options{Accounts: accounts, Seed: 1, Now: clk.Now}))
	if err != nil {
		return nil, "", nil, err
	}
	return server, baseURL, accounts, nil
}
