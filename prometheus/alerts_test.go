// Package prometheus holds no Go code besides tests: they check the shipped rule
// files with promtool, and prove the alerts' "numbers that must hold" on three
// weeks of synthetic traffic. See docs/alerts.md.
package prometheus

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the synthetic traffic's DST changes need America/New_York everywhere

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"gopkg.in/yaml.v3"

	"github.com/voicetrends/voicetrends_exporter/prometheus/promtest"
)

// TestRuleFiles runs `promtool check rules` and the hand-written rule unit tests.
func TestRuleFiles(t *testing.T) {
	promtest.Require(t, "promtool")
	t.Parallel()
	promtest.Promtool(t, "check", "rules", "rules.yml")
	promtest.Promtool(t, "test", "rules", "rules_test.yml", "rules_hourly_test.yml")
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

// Synthetic traffic: three numbers of one account whose calls peak at 60, 20 and
// 5 an hour (ALL is their sum), Poisson per 5 minutes with a business-day shape in
// New York time, 15% of calls transferred, served as the exporter serves
// period="day": a running count since local midnight, a point every 5 minutes.
const (
	trafficSeed = 8
	step        = 5 * time.Minute
	// weeks of history before the incidents; the normal traffic is checked from
	// the end of the first week to the end of the third.
	trafficDays = 21
)

var (
	peaks = []float64{60, 20, 5}
	// numbers are the phone labels of the three numbers, busiest first.
	numbers = []string{"6175550100", "6175550101", "6175550102"}
	// trafficStart is a Monday; the range holds the end of DST (1 November 2026),
	// so the weeks just after it compare with an hour-shifted week.
	trafficStart = time.Date(2026, 10, 19, 0, 0, 0, 0, newYork)
	// incident is when the busy number's calls stop (account "stop") and its
	// transfer share jumps to 45% (account "transfer"): a Monday 10:00 after the
	// three weeks.
	incident = time.Date(2026, 11, 9, 10, 0, 0, 0, newYork)
	// newYork is the synthetic accounts' time zone; time/tzdata embeds it, so
	// newYorkErr is nil unless the Go installation is broken.
	newYork, newYorkErr = loadZone("America/New_York")
)

// loadZone loads a time zone, falling back to UTC (with the error) so that the
// package's variables can be built; TestSyntheticTraffic fails on the error.
func loadZone(name string) (*time.Location, error) {
	loc, err := time.LoadLocation(name)
	if err != nil {
		return time.UTC, fmt.Errorf("loading %s: %w", name, err)
	}
	return loc, nil
}

// shape is the share of the peak hourly rate at local time t.
func shape(t time.Time) float64 {
	l := t.In(newYork)
	h := float64(l.Hour()) + float64(l.Minute())/60
	var f float64
	switch {
	case h < 7:
		f = 0.03
	case h < 8:
		f = 0.3
	case h < 9:
		f = 0.8
	case h < 12:
		f = 1
	case h < 13:
		f = 0.8
	case h < 17:
		f = 1
	case h < 18:
		f = 0.7
	case h < 20:
		f = 0.2
	default:
		f = 0.05
	}
	if wd := l.Weekday(); wd == time.Saturday || wd == time.Sunday {
		f *= 0.3
	}
	return f
}

// poisson draws from a Poisson distribution (Knuth; the means here are small).
func poisson(r *rand.Rand, mean float64) int {
	limit, p, k := math.Exp(-mean), 1.0, 0
	for {
		p *= r.Float64()
		if p <= limit {
			return k
		}
		k++
	}
}

// scenario changes the busy number's traffic from the incident on.
type scenario int

const (
	normal scenario = iota
	callsStop
	transfersJump
)

// series is one account's generated traffic: per phone (the numbers, then ALL),
// the running counts at every point.
type series struct {
	account          string
	phones           []string
	calls, transfers [][]float64
}

// generate draws the traffic of one account from start to end.
func generate(account string, sc scenario, seed uint64, end time.Time) series {
	r := rand.New(rand.NewPCG(seed, uint64(sc)))
	n := int(end.Sub(trafficStart)/step) + 1
	s := series{account: account, phones: append(append([]string{}, numbers...), "ALL")}
	s.calls = make([][]float64, len(s.phones))
	s.transfers = make([][]float64, len(s.phones))
	for i := range s.phones {
		s.calls[i] = make([]float64, n)
		s.transfers[i] = make([]float64, n)
	}
	runC := make([]float64, len(numbers))
	runT := make([]float64, len(numbers))
	day := ""
	for k := 0; k < n; k++ {
		t := trafficStart.Add(time.Duration(k) * step)
		if d := t.In(newYork).Format(time.DateOnly); d != day {
			day = d // the day's running counts restart at local midnight
			clear(runC)
			clear(runT)
		}
		var allC, allT float64
		for i := range numbers {
			s.calls[i][k], s.transfers[i][k] = runC[i], runT[i]
			allC += runC[i]
			allT += runT[i]
		}
		last := len(numbers)
		s.calls[last][k], s.transfers[last][k] = allC, allT
		// The calls of the 5 minutes from t show at the next point.
		for i, peak := range peaks {
			calls := poisson(r, peak*shape(t)/12)
			share := 0.15
			if i == 0 && !t.Before(incident) {
				switch sc {
				case callsStop:
					calls = 0
				case transfersJump:
					share = 0.45
				}
			}
			transfers := 0
			for c := 0; c < calls; c++ {
				if r.Float64() < share {
					transfers++
				}
			}
			runC[i] += float64(calls)
			runT[i] += float64(transfers)
		}
	}
	return s
}

// at is the index of the point at t.
func at(t time.Time) int { return int(t.Sub(trafficStart) / step) }

// increase1h is what increase(x[1h]) gives on the points ending at index k: the
// sum of the growths, a fall counting as a restart from zero.
func increase1h(v []float64, k int) float64 {
	sum := 0.0
	for j := k - 11; j <= k; j++ {
		if d := v[j] - v[j-1]; d >= 0 {
			sum += d
		} else {
			sum += v[j]
		}
	}
	return sum
}

// promDuration is t's offset from the start of the promtool test.
func promDuration(t time.Time) string {
	return model(t.Sub(trafficStart))
}

// model formats a duration as promtool's eval_time wants it (e.g. 504h15m).
func model(d time.Duration) string {
	h := int(d / time.Hour)
	m := int(d % time.Hour / time.Minute)
	return fmt.Sprintf("%dh%dm", h, m)
}

func formatValues(v []float64) string {
	var b strings.Builder
	for i, x := range v {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strconv.FormatFloat(x, 'f', -1, 64))
	}
	return b.String()
}

