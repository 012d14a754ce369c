package main

import (
	"context"
	"errors"
	"fmt"
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

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/mdlayher/vsock"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/exporter-toolkit/web"

	"github.com/voicetrends/voicetrends_exporter/collector"
	"github.com/voicetrends/voicetrends_exporter/collector/exposition"
	"github.com/voicetrends/voicetrends_exporter/config"
)

// daemon is the serve command once its flags are read: the exporter and its
// configuration, the HTTP server, and one loop that turns SIGHUP and
// /-/reload into reloads and SIGINT and SIGTERM into the shutdown.
//
// Two words describe its end. stop (stopExporter) is the moment no poller may
// start another request; requests under way may finish until the shutdown's
// deadline. stopping (closed by endReloads) is the moment no reload is taken
// any more, so that a reload request then waiting is answered at once.
type daemon struct {
	logger   log.Logger
	slogger  *slog.Logger
	flags    *flags
	exporter *collector.Exporter
	safe     *config.Safe
	server   *http.Server
	// listeners are bound before the first API request, so that a taken
	// port costs no budget; nil with --web.systemd-socket.
	listeners []net.Listener

	reloads    chan chan error // from SIGHUP and /-/reload to the reloader
	stopping   chan struct{}   // closed once no more reloads are taken
	endReloads func()
	reloader   chan struct{} // closed when the reloader has returned
	stopOnce   func()
	stopped    chan struct{} // closed when every poller has stopped
}

// startFailure is why the daemon cannot start: what to log, and the cause.
type startFailure struct {
	msg string
	err error
}

func (f *startFailure) Error() string { return f.msg + ": " + f.err.Error() }
func (f *startFailure) Unwrap() error { return f.err }

// newDaemon checks the web configuration, builds the exporter for cfg and
// binds the listen addresses; it sends no request and starts no poller.
func newDaemon(cfg *config.Config, f *flags, logger log.Logger, slogger *slog.Logger, e env) (*daemon, error) {
	if err := web.Validate(*f.web.WebConfigFile); err != nil {
		return nil, &startFailure{"invalid --web.config.file; fix it and start again", err}
	}
	exporter := collector.New(collector.Options{Logger: logger, Clock: e.clock})
	if err := exporter.Apply(cfg); err != nil {
		return nil, &startFailure{"invalid configuration; fix it and start again", err}
	}
	listeners, err := listen(f.web)
	if err != nil {
		return nil, &startFailure{"cannot listen; pick another --web.listen-address", err}
	}
	d := &daemon{
		logger: logger, slogger: slogger, flags: f, exporter: exporter, safe: config.NewSafe(cfg, e.clock), listeners: listeners,
		reloads: make(chan chan error), stopping: make(chan struct{}), reloader: make(chan struct{}), stopped: make(chan struct{}),
	}
	d.endReloads = sync.OnceFunc(func() { close(d.stopping) })
	d.stopOnce = sync.OnceFunc(d.stopExporter)
	// The live families, gathered at every scrape; the figures are served
	// from their encoding (see mux).
	live := prometheus.NewRegistry()
	live.MustRegister(exporter.Instrumentation(), d.safe,
		versioncollector.NewCollector(exporterName),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	mux, err := d.mux(live)
	if err != nil {
		for _, l := range listeners {
			_ = l.Close()
		}
		return nil, &startFailure{"cannot build the metrics handler", err}
	}
	d.server = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: e.idleTimeout}
	return d, nil
}

