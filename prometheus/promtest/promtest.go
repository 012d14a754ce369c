// Package promtest runs a real Prometheus and promtool for end-to-end tests.
//
// Both come from Debian's `prometheus` package. Tests call Require first (or
// RequireFrom for another package's binaries, such as chromium): outside CI a
// missing binary skips the test with a message naming the package, under
// CI=true it fails, because CI must run every test.
package promtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/voicetrends/voicetrends_exporter/internal/testlog"

	"github.com/golang/snappy"
	"github.com/prometheus/common/model"
	"google.golang.org/protobuf/encoding/protowire"
	"gopkg.in/yaml.v3"
)

// ReadyTimeout bounds how long Start waits for Prometheus to answer /-/ready.
const ReadyTimeout = 30 * time.Second

// logTailLines is how much of Prometheus' log a failed test shows.
const logTailLines = 30

// Require stops the test unless every named binary is on PATH: t.Fatal when the
// environment variable CI is "true", t.Skip otherwise, with a message naming the
// Debian package that provides them. Under go test -short it skips: the
// end-to-end tests are not part of the quick loop (CI never runs -short).
func Require(t testing.TB, binaries ...string) {
	t.Helper()
	RequireFrom(t, "prometheus", "end-to-end test against a real Prometheus", binaries...)
}

