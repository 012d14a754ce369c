package main

// BenchmarkScrape measures the real scrape path: the built exporter, a
// child process of its own, polls an in-process simulator until every target
// has been refreshed for real, then is scraped over HTTP side by side with
// the plain collector of the same samples. See docs/performance.md:
//
//	go test -run '^$' -bench BenchmarkScrape -benchtime 20x -count 5 -timeout 30m .

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/voicetrends/voicetrends_exporter/prometheus/promtest"
	"github.com/voicetrends/voicetrends_exporter/voicetrends"
	"github.com/voicetrends/voicetrends_exporter/voicetrends/simulator"
)

// benchWindow is the rate-limit window of the benchmark's API: 150
// requests every 100 ms refresh 3 000 numbers x 3 periods in seconds.
const benchWindow = 100 * time.Millisecond

const benchConfig = `base_url: %q
accounts:
  - name: acme
    tool: dev
    login: acme
    password: bench-pass
    timezone: America/New_York
    requests_per_window: 150
    window: 100ms
    refresh_interval: 1h
    max_data_age: 2h
    phones: [%s]
`

func BenchmarkScrape(b *testing.B) {
	bin := buildExporter(b)
	for _, numbers := range []int{10, 100, 1000, 3000} {
		b.Run(fmt.Sprintf("numbers=%d", numbers), func(b *testing.B) { benchScrape(b, bin, numbers) })
	}
}

// BenchmarkStatusPage measures the status page on the path an operator
// takes: the built exporter with 300 numbers x 3 periods, every target
// refreshed from the simulator, its page fetched over HTTP, side by side
// with the least work that serves the same page (its bytes written from
// memory). See docs/performance.md:
//
//	go test -run '^$' -bench BenchmarkStatusPage -benchtime 50x -count 5 .
func BenchmarkStatusPage(b *testing.B) {
	addr, _, _, _ := startBenchExporter(b, buildExporter(b), 300)
	url := "http://" + addr + "/"
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	resp, err := client.Get(url)
	if err != nil {
		b.Fatal(err)
	}
	page, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || !bytes.Contains(page, []byte("290 more numbers")) {
		b.Fatalf("the status page: %v, HTTP %d, %d bytes, without the 300 numbers' summary:\n%.2000s", err, resp.StatusCode, len(page), page)
	}
	base := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
		_, _ = w.Write(page)
	}))
	defer base.Close()
	var got, static []time.Duration
	var size int
	for b.Loop() {
		d, n := timedGet(b, client, url, "")
		got, size = append(got, d), n
		d, _ = timedGet(b, client, base.URL, "")
		static = append(static, d)
	}
	b.ReportMetric(ms(median(got)), "ms/page")
	b.ReportMetric(ms(median(static)), "static-ms/page")
	b.ReportMetric(median(got).Seconds()/median(static).Seconds(), "x-static")
	b.ReportMetric(float64(size), "bytes/page")
}

