package dashboards

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

// Environment of the end-to-end test; .ci/e2e-stack.sh sets them.
const (
	// e2eURLEnv names a Prometheus that scrapes voicetrends_exporter --demo under
	// the job name "voicetrends" and evaluates prometheus/rules.yml.
	e2eURLEnv = "VOICETRENDS_E2E_PROMETHEUS_URL"
	// e2eWaitEnv bounds how long the test waits for data, as a Go duration.
	e2eWaitEnv = "VOICETRENDS_E2E_WAIT"
	// e2eAccount is a demo account with ALL and several single numbers.
	e2eAccount = "support"
)

// TestE2EStack runs every dashboard query (variables filled in with real values),
// every variable query and every recording rule against a live Prometheus and
// fails on an empty result. It retries until the data is in or the wait is over, so
// it can start as soon as Prometheus does.
func TestE2EStack(t *testing.T) {
	base := os.Getenv(e2eURLEnv)
	if base == "" {
		msg := fmt.Sprintf("%s is not set: run `bash .ci/e2e-stack.sh PATH_TO_voicetrends_exporter`, "+
			"which needs Prometheus and promtool from the Debian package `prometheus` (apt-get install prometheus)", e2eURLEnv)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	wait := 90 * time.Second
	if s := os.Getenv(e2eWaitEnv); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			t.Fatalf("%s=%q: %v (want a Go duration such as 90s)", e2eWaitEnv, s, err)
		}
		wait = d
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	prom := &promAPI{base: strings.TrimSuffix(base, "/"), client: &http.Client{Timeout: 10 * time.Second}}

	number := waitForNumber(ctx, t, prom)
	checks := e2eChecks(t, prom, number)
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
			t.Logf("all %d checks returned data from %s", len(checks), prom.base)
			return
		}
		select {
		case <-ctx.Done():
			for _, c := range pending {
				t.Errorf("%s: %v", c.name, lastErr[c.name])
			}
			t.Fatalf("%d of %d checks still failing after %s", len(pending), len(checks), wait)
		case <-time.After(2 * time.Second):
		}
	}
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
func e2eChecks(t *testing.T, prom *promAPI, number string) []check {
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
		for _, vals := range variableCombinations(f, number) {
			for _, q := range f.queries(t) {
				expr, err := substitute(q.expr, vals)
				if err != nil {
					t.Fatalf("%s: %v", q.where, err)
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
// demo account, phone ALL and a single number, and every period.
func variableCombinations(f dashboardFile, number string) []map[string]string {
	choices := map[string][]string{
		"datasource": {""},
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

// promAPI is the little of Prometheus' HTTP API the test needs.
type promAPI struct {
	base   string
	client *http.Client
}

type apiResponse struct {
	Status    string          `json:"status"`
	ErrorType string          `json:"errorType"`
	Error     string          `json:"error"`
	Data      json.RawMessage `json:"data"`
}

func (p *promAPI) get(ctx context.Context, path string, params url.Values, data any) error {
	u := p.base + path + "?" + params.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("building request for %s: %w", path, err)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	var r apiResponse
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

// nonEmpty runs an instant query and fails when it returns no series.
func (p *promAPI) nonEmpty(ctx context.Context, expr string) error {
	var data struct {
		ResultType string            `json:"resultType"`
		Result     []json.RawMessage `json:"result"`
	}
	if err := p.get(ctx, "/api/v1/query", url.Values{"query": {expr}}, &data); err != nil {
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
	if err := p.get(ctx, "/api/v1/label/"+url.PathEscape(label)+"/values", params, &values); err != nil {
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
	if err := p.get(ctx, "/api/v1/rules", url.Values{}, &data); err != nil {
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
	for _, want := range []string{"VoiceTrendsTransferRateHigh", "account:voicetrends_calls:sum"} {
		if !slices.Contains(names, want) {
			return fmt.Errorf("rule %s not loaded; rules loaded: %v", want, names)
		}
	}
	return nil
}
