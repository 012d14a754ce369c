package backfill

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"

	"github.com/voicetrends/voicetrends_exporter/internal/metric"
	"github.com/voicetrends/voicetrends_exporter/voicetrends"
)

// Series is one target's fetched history, ready to be written.
type Series struct {
	Account  string
	Phone    string
	Period   voicetrends.Period
	Location *time.Location       // the account's time zone: periods start at its midnights
	Buckets  []voicetrends.Bucket // as the API returned them, in any order
	// Until is the exclusive end of the samples: nothing at or after it.
	Until time.Time
}

// WriteOptions shape the output.
type WriteOptions struct {
	// Resolution is the interval between two samples of a series: a
	// positive whole number of seconds.
	Resolution time.Duration
	// Labels are added to every series after the exporter's own, e.g. the
	// job and instance labels Prometheus attaches when it scrapes the
	// exporter, so that history and live data are the same series.
	Labels []Label
}

// Label is one extra label of every written series.
type Label struct{ Name, Value string }

// reservedLabels are the exporter's own labels, which an extra label may not replace.
var reservedLabels = map[string]bool{"account": true, "phone": true, "period": true, "window": true}

// ParseLabels reads NAME=VALUE pairs, checking each name against
// Prometheus' label-name rules and against the exporter's own labels.
func ParseLabels(pairs []string) ([]Label, error) {
	var out []Label
	seen := map[string]bool{}
	for _, p := range pairs {
		name, value, ok := strings.Cut(p, "=")
		if !ok {
			return nil, fmt.Errorf("label %q: use NAME=VALUE, e.g. job=voicetrends", p)
		}
		if !model.LegacyValidation.IsValidLabelName(name) || strings.HasPrefix(name, "__") {
			return nil, fmt.Errorf("label %q: %q is not a valid label name: use letters, digits and _, not starting with a digit or __", p, name)
		}
		if reservedLabels[name] {
			return nil, fmt.Errorf("label %q: %s is one of the exporter's own labels (account, phone, period, window)", p, name)
		}
		if seen[name] {
			return nil, fmt.Errorf("label %q: %s is given twice", p, name)
		}
		seen[name] = true
		out = append(out, Label{name, value})
	}
	return out, nil
}

// WriteStats says what WriteOpenMetrics wrote.
type WriteStats struct {
	Series  int64 // label sets with at least one sample, over every family
	Samples int64
	Bytes   int64
}

// span is when one bucket is shown as window="previous": during the period
// that follows its own, cut at the series' Until.
type span struct {
	bucket   *voicetrends.Bucket
	from, to time.Time // [from, to)
}

// spans returns, in time order, when each complete bucket of s is the
// previous window. A live exporter shows a bucket as "previous" from the
// start of the next period (the end of its own) until the end of the period
// after that; periods follow the account's local midnights, so a day lasts
// 23 or 25 hours across a DST change.
func (s *Series) spans() []span {
	bs := make([]*voicetrends.Bucket, 0, len(s.Buckets))
	for i := range s.Buckets {
		bs = append(bs, &s.Buckets[i])
	}
	sort.SliceStable(bs, func(i, j int) bool { return bs[i].Start.Before(bs[j].Start) })
	var out []span
	for i, b := range bs {
		if i+1 < len(bs) && voicetrends.DateIn(bs[i+1].Start, s.Location) == voicetrends.DateIn(b.Start, s.Location) {
			continue // a duplicate from overlapping requests: keep the later answer
		}
		start := voicetrends.DateIn(b.Start, s.Location)
		next := s.Period.Next(start)
		from, to := next.Midnight(s.Location), s.Period.Next(next).Midnight(s.Location)
		if to.After(s.Until) {
			to = s.Until
		}
		if !from.Before(to) {
			continue // incomplete, or shown only after Until
		}
		if n := len(out); n > 0 && from.Before(out[n-1].to) {
			from = out[n-1].to // never two values at one instant, whatever the API sent
		}
		out = append(out, span{bucket: b, from: from, to: to})
	}
	return out
}

// family is one metric family of the output and where its values come from.
type family struct {
	name, help string
	value      func(b *voicetrends.Bucket) (float64, bool)
}

func families() []family {
	out := []family{{metric.PeriodStart.Name, metric.PeriodStart.Help, func(b *voicetrends.Bucket) (float64, bool) { return float64(b.Start.Unix()), true }}}
	for _, f := range metric.Figures {
		out = append(out, family{f.Name, f.Help, func(b *voicetrends.Bucket) (float64, bool) {
			v, ok := b.Get(f.Figure)
			if !ok {
				return 0, false // not sent by the API: not written, never an invented zero
			}
			return f.Convert(v), true
		}})
	}
	return out
}

