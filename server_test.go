package main

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/voicetrends/voicetrends_exporter/collector"
)

// TestIdleConnectionsClosed: a keep-alive connection left idle is closed
// by the server after the env's idleTimeout.
func TestIdleConnectionsClosed(t *testing.T) {
	t.Parallel()
	_, _, cfg := supportSetup(t)
	e, _, _ := newEnv(t)
	e.idleTimeout = 100 * time.Millisecond
	d := startDaemonIn(t, e, "--config.file="+cfg)

	conn, err := net.Dial("tcp", d.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "GET /-/healthy HTTP/1.1\r\nHost: exporter\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(conn)
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if resp.Close {
		t.Fatalf("the server closed the connection after the answer: it should keep it alive")
	}
	// Idle now: the server must hang up well before the client gives up.
	_ = conn.SetReadDeadline(time.Now().Add(waitBound))
	if _, err := r.ReadByte(); !errors.Is(err, io.EOF) {
		t.Errorf("reading an idle keep-alive connection: %v, want EOF (the server closed it)", err)
	}
}

// blocking is a collector whose Collect waits until release closes.
type blocking struct {
	entered chan struct{}
	release chan struct{}
}

func (b *blocking) Describe(chan<- *prometheus.Desc) {}
func (b *blocking) Collect(chan<- prometheus.Metric) {
	b.entered <- struct{}{}
	<-b.release
}

// TestMaxRequests: --web.max-requests scrapes run at once, the next gets 503.
func TestMaxRequests(t *testing.T) {
	t.Parallel()
	for _, max := range []int{1, 2} {
		b := &blocking{entered: make(chan struct{}, 8), release: make(chan struct{})}
		registry := prometheus.NewRegistry()
		registry.MustRegister(b)
		d := &daemon{logger: log.NewNopLogger(), exporter: collector.New(collector.Options{}),
			flags: &flags{telemetryPath: "/metrics", maxRequests: max}}
		mux, err := d.mux(registry)
		if err != nil {
			t.Fatal(err)
		}
		server := httptest.NewServer(mux)
		codes := make(chan int, max)
		for range max {
			go func() {
				resp, err := http.Get(server.URL + "/metrics")
				if err != nil {
					codes <- -1
					return
				}
				_ = resp.Body.Close()
				codes <- resp.StatusCode
			}()
			<-b.entered
		}
		resp, err := http.Get(server.URL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("max %d: scrape %d while %d run = %d, want 503", max, max+1, max, resp.StatusCode)
		}
		close(b.release)
		for range max {
			if code := <-codes; code != http.StatusOK {
				t.Errorf("max %d: a scrape within the limit = %d, want 200", max, code)
			}
		}
		server.Close()
	}
}

// TestOpenMetricsNegotiated: a scraper that asks for OpenMetrics gets it;
// one that does not gets the text format.
func TestOpenMetricsNegotiated(t *testing.T) {
	t.Parallel()
	_, _, cfg := supportSetup(t)
	d := startDaemon(t, "--config.file="+cfg, "--web.max-requests=3")
	d.waitReady()
	for _, tt := range []struct {
		accept, wantType, wantEnd string
	}{
		{"application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5", "application/openmetrics-text", "# EOF\n"},
		{"", "text/plain", "\n"},
	} {
		req, _ := http.NewRequest(http.MethodGet, "http://"+d.addr+"/metrics", nil)
		if tt.accept != "" {
			req.Header.Set("Accept", tt.accept)
		}
		resp, err := d.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, tt.wantType) {
			t.Errorf("Accept %q: Content-Type %q, want %s", tt.accept, ct, tt.wantType)
		}
		if !strings.HasSuffix(string(body), tt.wantEnd) || !strings.Contains(string(body), "voicetrends_up{") {
			t.Errorf("Accept %q: body does not look right:\n%.300s", tt.accept, body)
		}
	}
}

func TestMaxRequestsFlag(t *testing.T) {
	t.Parallel()
	e, _, logs := newEnv(t)
	if code := run([]string{"--web.max-requests=-1"}, e); code != 2 {
		t.Errorf("--web.max-requests=-1: run returned %d, want 2", code)
	}
	if !strings.Contains(logs.String(), "--web.max-requests=-1: use 0 (no limit) or more") {
		t.Errorf("the error does not say what to do:\n%s", logs.String())
	}
	e, out, _ := newEnv(t)
	run([]string{"serve", "--help"}, e)
	if !strings.Contains(out.String(), "--web.max-requests=40") {
		t.Errorf("serve --help does not show --web.max-requests with its default 40:\n%s", out.String())
	}
}
