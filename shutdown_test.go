package main

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/voicetrends/voicetrends_exporter/prometheus/promtest"
)

// waitClosed waits until nothing listens on addr.
func waitClosed(t *testing.T, addr string) {
	t.Helper()
	waitFor(t, "the listener to close", func() bool {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			_ = conn.Close()
		}
		return err != nil
	})
}

// reloadHeldByRequest makes the daemon reload while the
// API holds a data request: a first reload adds a target, whose request the
// API holds; a SIGHUP reload then changes the account again and waits for
// that request. It returns once the daemon says it waits; closing the
// returned channel lets the API answer.
func reloadHeldByRequest(t *testing.T, api *fakeAPI, d *testDaemon, cfg string) chan struct{} {
	t.Helper()
	inFlight, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	api.setHooks(func(r *http.Request) {
		if isVolume(r) {
			once.Do(func() { close(inFlight) })
			holdUntil(release)(r)
		}
	}, nil)
	addWeeklyTarget(t, api, d, cfg, inFlight)
	monthly := support
	monthly.periods = "[day, week, month]"
	writeConfig(t, cfg, api.url, monthly)
	d.signals <- syscall.SIGHUP
	// The reload has closed the account's gate and waits for the request
	// the API holds: the status page says the account is stopping.
	waitFor(t, "the SIGHUP reload to wait for the request in flight", func() bool {
		_, body := d.get("/")
		return parsePage(t, body).accountRow(t, "support")["state"] == "stopping"
	})
	return release
}

// TestShutdownDuringReload: SIGTERM while a reload waits for a request in
// flight cancels the reload; the daemon exits well inside the bound.
func TestShutdownDuringReload(t *testing.T) {
	t.Parallel()
	api, _, cfg := supportSetup(t)
	d := startDaemon(t, "--config.file="+cfg, "--log.level=debug")
	d.waitReady()
	release := reloadHeldByRequest(t, api, d, cfg)
	defer close(release)

	sent := time.Now()
	d.signals <- syscall.SIGTERM
	if code := d.waitWithin(shutdownTimeout/2, fmt.Sprintf(" of SIGTERM during a reload (the bound is %s)", shutdownTimeout)); code != 0 {
		t.Errorf("run returned %d, want 0", code)
	}
	t.Logf("exit %s after SIGTERM", time.Since(sent).Round(time.Millisecond))
}

// TestNoRequestAfterSignal: SIGTERM during a login lets the login finish,
// but no data request starts after it.
func TestNoRequestAfterSignal(t *testing.T) {
	t.Parallel()
	api, _, cfg := supportSetup(t)
	inLogin, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	var mu sync.Mutex
	var afterSignal []string
	signalled := false
	api.setHooks(func(r *http.Request) {
		mu.Lock()
		if signalled {
			afterSignal = append(afterSignal, r.URL.Path)
		}
		mu.Unlock()
		if strings.HasSuffix(r.URL.Path, "/auth") {
			once.Do(func() { close(inLogin) })
			holdUntil(release)(r)
		}
	}, nil)
	d := startDaemon(t, "--config.file="+cfg)
	select {
	case <-inLogin:
	case <-time.After(waitBound):
		t.Fatalf("no login")
	}
	mu.Lock()
	signalled = true
	mu.Unlock()
	d.signals <- syscall.SIGTERM
	waitClosed(t, d.addr)
	close(release)
	if code := d.wait(); code != 0 {
		t.Errorf("run returned %d after SIGTERM, want 0", code)
	}
	st := api.sim.Stats("acme-support")
	if st.AuthRequests != 1 || st.DataRequests != 0 {
		t.Errorf("the API saw %d logins and %d data requests, want the login in flight and no data request", st.AuthRequests, st.DataRequests)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(afterSignal) != 0 {
		t.Errorf("requests started after SIGTERM: %v", afterSignal)
	}
	if strings.Contains(d.logs.String(), "refresh failed") {
		t.Errorf("a refresh failed during shutdown:\n%s", d.logs.String())
	}
}

// TestListenTCPAndVsock: a TCP and a vsock address together either both
// serve, or the daemon refuses to start and leaves no listener behind; it
// never binds the TCP address twice.
func TestListenTCPAndVsock(t *testing.T) {
	t.Parallel()
	_, _, cfg := supportSetup(t)
	for _, order := range [][2]bool{{true, false}, {false, true}} {
		e, _, logs := newEnv(t)
		tcp := promtest.FreePort(t)
		_, port, _ := net.SplitHostPort(promtest.FreePort(t))
		vs := "--web.listen-address=vsock://:" + port
		args := []string{"--config.file=" + cfg, "--web.listen-address=" + tcp}
		if order[1] {
			args = []string{"--config.file=" + cfg, vs, "--web.listen-address=" + tcp}
		} else {
			args = append(args, vs)
		}
		signals := e.signals
		done := make(chan int, 1)
		go func() { done <- run(args, e) }()
		var code int
		served := false
		waitFor(t, "the daemon to serve on TCP or give up", func() bool {
			select {
			case code = <-done:
				return true
			default:
			}
			resp, err := http.Get("http://" + tcp + "/-/healthy")
			if err != nil {
				return false
			}
			_ = resp.Body.Close()
			served = true
			return true
		})
		if served {
			signals <- syscall.SIGTERM
			select {
			case code = <-done:
			case <-time.After(waitBound):
				t.Fatalf("run did not return after SIGTERM")
			}
			if code != 0 {
				t.Errorf("run returned %d after SIGTERM, want 0", code)
			}
		} else if code != 1 {
			t.Errorf("run returned %d, want 1 (vsock unavailable) or to serve", code)
		}
		if strings.Contains(logs.String(), "address already in use") {
			t.Errorf("the TCP address was bound twice:\n%s", logs.String())
		}
		assertNotListening(t, tcp)
		t.Logf("vsock first %v: served %v, exit %d", order[1], served, code)
	}
}
