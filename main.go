// Command voicetrends_exporter serves Plum Voice VoiceTrends call volume as
// Prometheus metrics, backfills its history, and can run the API simulator.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	_ "time/tzdata" // accounts name IANA zones; a minimal image has no zoneinfo

	"github.com/alecthomas/kingpin/v2"
	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/mdlayher/vsock"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"
	"github.com/prometheus/exporter-toolkit/web/kingpinflag"
	slgk "github.com/tjhop/slog-gokit"

	"github.com/voicetrends/voicetrends_exporter/collector"
	"github.com/voicetrends/voicetrends_exporter/collector/metric"
	"github.com/voicetrends/voicetrends_exporter/config"
	"github.com/voicetrends/voicetrends_exporter/voicetrends/clock"
)

const (
	exporterName = metric.ExporterName
	// defaultAddress: Prometheus' default-port list is full from 9100 to 9999.
	defaultAddress = ":10141"
	// shutdownTimeout bounds the whole shutdown, inside Docker's 10s grace period.
	shutdownTimeout = 8 * time.Second
)

// idleTimeout closes keep-alive connections idle this long: longer than the
// usual scrape intervals, so that a scraper keeps its connection, but no
// client can hold connections open for ever. A variable for the tests.
var idleTimeout = 2 * time.Minute

// stdout and stderr are where run writes; tests swap them to read what it says.
// sysClock is the time of the exporter, the demo's simulator and the backfill;
// tests pin it so that they reason about a chosen "today".
var (
	stdout   io.Writer   = os.Stdout
	stderr   io.Writer   = os.Stderr
	sysClock clock.Clock = clock.Real{}
)

func main() { os.Exit(run(os.Args[1:], make(chan os.Signal, 1))) }

// run is the whole program; signals is where it hears SIGHUP, SIGINT and SIGTERM.
func run(args []string, signals chan os.Signal) int {
	app := kingpin.New(exporterName, "Prometheus exporter for Plum Voice VoiceTrends call volume.")
	app.Version(version.Print(exporterName))
	app.HelpFlag.Short('h')
	app.UsageTemplate(usageTemplate)
	configFile := app.Flag("config.file", "VoiceTrends exporter configuration file.").Default("voicetrends.yml").String()
	logLevel := app.Flag("log.level", "Only log messages with the given severity or above. One of: [debug, info, warn, error]").Default("info").Enum("debug", "info", "warn", "error")
	logFormat := app.Flag("log.format", "Output format of log messages. One of: [logfmt, json]").Default("logfmt").Enum("logfmt", "json")

	serve := app.Command("serve", "Poll the API and serve the figures on /metrics (the default).").Default()
	configCheck := serve.Flag("config.check", "Validate the configuration file, then exit 0 (valid) or 1.").Bool()
	configCheckOnline := serve.Flag("config.check.online", "With --config.check: also log in to each account and ask for today's day figures of each configured number; exit 1 on any failure.").Bool()
	demo := serve.Flag("demo", "Serve synthetic data from an in-process API simulator; needs no account or config file.").Bool()
	demoStart := serve.Flag("demo.start-time", "With --demo: start the demo's clock at this RFC 3339 instant instead of now (e.g. 2026-11-01T05:59:00Z, to watch a rollover).").String()
	telemetryPath := serve.Flag("web.telemetry-path", "Path under which to expose metrics.").Default("/metrics").String()
	maxRequests := serve.Flag("web.max-requests", "Maximum number of parallel scrape requests; more get 503. Use 0 to disable.").Default("40").Int()
	webFlags := kingpinflag.AddFlags(serve, defaultAddress)

	backfill := app.Command("backfill", "Write the history of every target as OpenMetrics for promtool tsdb create-blocks-from openmetrics.")
	backfillFlags := addBackfillFlags(backfill)

	sim := app.Command("simulator", "Serve the VoiceTrends API simulator with the demo accounts, for trying other clients.")
	simFlags := addSimulatorFlags(sim)

	app.UsageWriter(stderr)
	app.ErrorWriter(stderr)
	// kingpin would os.Exit after --help or --version; run returns the code instead.
	exitCode := -1
	app.Terminate(func(code int) {
		if exitCode < 0 {
			exitCode = code
		}
	})
	cmd, err := app.Parse(args)
	if exitCode >= 0 {
		return exitCode
	}
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v; try --help\n", exporterName, err)
		return 2
	}
	if *configCheckOnline && !*configCheck {
		fmt.Fprintf(stderr, "%s: --config.check.online checks with --config.check: give both; try --help\n", exporterName)
		return 2
	}
	if *maxRequests < 0 {
		fmt.Fprintf(stderr, "%s: --web.max-requests=%d: use 0 (no limit) or more; try --help\n", exporterName, *maxRequests)
		return 2
	}
	base := newLogger(*logLevel, *logFormat)
	logger := log.With(base, "ts", log.DefaultTimestampUTC, "caller", log.DefaultCaller)
	// exporter-toolkit logs through slog; the bridge adds its own time and caller.
	slogger := slog.New(slgk.NewGoKitHandler(base, slogLevels[*logLevel]))

	switch cmd {
	case backfill.FullCommand():
		return runBackfill(*configFile, backfillFlags, logger)
	case sim.FullCommand():
		return runSimulator(simFlags, logger, signals)
	}

	var cfg *config.Config
	var cleanup func()
	clk := sysClock
	if *demoStart != "" {
		start, err := time.Parse(time.RFC3339, *demoStart)
		if err != nil || !*demo {
			fmt.Fprintf(stderr, "%s: --demo.start-time=%q: give --demo and an RFC 3339 time such as 2026-11-01T05:59:00Z; try --help\n", exporterName, *demoStart)
			return 2
		}
		clk = clock.StartingAt(start)
	}
	if *demo {
		cfg, cleanup, err = startDemo(logger, clk)
		if err != nil {
			level.Error(logger).Log("msg", "starting the demo simulator", "err", err)
			return 1
		}
		defer cleanup()
	} else {
		cfg, err = config.Load(*configFile)
		if err != nil {
			level.Error(logger).Log("msg", "invalid configuration; fix it and start again", "err", err)
			return 1
		}
	}
	if *configCheck {
		name := *configFile
		if *demo {
			name = "demo"
		}
		code := checkConfig(cfg, name, *webFlags.WebConfigFile, logger)
		if code == 0 && *configCheckOnline && !checkOnline(cfg, name, clk, stdout) {
			code = 1
		}
		return code
	}
	return serveMetrics(cfg, *configFile, *demo, clk, *telemetryPath, *maxRequests, webFlags, logger, slogger, signals)
}

