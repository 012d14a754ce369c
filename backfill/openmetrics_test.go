package backfill

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/voicetrends/voicetrends_exporter/voicetrends"
)

func mustLoc(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func date(s string) voicetrends.Date {
	d, err := voicetrends.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

// bucket builds a bucket starting at local midnight of day with the given
// figures (API units); absent figures stay absent.
func bucket(day string, loc *time.Location, figs map[voicetrends.Figure]float64) voicetrends.Bucket {
	b := voicetrends.Bucket{Start: date(day).Midnight(loc)}
	for f, v := range figs {
		b.Set(f, v)
	}
	return b
}

type sample struct {
	ts int64 // seconds
	v  float64
}

// parsed is an OpenMetrics file checked against the rules promtool relies
// on: HELP and TYPE before a family's samples, families contiguous, every
// sample timestamped, each series in time order, # EOF last.
type parsed struct {
	families []string
	help     map[string]string
	series   map[string][]sample // by name{labels}
}

func parseOM(t *testing.T, out string) parsed {
	t.Helper()
	p := parsed{help: map[string]string{}, series: map[string][]sample{}}
	if !strings.HasSuffix(out, "# EOF\n") {
		t.Fatalf("output does not end with # EOF: ...%q", out[max(0, len(out)-40):])
	}
	lines := strings.Split(strings.TrimSuffix(out, "# EOF\n"), "\n")
	lines = lines[:len(lines)-1] // the text before # EOF ends with a newline
	seen := map[string]bool{}
	current := ""
	for i, line := range lines {
		switch {
		case strings.HasPrefix(line, "# HELP "):
			f := strings.SplitN(strings.TrimPrefix(line, "# HELP "), " ", 2)
			if seen[f[0]] {
				t.Fatalf("line %d: family %s is not contiguous", i+1, f[0])
			}
			seen[f[0]], current = true, f[0]
			p.families = append(p.families, f[0])
			p.help[f[0]] = f[1]
		case strings.HasPrefix(line, "# TYPE "):
			if line != "# TYPE "+current+" gauge" {
				t.Fatalf("line %d: %q, want the TYPE gauge of %s", i+1, line, current)
			}
		case strings.HasPrefix(line, "#") || line == "":
			t.Fatalf("line %d: unexpected %q", i+1, line)
		default:
			end := strings.LastIndexByte(line, '}')
			if end < 0 || !strings.HasPrefix(line, current+"{") {
				t.Fatalf("line %d: %q is not a sample of family %s", i+1, line, current)
			}
			f := strings.Fields(line[end+1:])
			if len(f) != 2 {
				t.Fatalf("line %d: %q: want a value and a timestamp", i+1, line)
			}
			v, err := strconv.ParseFloat(f[0], 64)
			if err != nil {
				t.Fatalf("line %d: value: %v", i+1, err)
			}
			ts, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				t.Fatalf("line %d: timestamp: %v", i+1, err)
			}
			key := line[:end+1]
			if s := p.series[key]; len(s) > 0 && s[len(s)-1].ts >= ts {
				t.Fatalf("line %d: %s out of time order: %d after %d", i+1, key, ts, s[len(s)-1].ts)
			}
			p.series[key] = append(p.series[key], sample{ts, v})
		}
	}
	return p
}

func write(t *testing.T, series []Series, res time.Duration) (string, WriteStats) {
	t.Helper()
	var b bytes.Buffer
	st, err := WriteOpenMetrics(&b, series, WriteOptions{Resolution: res})
	if err != nil {
		t.Fatal(err)
	}
	if st.Bytes != int64(b.Len()) {
		t.Errorf("stats say %d bytes, wrote %d", st.Bytes, b.Len())
	}
	return b.String(), st
}

const labelsDay = `{account="acct",phone="ALL",period="day",window="previous"}`

func TestWriteOpenMetricsExact(t *testing.T) {
	utc := time.UTC
	s := Series{
		Account: "acct", Phone: "ALL", Period: voicetrends.PeriodDay, Location: utc,
		Buckets: []voicetrends.Bucket{
			// Given out of order: the writer sorts.
			bucket("20260102", utc, map[voicetrends.Figure]float64{voicetrends.Calls: 7, voicetrends.CallMinutes: 1.5, voicetrends.TransferRate: 50}),
			bucket("20260101", utc, map[voicetrends.Figure]float64{voicetrends.Calls: 3}),
		},
		Until: date("20260104").Midnight(utc),
	}
	out, st := write(t, []Series{s}, 12*time.Hour)
	d2, d3 := date("20260102").Midnight(utc).Unix(), date("20260103").Midnight(utc).Unix()
	var want strings.Builder
	family := func(name, help string, lines ...string) {
		fmt.Fprintf(&want, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name)
		for _, l := range lines {
			want.WriteString(name + labelsDay + " " + l + "\n")
		}
	}
	cached := " Cached from the VoiceTrends Call Volume API; refreshed every voicetrends_refresh_interval_seconds and at each period rollover."
	// Bucket of Jan 1 is "previous" all through Jan 2, that of Jan 2 all through Jan 3.
	family("voicetrends_period_start_timestamp_seconds", "Start of the window's period (local midnight in the account's time zone) as a Unix timestamp."+cached,
		fmt.Sprintf("%d %d", d2-86400, d2), fmt.Sprintf("%d %d", d2-86400, d2+43200),
		fmt.Sprintf("%d %d", d2, d3), fmt.Sprintf("%d %d", d2, d3+43200))
	family("voicetrends_calls", "Calls in the window."+cached,
		fmt.Sprintf("3 %d", d2), fmt.Sprintf("3 %d", d2+43200), fmt.Sprintf("7 %d", d3), fmt.Sprintf("7 %d", d3+43200))
	family("voicetrends_call_seconds", "Call time in the window, in seconds (VoiceTrends call minutes x 60)."+cached,
		fmt.Sprintf("90 %d", d3), fmt.Sprintf("90 %d", d3+43200))
	family("voicetrends_transfers", "Transferred calls in the window."+cached)
	family("voicetrends_transfer_seconds", "Transfer time in the window, in seconds (VoiceTrends transfer minutes x 60)."+cached)
	family("voicetrends_transfer_ratio", "Transfers divided by calls in the window, 0 to 1 (VoiceTrends transfer rate / 100)."+cached,
		fmt.Sprintf("0.5 %d", d3), fmt.Sprintf("0.5 %d", d3+43200))
	family("voicetrends_average_call_length_seconds", "Average call length in the window, in seconds."+cached)
	want.WriteString("# EOF\n")
	if out != want.String() {
		t.Errorf("output:\n%s\nwant:\n%s", out, want.String())
	}
	if st.Samples != 12 || st.Series != 4 {
		t.Errorf("stats %+v, want 12 samples in 4 series", st)
	}
	parseOM(t, out)
}

func TestWriteOpenMetricsEscapesLabelValues(t *testing.T) {
	s := Series{
		Account: "a\"b\\c\nd", Phone: "ALL", Period: voicetrends.PeriodDay, Location: time.UTC,
		Buckets: []voicetrends.Bucket{bucket("20260101", time.UTC, map[voicetrends.Figure]float64{voicetrends.Calls: 1})},
		Until:   date("20260103").Midnight(time.UTC),
	}
	out, _ := write(t, []Series{s}, 24*time.Hour)
	want := `voicetrends_calls{account="a\"b\\c\nd",phone="ALL",period="day",window="previous"} 1 ` + strconv.FormatInt(date("20260102").Midnight(time.UTC).Unix(), 10) + "\n"
	if !strings.Contains(out, want) {
		t.Errorf("output lacks %q:\n%s", want, out)
	}
	if strings.Count(out, "\n") != 2+2*7+1 { // a sample in each family with a value (2), HELP and TYPE per family, EOF
		t.Errorf("a raw newline leaked into the output:\n%s", out)
	}
}

func TestWriteOpenMetricsExtraLabels(t *testing.T) {
	s := Series{
		Account: "acct", Phone: "ALL", Period: voicetrends.PeriodDay, Location: time.UTC,
		Buckets: []voicetrends.Bucket{bucket("20260101", time.UTC, map[voicetrends.Figure]float64{voicetrends.Calls: 1})},
		Until:   date("20260103").Midnight(time.UTC),
	}
	labels, err := ParseLabels([]string{"job=voicetrends", `instance=host"1:10141`})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if _, err := WriteOpenMetrics(&b, []Series{s}, WriteOptions{Resolution: 24 * time.Hour, Labels: labels}); err != nil {
		t.Fatal(err)
	}
	want := `voicetrends_calls{account="acct",phone="ALL",period="day",window="previous",job="voicetrends",instance="host\"1:10141"} 1 `
	if !strings.Contains(b.String(), want) {
		t.Errorf("output lacks %q:\n%s", want, b.String())
	}
}

func TestParseLabels(t *testing.T) {
	tests := []struct {
		pairs []string
		want  string // error substring; "" for success
	}{
		{[]string{"job=voicetrends", "instance=", "_x1=a=b"}, ""},
		{[]string{"job"}, `label "job": use NAME=VALUE`},
		{[]string{"1job=x"}, `"1job" is not a valid label name`},
		{[]string{"__name__=x"}, `"__name__" is not a valid label name`},
		{[]string{"jo-b=x"}, `"jo-b" is not a valid label name`},
		{[]string{"=x"}, `"" is not a valid label name`},
		{[]string{"phone=x"}, "phone is one of the exporter's own labels"},
		{[]string{"job=a", "job=b"}, "job is given twice"},
	}
	for _, tc := range tests {
		ls, err := ParseLabels(tc.pairs)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%q: %v", tc.pairs, err)
		case tc.want == "" && (len(ls) != 3 || ls[2] != Label{"_x1", "a=b"} || ls[1] != Label{"instance", ""}):
			t.Errorf("%q: %v", tc.pairs, ls)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%q: error %v, want %q", tc.pairs, err, tc.want)
		}
	}
	if _, err := WriteOpenMetrics(&bytes.Buffer{}, nil, WriteOptions{Resolution: time.Minute, Labels: []Label{{"window", "x"}}}); err == nil {
		t.Error("WriteOpenMetrics took a label replacing window")
	}
}

