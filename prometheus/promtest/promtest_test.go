package promtest

import (
	"fmt"
	"maps"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
)

func TestServer(t *testing.T) {
	Require(t, "prometheus")
	s := Start(t, Options{ExtraArgs: []string{"--log.level=warn"}})
	if !strings.HasPrefix(s.URL(), "http://127.0.0.1:") {
		t.Errorf("URL() = %q, want a loopback http URL", s.URL())
	}
	at := time.Date(2026, 3, 8, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		expr    string
		at      time.Time
		want    model.Vector
		wantErr string
	}{
		{expr: `vector(42)`, want: model.Vector{{Metric: model.Metric{}, Value: 42}}},
		{expr: `label_replace(vector(time()), "x", "y", "", "")`, at: at,
			want: model.Vector{{Metric: model.Metric{"x": "y"}, Value: model.SampleValue(at.Unix())}}},
		{expr: `up`, want: model.Vector{}},
		{expr: `1`, wantErr: "result type scalar, want vector"},
		{expr: `sum(`, wantErr: "bad_data"},
	}
	for _, tc := range tests {
		t.Run(tc.expr, func(t *testing.T) {
			got, err := s.Query(t.Context(), tc.expr, tc.at)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for i := range got {
				if !got[i].Metric.Equal(tc.want[i].Metric) || got[i].Value != tc.want[i].Value {
					t.Errorf("sample %d: got %v, want %v", i, got[i], tc.want[i])
				}
				if !tc.at.IsZero() && !got[i].Timestamp.Time().Equal(tc.at) {
					t.Errorf("sample %d at %s, want %s", i, got[i].Timestamp.Time(), tc.at)
				}
			}
		})
	}

	var build struct {
		Version string `json:"version"`
	}
	if err := s.API(t.Context(), "/api/v1/status/buildinfo", url.Values{}, &build); err != nil || build.Version == "" {
		t.Errorf("buildinfo: %+v, %v", build, err)
	}
	if err := s.API(t.Context(), "/api/v1/nope", nil, &build); err == nil {
		t.Error("an unknown API path gave no error")
	}
}

// TestRemoteWrite pushes two series into the head and reads them back at
// their samples' times; a sample older than the head takes is refused with
// Prometheus' message.
func TestRemoteWrite(t *testing.T) {
	Require(t, "prometheus")
	s := Start(t, Options{ExtraArgs: []string{"--log.level=error", "--web.enable-remote-write-receiver"}})
	now := time.Now().Truncate(time.Second)
	times := []time.Time{now.Add(-2 * time.Minute), now.Add(-time.Minute), now}
	push := []Series{
		{Labels: map[string]string{"__name__": "pushed", "phone": "111", "account": "a b"}, Times: times, Values: []float64{1, 2.5, -3}},
		{Labels: map[string]string{"__name__": "pushed", "phone": "222", "account": "a b"}, Times: times[2:], Values: []float64{1e300}},
	}
	if err := s.RemoteWrite(t.Context(), push); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		at   time.Time
		want map[string]float64 // by phone
	}{
		{times[0], map[string]float64{"111": 1}},
		{times[1], map[string]float64{"111": 2.5}},
		{times[2], map[string]float64{"111": -3, "222": 1e300}},
	} {
		got, err := s.Query(t.Context(), `pushed{account="a b"}`, tc.at)
		if err != nil {
			t.Fatal(err)
		}
		values := map[string]float64{}
		for _, v := range got {
			values[string(v.Metric["phone"])] = float64(v.Value)
		}
		if !maps.Equal(values, tc.want) {
			t.Errorf("at %s: %v, want %v", tc.at.Format(time.TimeOnly), values, tc.want)
		}
	}
	old := []Series{{Labels: map[string]string{"__name__": "pushed", "phone": "333"}, Times: []time.Time{now.Add(-3 * time.Hour)}, Values: []float64{1}}}
	if err := s.RemoteWrite(t.Context(), old); err == nil || !strings.Contains(err.Error(), "HTTP 400: out of bounds") {
		t.Errorf("pushing a sample 3 hours older than the head: %v, want HTTP 400: out of bounds", err)
	}
}

func TestFreePort(t *testing.T) {
	addr := FreePort(t)
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("FreePort gave %s, which cannot be bound: %v", addr, err)
	}
	l.Close()
}

func TestPromtool(t *testing.T) {
	Require(t, "promtool")
	if out := Promtool(t, "--version"); !strings.Contains(out, "promtool") {
		t.Errorf("promtool --version said %q", out)
	}
	// CheckMetrics reports on a fake testing.TB so that the expected error does
	// not fail this test.
	tests := []struct {
		name  string
		input string
		clean bool
	}{
		{"clean", "# HELP x_total Things.\n# TYPE x_total counter\nx_total 1\n", true},
		{"counter without _total", "# HELP x Things.\n# TYPE x counter\nx 1\n", false},
		{"no help", "# TYPE x_total counter\nx_total 1\n", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{TB: t}
			CheckMetrics(rec, []byte(tc.input))
			if clean := len(rec.errors) == 0; clean != tc.clean {
				t.Errorf("clean = %v, want %v; reported: %v", clean, tc.clean, rec.errors)
			}
		})
	}
}

// recorder is a testing.TB that keeps Errorf's messages instead of failing.
type recorder struct {
	testing.TB
	errors []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}
