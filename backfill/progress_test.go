package backfill

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/voicetrends/voicetrends_exporter/internal/testlog"

	"github.com/go-kit/log"
)

func TestProgressLine(t *testing.T) {
	p := &Progress{}
	p.addTotal(40)
	p.done.Add(10)
	tests := []struct {
		bar  bool
		want string
	}{
		{false, "10/40 requests (25%), 1m2s elapsed"},
		{true, "[=======                       ] 10/40 requests (25%), 1m2s elapsed"},
	}
	for _, tc := range tests {
		if got := p.Line(tc.bar, 62*time.Second+300*time.Millisecond); got != tc.want {
			t.Errorf("bar %v: %q, want %q", tc.bar, got, tc.want)
		}
	}
	p.failed.Add(2)
	p.done.Add(30)
	if got, want := p.Line(true, 0), "[==============================] 40/40 requests (100%), 2 target(s) failed, 0s elapsed"; got != want {
		t.Errorf("%q, want %q", got, want)
	}
}

func TestProgressReport(t *testing.T) {
	for _, terminal := range []bool{true, false} {
		p := &Progress{}
		p.addTotal(3)
		p.done.Add(3)
		var screen, logs testlog.Buffer
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			p.Report(ctx, ReportTo{W: &screen, Terminal: terminal, Logger: log.NewLogfmtLogger(&logs), Redraw: time.Millisecond, Interval: time.Hour})
		}()
		if terminal {
			// Wait for a redraw on the ticker, not only the final one.
			for deadline := time.Now().Add(5 * time.Second); strings.Count(screen.String(), "\r") < 2 && time.Now().Before(deadline); {
				time.Sleep(time.Millisecond)
			}
		}
		cancel()
		<-done
		if terminal {
			if s := screen.String(); strings.Count(s, "\r\x1b[K[==============================] 3/3 requests (100%)") < 2 || !strings.HasSuffix(s, "\n") || logs.String() != "" {
				t.Errorf("terminal: screen %q, logs %q", s, logs.String())
			}
			continue
		}
		if s := logs.String(); !strings.Contains(s, "msg=\"backfill progress\" requests_done=3 requests_total=3 failed_targets=0") || screen.String() != "" {
			t.Errorf("log: screen %q, logs %q", screen.String(), s)
		}
	}
}