func TestWriteOpenMetricsEmpty(t *testing.T) {
	out, st := write(t, nil, time.Minute)
	if !strings.HasSuffix(out, "# TYPE voicetrends_average_call_length_seconds gauge\n# EOF\n") || st.Samples != 0 {
		t.Errorf("empty output:\n%s", out)
	}
	p := parseOM(t, out)
	if len(p.families) != 7 {
		t.Errorf("families %v, want 7", p.families)
	}
}

func TestWriteOpenMetricsRejectsResolution(t *testing.T) {
	for _, res := range []time.Duration{0, -time.Minute, 500 * time.Millisecond, 1500 * time.Millisecond} {
		if _, err := WriteOpenMetrics(&bytes.Buffer{}, nil, WriteOptions{Resolution: res}); err == nil {
			t.Errorf("resolution %s accepted", res)
		}
	}
}

// TestWriteOpenMetricsDST checks that periods follow the account's local
// midnights: in New York 2026-03-08 lasts 23 hours and 2026-11-01 25.
func TestWriteOpenMetricsDST(t *testing.T) {
	ny := mustLoc(t, "America/New_York")
	days := []string{"20260307", "20260308", "20260309", "20261031", "20261101", "20261102"}
	var buckets []voicetrends.Bucket
	for i, d := range days {
		buckets = append(buckets, bucket(d, ny, map[voicetrends.Figure]float64{voicetrends.Calls: float64(i + 1)}))
	}
	s := Series{Account: "acct", Phone: "ALL", Period: voicetrends.PeriodDay, Location: ny, Buckets: buckets, Until: date("20261104").Midnight(ny)}
	out, _ := write(t, []Series{s}, time.Hour)
	got := parseOM(t, out).series["voicetrends_calls"+labelsDay]

	tests := []struct {
		bucket string // the day whose figures are shown
		shown  string // during this day
		hours  int
	}{
		{"20260307", "20260308", 23},
		{"20260308", "20260309", 24},
		{"20260309", "20260310", 24},
		{"20261031", "20261101", 25},
		{"20261101", "20261102", 24},
		{"20261102", "20261103", 24},
	}
	for i, tc := range tests {
		from, to := date(tc.shown).Midnight(ny).Unix(), date(tc.shown).AddDays(1).Midnight(ny).Unix()
		var ts []int64
		for _, s := range got {
			if s.v == float64(i+1) {
				ts = append(ts, s.ts)
			}
		}
		if len(ts) != tc.hours {
			t.Errorf("bucket %s: %d samples, want %d (one per hour of %s)", tc.bucket, len(ts), tc.hours, tc.shown)
			continue
		}
		if ts[0] != from || ts[len(ts)-1] != to-3600 {
			t.Errorf("bucket %s shown from %s to %s, want %s to %s", tc.bucket,
				time.Unix(ts[0], 0).In(ny), time.Unix(ts[len(ts)-1], 0).In(ny), time.Unix(from, 0).In(ny), time.Unix(to-3600, 0).In(ny))
		}
	}
	// Each bucket is shown only during the day after it: the gaps (Mar 11 to Nov 1) hold nothing.
	if len(got) != 23+24+24+25+24+24 {
		t.Errorf("%d samples in all", len(got))
	}
}

