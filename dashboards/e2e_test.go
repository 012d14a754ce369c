package dashboards

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql/parser"

	"github.com/voicetrends/voicetrends_exporter/internal/clock/clocktest"
	"github.com/voicetrends/voicetrends_exporter/prometheus/promtest"
)

const (
	// e2eAccount is a demo account with ALL and several single numbers.
	e2eAccount = "support"
	// e2eWait bounds the wait for data once Prometheus is up; it usually takes
	// about ten seconds.
	e2eWait = 90 * time.Second
	// exporterPackage is the exporter's main package, built fresh for the test.
	exporterPackage = "github.com/voicetrends/voicetrends_exporter"
)

// TestE2EStack builds the exporter, runs it in demo mode, lints a real scrape with
// `promtool check metrics`, imports eight days of synthetic history of the demo
// account (importHistory) so that queries a week back have data, starts a real
// Prometheus on it scraping the exporter every 2s under the job name "voicetrends"
// and evaluating the shipped prometheus/rules.yml, then runs
// every dashboard query (variables filled in with real values), every variable
// query and every recording rule, failing on an empty result. It retries until the
// data is in or e2eWait is over.
func TestE2EStack(t *testing.T) {
	promtest.Require(t, "prometheus", "promtool")
	exporter, exited := startExporter(t, buildExporter(t))
	// The shipped rules with every group at the test's 2s, so that the
	// baselines (a group run once a minute) are in within seconds.
	rules, err := promtest.EveryInterval(rulesFile, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), e2eWait)
	defer cancel()
	promtest.CheckMetrics(t, waitForScrape(ctx, t, exporter, exited))
	history := importHistory(t, exporter, time.Now())
	srv := promtest.Start(t, promtest.Options{
		StoragePath: history,
		Config: fmt.Sprintf(`global:
  scrape_interval: 2s
  scrape_timeout: 2s
  evaluation_interval: 2s
rule_files:
  - %q
scrape_configs:
  - job_name: voicetrends
    static_configs:
      - targets: [%q]
`, rules, exporter),
		ExtraArgs: []string{"--log.level=warn"},
	})

	prom := &promAPI{srv: srv}
	number := waitForNumber(ctx, t, prom)
	checks := e2eChecks(t, prom, number, exporter)
	pending := checks
	lastErr := map[string]error{}
	for {
		var still []check
		for _, c := range pending {
			if err := c.run(ctx); err != nil {
				lastErr[c.name] = err
				still = append(still, c)
			}
		}
		pending = still
		if len(pending) == 0 {
			t.Logf("all %d checks returned data from %s", len(checks), srv.URL())
			return
		}
		select {
		case <-ctx.Done():
			for _, c := range pending {
				t.Errorf("%s: %v", c.name, lastErr[c.name])
			}
			t.Fatalf("%d of %d checks still failing after %s", len(pending), len(checks), e2eWait)
		case <-time.After(2 * time.Second):
		}
	}
}

// buildExporter builds the exporter binary into a temporary directory. go test
// puts its own toolchain first on PATH, so this is the Go that runs the test.
func buildExporter(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is not on PATH: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "voicetrends_exporter")
	start := time.Now()
	if out, err := exec.Command(goTool, "build", "-o", bin, exporterPackage).CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", exporterPackage, err, out)
	}
	t.Logf("built the exporter in %s", time.Since(start).Round(time.Millisecond))
	return bin
}

// startExporter runs bin --demo on a free loopback port and returns its host:port
// and a channel closed when it exits. It is killed when the test ends; if the test
// failed, its log tail is shown.
func startExporter(t *testing.T, bin string) (addr string, exited <-chan struct{}) {
	t.Helper()
	addr = promtest.FreePort(t)
	logFile := filepath.Join(t.TempDir(), "exporter.log")
	logs, err := os.Create(logFile)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--demo", "--demo.start-time="+demoStart(t), "--web.listen-address="+addr, "--log.level=info")
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting the exporter: %v", err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
		_ = logs.Close()
		if t.Failed() {
			out, _ := os.ReadFile(logFile)
			lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
			t.Logf("exporter log, last lines:\n%s", strings.Join(lines[max(0, len(lines)-30):], "\n"))
		}
	})
	return addr, done
}

// demoStart is when the demo's clock starts: noon in the demo account's zone
// on the tests' date (clocktest), so that today's figures already hold calls
// whatever the time of day the test runs at.
func demoStart(t *testing.T) string {
	t.Helper()
	return demoDay(t).Add(12 * time.Hour).Format(time.RFC3339)
}

// demoDay is the start (local midnight) of the demo's day, the tests' date in
// the demo account's zone.
func demoDay(t *testing.T) time.Time {
	t.Helper()
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	d := clocktest.Now(t).In(ny)
	return time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, ny)
}

