// Package dashboards holds the Grafana dashboards shipped with voicetrends_exporter
// and the tests that prove them: schema, structure, and that every query asks only
// for metrics the exporter (or the shipped recording rules) really produce.
package dashboards

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/plugins"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"gopkg.in/yaml.v3"

	"github.com/voicetrends/voicetrends_exporter/internal/metric"
)

// rulesFile is the shipped Prometheus rule file whose recording rules the
// dashboards may query.
const rulesFile = "../prometheus/rules.yml"

// wantUIDs fixes each dashboard's uid: links, the compose stack's home dashboard and
// users' bookmarks depend on it, so a change must be deliberate.
var wantUIDs = map[string]string{
	"call-volume.json":     "voicetrends-call-volume",
	"exporter-health.json": "voicetrends-exporter-health",
}

// datasourceRef is how every panel, query and query variable must name its data
// source, so that the dashboard follows the `datasource` variable.
const datasourceRef = "${datasource}"

// grafanaBuiltins are Grafana's own variables that a dashboard may use undefined.
var grafanaBuiltins = map[string]bool{
	"__all": true, "__rate_interval": true, "__interval": true, "__interval_ms": true,
	"__range": true, "__range_s": true, "__range_ms": true, "__from": true, "__to": true,
	"__dashboard": true, "__org": true, "__user": true, "__timezone": true,
}

// dashboardFile is one dashboard read from disk: the raw bytes for the schema check
// and the fields the other checks need.
type dashboardFile struct {
	name string
	raw  []byte
	doc  dashboardDoc
}

type dashboardDoc struct {
	UID           string         `json:"uid"`
	Title         string         `json:"title"`
	SchemaVersion int            `json:"schemaVersion"`
	Panels        []panelDoc     `json:"panels"`
	Templating    templatingDoc  `json:"templating"`
	Annotations   annotationsDoc `json:"annotations"`
	Raw           map[string]any `json:"-"`
}

// annotationsDoc holds the dashboard's annotation queries.
type annotationsDoc struct {
	List []struct {
		Name       string         `json:"name"`
		Expr       string         `json:"expr"`
		Datasource *datasourceDoc `json:"datasource"`
	} `json:"list"`
}

type templatingDoc struct {
	List []variableDoc `json:"list"`
}

type variableDoc struct {
	Type       string         `json:"type"`
	Name       string         `json:"name"`
	Query      any            `json:"query"`
	Datasource *datasourceDoc `json:"datasource"`
	Multi      bool           `json:"multi"`
	IncludeAll bool           `json:"includeAll"`
	AllValue   string         `json:"allValue"`
}

type datasourceDoc struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type panelDoc struct {
	ID          int            `json:"id"`
	Type        string         `json:"type"`
	Title       string         `json:"title"`
	Description string         `json:"description"`
	Datasource  *datasourceDoc `json:"datasource"`
	Targets     []targetDoc    `json:"targets"`
	Panels      []panelDoc     `json:"panels"` // a collapsed row keeps its panels here
}

type targetDoc struct {
	RefID      string         `json:"refId"`
	Expr       string         `json:"expr"`
	Datasource *datasourceDoc `json:"datasource"`
}

// query is one PromQL expression found in a dashboard, with where it came from.
type query struct {
	where string
	expr  string
	// annotation: the query marks moments, and is rightly empty while
	// there is nothing to mark (see annotationSeries).
	annotation bool
}

func loadDashboards(t *testing.T) []dashboardFile {
	t.Helper()
	paths, err := filepath.Glob("*.json")
	if err != nil {
		t.Fatalf("listing dashboards: %v", err)
	}
	var names []string
	for _, p := range paths {
		names = append(names, filepath.Base(p))
	}
	sort.Strings(names)
	var want []string
	for n := range wantUIDs {
		want = append(want, n)
	}
	sort.Strings(want)
	if !slices.Equal(names, want) {
		t.Fatalf("dashboards on disk %v, want %v: add a new dashboard to wantUIDs with its fixed uid", names, want)
	}
	var out []dashboardFile
	for _, name := range names {
		raw, err := os.ReadFile(name)
		if err != nil {
			t.Fatalf("reading %s: %v", name, err)
		}
		f := dashboardFile{name: name, raw: raw}
		if err := json.Unmarshal(raw, &f.doc); err != nil {
			t.Fatalf("%s: not JSON: %v", name, err)
		}
		if err := json.Unmarshal(raw, &f.doc.Raw); err != nil {
			t.Fatalf("%s: not a JSON object: %v", name, err)
		}
		out = append(out, f)
	}
	return out
}