// TestWriteOpenMetricsGrid checks the grid: Unix multiples of the
// resolution, inside [end of the bucket's period, end of the next), cut at Until.
func TestWriteOpenMetricsGrid(t *testing.T) {
	ny := mustLoc(t, "America/New_York")
	res := 7 * time.Minute // does not divide a day: the grid drifts against midnight
	s := Series{
		Account: "acct", Phone: "ALL", Period: voicetrends.PeriodDay, Location: ny,
		Buckets: []voicetrends.Bucket{
			bucket("20260101", ny, map[voicetrends.Figure]float64{voicetrends.Calls: 1}),
			bucket("20260102", ny, map[voicetrends.Figure]float64{voicetrends.Calls: 2}),
		},
		Until: date("20260103").Midnight(ny).Add(5*time.Hour + 30*time.Second),
	}
	out, _ := write(t, []Series{s}, res)
	got := parseOM(t, out).series["voicetrends_calls"+labelsDay]
	step := int64(res / time.Second)
	jan2, jan3, until := date("20260102").Midnight(ny).Unix(), date("20260103").Midnight(ny).Unix(), s.Until.Unix()
	var want []sample
	for ts := (jan2 + step - 1) / step * step; ts < until; ts += step {
		v := 1.0
		if ts >= jan3 {
			v = 2
		}
		want = append(want, sample{ts, v})
	}
	if len(got) != len(want) {
		t.Fatalf("%d samples, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("sample %d: %+v, want %+v", i, got[i], want[i])
		}
		if got[i].ts%step != 0 {
			t.Fatalf("sample %d at %d is off the %s grid", i, got[i].ts, res)
		}
	}
	if got[0].ts-jan2 >= step || until-got[len(got)-1].ts > step || got[len(got)-1].ts >= until {
		t.Errorf("first %d (period starts %d), last %d (until %d)", got[0].ts, jan2, got[len(got)-1].ts, until)
	}
}