// buildExporter builds the exporter into a temporary directory.
func buildExporter(b *testing.B) string {
	b.Helper()
	bin := filepath.Join(b.TempDir(), "voicetrends_exporter")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// benchScrape runs one exporter of numbers x 3 periods and scrapes it and
// the plain collector in turns, plain and gzip, once per b.Loop.
func benchScrape(b *testing.B, bin string, numbers int) {
	addr, exporter, body, refreshed := startBenchExporter(b, bin, numbers)
	url := "http://" + addr + "/metrics"

	plain := plainOf(b, body)
	base := httptest.NewServer(handlerOf(plain))
	defer base.Close()
	if got, want := ownLines(b, base.URL), ownLines(b, url); got != want || len(want) < 1000 {
		b.Fatalf("the plain collector serves something else than the exporter:\n%.2000s\n----\n%.2000s", got, want)
	}

	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	// First as Prometheus scrapes, gzip only: the pieces keep no plain lines.
	for range 20 {
		timedGet(b, client, url, "gzip")
	}
	rssGzip, err := procRSS(exporter.cmd.Process.Pid)
	if err != nil {
		b.Fatal(err)
	}
	heapGzip := gauge(b, client, url, "go_memstats_heap_inuse_bytes")
	var exp, expGz, pl, plGz []time.Duration
	var size, sizeGz, plainSizeGz int
	for b.Loop() {
		d, n := timedGet(b, client, url, "")
		exp, size = append(exp, d), n
		d, _ = timedGet(b, client, base.URL, "")
		pl = append(pl, d)
		d, n = timedGet(b, client, url, "gzip")
		expGz, sizeGz = append(expGz, d), n
		d, n = timedGet(b, client, base.URL, "gzip")
		plGz, plainSizeGz = append(plGz, d), n
	}
	rss, err := procRSS(exporter.cmd.Process.Pid)
	if err != nil {
		b.Fatal(err)
	}
	heap := gauge(b, client, url, "go_memstats_heap_inuse_bytes")
	series := strings.Count(string(body), "\nvoicetrends_")
	b.ReportMetric(float64(series), "series")
	b.ReportMetric(ms(median(exp)), "ms/scrape")
	b.ReportMetric(ms(median(pl)), "plain-ms/scrape")
	b.ReportMetric(median(exp).Seconds()/median(pl).Seconds(), "x-plain")
	b.ReportMetric(ms(median(expGz)), "gz-ms/scrape")
	b.ReportMetric(ms(median(plGz)), "plain-gz-ms/scrape")
	b.ReportMetric(median(expGz).Seconds()/median(plGz).Seconds(), "x-plain-gz")
	b.ReportMetric(float64(size), "bytes")
	b.ReportMetric(float64(sizeGz), "gz-bytes")
	b.ReportMetric(float64(plainSizeGz), "plain-gz-bytes")
	b.ReportMetric(rssGzip/(1<<20), "gz-only-RSS-MiB")
	b.ReportMetric(heapGzip/(1<<20), "gz-only-heap-MiB")
	b.ReportMetric(rss/(1<<20), "RSS-MiB")
	b.ReportMetric(heap/(1<<20), "heap-MiB")
	b.ReportMetric(refreshed.Seconds(), "s-to-refresh")
}

// startBenchExporter starts bin as a child process with one account of
// numbers x 3 periods against an in-process simulator, waits until every
// target has been refreshed for real, and returns its address, the process,
// that scrape and how long the refreshes took.
func startBenchExporter(b *testing.B, bin string, numbers int) (addr string, exporter *process, body []byte, refreshed time.Duration) {
	b.Helper()
	phones := make([]string, numbers)
	for i := range phones {
		phones[i] = fmt.Sprintf("617%07d", i)
	}
	sim := simulator.New(simulator.Options{Seed: 4, Window: benchWindow, DataLimit: 150, AuthLimit: 15,
		Accounts: []simulator.Account{{Tool: voicetrends.ToolDev, Login: "acme", Password: "bench-pass", Phones: phones}}})
	api := httptest.NewServer(sim)
	b.Cleanup(api.Close)
	dir := b.TempDir()
	cfg := filepath.Join(dir, "voicetrends.yml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(benchConfig, api.URL+"/", `"`+strings.Join(phones, `", "`)+`"`)), 0o600); err != nil {
		b.Fatal(err)
	}
	addr = promtest.FreePort(b)
	exporter = startProcess(b, bin, filepath.Join(dir, "exporter.log"), "--config.file="+cfg, "--web.listen-address="+addr)
	waitHTTP(b, "http://"+addr+"/-/healthy")
	began := time.Now()
	body = waitRefreshed(b, "http://"+addr+"/metrics", 3*numbers, exporter)
	return addr, exporter, body, time.Since(began)
}

// waitRefreshed scrapes until every target has succeeded once and returns
// that scrape, in the text format.
func waitRefreshed(b *testing.B, url string, targets int, p *process) []byte {
	b.Helper()
	deadline := time.Now().Add(5 * time.Minute)
	for time.Now().Before(deadline) {
		if p.exited() {
			b.Fatalf("the exporter exited (%v):\n%s", p.err, tail(p.log, 20))
		}
		resp, err := http.Get(url)
		if err != nil {
			b.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			b.Fatal(err)
		}
		if strings.Count(string(body), "\nvoicetrends_last_success_timestamp_seconds{") == targets {
			return body
		}
		time.Sleep(500 * time.Millisecond) // polling a child process's refreshes
	}
	b.Fatalf("the targets did not all refresh within 5 minutes:\n%s", tail(p.log, 20))
	return nil
}

// ownLines scrapes url and returns its voicetrends_* lines, HELP and
// TYPE included.
func ownLines(b *testing.B, url string) string {
	b.Helper()
	resp, err := http.Get(url)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(strings.TrimPrefix(strings.TrimPrefix(line, "# HELP "), "# TYPE "), "voicetrends_") {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}

// timedGet times one scrape, the body read whole as the server sent it,
// and returns its length.
func timedGet(b *testing.B, client *http.Client, url, encoding string) (time.Duration, int) {
	b.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if encoding != "" {
		req.Header.Set("Accept-Encoding", encoding)
	}
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	d := time.Since(start)
	if err != nil || resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Encoding") != encoding {
		b.Fatalf("scrape %s: %v %d %q", url, err, resp.StatusCode, resp.Header.Get("Content-Encoding"))
	}
	return d, int(n)
}

// gauge scrapes url for the value of an unlabelled gauge.
func gauge(b *testing.B, client *http.Client, url, name string) float64 {
	b.Helper()
	resp, err := client.Get(url)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil || mfs[name] == nil {
		b.Fatalf("%s: %v", name, err)
	}
	return mfs[name].GetMetric()[0].GetGauge().GetValue()
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func ms(d time.Duration) float64 { return d.Seconds() * 1000 }

// plainSample is one sample of the plain collector.
type plainSample struct {
	desc   *prometheus.Desc
	typ    dto.MetricType
	labels []string
	metric *dto.Metric
}

// plainCollector is the baseline of issue 18: a collector that builds every
// sample with MustNewConstMetric at every scrape, emitted in exposition
// order, through promhttp.HandlerFor on a plain registry with no go or
// process collectors.
type plainCollector struct {
	descs   []*prometheus.Desc
	samples []plainSample
}

func (p *plainCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range p.descs {
		ch <- d
	}
}

func (p *plainCollector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range p.samples {
		switch s.typ {
		case dto.MetricType_COUNTER:
			ch <- prometheus.MustNewConstMetric(s.desc, prometheus.CounterValue, s.metric.GetCounter().GetValue(), s.labels...)
		case dto.MetricType_HISTOGRAM:
			h := s.metric.GetHistogram()
			buckets := map[float64]uint64{}
			for _, bk := range h.GetBucket() {
				buckets[bk.GetUpperBound()] = bk.GetCumulativeCount()
			}
			ch <- prometheus.MustNewConstHistogram(s.desc, h.GetSampleCount(), h.GetSampleSum(), buckets, s.labels...)
		default:
			ch <- prometheus.MustNewConstMetric(s.desc, prometheus.GaugeValue, s.metric.GetGauge().GetValue(), s.labels...)
		}
	}
}

// plainOf builds the plain collector of every voicetrends_* sample of a
// text scrape, in the scrape's order.
func plainOf(b *testing.B, body []byte) *plainCollector {
	b.Helper()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := parser.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	var names []string
	for name := range mfs {
		if strings.HasPrefix(name, "voicetrends_") {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	p := &plainCollector{}
	for _, name := range names {
		mf := mfs[name]
		var labelNames []string
		for _, l := range mf.GetMetric()[0].GetLabel() {
			labelNames = append(labelNames, l.GetName())
		}
		desc := prometheus.NewDesc(name, mf.GetHelp(), labelNames, nil)
		p.descs = append(p.descs, desc)
		for _, m := range mf.GetMetric() {
			values := make([]string, len(m.GetLabel()))
			for i, l := range m.GetLabel() {
				values[i] = l.GetValue()
			}
			p.samples = append(p.samples, plainSample{desc, mf.GetType(), values, m})
		}
	}
	return p
}

// handlerOf serves c alone, as the baseline does.
func handlerOf(c prometheus.Collector) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}
