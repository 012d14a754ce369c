package collector

import (
	"cmp"
	"slices"
	"sync"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/voicetrends/voicetrends_exporter/collector/exposition"
	"github.com/voicetrends/voicetrends_exporter/voicetrends"
)

// blockViews is how many views one block of the encoding holds: a refresh
// re-encodes the block of its target, and a scrape copies one piece per
// block and family, so that neither a refresh nor a scrape costs much per
// series.
const blockViews = 32

// view is one target's period: the unit a family's samples sort by,
// after the account, since every family's labels are account, period,
// phone and window in that order.
type view struct {
	target int // index in the snapshot's targets
	period int // index in the target's periods
}

// viewKey is what a view's samples depend on.
type viewKey struct {
	rev       *revision
	period    int
	withdrawn bool
}

// block is the encoding of up to blockViews consecutive views.
type block struct {
	keys   []viewKey
	pieces []exposition.Piece // by family; a zero Piece: no sample
	has    []bool             // by family: pieces holds a sample
}

// encoding is an account's snapshot encoded for scrapes, valid for snap
// while the local date is today and no figure is withdrawn or due to be:
// after withdrawnAfter and not after withdrawsAt.
type encoding struct {
	snap           *accountSnapshot
	today          voicetrends.Date
	withdrawnAfter time.Time // zero: none withdrawn yet
	withdrawsAt    time.Time // zero: none to withdraw
	views          []view
	formats        [exposition.NumFormats]*formatEncoding // nil: not asked for
}

// serves reports whether e holds the variant (ft, gz).
func (e *encoding) serves(ft exposition.Format, gz bool) bool {
	return e.formats[ft] != nil && (gz || e.formats[ft].plain)
}

// formatEncoding is the encoding in one format.
type formatEncoding struct {
	plain  bool // the pieces keep their plain lines, for plain scrapes
	blocks []block
	body   exposition.Body // by family: the account's piece, then the blocks'
}

// valid reports whether e serves s as seen at now.
func (e *encoding) valid(s *accountSnapshot, now time.Time) bool {
	return e != nil && e.snap == s && voicetrends.DateIn(now, s.location) == e.today &&
		(e.withdrawnAfter.IsZero() || now.After(e.withdrawnAfter)) &&
		(e.withdrawsAt.IsZero() || !now.After(e.withdrawsAt))
}

// staleAt is when e stops serving: the next local midnight or withdrawal.
func (e *encoding) staleAt() time.Time {
	t := voicetrends.PeriodDay.Next(e.today).Midnight(e.snap.location)
	if !e.withdrawsAt.IsZero() && e.withdrawsAt.Before(t) {
		t = e.withdrawsAt.Add(time.Nanosecond)
	}
	return t
}

// variants is a set of the encodings scrapes ask for: a format, plain or
// gzip. A piece is always compressed; it keeps its plain lines too only
// once a plain scrape of its format came, since Prometheus always asks for
// gzip.
type variants uint32

func variant(ft exposition.Format, gz bool) variants {
	if gz {
		return 1 << (2*ft + 1)
	}
	return 1 << (2 * ft)
}

// has reports whether v holds a variant of format ft, and the plain one.
func (v variants) has(ft exposition.Format) (any, plain bool) {
	return v&(variant(ft, false)|variant(ft, true)) != 0, v&variant(ft, false) != 0
}

// body returns a's pieces in format ft, for a gzip scrape or not, as seen
// at now, encoding what changed since the last encoding if the poller has
// not yet.
func (e *Exporter) body(a *account, ft exposition.Format, gz bool, now time.Time) exposition.Body {
	s := a.snapshot.Load()
	if s == nil {
		return nil
	}
	if enc := a.encoding.Load(); enc.valid(s, now) && enc.serves(ft, gz) {
		return enc.formats[ft].body
	}
	return e.encode(a, variants(e.wanted.Load())|variant(ft, gz), now).formats[ft].body
}

// settle brings a's encoding up to date for every format asked for so far,
// and returns when it goes stale (zero when nothing is encoded). The poller
// calls it before it sleeps, so that scrapes find the work done.
func (e *Exporter) settle(a *account) time.Time {
	want := variants(e.wanted.Load())
	if want == 0 || a.snapshot.Load() == nil {
		return time.Time{}
	}
	return e.encode(a, want, e.clock.Now()).staleAt()
}