// newLogger logs with go-kit/log as the design asks, filtered by level.
func newLogger(lvl, format string) log.Logger {
	var logger log.Logger
	if format == "json" {
		logger = log.NewJSONLogger(log.NewSyncWriter(stderr))
	} else {
		logger = log.NewLogfmtLogger(log.NewSyncWriter(stderr))
	}
	return level.NewFilter(logger, level.Allow(level.ParseDefault(lvl, level.InfoValue())))
}

// slogLevels maps --log.level for exporter-toolkit, which logs through slog.
var slogLevels = map[string]slog.Level{"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError}

func serveMetrics(cfg *config.Config, configFile string, demo bool, clk clock.Clock, telemetryPath string, maxRequests int, webFlags *web.FlagConfig, logger log.Logger, slogger *slog.Logger, signals chan os.Signal) int {
	level.Info(logger).Log("msg", "starting "+exporterName, "version", version.Info(), "build_context", version.BuildContext())
	if err := web.Validate(*webFlags.WebConfigFile); err != nil {
		level.Error(logger).Log("msg", "invalid --web.config.file; fix it and start again", "err", err)
		return 1
	}
	exporter := collector.New(collector.Options{Logger: logger, Clock: clk})
	if err := exporter.Apply(cfg); err != nil {
		level.Error(logger).Log("msg", "invalid configuration; fix it and start again", "err", err)
		return 1
	}
	// Bind before the first API request, so that a taken port costs no budget.
	listeners, err := listen(webFlags)
	if err != nil {
		level.Error(logger).Log("msg", "cannot listen; pick another --web.listen-address", "err", err)
		return 1
	}
	exporter.Start()
	// One deadline for the whole shutdown, from the signal on: the HTTP server
	// and the pollers stop side by side, so that no request starts after it.
	exporterDone := make(chan struct{})
	stopExporter := sync.OnceFunc(func() {
		deadline := time.Now().Add(shutdownTimeout)
		exporter.StopRequests() // now, not when the goroutine below runs
		go func() {
			defer close(exporterDone)
			ctx, cancel := context.WithDeadline(context.Background(), deadline)
			defer cancel()
			exporter.Shutdown(ctx)
		}()
	})
	safe := config.NewSafe(cfg, nil)

	registry := prometheus.NewRegistry()
	registry.MustRegister(exporter, safe,
		versioncollector.NewCollector(exporterName),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	reloads := make(chan chan error)
	// stopping closes once no more reloads are taken, so that a reload
	// request then waiting is answered instead of holding up shutdown.
	stopping := make(chan struct{})
	stopReloads := sync.OnceFunc(func() { close(stopping) })
	reloaderDone := make(chan struct{})
	defer func() {
		stopExporter() // first: it cuts short a reload waiting for a poller
		stopReloads()
		<-reloaderDone
		<-exporterDone
	}()
	mux := newMux(registry, exporter, telemetryPath, demo, maxRequests, reloads, stopping, logger)
	server := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: idleTimeout}

	signal.Notify(signals, syscall.SIGHUP, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(signals)
	serveErr := make(chan error, 1)
	go func() {
		if listeners == nil {
			serveErr <- web.ListenAndServe(server, webFlags, slogger)
			return
		}
		serveErr <- web.ServeMultiple(listeners, server, webFlags, slogger)
	}()

	reload := func() error {
		if demo {
			return errors.New("demo mode has no configuration file to reload")
		}
		err := safe.Reload(configFile, exporter.Apply)
		if err != nil {
			level.Error(logger).Log("msg", "reload refused; the running configuration stays", "err", err)
		} else {
			level.Info(logger).Log("msg", "configuration reloaded", "accounts", len(safe.Get().Accounts))
		}
		return err
	}
	// Reloads run one at a time beside the signal loop, so that SIGTERM is
	// heard during one (and cuts it short through the exporter's shutdown).
	go func() {
		defer close(reloaderDone)
		for {
			select {
			case reply := <-reloads:
				reply <- reload()
			case <-stopping:
				return
			}
		}
	}()
	for {
		select {
		case sig := <-signals:
			if sig == syscall.SIGHUP {
				go func() {
					select {
					case reloads <- make(chan error, 1):
					case <-stopping:
					}
				}()
				continue
			}
			level.Info(logger).Log("msg", "shutting down", "signal", sig)
			stopExporter()
			stopReloads()
			ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
			err := server.Shutdown(ctx)
			cancel()
			if err != nil {
				level.Warn(logger).Log("msg", "HTTP server did not stop cleanly", "err", err)
			}
			return 0
		case err := <-serveErr:
			if !errors.Is(err, http.ErrServerClosed) {
				level.Error(logger).Log("msg", "cannot serve HTTP", "err", err)
				return 1
			}
			return 0
		}
	}
}

// listen binds every --web.listen-address, vsock ones included, closing
// what it opened when one fails; with --web.systemd-socket it returns no
// listeners and exporter-toolkit takes systemd's.
func listen(flags *web.FlagConfig) ([]net.Listener, error) {
	if flags.WebSystemdSocket != nil && *flags.WebSystemdSocket {
		return nil, nil
	}
	var listeners []net.Listener
	for _, address := range *flags.WebListenAddresses {
		l, err := listenOne(address)
		if err != nil {
			for _, open := range listeners {
				_ = open.Close()
			}
			return nil, fmt.Errorf("listening on %s: %w", address, err)
		}
		listeners = append(listeners, l)
	}
	return listeners, nil
}

// listenOne binds a TCP address or, as exporter-toolkit reads them, a
// vsock://:port address.
func listenOne(address string) (net.Listener, error) {
	if !strings.HasPrefix(address, "vsock://") {
		return net.Listen("tcp", address)
	}
	u, err := url.Parse(address)
	if err != nil {
		return nil, err
	}
	port, err := strconv.ParseUint(u.Port(), 10, 32)
	if err != nil {
		return nil, fmt.Errorf("want vsock://:port: %w", err)
	}
	return vsock.Listen(uint32(port), nil)
}

func newMux(registry *prometheus.Registry, exporter *collector.Exporter, telemetryPath string, demo bool, maxRequests int, reloads chan chan error, stopping <-chan struct{}, logger log.Logger) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle(telemetryPath, promhttp.HandlerFor(registry, promhttp.HandlerOpts{
		ErrorLog:            promhttpLogger{logger},
		ErrorHandling:       promhttp.ContinueOnError,
		MaxRequestsInFlight: maxRequests,
		Registry:            registry,
		EnableOpenMetrics:   true, // when the scraper asks for it
	}))
	mux.HandleFunc("/-/healthy", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "Healthy.") })
	mux.Handle("/-/ready", exporter.ReadyHandler())
	mux.HandleFunc("/-/reload", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "Use POST to reload the configuration.", http.StatusMethodNotAllowed)
			return
		}
		reply := make(chan error)
		select {
		case reloads <- reply:
		case <-stopping:
			http.Error(w, "Shutting down; the configuration was not reloaded.", http.StatusServiceUnavailable)
			return
		}
		if err := <-reply; err != nil {
			http.Error(w, fmt.Sprintf("Reload failed; the running configuration stays: %v", err), http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "Configuration reloaded.")
	})
	if telemetryPath != "/" {
		mux.Handle("/", landingHandler(exporter, telemetryPath, demo, exporter.Now, logger))
	}
	return mux
}

// promhttpLogger hands promhttp's errors to go-kit.
type promhttpLogger struct{ logger log.Logger }

func (l promhttpLogger) Println(v ...any) {
	level.Error(l.logger).Log("msg", strings.TrimSpace(fmt.Sprintln(v...)))
}
