package collector

import (
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/voicetrends/voicetrends_exporter/internal/metric"
	"github.com/voicetrends/voicetrends_exporter/voicetrends"
)

// instrumentation counts one account's API requests and keeps the latest
// rate-limit headers per group. It implements voicetrends.Observer.
type instrumentation struct {
	account  string
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec

	mu     sync.Mutex
	limits map[string]voicetrends.RateLimit // by group: data, auth
}

func newInstrumentation(account string) *instrumentation {
	return &instrumentation{
		account:  account,
		requests: prometheus.NewCounterVec(requestsOpts, metric.RequestLabels),
		duration: prometheus.NewHistogramVec(durationOpts, metric.DurationLabels),
		limits:   map[string]voicetrends.RateLimit{},
	}
}

// groupOf names the rate-limit group an endpoint's headers describe.
func groupOf(endpoint string) string {
	if endpoint == voicetrends.EndpointAuth {
		return "auth"
	}
	return "data"
}

// ObserveRequest implements voicetrends.Observer.
func (in *instrumentation) ObserveRequest(endpoint string, code int, d time.Duration) {
	c := "error"
	if code > 0 {
		c = strconv.Itoa(code)
	}
	in.requests.WithLabelValues(in.account, endpoint, c).Inc()
	in.duration.WithLabelValues(in.account, endpoint).Observe(d.Seconds())
}

// ObserveRateLimit implements voicetrends.Observer.
func (in *instrumentation) ObserveRateLimit(endpoint string, rl voicetrends.RateLimit) {
	if !rl.Known() {
		return // an absent header is unknown: keep what the last one said
	}
	in.mu.Lock()
	in.limits[groupOf(endpoint)] = rl
	in.mu.Unlock()
}

func (in *instrumentation) describe(ch chan<- *prometheus.Desc) {
	in.requests.Describe(ch)
	in.duration.Describe(ch)
}

func (in *instrumentation) collect(ch chan<- prometheus.Metric) {
	in.requests.Collect(ch)
	in.duration.Collect(ch)
	in.mu.Lock()
	defer in.mu.Unlock()
	for _, group := range []string{"auth", "data"} {
		rl, ok := in.limits[group]
		if !ok {
			continue
		}
		if rl.Limit >= 0 {
			ch <- prometheus.MustNewConstMetric(limitDesc, prometheus.GaugeValue, float64(rl.Limit), in.account, group)
		}
		if rl.Remaining >= 0 {
			ch <- prometheus.MustNewConstMetric(remainingDesc, prometheus.GaugeValue, float64(rl.Remaining), in.account, group)
		}
		if !rl.Reset.IsZero() {
			ch <- prometheus.MustNewConstMetric(resetDesc, prometheus.GaugeValue, float64(rl.Reset.Unix()), in.account, group)
		}
	}
}