// encode makes a's encoding valid now in the variants want, reusing the
// blocks whose views did not change. One encoding runs at a time per account.
func (e *Exporter) encode(a *account, want variants, now time.Time) *encoding {
	a.encodeMu.Lock()
	defer a.encodeMu.Unlock()
	s := a.snapshot.Load()
	prev := a.encoding.Load()
	if prev.valid(s, now) {
		missing := false
		for ft := range exposition.NumFormats {
			wanted, plain := want.has(ft)
			missing = missing || (wanted && !prev.serves(ft, !plain))
		}
		if !missing {
			return prev
		}
	}
	enc := &encoding{snap: s, today: voicetrends.DateIn(now, s.location), views: viewsOf(s, prev)}
	keys := make([]viewKey, len(enc.views))
	for i, v := range enc.views {
		t := &s.targets[v.target]
		keys[i] = viewKey{t.rev, v.period, s.withdrawn(t, now)}
	}
	for i := range s.targets {
		t := &s.targets[i]
		if t.lastSuccess.IsZero() {
			continue
		}
		switch at := t.lastSuccess.Add(s.maxAgeOf(t)); {
		case now.After(at):
			if at.After(enc.withdrawnAfter) {
				enc.withdrawnAfter = at
			}
		case enc.withdrawsAt.IsZero() || at.Before(enc.withdrawsAt):
			enc.withdrawsAt = at
		}
	}
	reuse := prev != nil && prev.today == enc.today && prev.snap.location == s.location
	for ft := range exposition.NumFormats {
		wanted, plain := want.has(ft)
		if !wanted {
			continue
		}
		var old []block
		if reuse && prev.serves(ft, !plain) {
			old = prev.formats[ft].blocks
		}
		enc.formats[ft] = enc.encodeFormat(ft, plain, keys, old)
	}
	a.encoding.Store(enc)
	return enc
}

// viewsOf returns s's views in exposition order (period, then phone), or
// prev's when they name the same targets in the same places.
func viewsOf(s *accountSnapshot, prev *encoding) []view {
	if prev != nil && sameTargets(prev.snap, s) {
		return prev.views
	}
	var out []view
	for ti := range s.targets {
		for vi := range s.targets[ti].periods {
			out = append(out, view{ti, vi})
		}
	}
	slices.SortFunc(out, func(a, b view) int {
		ta, tb := &s.targets[a.target], &s.targets[b.target]
		return cmp.Or(cmp.Compare(ta.periods[a.period], tb.periods[b.period]), cmp.Compare(ta.phone, tb.phone))
	})
	return out
}

// sameTargets reports whether two snapshots hold the same targets, with the
// same periods, in the same order.
func sameTargets(a, b *accountSnapshot) bool {
	if len(a.targets) != len(b.targets) {
		return false
	}
	for i := range a.targets {
		if a.targets[i].targetKey != b.targets[i].targetKey || !slices.Equal(a.targets[i].periods, b.targets[i].periods) {
			return false
		}
	}
	return true
}

// encodeFormat encodes enc's snapshot in format ft, its pieces with their
// plain lines when plain, reusing the blocks of old whose keys are unchanged.
func (enc *encoding) encodeFormat(ft exposition.Format, plain bool, keys []viewKey, old []block) *formatEncoding {
	s := enc.snap
	out := &formatEncoding{plain: plain, body: make(exposition.Body, len(snapshotDescs))}
	fams := familiesPool.Get().(*families)
	defer familiesPool.Put(fams)
	fams.reset()
	s.accountSamples(enc.today, fams.add)
	ownBlock := fams.encode(ft, plain, nil)
	for fam, ok := range ownBlock.has {
		if ok {
			out.body[fam] = append(out.body[fam], ownBlock.pieces[fam])
		}
	}
	for start := 0; start < len(enc.views); start += blockViews {
		end := min(start+blockViews, len(enc.views))
		bi := start / blockViews
		var b block
		if bi < len(old) && slices.Equal(old[bi].keys, keys[start:end]) {
			b = old[bi]
		} else {
			fams.reset()
			for i, v := range enc.views[start:end] {
				s.viewSamples(&s.targets[v.target], v.period, enc.today, keys[start+i].withdrawn, fams.add)
			}
			b = fams.encode(ft, plain, slices.Clone(keys[start:end]))
		}
		out.blocks = append(out.blocks, b)
		for fam, ok := range b.has {
			if ok {
				out.body[fam] = append(out.body[fam], b.pieces[fam])
			}
		}
	}
	return out
}