// allPanels flattens rows, including the panels a collapsed row carries.
func allPanels(ps []panelDoc) []panelDoc {
	var out []panelDoc
	for _, p := range ps {
		out = append(out, p)
		out = append(out, allPanels(p.Panels)...)
	}
	return out
}

// queries returns every PromQL expression of a dashboard: panel targets,
// annotation queries and the selector inside each query variable's
// label_values(...).
func (f dashboardFile) queries(t *testing.T) []query {
	t.Helper()
	var out []query
	for _, p := range allPanels(f.doc.Panels) {
		for _, tg := range p.Targets {
			out = append(out, query{where: fmt.Sprintf("%s panel %d %q target %s", f.name, p.ID, p.Title, tg.RefID), expr: tg.Expr})
		}
	}
	for _, a := range f.doc.Annotations.List {
		if a.Expr != "" {
			out = append(out, query{where: fmt.Sprintf("%s annotation %q", f.name, a.Name), expr: a.Expr, annotation: true})
		}
	}
	for _, v := range f.doc.Templating.List {
		if v.Type != "query" {
			continue
		}
		sel, _, err := labelValuesQuery(variableQuery(v))
		if err != nil {
			t.Errorf("%s variable %s: %v", f.name, v.Name, err)
			continue
		}
		if sel != "" {
			out = append(out, query{where: fmt.Sprintf("%s variable %s", f.name, v.Name), expr: sel})
		}
	}
	return out
}

// variableQuery returns a query variable's query whether Grafana stored it as a
// string or, as newer versions do, as an object with a "query" field.
func variableQuery(v variableDoc) string {
	switch q := v.Query.(type) {
	case string:
		return q
	case map[string]any:
		s, _ := q["query"].(string)
		return s
	}
	return ""
}

var labelValuesRE = regexp.MustCompile(`^\s*label_values\(\s*(?:(.*),\s*)?([a-zA-Z_][a-zA-Z0-9_]*)\s*\)\s*$`)

// labelValuesQuery splits Grafana's label_values(selector, label) into its parts;
// the selector is empty for label_values(label).
func labelValuesQuery(q string) (selector, label string, err error) {
	m := labelValuesRE.FindStringSubmatch(q)
	if m == nil {
		return "", "", fmt.Errorf("query %q is not label_values([selector,] label)", q)
	}
	return m[1], m[2], nil
}

// varRefRE matches Grafana variable references: $name, ${name}, ${name:format}, [[name]].
var varRefRE = regexp.MustCompile(`\$\{([a-zA-Z0-9_]+)(?::[^}]*)?\}|\$([a-zA-Z0-9_]+)|\[\[([a-zA-Z0-9_]+)(?::[^\]]*)?\]\]`)

// variableRefs returns the names of all variables referenced anywhere in s.
func variableRefs(s string) []string {
	var out []string
	for _, m := range varRefRE.FindAllStringSubmatch(s, -1) {
		for _, g := range m[1:] {
			if g != "" {
				out = append(out, g)
			}
		}
	}
	return out
}

