// Command voicetrends_exporter serves Plum Voice VoiceTrends call volume as
// Prometheus metrics, backfills its history, and can run the API simulator.
package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"
	_ "time/tzdata" // accounts name IANA zones; a minimal image has no zoneinfo

	"github.com/alecthomas/kingpin/v2"
	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"
	"github.com/prometheus/exporter-toolkit/web/kingpinflag"
	slgk "github.com/tjhop/slog-gokit"

	"github.com/voicetrends/voicetrends_exporter/config"
	"github.com/voicetrends/voicetrends_exporter/internal/clock"
	"github.com/voicetrends/voicetrends_exporter/internal/metric"
)

const (
	exporterName = metric.ExporterName
	// defaultAddress: Prometheus' default-port list is full from 9100 to 9999.
	defaultAddress = ":10141"
	// shutdownTimeout bounds the whole shutdown, inside Docker's 10s grace period.
	shutdownTimeout = 8 * time.Second
)

// env is what the program reads and writes besides its arguments: main
// passes the process's, and tests their own, so that no test swaps a global.
type env struct {
	stdout, stderr io.Writer
	// clock is the time of the exporter, the demo's simulator and the backfill.
	clock clock.Clock
	// signals is where the program hears SIGHUP, SIGINT and SIGTERM.
	signals chan os.Signal
	// idleTimeout closes keep-alive connections idle this long: longer than
	// the usual scrape intervals, so that a scraper keeps its connection,
	// but no client can hold connections open for ever.
	idleTimeout time.Duration
}

func main() {
	os.Exit(run(os.Args[1:], env{stdout: os.Stdout, stderr: os.Stderr, clock: clock.Real{},
		signals: make(chan os.Signal, 1), idleTimeout: 2 * time.Minute}))
}

// flags are the program's flags, the serve command's included.
type flags struct {
	configFile, logLevel, logFormat string

	configCheck       bool
	configCheckOnline bool
	demo              bool
	demoStart         string
	telemetryPath     string
	maxRequests       int
	web               *web.FlagConfig

	backfill  *backfillFlags
	simulator *simulatorFlags
}

// The commands besides serve, the default.
const (
	backfillCommand  = "backfill"
	simulatorCommand = "simulator"
)

// parse reads args into flags and returns the command. A negative code means
// go on; otherwise run returns it (--help, --version, a bad flag).
func parse(args []string, e env) (cmd string, f *flags, code int) {
	f = &flags{}
	app := kingpin.New(exporterName, "Prometheus exporter for Plum Voice VoiceTrends call volume.")
	app.Version(versionText(exporterName, currentVersion()))
	app.HelpFlag.Short('h')
	app.UsageTemplate(usageTemplate)
	app.Flag("config.file", "VoiceTrends exporter configuration file.").Default("voicetrends.yml").StringVar(&f.configFile)
	app.Flag("log.level", "Only log messages with the given severity or above. One of: [debug, info, warn, error]").Default("info").EnumVar(&f.logLevel, "debug", "info", "warn", "error")
	app.Flag("log.format", "Output format of log messages. One of: [logfmt, json]").Default("logfmt").EnumVar(&f.logFormat, "logfmt", "json")

	serve := app.Command("serve", "Poll the API and serve the figures on /metrics (the default).").Default()
	serve.Flag("config.check", "Validate the configuration file, then exit 0 (valid) or 1.").BoolVar(&f.configCheck)
	serve.Flag("config.check.online", "With --config.check: also log in to each account and ask for today's day figures of each configured number; exit 1 on any failure.").BoolVar(&f.configCheckOnline)
	serve.Flag("demo", "Serve synthetic data from an in-process API simulator; needs no account or config file.").BoolVar(&f.demo)
	serve.Flag("demo.start-time", "With --demo: start the demo's clock at this RFC 3339 instant instead of now (e.g. 2026-11-01T05:59:00Z, to watch a rollover).").StringVar(&f.demoStart)
	serve.Flag("web.telemetry-path", "Path under which to expose metrics.").Default("/metrics").StringVar(&f.telemetryPath)
	serve.Flag("web.max-requests", "Maximum number of parallel scrape requests; more get 503. Use 0 to disable.").Default("40").IntVar(&f.maxRequests)
	f.web = kingpinflag.AddFlags(serve, defaultAddress)

	f.backfill = addBackfillFlags(app.Command(backfillCommand, "Write the history of every target as OpenMetrics for promtool tsdb create-blocks-from openmetrics."))
	f.simulator = addSimulatorFlags(app.Command(simulatorCommand, "Serve the VoiceTrends API simulator with the demo accounts, for trying other clients."))

	// --help and --version answer on stdout, as promtool's and amtool's do,
	// so that `--help | less` works; errors stay on stderr.
	app.UsageWriter(e.stdout)
	app.ErrorWriter(e.stderr)
	// kingpin would os.Exit after --help or --version; run returns the code instead.
	code = -1
	app.Terminate(func(c int) {
		if code < 0 {
			code = c
		}
	})
	cmd, err := app.Parse(args)
	switch {
	case code >= 0:
		return cmd, f, code
	case err != nil:
		fmt.Fprintf(e.stderr, "%s: %v; try --help\n", exporterName, err)
		return cmd, f, 2
	case f.configCheckOnline && !f.configCheck:
		fmt.Fprintf(e.stderr, "%s: --config.check.online checks with --config.check: give both; try --help\n", exporterName)
		return cmd, f, 2
	case f.maxRequests < 0:
		fmt.Fprintf(e.stderr, "%s: --web.max-requests=%d: use 0 (no limit) or more; try --help\n", exporterName, f.maxRequests)
		return cmd, f, 2
	}
	return cmd, f, -1
}

