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
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"
	_ "time/tzdata" // accounts name IANA zones; a minimal image has no zoneinfo

	"github.com/alecthomas/kingpin/v2"
	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"
	"github.com/prometheus/exporter-toolkit/web/kingpinflag"
	slgk "github.com/tjhop/slog-gokit"

	"github.com/voicetrends/voicetrends_exporter/collector"
	"github.com/voicetrends/voicetrends_exporter/collector/config"
)

const (
	exporterName = collector.ExporterName
	// defaultAddress: Prometheus' default-port list is full from 9100 to 9999.
	defaultAddress = ":10141"
	// shutdownTimeout bounds the whole shutdown, inside Docker's 10s grace period.
	shutdownTimeout = 8 * time.Second
)

// stdout and stderr are where run writes; tests swap them to read what it says.
var (
	stdout io.Writer = os.Stdout
	stderr io.Writer = os.Stderr
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
	demo := serve.Flag("demo", "Serve synthetic data from an in-process API simulator; needs no account or config file.").Bool()
	telemetryPath := serve.Flag("web.telemetry-path", "Path under which to expose metrics.").Default("/metrics").String()
	webFlags := kingpinflag.AddFlags(serve, defaultAddress)

	backfill := app.Command("backfill", "Write the history of every target as OpenMetrics for promtool tsdb create-blocks-from openmetrics.")
	backfillFlags := addBackfillFlags(backfill)

	sim := app.Command("simulator", "Serve the VoiceTrends API simulator with the demo accounts, for trying other clients.")
	simAddress := sim.Flag("listen-address", "Address the simulator listens on.").Default("127.0.0.1:10142").String()

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
	base := newLogger(*logLevel, *logFormat)
	logger := log.With(base, "ts", log.DefaultTimestampUTC, "caller", log.DefaultCaller)
	// exporter-toolkit logs through slog; the bridge adds its own time and caller.
	slogger := slog.New(slgk.NewGoKitHandler(base, slogLevels[*logLevel]))

	switch cmd {
	case backfill.FullCommand():
		return runBackfill(*configFile, backfillFlags, logger)
	case sim.FullCommand():
		return runSimulator(*simAddress, logger, signals)
	}

	var cfg *config.Config
	var cleanup func()
	if *demo {
		cfg, cleanup, err = startDemo(logger)
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
		fmt.Fprintf(stdout, "%s: configuration is valid: %d account(s)\n", name, len(cfg.Accounts))
		return 0
	}
	return serveMetrics(cfg, *configFile, *demo, *telemetryPath, webFlags, logger, slogger, signals)
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

func serveMetrics(cfg *config.Config, configFile string, demo bool, telemetryPath string, webFlags *web.FlagConfig, logger log.Logger, slogger *slog.Logger, signals chan os.Signal) int {
	level.Info(logger).Log("msg", "starting "+exporterName, "version", version.Info(), "build_context", version.BuildContext())
	if err := web.Validate(*webFlags.WebConfigFile); err != nil {
		level.Error(logger).Log("msg", "invalid --web.config.file; fix it and start again", "err", err)
		return 1
	}
	exporter := collector.New(collector.Options{Logger: logger})
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
	// One deadline for the whole shutdown: HTTP first, then requests in flight.
	var deadline time.Time
	defer func() {
		if deadline.IsZero() {
			deadline = time.Now().Add(shutdownTimeout)
		}
		ctx, cancel := context.WithDeadline(context.Background(), deadline)
		defer cancel()
		exporter.Shutdown(ctx)
	}()
	safe := config.NewSafe(cfg, nil)

	registry := prometheus.NewRegistry()
	registry.MustRegister(exporter, safe,
		versioncollector.NewCollector(exporterName),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	reloads := make(chan chan error)
	// stopping closes once the loop below takes no more reloads, so that a
	// reload request then in flight is answered instead of holding up shutdown.
	stopping := make(chan struct{})
	stopReloads := sync.OnceFunc(func() { close(stopping) })
	defer stopReloads()
	mux := newMux(registry, exporter, telemetryPath, reloads, stopping, logger)
	server := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}

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
	for {
		select {
		case sig := <-signals:
			if sig == syscall.SIGHUP {
				_ = reload()
				continue
			}
			level.Info(logger).Log("msg", "shutting down", "signal", sig)
			stopReloads()
			deadline = time.Now().Add(shutdownTimeout)
			ctx, cancel := context.WithDeadline(context.Background(), deadline)
			err := server.Shutdown(ctx)
			cancel()
			if err != nil {
				level.Warn(logger).Log("msg", "HTTP server did not stop cleanly", "err", err)
			}
			return 0
		case reply := <-reloads:
			reply <- reload()
		case err := <-serveErr:
			if !errors.Is(err, http.ErrServerClosed) {
				level.Error(logger).Log("msg", "cannot serve HTTP", "err", err)
				return 1
			}
			return 0
		}
	}
}

// listen binds every --web.listen-address; with --web.systemd-socket it
// returns no listeners and exporter-toolkit takes systemd's.
func listen(flags *web.FlagConfig) ([]net.Listener, error) {
	if flags.WebSystemdSocket != nil && *flags.WebSystemdSocket {
		return nil, nil
	}
	var listeners []net.Listener
	for _, address := range *flags.WebListenAddresses {
		if strings.HasPrefix(address, "vsock://") {
			return nil, nil // exporter-toolkit's own listener knows vsock
		}
		l, err := net.Listen("tcp", address)
		if err != nil {
			for _, open := range listeners {
				_ = open.Close()
			}
			return nil, err
		}
		listeners = append(listeners, l)
	}
	return listeners, nil
}

func newMux(registry *prometheus.Registry, exporter *collector.Exporter, telemetryPath string, reloads chan chan error, stopping <-chan struct{}, logger log.Logger) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle(telemetryPath, promhttp.HandlerFor(registry, promhttp.HandlerOpts{
		ErrorLog:            promhttpLogger{logger},
		ErrorHandling:       promhttp.ContinueOnError,
		MaxRequestsInFlight: 10,
		Registry:            registry,
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
		landing, err := web.NewLandingPage(web.LandingConfig{
			Name:        "VoiceTrends Exporter",
			Description: "Prometheus exporter for Plum Voice VoiceTrends call volume",
			Version:     version.Info(),
			Profiling:   "false", // no pprof handlers are served
			Links: []web.LandingLinks{
				{Address: telemetryPath, Text: "Metrics"},
				{Address: "/-/healthy", Text: "Health"},
				{Address: "/-/ready", Text: "Readiness"},
			},
		})
		if err != nil {
			level.Warn(logger).Log("msg", "serving no landing page", "err", err)
		} else {
			mux.Handle("/", landing)
		}
	}
	return mux
}

// promhttpLogger hands promhttp's errors to go-kit.
type promhttpLogger struct{ logger log.Logger }

func (l promhttpLogger) Println(v ...any) {
	level.Error(l.logger).Log("msg", strings.TrimSpace(fmt.Sprintln(v...)))
}