// substitute replaces every variable reference in s with values[name]; it fails on
// a reference without a value, so a new variable cannot slip past the checks.
func substitute(s string, values map[string]string) (string, error) {
	var missing []string
	out := varRefRE.ReplaceAllStringFunc(s, func(ref string) string {
		name := variableRefs(ref)[0]
		v, ok := values[name]
		if !ok {
			missing = append(missing, name)
			return ref
		}
		return v
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("no value for variable(s) %v in %q", missing, s)
	}
	return out, nil
}

// builtinValues fills Grafana's built-in interval and range variables with values
// that make valid PromQL and, at a 2s scrape interval, non-empty rates.
var builtinValues = map[string]string{
	"__rate_interval": "1m", "__interval": "30s", "__interval_ms": "30000",
	"__range": "5m", "__range_s": "300", "__range_ms": "300000",
}

// metricNames parses a PromQL expression and returns the metric names it selects.
// A selector without a metric name is an error: the dashboards must say which
// metric they read.
func metricNames(expr string) ([]string, error) {
	e, err := parser.NewParser(parser.Options{}).ParseExpr(expr)
	if err != nil {
		return nil, fmt.Errorf("parsing %q: %w", expr, err)
	}
	var names []string
	var errs []error
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		vs, ok := n.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		name := vs.Name
		for _, m := range vs.LabelMatchers {
			if m.Name == labels.MetricName && m.Type == labels.MatchEqual {
				name = m.Value
			}
		}
		if name == "" {
			errs = append(errs, fmt.Errorf("selector %s in %q has no single metric name", vs, expr))
			return nil
		}
		names = append(names, name)
		return nil
	})
	return names, errors.Join(errs...)
}

// histogramSuffixes are the series a histogram family exposes besides its name.
var histogramSuffixes = []string{"_bucket", "_sum", "_count"}

// knownMetric reports whether a series name belongs to one of the families.
func knownMetric(name string, families map[string]bool) bool {
	if families[name] {
		return true
	}
	for _, suf := range histogramSuffixes {
		if base, ok := strings.CutSuffix(name, suf); ok && families[base] {
			return true
		}
	}
	return false
}

// exporterFamilies returns the metric families the exporter serves of its
// own, from the metric table.
func exporterFamilies(t *testing.T) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for _, f := range metric.Served() {
		out[f.Name] = true
	}
	return out
}

