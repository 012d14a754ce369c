package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"

	"github.com/voicetrends/voicetrends_exporter/config"
	"github.com/voicetrends/voicetrends_exporter/voicetrends/clock"
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

// runSimulator serves the simulator alone until SIGINT or SIGTERM.
func runSimulator(address string, logger log.Logger, signals chan os.Signal) int {
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(signals)
	server, baseURL, accounts, err := startSimulator(address, sysClock)
	if err != nil {
		level.Error(logger).Log("msg", "cannot start the simulator; pick another --listen-address", "err", err)
		return 1
	}
	for _, a := range accounts {
		level.Info(logger).Log("msg", "simulated account", "tool", a.Tool, "login", a.Login, "phones", strings.Join(a.Phones, ","), "timezone", a.TimeZone)
	}
	level.Warn(logger).Log("msg", "serving the SYNTHETIC VoiceTrends API simulator; demo logins are in docs/development.md", "base_url", baseURL)
	<-signals
	ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	_ = server.Shutdown(ctx)
	return 0
}

// startSimulator serves the simulator with the demo accounts on address, on clk.
func startSimulator(address string, clk clock.Clock) (*http.Server, string, []simulator.Account, error) {
	ln, err := net.Listen("tcp", address)
	if err != nil {
		return nil, "", nil, fmt.Errorf("listening for the simulator: %w", err)
	}
	accounts := simulator.DemoAccounts()
	server := &http.Server{Handler: simulator.New(simulator.Options{Accounts: accounts, Seed: 1, Now: clk.Now}), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = server.Serve(ln) }()
	return server, "http://" + ln.Addr().String() + "/", accounts, nil
}