// families gathers samples by family as the dto metrics expfmt encodes,
// and encodes them. It reuses its metrics and buffers from block to block:
// a whole encoding makes no garbage per sample.
type families struct {
	en      exposition.Encoder
	byFam   [][]*dto.Metric
	metrics []dto.Metric
	gauges  []dto.Gauge
	values  []float64
	pairs   []dto.LabelPair
	strs    []string
	used    int // of metrics
}

// maxLabels is the most labels a snapshot family has.
const maxLabels = 4

// sortedLabels are each snapshot family's label names in exposition
// (sorted) order, and labelOrder where each is in the family's own order.
var sortedLabels, labelOrder = func() (names [][]string, order [][]int) {
	for _, f := range snapshotFamilies {
		idx := make([]int, len(f.Labels))
		for i := range idx {
			idx[i] = i
		}
		slices.SortFunc(idx, func(a, b int) int { return cmp.Compare(f.Labels[a], f.Labels[b]) })
		sorted := make([]string, len(idx))
		for i, li := range idx {
			sorted[i] = f.Labels[li]
		}
		names, order = append(names, sorted), append(order, idx)
	}
	return names, order
}()

// perView is the most samples one view emits: its health and interval, and a period
// start and every figure per window.
var perView = 3 + 2*(1+len(figureMetrics))

// familiesPool lends families to the encodings.
var familiesPool = sync.Pool{New: func() any {
	f := &families{byFam: make([][]*dto.Metric, len(snapshotDescs))}
	f.grow(blockViews * perView)
	return f
}}

// grow makes room for n more metrics. The metrics gathered so far keep
// their old arrays.
func (f *families) grow(n int) {
	f.metrics, f.gauges, f.values = make([]dto.Metric, n), make([]dto.Gauge, n), make([]float64, n)
	f.pairs, f.strs = make([]dto.LabelPair, n*maxLabels), make([]string, n*maxLabels)
	f.used = 0
}

func (f *families) reset() {
	for i := range f.byFam {
		f.byFam[i] = f.byFam[i][:0]
	}
	f.used = 0
}

// add is an emit.
func (f *families) add(fam int, value float64, labels ...string) {
	if f.used == len(f.metrics) {
		f.grow(len(f.metrics))
	}
	i := f.used
	f.used++
	f.values[i] = value
	f.gauges[i].Value = &f.values[i]
	m := &f.metrics[i]
	m.Gauge = &f.gauges[i]
	m.Label = m.Label[:0]
	for j, li := range labelOrder[fam] {
		k := i*maxLabels + j
		f.strs[k] = labels[li]
		f.pairs[k].Name, f.pairs[k].Value = &sortedLabels[fam][j], &f.strs[k]
		m.Label = append(m.Label, &f.pairs[k])
	}
	f.byFam[fam] = append(f.byFam[fam], m)
}

// encode encodes the samples gathered into a block.
func (f *families) encode(ft exposition.Format, plain bool, keys []viewKey) block {
	b := block{keys: keys, pieces: make([]exposition.Piece, len(f.byFam)), has: make([]bool, len(f.byFam))}
	for fam, ms := range f.byFam {
		if len(ms) == 0 {
			continue
		}
		mf := &dto.MetricFamily{Name: &snapshotFamilies[fam].Name, Help: &snapshotFamilies[fam].Help, Type: dto.MetricType_GAUGE.Enum(), Metric: ms}
		p, err := f.en.Encode(ft, mf, plain)
		if err != nil {
			continue // cannot happen: the names are the metric table's and the labels strings
		}
		b.pieces[fam], b.has[fam] = p, true
	}
	return b
}

// Families lists the families Bodies serves, by index.
func Families() []exposition.Family {
	out := make([]exposition.Family, len(snapshotFamilies))
	for i, f := range snapshotFamilies {
		out[i] = exposition.Family{Name: f.Name, Help: f.Help, Type: dto.MetricType_GAUGE}
	}
	return out
}

// Bodies is an exposition.Source: every account's figures and own gauges
// in format ft, by account name, as seen now.
func (e *Exporter) Bodies(ft exposition.Format, gz bool) []exposition.Body {
	e.wanted.Or(uint32(variant(ft, gz)))
	now := e.clock.Now()
	var out []exposition.Body
	for _, a := range e.sorted() {
		if b := e.body(a, ft, gz, now); b != nil {
			out = append(out, b)
		}
	}
	return out
}