// waitForScrape returns the exporter's /metrics once it holds the demo figures;
// it gives up when the exporter exits or ctx ends.
func waitForScrape(ctx context.Context, t *testing.T, addr string, exited <-chan struct{}) []byte {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second}
	var lastErr error
	for {
		body, err := scrape(ctx, client, "http://"+addr+"/metrics")
		if err == nil {
			if bytes.Contains(body, []byte("\nvoicetrends_calls{")) {
				return body
			}
			err = fmt.Errorf("no voicetrends_calls series yet")
		}
		lastErr = err
		select {
		case <-exited:
			t.Fatalf("the exporter exited before serving demo figures at %s: %v", addr, lastErr)
		case <-ctx.Done():
			t.Fatalf("the exporter at %s served no demo figures: %v", addr, lastErr)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// scrape GETs target and returns the body of a 200 answer.
func scrape(ctx context.Context, client *http.Client, target string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", target, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: HTTP %d", target, resp.StatusCode)
	}
	return body, nil
}

// check is one assertion against the live Prometheus.
type check struct {
	name string
	run  func(context.Context) error
}

// waitForNumber finds a single phone number of the demo account, once the exporter
// has served its figures.
func waitForNumber(ctx context.Context, t *testing.T, prom *promAPI) string {
	t.Helper()
	var lastErr error
	for {
		values, err := prom.labelValues(ctx, "phone", fmt.Sprintf(`voicetrends_calls{account=%q}`, e2eAccount))
		if err == nil {
			for _, v := range values {
				if v != "ALL" {
					return v
				}
			}
			err = fmt.Errorf("phones of account %s so far: %v", e2eAccount, values)
		}
		lastErr = err
		select {
		case <-ctx.Done():
			t.Fatalf("no single phone number of demo account %s arrived in Prometheus: %v", e2eAccount, lastErr)
		case <-time.After(2 * time.Second):
		}
	}
}

// e2eChecks builds the checks: scrape health, every rule healthy, every recording
// rule non-empty, and every dashboard query and variable non-empty for each value
// a person would pick.
func e2eChecks(t *testing.T, prom *promAPI, number, instance string) []check {
	t.Helper()
	var checks []check
	seen := map[string]bool{}
	addQuery := func(where, expr string) {
		if seen[expr] {
			return
		}
		seen[expr] = true
		checks = append(checks, check{name: fmt.Sprintf("%s: %s", where, expr), run: func(ctx context.Context) error {
			return prom.nonEmpty(ctx, expr)
		}})
	}

	addQuery("exporter scraped", `up{job="voicetrends"} == 1`)
	checks = append(checks, check{name: "every rule evaluates without error", run: prom.rulesHealthy})
	for _, r := range recordedNames(t) {
		addQuery("recording rule", r)
	}

	for _, f := range loadDashboards(t) {
		for _, vals := range variableCombinations(f, number, instance) {
			for _, q := range f.queries(t) {
				expr, err := substitute(q.expr, vals)
				if err != nil {
					t.Fatalf("%s: %v", q.where, err)
				}
				if q.annotation {
					expr = annotationSeries(t, expr)
				}
				addQuery(q.where, expr)
			}
			for _, v := range f.doc.Templating.List {
				if v.Type != "query" {
					continue
				}
				sel, label, err := labelValuesQuery(variableQuery(v))
				if err != nil {
					t.Fatalf("%s variable %s: %v", f.name, v.Name, err)
				}
				if sel, err = substitute(sel, vals); err != nil {
					t.Fatalf("%s variable %s: %v", f.name, v.Name, err)
				}
				name := fmt.Sprintf("%s variable %s: label_values(%s, %s)", f.name, v.Name, sel, label)
				if seen[name] {
					continue
				}
				seen[name] = true
				checks = append(checks, check{name: name, run: func(ctx context.Context) error {
					values, err := prom.labelValues(ctx, label, sel)
					if err != nil {
						return err
					}
					if len(values) == 0 {
						return fmt.Errorf("no values")
					}
					return nil
				}})
			}
		}
	}
	return checks
}

// variableCombinations returns the variable values to try for a dashboard: the
// demo account, phone ALL and a single number, every period, and job and
// instance as Grafana writes them into a query for one value picked and for All.
func variableCombinations(f dashboardFile, number, instance string) []map[string]string {
	choices := map[string][]string{
		"datasource": {""},
		"job":        {grafanaMultiValue("voicetrends"), allValue(f, "job")},
		"instance":   {grafanaMultiValue(instance), allValue(f, "instance")},
		"account":    {e2eAccount},
		"phone":      {"ALL", number},
		"period":     {"day", "week", "month"},
	}
	combos := []map[string]string{{}}
	for k, v := range builtinValues {
		combos[0][k] = v
	}
	var names []string
	for _, v := range f.doc.Templating.List {
		names = append(names, v.Name)
	}
	sort.Strings(names)
	for _, name := range names {
		opts, ok := choices[name]
		if !ok {
			// A new variable needs a value here; the placeholder makes the
			// missing choice visible as a failing query rather than a silent pass.
			opts = []string{"e2e-has-no-value-for-" + name}
		}
		var next []map[string]string
		for _, c := range combos {
			for _, o := range opts {
				m := make(map[string]string, len(c)+1)
				for k, v := range c {
					m[k] = v
				}
				m[name] = o
				next = append(next, m)
			}
		}
		combos = next
	}
	return combos
}

