package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/go-kit/log"
	"github.com/go-kit/log/level"

	"github.com/voicetrends/voicetrends_exporter/voicetrends/simulator"
)

// The simulator command: the API simulator alone, with the demo accounts
// and switchable faults, for trying other clients and for the soak test.

// simulatorAddress is where the simulator command listens by default, and
// the base_url of docs/simulator.yml, the exporter's configuration for it.
const simulatorAddress = "127.0.0.1:10142"

// simulatorFlags are the simulator command's flags: where it listens, its
// limits, and the fault switches a soak or a client's author turns on.
type simulatorFlags struct {
	address string
	opts    simulator.Options
	faults  simulator.Faults
}

// addSimulatorFlags declares the simulator command's flags on cmd.
func addSimulatorFlags(cmd *kingpin.CmdClause) *simulatorFlags {
	f := &simulatorFlags{}
	cmd.Flag("listen-address", "Address the simulator listens on.").Default(simulatorAddress).StringVar(&f.address)
	cmd.Flag("seed", "Seed of the synthetic traffic, the temporary credentials and the fault draws.").Default("1").Int64Var(&f.opts.Seed)
	cmd.Flag("window", "Rate-limit window, aligned to the clock.").Default(simulator.DefaultWindow.String()).DurationVar(&f.opts.Window)
	cmd.Flag("data-limit", "Data requests per window and account.").Default(fmt.Sprint(simulator.DefaultDataLimit)).IntVar(&f.opts.DataLimit)
	cmd.Flag("auth-limit", "Logins per window and login.").Default(fmt.Sprint(simulator.DefaultAuthLimit)).IntVar(&f.opts.AuthLimit)
	cmd.Flag("credential-ttl", "Temporary credentials expire this long after their last use.").Default(simulator.DefaultCredentialTTL.String()).DurationVar(&f.opts.CredentialTTL)
	cmd.Flag("credential-uses", "Temporary credentials expire after this many data requests; 0 for never.").Default("0").IntVar(&f.opts.CredentialUses)
	cmd.Flag("fault.latency", "Delay added before every answer.").Default("0s").DurationVar(&f.faults.Latency)
	cmd.Flag("fault.server-errors", "Share of data requests answered 500, from 0 to 1.").Default("0").Float64Var(&f.faults.ServerErrorRate)
	cmd.Flag("fault.bad-gateway", "Share of all requests answered 502 with an HTML page and no rate-limit headers, from 0 to 1.").Default("0").Float64Var(&f.faults.BadGatewayRate)
	cmd.Flag("fault.malformed", "Share of data requests answered 200 with a body that does not decode, from 0 to 1.").Default("0").Float64Var(&f.faults.MalformedRate)
	cmd.Flag("fault.empty-as-array", "Send empty series as [] as PHP does.").BoolVar(&f.faults.EmptyAsArray)
	cmd.Flag("fault.numbers-as-strings", "Send every number as a string.").BoolVar(&f.faults.NumbersAsStrings)
	cmd.Flag("fault.401-every", "Period of 401 storms: every data request is answered 401 for --fault.401-for at the start of each period, while logins succeed.").Default("0s").DurationVar(&f.faults.Storm401.Every)
	cmd.Flag("fault.401-for", "Length of each 401 storm.").Default("0s").DurationVar(&f.faults.Storm401.For)
	cmd.Flag("fault.429-every", "Period of 429 spells: every data request is answered 429 for --fault.429-for at the start of each period.").Default("0s").DurationVar(&f.faults.Storm429.Every)
	cmd.Flag("fault.429-for", "Length of each 429 spell.").Default("0s").DurationVar(&f.faults.Storm429.For)
	cmd.Flag("fault.other-client", "Data requests another client of each account spends at the start of every window.").Default("0").IntVar(&f.faults.OtherClientPerWindow)
	return f
}

// runSimulator serves the simulator alone until SIGINT or SIGTERM.
func runSimulator(flags *simulatorFlags, logger log.Logger, e env) int {
	opts := flags.opts
	opts.Accounts = simulator.DemoAccounts()
	if err := opts.Validate(); err != nil {
		level.Error(logger).Log("msg", "invalid simulator flags; fix them and start again", "err", err)
		return 1
	}
	if err := flags.faults.Validate(); err != nil {
		level.Error(logger).Log("msg", "invalid fault flags; fix them and start again", "err", err)
		return 1
	}
	signal.Notify(e.signals, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(e.signals)
	opts.Now = e.clock.Now
	sim := simulator.New(opts)
	sim.SetFaults(flags.faults)
	server, baseURL, err := serveSimulator(flags.address, sim)
	if err != nil {
		level.Error(logger).Log("msg", "cannot start the simulator; pick another --listen-address", "err", err)
		return 1
	}
	for _, a := range opts.Accounts {
		level.Info(logger).Log("msg", "simulated account", "tool", a.Tool, "login", a.Login, "phones", strings.Join(a.Phones, ","), "timezone", a.TimeZone)
	}
	if flags.faults != (simulator.Faults{}) {
		level.Warn(logger).Log("msg", "faults switched on", "faults", fmt.Sprintf("%+v", flags.faults))
	}
	level.Warn(logger).Log("msg", "serving the SYNTHETIC VoiceTrends API simulator; its logins, numbers and a ready exporter config (docs/simulator.yml) are in docs/simulator.md", "base_url", baseURL,
		"window", opts.Window, "data_limit", opts.DataLimit, "auth_limit", opts.AuthLimit)
	<-e.signals
	ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	_ = server.Shutdown(ctx)
	return 0
}

// serveSimulator serves sim on address and returns its base URL.
func serveSimulator(address string, sim *simulator.Simulator) (*http.Server, string, error) {
	ln, err := net.Listen("tcp", address)
	if err != nil {
		return nil, "", fmt.Errorf("listening for the simulator: %w", err)
	}
	server := &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = server.Serve(ln) }()
	return server, "http://" + ln.Addr().String() + "/", nil
}