// run starts the pollers and the server and serves until a signal ends it,
// then shuts down within shutdownTimeout; it returns the exit code.
func (d *daemon) run(signals chan os.Signal) int {
	d.exporter.Start()
	defer func() {
		d.stopOnce() // first: it cuts short a reload waiting for a poller
		d.endReloads()
		<-d.reloader
		<-d.stopped
	}()
	signal.Notify(signals, syscall.SIGHUP, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(signals)
	serveErr := make(chan error, 1)
	go func() {
		if d.listeners == nil {
			serveErr <- web.ListenAndServe(d.server, d.flags.web, d.slogger)
			return
		}
		serveErr <- web.ServeMultiple(d.listeners, d.server, d.flags.web, d.slogger)
	}()
	// Reloads run one at a time beside the signal loop, so that SIGTERM is
	// heard during one (and cuts it short through the exporter's shutdown).
	go d.reloadLoop()
	for {
		select {
		case sig := <-signals:
			if sig == syscall.SIGHUP {
				go func() {
					select {
					case d.reloads <- make(chan error, 1):
					case <-d.stopping:
					}
				}()
				continue
			}
			level.Info(d.logger).Log("msg", "shutting down", "signal", sig)
			d.shutdown()
			return 0
		case err := <-serveErr:
			if !errors.Is(err, http.ErrServerClosed) {
				level.Error(d.logger).Log("msg", "cannot serve HTTP", "err", err)
				return 1
			}
			return 0
		}
	}
}

// shutdown stops the pollers and the HTTP server side by side, under one
// deadline from the signal on, so that no request starts after it.
func (d *daemon) shutdown() {
	d.stopOnce()
	d.endReloads()
	ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := d.server.Shutdown(ctx); err != nil {
		level.Warn(d.logger).Log("msg", "HTTP server did not stop cleanly", "err", err)
	}
}

// stopExporter stops every poller's new requests now, not when a goroutine
// gets round to it, and lets those under way finish until the deadline.
func (d *daemon) stopExporter() {
	deadline := time.Now().Add(shutdownTimeout)
	d.exporter.Close()
	go func() {
		defer close(d.stopped)
		ctx, cancel := context.WithDeadline(context.Background(), deadline)
		defer cancel()
		d.exporter.Shutdown(ctx)
	}()
}

// reloadLoop answers reload requests one at a time until stopping closes.
func (d *daemon) reloadLoop() {
	defer close(d.reloader)
	for {
		select {
		case reply := <-d.reloads:
			reply <- d.reload()
		case <-d.stopping:
			return
		}
	}
}

// reload reads the configuration file again and applies it, keeping the
// running configuration when the new one is refused.
func (d *daemon) reload() error {
	if d.flags.demo {
		return errors.New("demo mode has no configuration file to reload")
	}
	err := d.safe.Reload(d.flags.configFile, d.exporter.Apply)
	if err != nil {
		level.Error(d.logger).Log("msg", "reload refused; the running configuration stays", "err", err)
	} else {
		level.Info(d.logger).Log("msg", "configuration reloaded", "accounts", len(d.safe.Get().Accounts))
	}
	return err
}

// mux routes the telemetry path, the lifecycle endpoints and the status
// page. The telemetry path serves the exporter's figures from their encoding
// and gathers live's families at every scrape; live receives the handler's
// own promhttp_metric_handler_errors_total.
func (d *daemon) mux(live *prometheus.Registry) (*http.ServeMux, error) {
	// Protobuf, which the figures are not encoded in, is served from const
	// metrics built for the scrape.
	figures := prometheus.NewRegistry()
	if err := figures.Register(d.exporter.Snapshots()); err != nil {
		return nil, err
	}
	fallback := promhttp.HandlerFor(prometheus.Gatherers{live, figures}, promhttp.HandlerOpts{
		ErrorLog:          promhttpLogger{d.logger},
		ErrorHandling:     promhttp.ContinueOnError,
		EnableOpenMetrics: true,
	})
	metrics, err := exposition.NewHandler(exposition.Options{
		Families:            collector.Families(),
		Source:              d.exporter.Bodies,
		Live:                live,
		Fallback:            fallback,
		MaxRequestsInFlight: d.flags.maxRequests,
		Registry:            live,
		ErrorLog:            promhttpLogger{d.logger},
	})
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle(d.flags.telemetryPath, metrics)
	mux.HandleFunc("/-/healthy", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "Healthy.") })
	mux.Handle("/-/ready", d.exporter.ReadyHandler())
	mux.HandleFunc("/-/reload", d.serveReload)
	if d.flags.telemetryPath != "/" {
		mux.Handle("/", landingHandler(d.exporter, d.flags.telemetryPath, d.flags.demo, d.logger))
	}
	return mux, nil
}

// serveReload is POST /-/reload: it hands the reload to the reloader and
// answers with its outcome.
func (d *daemon) serveReload(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "Use POST to reload the configuration.", http.StatusMethodNotAllowed)
		return
	}
	reply := make(chan error)
	select {
	case d.reloads <- reply:
	case <-d.stopping:
		http.Error(w, "Shutting down; the configuration was not reloaded.", http.StatusServiceUnavailable)
		return
	}
	if err := <-reply; err != nil {
		http.Error(w, fmt.Sprintf("Reload failed; the running configuration stays: %v", err), http.StatusInternalServerError)
		return
	}
	fmt.Fprintln(w, "Configuration reloaded.")
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

// promhttpLogger hands promhttp's errors to go-kit.
type promhttpLogger struct{ logger log.Logger }

func (l promhttpLogger) Println(v ...any) {
	level.Error(l.logger).Log("msg", strings.TrimSpace(fmt.Sprintln(v...)))
}