// annotationSeries returns what an annotation query filters, the left of
// its comparison with a number ("x == 1" gives x): the query itself is
// empty while there is nothing to mark (no closed day in the demo), but
// the series it filters must exist.
func annotationSeries(t *testing.T, expr string) string {
	t.Helper()
	e, err := parser.NewParser(parser.Options{}).ParseExpr(expr)
	if err != nil {
		t.Fatalf("annotation query %s: %v", expr, err)
	}
	if b, ok := e.(*parser.BinaryExpr); ok && b.Op.IsComparisonOperator() && !b.ReturnBool {
		if _, num := b.RHS.(*parser.NumberLiteral); num {
			return b.LHS.String()
		}
	}
	return expr
}

// promAPI is the little of Prometheus' HTTP API the test needs.
type promAPI struct {
	srv *promtest.Server
}

// nonEmpty runs an instant query and fails when it returns no series.
func (p *promAPI) nonEmpty(ctx context.Context, expr string) error {
	var data struct {
		ResultType string            `json:"resultType"`
		Result     []json.RawMessage `json:"result"`
	}
	if err := p.srv.API(ctx, "/api/v1/query", url.Values{"query": {expr}}, &data); err != nil {
		return err
	}
	if data.ResultType == "scalar" || data.ResultType == "string" {
		return nil
	}
	if len(data.Result) == 0 {
		return fmt.Errorf("empty %s result", data.ResultType)
	}
	return nil
}

// labelValues answers Grafana's label_values(selector, label); an empty selector
// asks for the label's values on every series.
func (p *promAPI) labelValues(ctx context.Context, label, selector string) ([]string, error) {
	params := url.Values{}
	if selector != "" {
		params.Set("match[]", selector)
	}
	var values []string
	if err := p.srv.API(ctx, "/api/v1/label/"+url.PathEscape(label)+"/values", params, &values); err != nil {
		return nil, err
	}
	return values, nil
}

// rulesHealthy fails while a shipped rule has not been evaluated yet or its last
// evaluation failed (for example a many-to-many match), which an empty-result
// check alone would not tell apart.
func (p *promAPI) rulesHealthy(ctx context.Context) error {
	var data struct {
		Groups []struct {
			Name  string `json:"name"`
			Rules []struct {
				Name      string `json:"name"`
				Health    string `json:"health"`
				LastError string `json:"lastError"`
			} `json:"rules"`
		} `json:"groups"`
	}
	if err := p.srv.API(ctx, "/api/v1/rules", url.Values{}, &data); err != nil {
		return err
	}
	var bad []string
	var names []string
	for _, g := range data.Groups {
		for _, r := range g.Rules {
			names = append(names, r.Name)
			if r.Health != "ok" {
				bad = append(bad, fmt.Sprintf("%s/%s: health %q %s", g.Name, r.Name, r.Health, r.LastError))
			}
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("%s", strings.Join(bad, "; "))
	}
	for _, want := range []string{"VoiceTrendsTransferRateHigh", "VoiceTrendsCallsBelowUsual", "account:voicetrends_calls:sum", "phone:voicetrends_calls:usual"} {
		if !slices.Contains(names, want) {
			return fmt.Errorf("rule %s not loaded; rules loaded: %v", want, names)
		}
	}
	return nil
}

// grafanaMultiValue is how Grafana's Prometheus data source writes one chosen
// value of a multi-value variable into a query: regex metacharacters escaped
// with two backslashes, one for the PromQL string and one for the regex, so
// that "127.0.0.1:9" matches itself only.
func grafanaMultiValue(v string) string {
	var b strings.Builder
	for _, r := range v {
		switch {
		case r == '\\':
			b.WriteString(`\\\\`)
			continue
		case strings.ContainsRune(`$^*{}[]'+?.()|`, r):
			b.WriteString(`\\`)
		}
		b.WriteRune(r)
	}
	return b.String()
}

// allValue is what Grafana writes for All: the variable's allValue.
func allValue(f dashboardFile, name string) string {
	for _, v := range f.doc.Templating.List {
		if v.Name == name && v.IncludeAll && v.AllValue != "" {
			return v.AllValue
		}
	}
	return "e2e-variable-" + name + "-has-no-allValue"
}
