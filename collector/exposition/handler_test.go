package exposition

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
)

func TestAcceptsGzip(t *testing.T) {
	for header, want := range map[string]bool{
		"":                             false,
		"gzip":                         true,
		"deflate, gzip, br, zstd":      true, // curl --compressed
		"gzip;q=0":                     false,
		"identity, gzip":               false, // a tie goes to identity, as in promhttp
		"identity;q=0.5, gzip":         true,
		"*":                            false,
		"br":                           false,
		"GZIP; q=0.8, identity; q=0.2": true,
	} {
		if got := acceptsGzip(header); got != want {
			t.Errorf("Accept-Encoding %q: gzip %v, want %v", header, got, want)
		}
	}
}

// gauges is a collector of one gauge per name, for the live side and the
// reference.
type gauges []string

func (g gauges) Describe(ch chan<- *prometheus.Desc) {
	for _, n := range g {
		ch <- prometheus.NewDesc(n, "Help of "+n+".", []string{"k"}, nil)
	}
}

func (g gauges) Collect(ch chan<- prometheus.Metric) {
	for _, n := range g {
		for _, v := range []string{"a", "b"} {
			ch <- prometheus.MustNewConstMetric(prometheus.NewDesc(n, "Help of "+n+".", []string{"k"}, nil), prometheus.GaugeValue, 1.5, v)
		}
	}
}

// testHandler serves families b and d from pieces, in two bodies, and a, c
// and e live; ref serves all five through promhttp.
func testHandler(t *testing.T) (h, ref http.Handler, fallback *bool) {
	t.Helper()
	live := prometheus.NewPedanticRegistry()
	live.MustRegister(gauges{"a", "c", "e"})
	all := prometheus.NewPedanticRegistry()
	all.MustRegister(gauges{"a", "b", "c", "d", "e"})
	ref = promhttp.HandlerFor(all, promhttp.HandlerOpts{EnableOpenMetrics: true})
	families := []Family{{"d", "Help of d.", dto.MetricType_GAUGE}, {"b", "Help of b.", dto.MetricType_GAUGE}}
	var en Encoder
	bodies := map[Format][]Body{}
	for ft := range NumFormats {
		for _, v := range []string{"a", "b"} {
			var body Body
			for _, name := range []string{"d", "b"} {
				val, k, key := 1.5, "k", v
				mf := &dto.MetricFamily{Name: &name, Type: dto.MetricType_GAUGE.Enum(), Metric: []*dto.Metric{{Label: []*dto.LabelPair{{Name: &k, Value: &key}}, Gauge: &dto.Gauge{Value: &val}}}}
				p, err := en.Encode(ft, mf, v == "a") // one piece inflated, one copied
				if err != nil {
					t.Fatal(err)
				}
				body = append(body, []Piece{p})
			}
			bodies[ft] = append(bodies[ft], body)
		}
	}
	fallback = new(bool)
	h, err := NewHandler(Options{Families: families, Source: func(f Format, _ bool) []Body { return bodies[f] }, Live: live,
		Fallback: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { *fallback = true; ref.ServeHTTP(w, r) })})
	if err != nil {
		t.Fatal(err)
	}
	return h, ref, fallback
}

func get(t *testing.T, h http.Handler, target string, header http.Header) (*httptest.ResponseRecorder, []byte) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, target, nil)
	req.Header = header
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	body := rec.Body.Bytes()
	if rec.Header().Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		zr.Multistream(false)
		if body, err = io.ReadAll(zr); err != nil {
			t.Fatal(err)
		}
	}
	return rec, body
}

// TestHandlerMergesByName: the pieces and the live families come out in
// name order, each family once, as promhttp writes them, in every format
// and encoding, with promhttp's headers.
func TestHandlerMergesByName(t *testing.T) {
	h, ref, fallback := testHandler(t)
	for _, accept := range []string{"", "text/plain;version=0.0.4", "application/openmetrics-text;version=1.0.0", "application/openmetrics-text;version=0.0.1"} {
		for _, enc := range []string{"", "gzip"} {
			header := http.Header{"Accept": {accept}, "Accept-Encoding": {enc}}
			gotRec, got := get(t, h, "/metrics", header)
			wantRec, want := get(t, ref, "/metrics", header)
			if !bytes.Equal(got, want) {
				t.Errorf("Accept %q, Accept-Encoding %q:\n%s\nwant\n%s", accept, enc, got, want)
			}
			for _, k := range []string{"Content-Type", "Content-Encoding", "Vary"} {
				if g, w := gotRec.Header().Values(k), wantRec.Header().Values(k); !slices.Equal(g, w) {
					t.Errorf("Accept %q, Accept-Encoding %q: %s %q, want %q", accept, enc, k, g, w)
				}
			}
		}
	}
	if *fallback {
		t.Error("a text format went to the fallback")
	}
	// Filtered by name, as promhttp does.
	_, got := get(t, h, "/metrics?name[]=b&name[]=e", http.Header{})
	_, want := get(t, ref, "/metrics?name[]=b&name[]=e", http.Header{})
	if !bytes.Equal(got, want) || !bytes.Contains(got, []byte("b{k=\"a\"}")) {
		t.Errorf("name[]=b&name[]=e:\n%s\nwant\n%s", got, want)
	}
	// Protobuf is the fallback's.
	get(t, h, "/metrics", http.Header{"Accept": {"application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited"}})
	if !*fallback {
		t.Error("protobuf was not handed to the fallback")
	}
}
