package backfill

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
)

// Progress counts a backfill's requests as Fetch runs; safe for concurrent use.
type Progress struct {
	done, total, failed atomic.Int64
}

func (p *Progress) addTotal(n int) { p.total.Add(int64(n)) }

// Counts returns the requests finished (answered, or given up with their
// target), the requests expected so far (split halves add to the plan) and
// the targets that failed.
func (p *Progress) Counts() (done, total, failed int64) {
	return p.done.Load(), p.total.Load(), p.failed.Load()
}

// barWidth is the number of cells in the terminal progress bar.
const barWidth = 30

// Line renders the progress as one line: a bar when bar is set.
func (p *Progress) Line(bar bool, elapsed time.Duration) string {
	done, total, failed := p.Counts()
	var b strings.Builder
	if bar {
		filled := 0
		if total > 0 {
			filled = int(min(done, total) * barWidth / total)
		}
		b.WriteString("[" + strings.Repeat("=", filled) + strings.Repeat(" ", barWidth-filled) + "] ")
	}
	fmt.Fprintf(&b, "%d/%d requests", done, total)
	if total > 0 {
		fmt.Fprintf(&b, " (%d%%)", min(done, total)*100/total)
	}
	if failed > 0 {
		fmt.Fprintf(&b, ", %d target(s) failed", failed)
	}
	fmt.Fprintf(&b, ", %s elapsed", elapsed.Truncate(time.Second))
	return b.String()
}

// ReportTo is where and how often Report shows the progress.
type ReportTo struct {
	W        io.Writer // the terminal, when Terminal
	Terminal bool
	Logger   log.Logger    // otherwise
	Redraw   time.Duration // the bar's redraw interval on a terminal
	Interval time.Duration // the log line's interval otherwise
}

// Report shows the progress until ctx ends: on a terminal, a bar redrawn in
// place every Redraw; otherwise a log line every Interval, so that a log
// file is not flooded. It returns after drawing the final state.
func (p *Progress) Report(ctx context.Context, to ReportTo) {
	began := time.Now()
	w, terminal, logger := to.W, to.Terminal, to.Logger
	tick := to.Interval
	if terminal {
		tick = to.Redraw
	}
	t := time.NewTicker(tick)
	defer t.Stop()
	show := func() {
		if terminal {
			// \r and "erase to end of line" redraw the bar in place.
			fmt.Fprint(w, "\r\x1b[K"+p.Line(true, time.Since(began)))
			return
		}
		done, total, failed := p.Counts()
		level.Info(logger).Log("msg", "backfill progress", "requests_done", done, "requests_total", total, "failed_targets", failed, "elapsed", time.Since(began).Truncate(time.Second))
	}
	for {
		select {
		case <-ctx.Done():
			show()
			if terminal {
				fmt.Fprintln(w)
			}
			return
		case <-t.C:
			show()
		}
	}
}
