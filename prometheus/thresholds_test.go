package prometheus

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// thresholdRecord is the series the rules read their thresholds from.
const thresholdRecord = "voicetrends:threshold"

// overridesFile holds overrides as an operator writes them, which
// rules_thresholds_test.yml proves.
const overridesFile = "testdata/threshold_overrides.yml"

// constantRE is the expression of a threshold's rule: a number.
var constantRE = regexp.MustCompile(`^vector\(([0-9]+(\.[0-9]+)?)\)$`)

// thresholdNameRE finds the thresholds an expression reads.
var thresholdNameRE = regexp.MustCompile(`threshold="([a-z_]+)"`)

// thresholdRule is a rule of a threshold file.
type thresholdRule struct {
	Record string            `yaml:"record"`
	Alert  string            `yaml:"alert"`
	Expr   string            `yaml:"expr"`
	Labels map[string]string `yaml:"labels"`
}

func readThresholdRules(t *testing.T, file string) map[string][]thresholdRule {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var rf struct {
		Groups []struct {
			Name  string          `yaml:"name"`
			Rules []thresholdRule `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(raw, &rf); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	out := map[string][]thresholdRule{}
	for _, g := range rf.Groups {
		out[g.Name] = g.Rules
	}
	return out
}

// TestThresholds keeps the thresholds data the rules can use: in rules.yml,
// voicetrends.thresholds records exactly one default per threshold the
// expressions read, and nothing else; the overrides the tests use (the form
// docs/thresholds.md shows) name a known threshold and an account (and maybe a
// number), as a lookup ignores any other label and a number's override without
// its account; every threshold rule records a plain number.
func TestThresholds(t *testing.T) {
	groups := readThresholdRules(t, "rules.yml")
	defaults := map[string]bool{}
	for _, r := range groups["voicetrends.thresholds"] {
		if r.Record != thresholdRecord || len(r.Labels) != 1 || r.Labels["threshold"] == "" {
			t.Errorf("voicetrends.thresholds: %s %v: want only defaults, %s with a threshold label alone", r.Record+r.Alert, r.Labels, thresholdRecord)
			continue
		}
		if defaults[r.Labels["threshold"]] {
			t.Errorf("voicetrends.thresholds: %s has two defaults", r.Labels["threshold"])
		}
		defaults[r.Labels["threshold"]] = true
		if !constantRE.MatchString(strings.TrimSpace(r.Expr)) {
			t.Errorf("%s: expr %q, want vector(<number>)", r.Labels["threshold"], r.Expr)
		}
	}

	read := map[string]bool{}
	for name, rules := range groups {
		for _, r := range rules {
			if r.Record == thresholdRecord && name != "voicetrends.thresholds" {
				t.Errorf("group %s records %s: the defaults belong in voicetrends.thresholds", name, thresholdRecord)
			}
			for _, m := range thresholdNameRE.FindAllStringSubmatch(r.Expr, -1) {
				read[m[1]] = true
				if !defaults[m[1]] {
					t.Errorf("%s reads the threshold %s, which has no default", r.Record+r.Alert, m[1])
				}
			}
		}
	}
	for name := range defaults {
		if !read[name] {
			t.Errorf("the threshold %s is read by no rule", name)
		}
	}

	var overridden []string
	for name, rules := range readThresholdRules(t, overridesFile) {
		for _, r := range rules {
			where := overridesFile + ": " + name
			if r.Record != thresholdRecord || !constantRE.MatchString(strings.TrimSpace(r.Expr)) {
				t.Errorf("%s: %s %q, want %s = vector(<number>)", where, r.Record+r.Alert, r.Expr, thresholdRecord)
			}
			for k := range r.Labels {
				if !slices.Contains([]string{"threshold", "account", "phone"}, k) {
					t.Errorf("%s: label %s, which no rule reads", where, k)
				}
			}
			if !defaults[r.Labels["threshold"]] {
				t.Errorf("%s: unknown threshold %q", where, r.Labels["threshold"])
			}
			if r.Labels["account"] == "" {
				t.Errorf("%s: %v has no account: an override names the account, and the phone for one number", where, r.Labels)
			}
			overridden = append(overridden, r.Labels["threshold"])
		}
	}
	// rules_thresholds_test.yml proves an account's and a number's override
	// of these.
	for _, name := range []string{"calls_below_surprise_nats", "transfer_cusum_nats", "transfer_usual_share", "stale_intervals"} {
		if !slices.Contains(overridden, name) {
			t.Errorf("%s overrides no %s", overridesFile, name)
		}
	}
}