// run is the whole program.
func run(args []string, e env) int {
	cmd, f, code := parse(args, e)
	if code >= 0 {
		return code
	}
	base := newLogger(e.stderr, f.logLevel, f.logFormat)
	logger := log.With(base, "ts", log.DefaultTimestampUTC, "caller", log.DefaultCaller)
	switch cmd {
	case backfillCommand:
		return runBackfill(f.configFile, f.backfill, logger, e)
	case simulatorCommand:
		return runSimulator(f.simulator, logger, e)
	}

	if f.demoStart != "" {
		start, err := time.Parse(time.RFC3339, f.demoStart)
		if err != nil || !f.demo {
			fmt.Fprintf(e.stderr, "%s: --demo.start-time=%q: give --demo and an RFC 3339 time such as 2026-11-01T05:59:00Z; try --help\n", exporterName, f.demoStart)
			return 2
		}
		e.clock = clock.StartingAt(start)
	}
	cfg, cleanup, err := loadConfig(f, logger, e.clock)
	if err != nil {
		msg := "invalid configuration; fix it and start again"
		if f.demo {
			msg = "starting the demo simulator"
		}
		if f.configCheck {
			// A check's verdict is for a person: the message as is, no log line.
			fmt.Fprintln(e.stderr, err)
		} else {
			level.Error(logger).Log("msg", msg, "err", err)
		}
		return 1
	}
	defer cleanup()
	if f.configCheck {
		name := f.configFile
		if f.demo {
			name = "demo"
		}
		code := checkConfig(cfg, name, *f.web.WebConfigFile, logger, e)
		if code == 0 {
			printClosures(e.stdout, cfg, e.clock.Now())
		}
		if code == 0 && f.configCheckOnline && !checkOnline(cfg, name, e.clock, e.stdout) {
			code = 1
		}
		return code
	}
	level.Info(logger).Log("msg", "starting "+exporterName, "version", version.Info(), "build_context", version.BuildContext())
	// exporter-toolkit logs through slog; the bridge adds its own time and caller.
	slogger := slog.New(slgk.NewGoKitHandler(base, slogLevels[f.logLevel]))
	d, err := newDaemon(cfg, f, logger, slogger, e)
	if err != nil {
		var sf *startFailure
		if errors.As(err, &sf) {
			level.Error(logger).Log("msg", sf.msg, "err", sf.err)
		} else {
			level.Error(logger).Log("msg", "cannot start", "err", err)
		}
		return 1
	}
	return d.run(e.signals)
}

// loadConfig reads the configuration file or, with --demo, starts the demo's
// simulator and configures its accounts; cleanup stops the simulator.
func loadConfig(f *flags, logger log.Logger, clk clock.Clock) (cfg *config.Config, cleanup func(), err error) {
	if f.demo {
		return startDemo(logger, clk)
	}
	cfg, err = config.Load(f.configFile)
	return cfg, func() {}, err
}

// newLogger logs with go-kit/log as the design asks, filtered by level.
func newLogger(w io.Writer, lvl, format string) log.Logger {
	var logger log.Logger
	if format == "json" {
		logger = log.NewJSONLogger(log.NewSyncWriter(w))
	} else {
		logger = log.NewLogfmtLogger(log.NewSyncWriter(w))
	}
	return level.NewFilter(logger, level.Allow(level.ParseDefault(lvl, level.InfoValue())))
}

// slogLevels maps --log.level for exporter-toolkit, which logs through slog.
var slogLevels = map[string]slog.Level{"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError}
