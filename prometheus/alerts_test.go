// Package prometheus holds no Go code besides tests: they check the shipped rule
// files with promtool, and prove the traffic alerts' numbers on seeded weeks of
// synthetic traffic (synthetic_test.go). See docs/alerts.md.
package prometheus

import (
	"fmt"
	"os"
	"os/exec"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"gopkg.in/yaml.v3"

	"github.com/voicetrends/voicetrends_exporter/prometheus/promtest"
)

// TestRuleFiles runs `promtool check rules` and the hand-written rule unit
// tests, with the threshold overrides' (docs/thresholds.md).
func TestRuleFiles(t *testing.T) {
	promtest.Require(t, "promtool")
	t.Parallel()
	promtest.Promtool(t, "check", "rules", "rules.yml", overridesFile)
	promtest.Promtool(t, "test", "rules", "rules_test.yml", "rules_hourly_test.yml", "rules_thresholds_test.yml")
}

// TestAlertmanagerConfig checks the stack's Alertmanager configuration and the
// example people copy: `amtool check-config` accepts both, their inhibition rules
// are the same and name only alerts that exist, the example keeps every secret in
// a file, and routes each severity the rules use to the intended receiver.
func TestAlertmanagerConfig(t *testing.T) {
	if _, err := exec.LookPath("amtool"); err != nil {
		msg := "amtool not found on PATH: install the Debian package prometheus-alertmanager to run this test"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	t.Parallel()
	const stack, example = "alertmanager.yml", "alertmanager.example.yml"
	configs := map[string]map[string]any{}
	for _, f := range []string{stack, example} {
		if out, err := exec.Command("amtool", "check-config", f).CombinedOutput(); err != nil {
			t.Errorf("amtool check-config %s: %v\n%s", f, err, out)
		}
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var c map[string]any
		if err := yaml.Unmarshal(raw, &c); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		configs[f] = c
		for _, name := range alertNameRE.FindAllString(string(raw), -1) {
			if !alertNames(t)[name] {
				t.Errorf("%s names %s, which prometheus/rules.yml does not define", f, name)
			}
		}
	}
	if !reflect.DeepEqual(configs[stack]["inhibit_rules"], configs[example]["inhibit_rules"]) {
		t.Errorf("inhibit_rules differ between %s and %s", stack, example)
	}

	// Secrets only as files: no inline key, and every file key the example shows.
	found := map[string]bool{}
	walkKeys(configs[example], func(key string) { found[key] = true })
	for _, inline := range []string{"smtp_auth_password", "slack_api_url", "api_url", "auth_password", "password", "webhook_url", "routing_key", "service_key"} {
		if found[inline] {
			t.Errorf("%s has the secret %s inline; use %s_file", example, inline, inline)
		}
	}
	for _, file := range []string{"smtp_auth_password_file", "slack_api_url_file"} {
		if !found[file] {
			t.Errorf("%s does not show %s", example, file)
		}
	}

	want := map[string]string{"critical": "oncall", "warning": "slack-warnings"}
	for severity := range severities(t) {
		out, err := exec.Command("amtool", "config", "routes", "test", "--config.file="+example, "severity="+severity).Output()
		if err != nil {
			t.Errorf("amtool config routes test severity=%s: %v", severity, err)
			continue
		}
		if got := strings.TrimSpace(string(out)); got != want[severity] {
			t.Errorf("%s routes severity=%s to %q, want %q", example, severity, got, want[severity])
		}
	}
}

var alertNameRE = regexp.MustCompile(`VoiceTrends[A-Z][A-Za-z]+`)

// ruleFile is the part of rules.yml these tests read.
type ruleFile struct {
	Groups []struct {
		Rules []struct {
			Alert  string            `yaml:"alert"`
			Labels map[string]string `yaml:"labels"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

func readRules(t *testing.T) ruleFile {
	t.Helper()
	raw, err := os.ReadFile("rules.yml")
	if err != nil {
		t.Fatal(err)
	}
	var rf ruleFile
	if err := yaml.Unmarshal(raw, &rf); err != nil {
		t.Fatalf("rules.yml: %v", err)
	}
	return rf
}

// alertNames returns the alerts rules.yml defines.
func alertNames(t *testing.T) map[string]bool {
	out := map[string]bool{}
	for _, g := range readRules(t).Groups {
		for _, r := range g.Rules {
			if r.Alert != "" {
				out[r.Alert] = true
			}
		}
	}
	return out
}

// severities returns the severity labels of the alerts in rules.yml.
func severities(t *testing.T) map[string]bool {
	out := map[string]bool{}
	for _, g := range readRules(t).Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			if r.Labels["severity"] == "" {
				t.Errorf("alert %s has no severity label", r.Alert)
			}
			out[r.Labels["severity"]] = true
		}
	}
	return out
}

// walkKeys calls fn for every mapping key in a decoded YAML tree.
func walkKeys(v any, fn func(string)) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			fn(k)
			walkKeys(e, fn)
		}
	case []any:
		for _, e := range x {
			walkKeys(e, fn)
		}
	}
}

// TestAllHoldBackRepeatsThresholds keeps the two halves of the traffic alerts in
// step: ALL is held back while a number meets the alert's condition, and that
// condition is written twice, so a threshold changed in one half only would
// silently change when ALL alerts.
func TestAllHoldBackRepeatsThresholds(t *testing.T) {
	_, exprs := ruleExprs(t)
	for _, name := range []string{"VoiceTrendsCallsBelowUsual", "VoiceTrendsTransferRateHigh"} {
		t.Run(name, func(t *testing.T) {
			e, err := parser.NewParser(parser.Options{}).ParseExpr(exprs[name])
			if err != nil {
				t.Fatalf("%q: %v", exprs[name], err)
			}
			// (condition) unless on (...) (ALL selector and on (...) (condition for numbers))
			top, ok := e.(*parser.BinaryExpr)
			if !ok || top.Op != parser.LUNLESS {
				t.Fatalf("%s: want `(condition) unless on (...) (...)`, got %s", name, e)
			}
			hold, ok := unparen(top.RHS).(*parser.BinaryExpr)
			if !ok || hold.Op != parser.LAND {
				t.Fatalf("%s: the unless part is not `ALL and on (...) (condition)`: %s", name, top.RHS)
			}
			own, numbers := unparen(top.LHS), unparen(hold.RHS)
			// The numbers' half selects phone!="ALL"; otherwise the two must be
			// equal (the thresholds' own phone matchers included).
			parser.Inspect(numbers, func(n parser.Node, _ []parser.Node) error {
				if vs, ok := n.(*parser.VectorSelector); ok {
					var keep []*labels.Matcher
					for _, m := range vs.LabelMatchers {
						if m.Name != "phone" || m.Value != "ALL" {
							keep = append(keep, m)
						}
					}
					vs.LabelMatchers = keep
				}
				return nil
			})
			if own.String() != numbers.String() {
				t.Errorf("%s: the numbers' condition in the unless part differs from the alert's own:\n own:     %s\n numbers: %s", name, own, numbers)
			}
		})
	}
}

// ruleExprs returns rules.yml as read and each rule's expression by its alert
// or record name.
func ruleExprs(t *testing.T) ([]byte, map[string]string) {
	t.Helper()
	raw, err := os.ReadFile("rules.yml")
	if err != nil {
		t.Fatal(err)
	}
	var rf struct {
		Groups []struct {
			Rules []struct {
				Alert  string `yaml:"alert"`
				Record string `yaml:"record"`
				Expr   string `yaml:"expr"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(raw, &rf); err != nil {
		t.Fatal(err)
	}
	exprs := map[string]string{}
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			exprs[r.Alert+r.Record] = r.Expr
		}
	}
	return raw, exprs
}

func unparen(e parser.Expr) parser.Expr {
	for {
		p, ok := e.(*parser.ParenExpr)
		if !ok {
			return e
		}
		e = p.Expr
	}
}

// pintSeriesRE matches pint's comment disabling promql/series for one selector.
var pintSeriesRE = regexp.MustCompile(`^\s*# pint disable promql/series\((.+)\)\s*$`)

// TestPintComments stands in for pint's own check of its comments (pint cannot
// be built here: docs/development.md): each `# pint disable promql/series(…)`
// sits inside a rule, before its expr, and names a selector that rule's
// expression uses exactly, so a renamed metric or changed matcher cannot leave
// a comment that silences nothing; and the two alerts whose series exist only
// after a failure carry one.
func TestPintComments(t *testing.T) {
	raw, exprs := ruleExprs(t)
	ruleRE := regexp.MustCompile(`^\s*- (?:alert|record): (\S+)`)
	disabled := map[string]bool{}
	rule, sawExpr := "", false
	for i, line := range strings.Split(string(raw), "\n") {
		if m := ruleRE.FindStringSubmatch(line); m != nil {
			rule, sawExpr = m[1], false
			continue
		}
		if strings.HasPrefix(strings.TrimSpace(line), "expr:") {
			sawExpr = true
		}
		m := pintSeriesRE.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		where := fmt.Sprintf("rules.yml:%d", i+1)
		if rule == "" || sawExpr {
			t.Errorf("%s: pint comment not between a rule's name and its expr", where)
			continue
		}
		want, err := parser.NewParser(parser.Options{}).ParseMetricSelector(m[1])
		if err != nil {
			t.Errorf("%s: %q is not a selector: %v", where, m[1], err)
			continue
		}
		if !usesSelector(exprs[rule], want) {
			t.Errorf("%s: %s does not use the selector %s", where, rule, m[1])
		}
		disabled[rule] = true
	}
	for _, name := range []string{"VoiceTrendsAuthenticationFailing", "VoiceTrendsRateLimited"} {
		if !disabled[name] {
			t.Errorf("%s: no `# pint disable promql/series(...)` comment saying why its series may be missing", name)
		}
	}
}

// usesSelector reports whether expr has a vector selector with exactly the
// matchers of want.
func usesSelector(expr string, want []*labels.Matcher) bool {
	e, err := parser.NewParser(parser.Options{}).ParseExpr(expr)
	if err != nil {
		return false
	}
	key := func(ms []*labels.Matcher) string {
		var s []string
		for _, m := range ms {
			s = append(s, m.String())
		}
		sort.Strings(s)
		return strings.Join(s, ",")
	}
	found := false
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok && key(vs.LabelMatchers) == key(want) {
			found = true
		}
		return nil
	})
	return found
}