// RequireFrom is Require for binaries of another Debian package, debian;
// what names the kind of test in the message of a -short run.
func RequireFrom(t testing.TB, debian, what string, binaries ...string) {
	t.Helper()
	if testing.Short() {
		t.Skip(what + ": not run with -short")
	}
	var missing []string
	for _, b := range binaries {
		if _, err := exec.LookPath(b); err != nil {
			missing = append(missing, b)
		}
	}
	if len(missing) == 0 {
		return
	}
	msg := fmt.Sprintf("%s not found on PATH: install the Debian package %s (apt-get install %s) to run this test",
		strings.Join(missing, " and "), debian, debian)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// FreePort returns a loopback address, host:port, that nothing listens on right
// now and that no earlier call in this process returned. On Linux it picks the
// port below the kernel's ephemeral range, so no listener bound to port 0 and
// no outgoing connection of a test running alongside takes it once released
// (a test asserting that a port was let go must not see another's listener on
// it); elsewhere, or with no room below the range, the kernel picks. Another
// process may still take it before the caller binds it; that makes the test
// fail loudly, never pass wrongly.
func FreePort(t testing.TB) string {
	t.Helper()
	if lo, ok := ephemeralLow(); ok && lo > minFixedPort+1000 {
		for range 200 {
			port := minFixedPort + rand.IntN(lo-minFixedPort)
			if addr, ok := reservePort(port); ok {
				return addr
			}
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("finding a free loopback port: %v", err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatalf("releasing port %s: %v", addr, err)
	}
	return addr
}

// minFixedPort is the lowest port FreePort picks itself, above the ports
// system services commonly use.
const minFixedPort = 20000

var (
	portsMu     sync.Mutex
	portsIssued = map[int]bool{}
)

// reservePort returns 127.0.0.1:port if no earlier call returned it and it
// can be bound now.
func reservePort(port int) (string, bool) {
	portsMu.Lock()
	defer portsMu.Unlock()
	if portsIssued[port] {
		return "", false
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return "", false
	}
	if err := l.Close(); err != nil {
		return "", false
	}
	portsIssued[port] = true
	return addr, true
}

// ephemeralLow is the first port of Linux's ephemeral range.
func ephemeralLow() (int, bool) {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 0, false
	}
	fields := strings.Fields(string(b))
	if len(fields) != 2 {
		return 0, false
	}
	lo, err := strconv.Atoi(fields[0])
	return lo, err == nil
}

// Promtool runs promtool with args and returns its combined output; a non-zero
// exit fails the test with that output. A missing promtool is handled as by Require.
func Promtool(t testing.TB, args ...string) string {
	t.Helper()
	Require(t, "promtool")
	out, err := exec.Command("promtool", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// CheckMetrics lints a scrape in the Prometheus text format with
// `promtool check metrics`. promtool exits non-zero on some problems and only
// prints others, so any output at all is reported as a test error. A missing
// promtool is handled as by Require.
func CheckMetrics(t testing.TB, scrape []byte) {
	t.Helper()
	Require(t, "promtool")
	cmd := exec.Command("promtool", "check", "metrics")
	cmd.Stdin = bytes.NewReader(scrape)
	out, err := cmd.CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("promtool check metrics (exit: %v) found problems in the scrape:\n%s", err, out)
	}
}

// Options configures Start.
type Options struct {
	// Config is the content of prometheus.yml. Empty means a global section only:
	// no scrapes, no rules.
	Config string
	// StoragePath is the TSDB directory; empty means a fresh t.TempDir().
	StoragePath string
	// ExtraArgs are appended to the command line, for example
	// "--storage.tsdb.retention.time=10y".
	ExtraArgs []string
}

// Server is a Prometheus process started by Start; it is killed when the test ends.
type Server struct {
	url    string
	client *http.Client
}

// Start runs Prometheus on a free loopback port with opts and returns once it
// answers /-/ready, failing the test if that takes longer than ReadyTimeout or
// the process exits. When the test ends the process is killed and waited for;
// if the test failed, the tail of Prometheus' log is logged. A missing
// prometheus is handled as by Require.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	Require(t, "prometheus")
	dir := t.TempDir()
	if opts.Config == "" {
		opts.Config = "global:\n  evaluation_interval: 1m\n"
	}
	if opts.StoragePath == "" {
		opts.StoragePath = filepath.Join(dir, "data")
	}
	configFile := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(configFile, []byte(opts.Config), 0o600); err != nil {
		t.Fatalf("writing the Prometheus configuration: %v", err)
	}
	addr := FreePort(t)
	args := append([]string{
		"--config.file=" + configFile,
		"--storage.tsdb.path=" + opts.StoragePath,
		"--web.listen-address=" + addr,
	}, opts.ExtraArgs...)

	logs := &testlog.Buffer{}
	cmd := exec.Command("prometheus", args...)
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting prometheus: %v", err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() {
		waitErr = cmd.Wait()
		close(exited)
	}()
	// Registered after t.TempDir, so it runs before the directory is removed.
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("prometheus %s, last lines of its log:\n%s", strings.Join(args, " "), logs.Tail(logTailLines))
		}
	})

	s := &Server{url: "http://" + addr, client: &http.Client{Timeout: 10 * time.Second}}
	deadline := time.Now().Add(ReadyTimeout)
	for {
		err := s.ready()
		if err == nil {
			return s
		}
		select {
		case <-exited:
			t.Fatalf("prometheus exited before it was ready: %v", waitErr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("prometheus not ready at %s after %s: %v", s.url, ReadyTimeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// ready asks /-/ready once.
func (s *Server) ready() error {
	resp, err := s.client.Get(s.url + "/-/ready")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("/-/ready: HTTP %d", resp.StatusCode)
	}
	return nil
}

// URL is the server's base URL, http://127.0.0.1:port, without a trailing slash.
func (s *Server) URL() string { return s.url }

// API sends GET path (such as "/api/v1/rules") with params to the HTTP API and
// decodes the answer's data field into data; an answer whose status is not
// "success" is an error carrying Prometheus' message.
func (s *Server) API(ctx context.Context, path string, params url.Values, data any) error {
	u := s.url + path
	if len(params) > 0 {
		u += "?" + params.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("building request for %s: %w", path, err)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	var r struct {
		Status    string          `json:"status"`
		ErrorType string          `json:"errorType"`
		Error     string          `json:"error"`
		Data      json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return fmt.Errorf("GET %s: HTTP %d, not a Prometheus API answer: %.200s", path, resp.StatusCode, body)
	}
	if r.Status != "success" {
		return fmt.Errorf("GET %s: %s: %s", path, r.ErrorType, r.Error)
	}
	if err := json.Unmarshal(r.Data, data); err != nil {
		return fmt.Errorf("decoding %s data: %w", path, err)
	}
	return nil
}

// Query runs the instant query expr at time at (now, if at is zero) and returns
// its series; a result that is not a vector is an error.
func (s *Server) Query(ctx context.Context, expr string, at time.Time) (model.Vector, error) {
	params := url.Values{"query": {expr}}
	if !at.IsZero() {
		params.Set("time", at.Format(time.RFC3339Nano))
	}
	var data struct {
		ResultType string          `json:"resultType"`
		Result     json.RawMessage `json:"result"`
	}
	if err := s.API(ctx, "/api/v1/query", params, &data); err != nil {
		return nil, fmt.Errorf("query %s: %w", expr, err)
	}
	if data.ResultType != model.ValVector.String() {
		return nil, fmt.Errorf("query %s: result type %s, want vector", expr, data.ResultType)
	}
	var v model.Vector
	if err := json.Unmarshal(data.Result, &v); err != nil {
		return nil, fmt.Errorf("query %s: decoding the vector: %w", expr, err)
	}
	return v, nil
}

// EveryInterval writes a copy of the rule file file to dir with no group's
// own interval, so that every group is evaluated at the global
// evaluation_interval, and returns the copy's path. A test with a short
// interval then sees every group evaluated within seconds (a group of the
// shipped rules runs once a minute); a group's results and its cost per
// evaluation do not depend on its interval.
func EveryInterval(file, dir string) (string, error) {
	raw, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("reading the rules: %w", err)
	}
	var rules struct {
		Groups []map[string]any `yaml:"groups"`
	}
	if err := yaml.Unmarshal(raw, &rules); err != nil {
		return "", fmt.Errorf("%s: %w", file, err)
	}
	for _, g := range rules.Groups {
		delete(g, "interval")
	}
	out, err := yaml.Marshal(rules)
	if err != nil {
		return "", fmt.Errorf("writing the rules: %w", err)
	}
	path := filepath.Join(dir, filepath.Base(file))
	if err := os.WriteFile(path, out, 0o600); err != nil {
		return "", fmt.Errorf("writing the rules: %w", err)
	}
	return path, nil
}

// Series is one series for RemoteWrite: its labels, __name__ included, and its
// samples in time order.
type Series struct {
	Labels map[string]string
	Times  []time.Time
	Values []float64
}

// RemoteWrite appends series to the server's head through its remote-write
// receiver (start it with ExtraArgs "--web.enable-remote-write-receiver"),
// as a scrape would have: the samples of the last hours are in the head in
// a running Prometheus, and reading them there costs what it costs users,
// which reading blocks made by promtool does not. Samples older than the
// newest block's end are refused.
func (s *Server) RemoteWrite(ctx context.Context, series []Series) error {
	var req []byte
	for _, ts := range series {
		req = protowire.AppendTag(req, 1, protowire.BytesType) // WriteRequest.timeseries
		req = protowire.AppendBytes(req, encodeTimeSeries(ts))
	}
	body := snappy.Encode(nil, req)
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url+"/api/v1/write", bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("building the remote-write request: %w", err)
	}
	r.Header.Set("Content-Encoding", "snappy")
	r.Header.Set("Content-Type", "application/x-protobuf")
	r.Header.Set("X-Prometheus-Remote-Write-Version", "0.1.0")
	resp, err := s.client.Do(r)
	if err != nil {
		return fmt.Errorf("remote write: %w", err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("remote write: HTTP %d: %s", resp.StatusCode, bytes.TrimSpace(msg))
	}
	return nil
}

// encodeTimeSeries encodes ts as the remote-write protocol's TimeSeries
// message: labels sorted by name, then samples in milliseconds.
func encodeTimeSeries(ts Series) []byte {
	var b []byte
	for _, n := range slices.Sorted(maps.Keys(ts.Labels)) {
		var l []byte
		l = protowire.AppendTag(l, 1, protowire.BytesType) // Label.name
		l = protowire.AppendString(l, n)
		l = protowire.AppendTag(l, 2, protowire.BytesType) // Label.value
		l = protowire.AppendString(l, ts.Labels[n])
		b = protowire.AppendTag(b, 1, protowire.BytesType) // TimeSeries.labels
		b = protowire.AppendBytes(b, l)
	}
	for i, t := range ts.Times {
		var sm []byte
		sm = protowire.AppendTag(sm, 1, protowire.Fixed64Type) // Sample.value
		sm = protowire.AppendFixed64(sm, math.Float64bits(ts.Values[i]))
		sm = protowire.AppendTag(sm, 2, protowire.VarintType) // Sample.timestamp
		sm = protowire.AppendVarint(sm, uint64(t.UnixMilli()))
		b = protowire.AppendTag(b, 2, protowire.BytesType) // TimeSeries.samples
		b = protowire.AppendBytes(b, sm)
	}
	return b
}
