package config

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/voicetrends/voicetrends_exporter/internal/clock"
	"github.com/voicetrends/voicetrends_exporter/internal/metric"
)

// Safe holds the running configuration and the outcome of the last reload.
// A reload that fails leaves the running configuration in place.
type Safe struct {
	mu          sync.RWMutex
	cfg         *Config
	lastOK      bool
	lastSuccess time.Time
	clock       clock.Clock
}

var (
	reloadSuccessDesc = metric.ConfigReloadSuccess.Desc()
	reloadTimeDesc    = metric.ConfigReloadTimestamp.Desc()
)

// NewSafe returns a holder for cfg, which was loaded successfully at start-up,
// telling the time of reloads by clk.
func NewSafe(cfg *Config, clk clock.Clock) *Safe {
	return &Safe{cfg: cfg, lastOK: true, lastSuccess: clk.Now(), clock: clk}
}

// Get returns the running configuration; callers must not modify it.
func (s *Safe) Get() *Config {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.cfg
}

// Reload loads path and, if it is valid, hands it to apply and makes it the
// running configuration. The error says why a reload was refused.
func (s *Safe) Reload(path string, apply func(*Config) error) error {
	cfg, err := Load(path)
	if err == nil && apply != nil {
		err = apply(cfg)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lastOK = err == nil
	if err != nil {
		return err
	}
	s.cfg, s.lastSuccess = cfg, s.clock.Now()
	return nil
}

// Describe implements prometheus.Collector.
func (s *Safe) Describe(ch chan<- *prometheus.Desc) {
	ch <- reloadSuccessDesc
	ch <- reloadTimeDesc
}

// Collect implements prometheus.Collector.
func (s *Safe) Collect(ch chan<- prometheus.Metric) {
	s.mu.RLock()
	ok, at := s.lastOK, s.lastSuccess
	s.mu.RUnlock()
	v := 0.0
	if ok {
		v = 1
	}
	ch <- prometheus.MustNewConstMetric(reloadSuccessDesc, prometheus.GaugeValue, v)
	ch <- prometheus.MustNewConstMetric(reloadTimeDesc, prometheus.GaugeValue, float64(at.UnixNano())/1e9)
}