// TestWriteOpenMetricsPeriods checks week and month spans and the order of
// several series in a family.
func TestWriteOpenMetricsPeriods(t *testing.T) {
	ldn := mustLoc(t, "Europe/London")
	fig := map[voicetrends.Figure]float64{voicetrends.Calls: 10}
	series := []Series{
		{Account: "a", Phone: "ALL", Period: voicetrends.PeriodMonth, Location: ldn,
			Buckets: []voicetrends.Bucket{bucket("20260201", ldn, fig), bucket("20260301", ldn, fig), bucket("20260401", ldn, fig)},
			Until:   date("20260415").Midnight(ldn)},
		{Account: "a", Phone: "+441", Period: voicetrends.PeriodWeek, Location: ldn,
			// A week starting on a Wednesday: the writer assumes no weekday.
			Buckets: []voicetrends.Bucket{bucket("20260318", ldn, fig), bucket("20260325", ldn, fig), bucket("20260401", ldn, fig)},
			Until:   date("20260415").Midnight(ldn)},
	}
	out, _ := write(t, series, time.Hour)
	p := parseOM(t, out)
	month := p.series[`voicetrends_calls{account="a",phone="ALL",period="month",window="previous"}`]
	week := p.series[`voicetrends_calls{account="a",phone="+441",period="week",window="previous"}`]
	// February is shown through March (30 days and 23 hours: British Summer Time
	// begins on 29 March) and March from 1 April until the cut-off.
	mar, apr := date("20260301").Midnight(ldn).Unix(), date("20260401").Midnight(ldn).Unix()
	if want := int((date("20260415").Midnight(ldn).Unix() - mar) / 3600); len(month) != want {
		t.Errorf("month: %d samples, want %d", len(month), want)
	}
	if len(month) > 0 && (month[0].ts != mar || (apr-mar)/3600 != 31*24-1) {
		t.Errorf("month: first sample %d, want %d", month[0].ts, mar)
	}
	// Weeks of Mar 18 and Mar 25 are complete: shown Mar 25 - Apr 1 and Apr 1 - Apr 8;
	// the week of Apr 1 from Apr 8 until the cut-off.
	if want := int((date("20260415").Midnight(ldn).Unix() - date("20260325").Midnight(ldn).Unix()) / 3600); len(week) != want {
		t.Errorf("week: %d samples, want %d", len(week), want)
	}
	start := p.series[`voicetrends_period_start_timestamp_seconds{account="a",phone="+441",period="week",window="previous"}`]
	if len(start) == 0 || start[0].v != float64(date("20260318").Midnight(ldn).Unix()) || start[len(start)-1].v != float64(date("20260401").Midnight(ldn).Unix()) {
		t.Errorf("week period starts: first %v last %v", start[0], start[len(start)-1])
	}
	// Series appear in the order given, inside each family.
	if i, j := strings.Index(out, `voicetrends_calls{account="a",phone="ALL"`), strings.Index(out, `voicetrends_calls{account="a",phone="+441"`); i < 0 || j < i {
		t.Errorf("series order within a family: %d, %d", i, j)
	}
}