// WriteOpenMetrics writes the window="previous" history of every series as
// OpenMetrics that `promtool tsdb create-blocks-from openmetrics` imports:
// a HELP and TYPE line per family, each family contiguous, one sample per
// resolution on a grid of Unix multiples of resolution, each series in time
// order, timestamps in seconds, and # EOF at the end. It streams: only one
// line is built at a time.
func WriteOpenMetrics(w io.Writer, series []Series, opts WriteOptions) (WriteStats, error) {
	resolution := opts.Resolution
	if resolution < time.Second || resolution%time.Second != 0 {
		return WriteStats{}, fmt.Errorf("resolution %s: use a whole number of seconds, at least 1s", resolution)
	}
	if _, err := ParseLabels(labelPairs(opts.Labels)); err != nil {
		return WriteStats{}, err
	}
	cw := &countingWriter{w: w}
	bw := bufio.NewWriterSize(cw, 256<<10)
	var st WriteStats
	labelNames := metric.FigureLabels
	for _, l := range opts.Labels {
		labelNames = append(labelNames, l.Name)
	}
	labels := make([][]byte, len(series))
	spans := make([][]span, len(series))
	for i := range series {
		s := &series[i]
		values := []string{s.Account, s.Phone, string(s.Period), metric.Previous}
		for _, l := range opts.Labels {
			values = append(values, l.Value)
		}
		labels[i] = labelSet(labelNames, values)
		spans[i] = s.spans()
	}
	step := int64(resolution)
	var line []byte
	for _, fam := range families() {
		line = append(line[:0], "# HELP "...)
		line = append(line, fam.name...)
		line = append(line, ' ')
		line = appendEscaped(line, fam.help)
		line = append(line, "\n# TYPE "...)
		line = append(line, fam.name...)
		line = append(line, " gauge\n"...)
		if _, err := bw.Write(line); err != nil {
			return st, fmt.Errorf("writing the OpenMetrics output: %w", err)
		}
		for i := range series {
			wrote := false
			for _, sp := range spans[i] {
				v, ok := fam.value(sp.bucket)
				if !ok {
					continue
				}
				for t := ceilTo(sp.from.UnixNano(), step); t < sp.to.UnixNano(); t += step {
					line = append(line[:0], fam.name...)
					line = append(line, labels[i]...)
					line = append(line, ' ')
					line = appendValue(line, v)
					line = append(line, ' ')
					line = strconv.AppendInt(line, t/int64(time.Second), 10)
					line = append(line, '\n')
					if _, err := bw.Write(line); err != nil {
						return st, fmt.Errorf("writing the OpenMetrics output: %w", err)
					}
					st.Samples++
					wrote = true
				}
			}
			if wrote {
				st.Series++
			}
		}
	}
	if _, err := bw.WriteString("# EOF\n"); err != nil {
		return st, fmt.Errorf("writing the OpenMetrics output: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return st, fmt.Errorf("writing the OpenMetrics output: %w", err)
	}
	st.Bytes = cw.n
	return st, nil
}

// appendValue writes whole numbers (counts, timestamps) as integers and
// anything else in the shortest form that reads back exactly.
func appendValue(b []byte, v float64) []byte {
	if v == math.Trunc(v) && math.Abs(v) < 1<<53 {
		return strconv.AppendInt(b, int64(v), 10)
	}
	return strconv.AppendFloat(b, v, 'g', -1, 64)
}

func labelPairs(ls []Label) []string {
	out := make([]string, len(ls))
	for i, l := range ls {
		out[i] = l.Name + "=" + l.Value
	}
	return out
}

// ceilTo rounds t up to a multiple of step (t >= 0 in practice; floor
// division keeps it right before 1970 too).
func ceilTo(t, step int64) int64 {
	r := t % step
	if r < 0 {
		r += step
	}
	if r == 0 {
		return t
	}
	return t - r + step
}

// labelSet renders {a="x",b="y"} with the values escaped.
func labelSet(names, values []string) []byte {
	b := []byte{'{'}
	for i, n := range names {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, n...)
		b = append(b, '=', '"')
		b = appendEscaped(b, values[i])
		b = append(b, '"')
	}
	return append(b, '}')
}

// appendEscaped escapes a label value or HELP text as OpenMetrics requires:
// backslash, double quote and line feed.
func appendEscaped(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			b = append(b, '\\', '\\')
		case '"':
			b = append(b, '\\', '"')
		case '\n':
			b = append(b, '\\', 'n')
		default:
			b = append(b, c)
		}
	}
	return b
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