// wilsonLower is the rules' lower bound of the 95% Wilson interval.
func wilsonLower(transfers, calls float64) float64 {
	const z = 1.96
	p := math.Min(transfers/calls, 1)
	return (p + z*z/(2*calls) - z*math.Sqrt(p*(1-p)/calls+z*z/(4*calls*calls))) / (1 + z*z/calls)
}

// humanize4 is Prometheus' humanize for values from 1 to 999: four significant digits.
func humanize4(v float64) string { return strconv.FormatFloat(v, 'g', 4, 64) }

// TestSyntheticTraffic proves the numbers with promtool on three weeks of
// seeded synthetic traffic for three accounts that differ only from the incident
// on: "normal", "stop" (the busy number's calls stop) and "transfer" (its transfer
// share jumps from 15% to 45%).
//   - From the end of the first week to the end of the third (14 days, the end of
//     DST included), checked every 15 minutes, neither alert fires for any number
//     or ALL of any account.
//   - VoiceTrendsCallsBelowUsual fires for the busy number of "stop" within 60
//     minutes of its calls stopping at 10:00 on a weekday, and not for ALL.
//   - VoiceTrendsTransferRateHigh fires for the busy number of "transfer" within
//     90 minutes of the jump, and not for ALL.
func TestSyntheticTraffic(t *testing.T) {
	promtest.Require(t, "promtool")
	t.Parallel()
	if newYorkErr != nil {
		t.Fatal(newYorkErr)
	}
	end := incident.Add(90 * time.Minute)
	accounts := []series{
		generate("normal", normal, trafficSeed, end),
		generate("stop", callsStop, trafficSeed, end),
		generate("transfer", transfersJump, trafficSeed, end),
	}
	rules, err := filepath.Abs("rules.yml")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "rule_files:\n  - %q\nevaluation_interval: 15m\ntests:\n  - interval: 5m\n    input_series:\n", rules)
	const labels = `job="voicetrends",instance="e:10141"`
	n := at(end) + 1
	for _, s := range accounts {
		for i, phone := range s.phones {
			fmt.Fprintf(&b, "      - series: 'voicetrends_calls{%s,account=%q,phone=%q,period=\"day\",window=\"current\"}'\n        values: '%s'\n",
				labels, s.account, phone, formatValues(s.calls[i]))
			fmt.Fprintf(&b, "      - series: 'voicetrends_transfers{%s,account=%q,phone=%q,period=\"day\",window=\"current\"}'\n        values: '%s'\n",
				labels, s.account, phone, formatValues(s.transfers[i]))
			// Every refresh succeeds: the figures are always fresh.
			fmt.Fprintf(&b, "      - series: 'voicetrends_last_success_timestamp_seconds{%s,account=%q,phone=%q,period=\"day\"}'\n        values: '0+300x%d'\n",
				labels, s.account, phone, n-1)
		}
	}
	b.WriteString("    alert_rule_test:\n")
	quiet := func(at time.Time, alert string) {
		fmt.Fprintf(&b, "      - eval_time: %s\n        alertname: %s\n        exp_alerts: []\n", promDuration(at), alert)
	}
	checks := 0
	for ts := trafficStart.Add(7 * 24 * time.Hour); !ts.After(trafficStart.AddDate(0, 0, trafficDays)); ts = ts.Add(15 * time.Minute) {
		quiet(ts, "VoiceTrendsCallsBelowUsual")
		quiet(ts, "VoiceTrendsTransferRateHigh")
		checks++
	}
	if days := float64(checks-1) / 96; days < 14 {
		t.Fatalf("normal traffic checked over %.1f days, want 14", days)
	}
	quiet(incident, "VoiceTrendsCallsBelowUsual")
	quiet(incident, "VoiceTrendsTransferRateHigh")

	// Within 60 minutes: the busy number of "stop", only.
	stop, k := accounts[1], at(incident.Add(time.Hour))
	x := increase1h(stop.calls[0], k)
	usual := math.Inf(1)
	for _, back := range []int{167, 168, 169} {
		usual = math.Min(usual, increase1h(stop.calls[0], k-back*12))
	}
	z := (usual - x) / math.Sqrt(usual+x)
	fmt.Fprintf(&b, `      - eval_time: %s
        alertname: VoiceTrendsCallsBelowUsual
        exp_alerts:
          - exp_labels: {severity: critical, job: voicetrends, instance: "e:10141", account: stop, phone: %q}
            exp_annotations:
              summary: "Calls far below usual on stop / %[2]s"
              description: "Account stop, phone %[2]s had %s calls in the last hour against a usual %s at this time of the week (%.1f standard deviations below): check the carrier, the trunk and where the number points."
`, promDuration(incident.Add(time.Hour)), numbers[0], humanize4(x), humanize4(usual), z)

	// Within 90 minutes: the busy number of "transfer", only.
	tr, k := accounts[2], at(incident.Add(90*time.Minute))
	lower := wilsonLower(increase1h(tr.transfers[0], k), increase1h(tr.calls[0], k))
	fmt.Fprintf(&b, `      - eval_time: %s
        alertname: VoiceTrendsTransferRateHigh
        exp_alerts:
          - exp_labels: {severity: warning, job: voicetrends, instance: "e:10141", account: transfer, phone: %q}
            exp_annotations:
              summary: "High transfer rate on transfer / %[2]s"
              description: "With 95%% confidence more than %s%% of the last hour's calls on account transfer, phone %[2]s were transferred (threshold 25%%, at least 30 calls in the hour)."
`, promDuration(incident.Add(90*time.Minute)), numbers[0], humanize4(lower*100))

	file := filepath.Join(t.TempDir(), "synthetic_test.yml")
	if err := os.WriteFile(file, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("promtool", "test", "rules", file).CombinedOutput()
	if err != nil {
		if keep := os.Getenv("VOICETRENDS_KEEP_SYNTHETIC"); keep != "" {
			_ = os.WriteFile(keep, []byte(b.String()), 0o600)
		}
		t.Fatalf("promtool test rules on the synthetic traffic (set VOICETRENDS_KEEP_SYNTHETIC=file to keep the input): %v\n%.6000s", err, out)
	}
	t.Logf("%d checks of 15 minutes over 14 days without an alert; stop: %v calls in the hour against a usual %v (z %.1f); transfer: lower bound %.3f",
		checks, x, usual, z, lower)
}

// TestAllHoldBackRepeatsThresholds keeps the two halves of the traffic alerts in
// step: ALL is held back while a number meets the alert's condition, and that
// condition is written twice, so a threshold changed in one half only would
// silently change when ALL alerts.
func TestAllHoldBackRepeatsThresholds(t *testing.T) {
	raw, err := os.ReadFile("rules.yml")
	if err != nil {
		t.Fatal(err)
	}
	var rf struct {
		Groups []struct {
			Rules []struct {
				Alert string `yaml:"alert"`
				Expr  string `yaml:"expr"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(raw, &rf); err != nil {
		t.Fatal(err)
	}
	exprs := map[string]string{}
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			exprs[r.Alert] = r.Expr
		}
	}
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
			// The numbers' half selects phone!="ALL"; otherwise the two must be equal.
			parser.Inspect(numbers, func(n parser.Node, _ []parser.Node) error {
				if vs, ok := n.(*parser.VectorSelector); ok {
					var keep []*labels.Matcher
					for _, m := range vs.LabelMatchers {
						if m.Name != "phone" {
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

func unparen(e parser.Expr) parser.Expr {
	for {
		p, ok := e.(*parser.ParenExpr)
		if !ok {
			return e
		}
		e = p.Expr
	}
}