// TestWriteOpenMetricsIncompleteAndDuplicates: a period in progress and the
// cut-off write nothing; a bucket sent twice is written once.
func TestWriteOpenMetricsIncompleteAndDuplicates(t *testing.T) {
	utc := time.UTC
	until := date("20260105").Midnight(utc).Add(-HeadBlockMargin) // Jan 4, 21:00
	s := Series{
		Account: "acct", Phone: "ALL", Period: voicetrends.PeriodDay, Location: utc,
		Buckets: []voicetrends.Bucket{
			bucket("20260102", utc, map[voicetrends.Figure]float64{voicetrends.Calls: 1}),
			bucket("20260103", utc, map[voicetrends.Figure]float64{voicetrends.Calls: 2}),
			bucket("20260103", utc, map[voicetrends.Figure]float64{voicetrends.Calls: 2}), // from an overlapping request
			bucket("20260104", utc, map[voicetrends.Figure]float64{voicetrends.Calls: 3}), // ends after Until: nothing to show
			bucket("20260105", utc, map[voicetrends.Figure]float64{voicetrends.Calls: 4}), // in progress
		},
		Until: until,
	}
	out, _ := write(t, []Series{s}, time.Hour)
	got := parseOM(t, out).series["voicetrends_calls"+labelsDay]
	if len(got) != 24+21 {
		t.Fatalf("%d samples, want 45: Jan 3 shows Jan 2, Jan 4 until 21:00 shows Jan 3", len(got))
	}
	for _, s := range got {
		if s.v > 2 {
			t.Fatalf("sample %+v shows a bucket that is not complete before the cut-off", s)
		}
	}
	if last := got[len(got)-1].ts; last != until.Unix()-3600 {
		t.Errorf("last sample at %s, want one hour before the cut-off", time.Unix(last, 0).UTC())
	}
}

type failingWriter struct{ after int }

func (w *failingWriter) Write(p []byte) (int, error) {
	if w.after -= len(p); w.after < 0 {
		return 0, errors.New("disk full")
	}
	return len(p), nil
}

func TestWriteOpenMetricsWriteError(t *testing.T) {
	s := Series{Account: "acct", Phone: "ALL", Period: voicetrends.PeriodDay, Location: time.UTC,
		Buckets: []voicetrends.Bucket{bucket("20260101", time.UTC, map[voicetrends.Figure]float64{voicetrends.Calls: 1})},
		Until:   date("20270101").Midnight(time.UTC)}
	_, err := WriteOpenMetrics(&failingWriter{after: 1000}, []Series{s}, WriteOptions{Resolution: time.Second})
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("error %v, want the writer's", err)
	}
}

func BenchmarkWriteOpenMetrics(b *testing.B) {
	ny := mustLoc(b, "America/New_York")
	var buckets []voicetrends.Bucket
	for d := date("20250101"); d.Before(date("20260101")); d = d.AddDays(1) {
		buckets = append(buckets, bucket(d.String(), ny, map[voicetrends.Figure]float64{
			voicetrends.Calls: 100, voicetrends.CallMinutes: 321.5, voicetrends.Transfers: 9,
			voicetrends.TransferMinutes: 12.5, voicetrends.TransferRate: 9, voicetrends.AverageCallLength: 192.9}))
	}
	s := []Series{{Account: "acct", Phone: "ALL", Period: voicetrends.PeriodDay, Location: ny, Buckets: buckets, Until: date("20260101").Midnight(ny)}}
	b.ReportAllocs()
	for b.Loop() {
		st, err := WriteOpenMetrics(discard{}, s, WriteOptions{Resolution: 5 * time.Minute})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(st.Samples), "samples/op")
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