// ruleGroups is the part of a Prometheus rule file the tests read.
type ruleGroups struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Record string `yaml:"record"`
			Alert  string `yaml:"alert"`
			Expr   string `yaml:"expr"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

func loadRules(t *testing.T) ruleGroups {
	t.Helper()
	raw, err := os.ReadFile(rulesFile)
	if err != nil {
		t.Fatalf("reading rules: %v", err)
	}
	var rg ruleGroups
	if err := yaml.Unmarshal(raw, &rg); err != nil {
		t.Fatalf("%s: %v", rulesFile, err)
	}
	if len(rg.Groups) == 0 {
		t.Fatalf("%s: no rule groups", rulesFile)
	}
	return rg
}

// recordedNames returns the names of the shipped recording rules.
func recordedNames(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, g := range loadRules(t).Groups {
		for _, r := range g.Rules {
			if r.Record != "" {
				out = append(out, r.Record)
			}
		}
	}
	if len(out) == 0 {
		t.Fatalf("%s: no recording rules", rulesFile)
	}
	return out
}

var registerPlugins sync.Once

// sdkError undoes a typed nil: the SDK's strict decoders return their error list as
// an error even when the list is empty.
func sdkError(err error) error {
	var be cog.BuildErrors
	if errors.As(err, &be) && len(be) == 0 {
		return nil
	}
	return err
}

// TestDashboardSchema decodes each dashboard strictly with the Grafana Foundation
// SDK's generated types: an unknown field, a wrong type or a missing required field
// anywhere (panel options and field config included) fails.
func TestDashboardSchema(t *testing.T) {
	registerPlugins.Do(plugins.RegisterDefaultPlugins)
	knownPanels := map[string]bool{"row": true, "stat": true, "timeseries": true, "table": true}
	for _, f := range loadDashboards(t) {
		t.Run(f.name, func(t *testing.T) {
			var d dashboard.Dashboard
			if err := sdkError(d.UnmarshalJSONStrict(f.raw)); err != nil {
				t.Fatalf("does not match Grafana's dashboard schema: %v", err)
			}
			if err := sdkError(d.Validate()); err != nil {
				t.Fatalf("invalid: %v", err)
			}
			if d.SchemaVersion < 39 {
				t.Errorf("schemaVersion %d, want at least 39", d.SchemaVersion)
			}
			for _, p := range allPanels(f.doc.Panels) {
				// Only registered panel types get their options checked strictly.
				if !knownPanels[p.Type] {
					t.Errorf("panel %d %q: type %q is not one whose options this test checks", p.ID, p.Title, p.Type)
				}
			}
		})
	}
}

// TestDashboardStructure checks the rules Grafana does not enforce but the stack
// relies on.
func TestDashboardStructure(t *testing.T) {
	uids := map[string]string{}
	for _, f := range loadDashboards(t) {
		t.Run(f.name, func(t *testing.T) {
			if f.doc.UID != wantUIDs[f.name] {
				t.Errorf("uid %q, want the fixed %q", f.doc.UID, wantUIDs[f.name])
			}
			if other, dup := uids[f.doc.UID]; dup {
				t.Errorf("uid %q also used by %s", f.doc.UID, other)
			}
			uids[f.doc.UID] = f.name
			if f.doc.Title == "" {
				t.Error("no title")
			}

			ids := map[int]string{}
			panels := allPanels(f.doc.Panels)
			if len(panels) == 0 {
				t.Fatal("no panels")
			}
			for _, p := range panels {
				if p.ID <= 0 {
					t.Errorf("panel %q has no id", p.Title)
				}
				if other, dup := ids[p.ID]; dup {
					t.Errorf("panel id %d used by %q and %q", p.ID, other, p.Title)
				}
				ids[p.ID] = p.Title
				if p.Type == "row" {
					if len(p.Targets) > 0 {
						t.Errorf("row %q has queries", p.Title)
					}
					continue
				}
				if len(p.Targets) == 0 {
					t.Errorf("panel %d %q has no query", p.ID, p.Title)
				}
				checkDatasource(t, fmt.Sprintf("panel %d %q", p.ID, p.Title), p.Datasource)
				refs := map[string]bool{}
				for _, tg := range p.Targets {
					where := fmt.Sprintf("panel %d %q target %s", p.ID, p.Title, tg.RefID)
					checkDatasource(t, where, tg.Datasource)
					if tg.RefID == "" || refs[tg.RefID] {
						t.Errorf("%s: refId empty or repeated", where)
					}
					refs[tg.RefID] = true
					if strings.TrimSpace(tg.Expr) == "" {
						t.Errorf("%s: empty expr", where)
					}
				}
			}

			defined := map[string]bool{}
			for _, v := range f.doc.Templating.List {
				if defined[v.Name] {
					t.Errorf("variable %q defined twice", v.Name)
				}
				defined[v.Name] = true
				if v.Type == "query" {
					checkDatasource(t, "variable "+v.Name, v.Datasource)
				}
			}
			if !defined["datasource"] {
				t.Error("no datasource variable")
			}
			for _, v := range f.doc.Templating.List {
				if v.Name == "datasource" {
					if v.Type != "datasource" || v.Query != "prometheus" {
						t.Errorf("variable datasource: type %q query %v, want a Prometheus datasource variable", v.Type, v.Query)
					}
				}
			}

			// Every reference anywhere in the JSON (queries, titles, legends,
			// variable queries) must name a defined or built-in variable, and every
			// defined variable must be used.
			used := map[string]bool{}
			walkStrings(f.doc.Raw, func(s string) {
				for _, name := range variableRefs(s) {
					used[name] = true
					if !defined[name] && !grafanaBuiltins[name] {
						t.Errorf("undefined variable $%s in %q", name, s)
					}
				}
			})
			for name := range defined {
				if !used[name] {
					t.Errorf("variable %q is defined but never used", name)
				}
			}
		})
	}
}

func checkDatasource(t *testing.T, where string, ds *datasourceDoc) {
	t.Helper()
	if ds == nil || ds.UID != datasourceRef || ds.Type != "prometheus" {
		t.Errorf("%s: datasource %+v, want {type: prometheus, uid: %s}", where, ds, datasourceRef)
	}
}

// walkStrings calls fn for every string value in a decoded JSON tree.
func walkStrings(v any, fn func(string)) {
	switch x := v.(type) {
	case string:
		fn(x)
	case []any:
		for _, e := range x {
			walkStrings(e, fn)
		}
	case map[string]any:
		for _, e := range x {
			walkStrings(e, fn)
		}
	}
}

// placeholderValues stands in for every dashboard variable when only the shape of a
// query matters.
func placeholderValues(f dashboardFile) map[string]string {
	vals := map[string]string{}
	for k, v := range builtinValues {
		vals[k] = v
	}
	for _, v := range f.doc.Templating.List {
		vals[v.Name] = "placeholder"
	}
	return vals
}

// TestDashboardQueriesUseExporterMetrics parses every query with Prometheus' own
// PromQL parser and checks each metric name against the collector's descriptors and
// the shipped recording rules.
func TestDashboardQueriesUseExporterMetrics(t *testing.T) {
	families := exporterFamilies(t)
	for _, r := range recordedNames(t) {
		families[r] = true
	}
	for _, f := range loadDashboards(t) {
		t.Run(f.name, func(t *testing.T) {
			qs := f.queries(t)
			if len(qs) == 0 {
				t.Fatal("no queries")
			}
			for _, q := range qs {
				expr, err := substitute(q.expr, placeholderValues(f))
				if err != nil {
					t.Errorf("%s: %v", q.where, err)
					continue
				}
				names, err := metricNames(expr)
				if err != nil {
					t.Errorf("%s: %v", q.where, err)
					continue
				}
				if len(names) == 0 {
					t.Errorf("%s: %q reads no metric", q.where, q.expr)
				}
				for _, n := range names {
					if !knownMetric(n, families) {
						t.Errorf("%s: metric %q is neither exposed by the exporter nor recorded by %s", q.where, n, rulesFile)
					}
				}
			}
		})
	}
}

// scrapeSynthesized are series Prometheus itself writes for every target; the
// exporter-down alert needs "up".
var scrapeSynthesized = map[string]bool{"up": true}

// thresholdRecord is the series of the alerts' thresholds, constants the
// group voicetrends.thresholds records.
const thresholdRecord = "voicetrends:threshold"

// TestRulesUseExporterMetrics does for the rule file what the dashboard test does
// for the dashboards, so a renamed metric cannot silently disarm an alert.
func TestRulesUseExporterMetrics(t *testing.T) {
	families := exporterFamilies(t)
	recorded := map[string]bool{}
	for _, r := range recordedNames(t) {
		recorded[r] = true
	}
	for _, g := range loadRules(t).Groups {
		for _, r := range g.Rules {
			name := r.Record + r.Alert
			t.Run(name, func(t *testing.T) {
				names, err := metricNames(r.Expr)
				if err != nil {
					t.Fatal(err)
				}
				// A threshold's rule records a constant (docs/thresholds.md).
				if len(names) == 0 && r.Record != thresholdRecord {
					t.Fatalf("%q reads no metric", r.Expr)
				}
				for _, n := range names {
					if !knownMetric(n, families) && !recorded[n] && !scrapeSynthesized[n] {
						t.Errorf("metric %q is not exposed by the exporter, recorded by a rule, or written by Prometheus", n)
					}
				}
			})
		}
	}
}

// TestHelpers pins down the helpers the other tests rely on, each with a case that
// must be rejected.
func TestHelpers(t *testing.T) {
	families := map[string]bool{"voicetrends_calls": true, "voicetrends_api_request_duration_seconds": true}
	for _, tc := range []struct {
		name string
		want bool
	}{
		{"voicetrends_calls", true},
		{"voicetrends_api_request_duration_seconds_bucket", true},
		{"voicetrends_api_request_duration_seconds_count", true},
		{"voicetrends_call", false},
		{"voicetrends_calls_total", false},
		{"voicetrends_calls_bucket_sum", false},
	} {
		if got := knownMetric(tc.name, families); got != tc.want {
			t.Errorf("knownMetric(%q) = %v, want %v", tc.name, got, tc.want)
		}
	}

	for _, tc := range []struct {
		expr    string
		want    []string
		wantErr bool
	}{
		{`sum by (le) (rate(a_bucket{x="y"}[1m])) / on () b or c offset 5m`, []string{"a_bucket", "b", "c"}, false},
		{`{__name__="a"}`, []string{"a"}, false},
		{`{account="x"}`, nil, true},
		{`{__name__=~"voicetrends_.+"}`, nil, true},
		{`sum(`, nil, true},
		{`label_values(x)`, nil, true}, // Grafana-only syntax is not PromQL
	} {
		got, err := metricNames(tc.expr)
		if (err != nil) != tc.wantErr {
			t.Errorf("metricNames(%q) error = %v, wantErr %v", tc.expr, err, tc.wantErr)
			continue
		}
		if !tc.wantErr && !slices.Equal(got, tc.want) {
			t.Errorf("metricNames(%q) = %v, want %v", tc.expr, got, tc.want)
		}
	}

	vals := map[string]string{"account": "support", "__rate_interval": "1m"}
	for _, tc := range []struct {
		in, want string
		wantErr  bool
	}{
		{`rate(x{account="$account"}[$__rate_interval])`, `rate(x{account="support"}[1m])`, false},
		{`x{account=~"${account:regex}"} [[account]]`, `x{account=~"support"} support`, false},
		{`x{phone="$phone"}`, "", true},
	} {
		got, err := substitute(tc.in, vals)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("substitute(%q) = %q, %v; want %q, error %v", tc.in, got, err, tc.want, tc.wantErr)
		}
	}

	for in, want := range map[string]string{
		"voicetrends":    "voicetrends",
		"127.0.0.1:9116": `127\\.0\\.0\\.1:9116`,
		`a\b(c)`:         `a\\\\b\\(c\\)`,
	} {
		if got := grafanaMultiValue(in); got != want {
			t.Errorf("grafanaMultiValue(%q) = %q, want %q", in, got, want)
		}
	}

	for _, tc := range []struct {
		in, sel, label string
		wantErr        bool
	}{
		{`label_values(voicetrends_calls{account="$account"}, phone)`, `voicetrends_calls{account="$account"}`, "phone", false},
		{`label_values(account)`, "", "account", false},
		{`query_result(up)`, "", "", true},
	} {
		sel, label, err := labelValuesQuery(tc.in)
		if (err != nil) != tc.wantErr || sel != tc.sel || label != tc.label {
			t.Errorf("labelValuesQuery(%q) = %q, %q, %v", tc.in, sel, label, err)
		}
	}
}

// scopeVariables are the variables every panel query must select with, as
// Grafana's own mixins do, so that two exporters of one account (an HA pair, a
// staging and a production one) are neither summed nor shown twice unawares.
var scopeVariables = []string{"job", "instance"}

// lintRateInterval stands in for $__rate_interval while linting, so that the
// range of a rate() can be told apart from a fixed one after parsing.
const lintRateInterval = "7777s"

// rateFuncs are the functions whose range should be $__rate_interval and the
// only ones through which a counter or histogram series may be read.
var rateFuncs = map[string]bool{"rate": true, "irate": true, "increase": true}

// lintDashboard applies the rules of Grafana's dashboard-linter that matter for
// these dashboards (it cannot be built here: docs/development.md) and returns
// one finding per violation, named after the linter's rule:
//   - template-datasource-rule: a Prometheus datasource variable "datasource";
//   - template-job-rule, template-instance-rule: query variables job and
//     instance on ${datasource}, multi-value with All;
//   - panel-datasource-rule: every panel and target on ${datasource};
//   - panel-title-description-rule: every panel but a row has a title and a
//     description;
//   - panel-title-unique (not a linter rule, the issue's): no two panels of a
//     dashboard share a title;
//   - target-job-rule, target-instance-rule: every selector of every target
//     has job=~"$job" and instance=~"$instance";
//   - target-rate-interval-rule: rate(), irate() and increase() over
//     $__rate_interval;
//   - target-counter-agg-rule: a counter or histogram series only inside one
//     of those.
func lintDashboard(d dashboardDoc) []string {
	var out []string
	add := func(rule, where, format string, args ...any) {
		out = append(out, fmt.Sprintf("%s: %s: %s", rule, where, fmt.Sprintf(format, args...)))
	}
	vars := map[string]variableDoc{}
	for _, v := range d.Templating.List {
		vars[v.Name] = v
	}
	if v, ok := vars["datasource"]; !ok || v.Type != "datasource" || v.Query != "prometheus" {
		add("template-datasource-rule", "templating", "no Prometheus datasource variable named datasource")
	}
	for _, name := range scopeVariables {
		rule := "template-" + name + "-rule"
		v, ok := vars[name]
		switch {
		case !ok:
			add(rule, "templating", "no %s variable", name)
		case v.Type != "query" || v.Datasource == nil || v.Datasource.UID != datasourceRef:
			add(rule, "variable "+name, "want a query variable on %s, got type %q datasource %+v", datasourceRef, v.Type, v.Datasource)
		case !v.Multi || !v.IncludeAll:
			add(rule, "variable "+name, "multi %v includeAll %v, want both", v.Multi, v.IncludeAll)
		}
	}
	lintValues := map[string]string{}
	for k, v := range builtinValues {
		lintValues[k] = v
	}
	lintValues["__rate_interval"] = lintRateInterval
	for _, v := range d.Templating.List {
		lintValues[v.Name] = "$" + v.Name // kept as written, to be found in the matchers
	}
	titles := map[string]int{}
	for _, p := range allPanels(d.Panels) {
		where := fmt.Sprintf("panel %d %q", p.ID, p.Title)
		if p.Type == "row" {
			continue
		}
		if p.Datasource == nil || p.Datasource.UID != datasourceRef {
			add("panel-datasource-rule", where, "datasource %+v, want %s", p.Datasource, datasourceRef)
		}
		if strings.TrimSpace(p.Title) == "" || strings.TrimSpace(p.Description) == "" {
			add("panel-title-description-rule", where, "title and description must both be set")
		}
		if other, dup := titles[p.Title]; dup {
			add("panel-title-unique", where, "title also used by panel %d", other)
		}
		titles[p.Title] = p.ID
		for _, tg := range p.Targets {
			tw := where + " target " + tg.RefID
			if tg.Datasource == nil || tg.Datasource.UID != datasourceRef {
				add("panel-datasource-rule", tw, "datasource %+v, want %s", tg.Datasource, datasourceRef)
			}
			for _, name := range variableRefs(tg.Expr) {
				if _, ok := lintValues[name]; !ok {
					lintValues[name] = "$" + name // undefined: TestDashboardStructure's finding
				}
			}
			expr, err := substitute(tg.Expr, lintValues)
			if err != nil {
				add("target-promql-rule", tw, "%v", err)
				continue
			}
			for _, f := range lintExpr(expr) {
				add(f.rule, tw, "%s", f.msg)
			}
		}
	}
	return out
}

// lintFinding is one rule's complaint about one expression.
type lintFinding struct{ rule, msg string }

// lintExpr applies the target rules to one expression, variables kept as
// written and $__rate_interval as lintRateInterval.
func lintExpr(expr string) []lintFinding {
	e, err := parser.NewParser(parser.Options{}).ParseExpr(expr)
	if err != nil {
		return []lintFinding{{"target-promql-rule", err.Error()}}
	}
	rateRange, err := time.ParseDuration(lintRateInterval)
	if err != nil {
		panic(err)
	}
	var out []lintFinding
	parser.Inspect(e, func(n parser.Node, path []parser.Node) error {
		switch n := n.(type) {
		case *parser.Call:
			if rateFuncs[n.Func.Name] {
				for _, a := range n.Args {
					if ms, ok := a.(*parser.MatrixSelector); ok && ms.Range != rateRange {
						out = append(out, lintFinding{"target-rate-interval-rule", fmt.Sprintf("%s over %s, want $__rate_interval", n.Func.Name, ms.Range)})
					}
				}
			}
		case *parser.VectorSelector:
			for _, name := range scopeVariables {
				if !slices.ContainsFunc(n.LabelMatchers, func(m *labels.Matcher) bool {
					return m.Name == name && m.Type == labels.MatchRegexp && m.Value == "$"+name
				}) {
					out = append(out, lintFinding{"target-" + name + "-rule", fmt.Sprintf("%s does not select %s=~\"$%s\"", n, name, name)})
				}
			}
			if counterLike(n.Name) && !insideRate(path) {
				out = append(out, lintFinding{"target-counter-agg-rule", fmt.Sprintf("%s read without rate(), irate() or increase()", n.Name)})
			}
		}
		return nil
	})
	return out
}

// counterLike reports whether a series name is a counter's or a histogram's.
func counterLike(name string) bool {
	for _, suf := range []string{"_total", "_bucket", "_count", "_sum"} {
		if strings.HasSuffix(name, suf) {
			return true
		}
	}
	return false
}

// insideRate reports whether a node's path passes through one of rateFuncs.
func insideRate(path []parser.Node) bool {
	for _, p := range path {
		if c, ok := p.(*parser.Call); ok && rateFuncs[c.Func.Name] {
			return true
		}
	}
	return false
}

// TestDashboardLint is the stand-in for `dashboard-linter lint --strict`: the
// shipped dashboards have no finding.
func TestDashboardLint(t *testing.T) {
	for _, f := range loadDashboards(t) {
		t.Run(f.name, func(t *testing.T) {
			for _, finding := range lintDashboard(f.doc) {
				t.Error(finding)
			}
		})
	}
}

// TestDashboardLintFinds proves each rule of lintDashboard can fail: a dashboard
// breaking each once gets exactly the findings listed.
func TestDashboardLintFinds(t *testing.T) {
	ds := &datasourceDoc{Type: "prometheus", UID: datasourceRef}
	good := `x{job=~"$job", instance=~"$instance"}`
	d := dashboardDoc{
		Templating: templatingDoc{List: []variableDoc{
			{Type: "datasource", Name: "datasource", Query: "prometheus"},
			{Type: "query", Name: "job", Datasource: ds, Multi: true, IncludeAll: false},
		}},
		Panels: []panelDoc{
			{ID: 1, Type: "row", Title: "A row needs no description"},
			{ID: 2, Type: "stat", Title: "Calls", Description: "d", Datasource: ds, Targets: []targetDoc{
				{RefID: "A", Datasource: ds, Expr: good},
				{RefID: "B", Datasource: ds, Expr: `x{job=~"$job"}`},
				{RefID: "C", Datasource: ds, Expr: `x{job="$job", instance=~"$instance"}`},
			}},
			{ID: 3, Type: "stat", Title: "Calls", Datasource: &datasourceDoc{Type: "prometheus", UID: "prom"}, Targets: []targetDoc{
				{RefID: "A", Datasource: ds, Expr: `sum(rate(c_total{job=~"$job", instance=~"$instance"}[5m]))`},
				{RefID: "B", Datasource: ds, Expr: `c_total{job=~"$job", instance=~"$instance"}`},
				{RefID: "C", Datasource: ds, Expr: `increase(c_total{job=~"$job", instance=~"$instance"}[$__rate_interval])`},
				{RefID: "D", Datasource: ds, Expr: `x{job=~"$job", instance=~"$instance"`},
			}},
		},
	}
	want := []string{
		`template-job-rule: variable job: multi true includeAll false, want both`,
		`template-instance-rule: templating: no instance variable`,
		`target-instance-rule: panel 2 "Calls" target B: x{job=~"$job"} does not select instance=~"$instance"`,
		`target-job-rule: panel 2 "Calls" target C: x{instance=~"$instance",job="$job"} does not select job=~"$job"`,
		`panel-datasource-rule: panel 3 "Calls": datasource &{Type:prometheus UID:prom}, want ${datasource}`,
		`panel-title-description-rule: panel 3 "Calls": title and description must both be set`,
		`panel-title-unique: panel 3 "Calls": title also used by panel 2`,
		`target-rate-interval-rule: panel 3 "Calls" target A: rate over 5m0s, want $__rate_interval`,
		`target-counter-agg-rule: panel 3 "Calls" target B: c_total read without rate(), irate() or increase()`,
	}
	got := lintDashboard(d)
	// The unparsable target's message is the parser's; only its rule is fixed.
	if n := len(got); n == 0 || !strings.HasPrefix(got[n-1], `target-promql-rule: panel 3 "Calls" target D: `) {
		t.Errorf("last finding %q, want the unparsable target D", got)
	} else {
		got = got[:n-1]
	}
	if !slices.Equal(got, want) {
		t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
