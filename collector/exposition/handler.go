package exposition

import (
	"bufio"
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// Body is one producer's pieces in one format: Body[i] are the pieces of
// the handler's family i, in exposition order. A nil or short Body serves
// nothing for the families it lacks.
type Body [][]Piece

// Source returns the bodies a scrape in format f serves, gzip or plain, in
// exposition order: every sample of a family in bodies[0] sorts before those
// in bodies[1]. A body must not change once returned. A plain scrape is
// cheaper from pieces that kept their plain lines.
type Source func(f Format, gz bool) []Body

// Options configure a Handler.
type Options struct {
	// Families are the families the bodies hold, by index; their names must
	// be distinct and none may be gathered by Live.
	Families []Family
	Source   Source
	// Live is gathered at every scrape, for the small families that change
	// between two refreshes: instrumentation, go_*, process_*.
	Live prometheus.Gatherer
	// Fallback serves the formats the pieces are not encoded in (protobuf);
	// it must serve the same families.
	Fallback http.Handler
	// MaxRequestsInFlight answers 503 to the scrapes beyond it; 0 is no limit.
	MaxRequestsInFlight int
	// Registry, when set, receives promhttp_metric_handler_errors_total,
	// as promhttp.HandlerOpts.Registry does; it counts the errors of the
	// scrapes served from pieces, not the Fallback's.
	Registry prometheus.Registerer
	ErrorLog promhttp.Logger
}

// handler serves Options' scrapes.
type handler struct {
	opts     Options
	order    []int     // indices of opts.Families by name
	headers  []headers // by family index
	inFlight chan struct{}
	errors   *prometheus.CounterVec
}

// NewHandler returns the handler of a telemetry path: it negotiates the
// format and the compression as promhttp does, and writes the live families
// and the pieces merged by family name, each family once.
func NewHandler(opts Options) (http.Handler, error) {
	if opts.Source == nil || opts.Live == nil || opts.Fallback == nil {
		return nil, errors.New("exposition: Options need a Source, a Live gatherer and a Fallback")
	}
	h := &handler{opts: opts, headers: make([]headers, len(opts.Families))}
	for i, f := range opts.Families {
		hd, err := header(f)
		if err != nil {
			return nil, err
		}
		h.headers[i] = hd
		h.order = append(h.order, i)
	}
	slices.SortFunc(h.order, func(a, b int) int { return strings.Compare(opts.Families[a].Name, opts.Families[b].Name) })
	if opts.MaxRequestsInFlight > 0 {
		h.inFlight = make(chan struct{}, opts.MaxRequestsInFlight)
	}
	h.errors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "promhttp_metric_handler_errors_total",
		Help: "Total number of internal errors encountered by the promhttp metric handler.",
	}, []string{"cause"})
	h.errors.WithLabelValues("gathering")
	h.errors.WithLabelValues("encoding")
	if opts.Registry != nil {
		if err := opts.Registry.Register(h.errors); err != nil {
			return nil, fmt.Errorf("registering the handler's error counter: %w", err)
		}
	}
	return h, nil
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.inFlight != nil {
		select {
		case h.inFlight <- struct{}{}:
			defer func() { <-h.inFlight }()
		default:
			http.Error(w, fmt.Sprintf("Limit of concurrent requests reached (%d), try again later.", h.opts.MaxRequestsInFlight), http.StatusServiceUnavailable)
			return
		}
	}
	format := expfmt.NegotiateAccept(r.Header, expfmt.DefaultOpenMetricsAcceptedFormats()...)
	var ft Format
	switch format.FormatType() {
	case expfmt.TypeTextPlain:
		ft = Text
	case expfmt.TypeOpenMetrics:
		ft = OpenMetrics
	default:
		h.opts.Fallback.ServeHTTP(w, r)
		return
	}
	mfs, err := h.opts.Live.Gather()
	if err != nil {
		// As promhttp.ContinueOnError: serve what was gathered.
		h.logf("error gathering metrics: %v", err)
		h.errors.WithLabelValues("gathering").Inc()
	}
	w.Header().Add("Vary", "Accept")
	w.Header().Add("Vary", "Accept-Encoding")
	w.Header().Set("Content-Type", string(format))
	gz := acceptsGzip(r.Header.Get("Accept-Encoding"))
	if gz {
		w.Header().Set("Content-Encoding", "gzip")
	}
	filter := nameFilter(r)
	o := newOutput(w, gz)
	enc := expfmt.NewEncoder(&o.pending, format)
	encode := func(mf *dto.MetricFamily) {
		if filter != nil && !filter[mf.GetName()] {
			return
		}
		if err := enc.Encode(mf); err != nil {
			h.logf("error encoding and sending metric family: %v", err)
			h.errors.WithLabelValues("encoding").Inc()
		}
	}
	bodies := h.opts.Source(ft, gz)
	live := 0
	for _, fi := range h.order {
		name := h.opts.Families[fi].Name
		if (filter != nil && !filter[name]) || !serves(bodies, fi) {
			continue
		}
		for ; live < len(mfs) && mfs[live].GetName() < name; live++ {
			encode(mfs[live])
		}
		o.piece(&h.headers[fi][ft])
		for _, b := range bodies {
			if fi < len(b) {
				for i := range b[fi] {
					o.piece(&b[fi][i])
				}
			}
		}
	}
	for ; live < len(mfs); live++ {
		encode(mfs[live])
	}
	if c, ok := enc.(expfmt.Closer); ok {
		_ = c.Close() // the "# EOF" of OpenMetrics
	}
	if err := o.close(); err != nil {
		h.logf("error writing the scrape: %v", err)
	}
}

// nameFilter is the set of family names the request's name[] parameters
// ask for, as promhttp reads them; nil is every family.
func nameFilter(r *http.Request) map[string]bool {
	var filter map[string]bool
	if r.URL != nil {
		for _, name := range r.URL.Query()["name[]"] {
			if filter == nil {
				filter = map[string]bool{}
			}
			filter[name] = true
		}
	}
	return filter
}

// serves reports whether a body holds a sample of family fi.
func serves(bodies []Body, fi int) bool {
	for _, b := range bodies {
		if fi < len(b) && len(b[fi]) > 0 {
			return true
		}
	}
	return false
}

func (h *handler) logf(format string, args ...any) {
	if h.opts.ErrorLog != nil {
		h.opts.ErrorLog.Println(fmt.Sprintf(format, args...))
	}
}

// acceptsGzip negotiates the encoding as promhttp does between identity
// and gzip: the offer with the highest quality wins, identity on a tie.
func acceptsGzip(header string) bool {
	bestQ, best := -1.0, "identity"
	for _, offer := range []string{"identity", "gzip"} {
		for _, spec := range strings.Split(header, ",") {
			value, params, _ := strings.Cut(strings.TrimSpace(spec), ";")
			q := 1.0
			if k, v, ok := strings.Cut(strings.TrimSpace(params), "="); ok && strings.TrimSpace(k) == "q" {
				if parsed, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
					q = parsed
				}
			}
			value = strings.ToLower(strings.TrimSpace(value))
			if q > bestQ && (value == "*" || value == offer) {
				bestQ, best = q, offer
			}
		}
	}
	return best == "gzip" && bestQ > 0
}

// output writes a scrape: pieces, and the bytes encoded for this scrape
// (pending) between them. Plain, it inflates the pieces. Compressed, it
// writes one gzip member: the header, every piece's DEFLATE segment and the
// pending bytes compressed afresh, a final block, then the CRC-32 and
// length of the plain bytes.
type output struct {
	w       *bufio.Writer
	gz      bool
	pending bytes.Buffer
	zw      *flate.Writer
	zr      io.ReadCloser // inflates pieces when plain
	crc     uint32
	size    int64
	err     error
}

// gzipHeader is a gzip member's header: no name, no time, unknown OS.
var gzipHeader = []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff}

// finalBlock is an empty final DEFLATE block (fixed Huffman codes, end of
// block): after a piece's segment it ends a stream that inflates alone.
var finalBlock = []byte{0x03, 0x00}

// inflaters lends the readers that inflate pieces.
var inflaters = sync.Pool{New: func() any { return flate.NewReader(bytes.NewReader(finalBlock)) }}

func newOutput(w io.Writer, gz bool) *output {
	o := &output{w: bufio.NewWriterSize(w, 64<<10), gz: gz}
	if gz {
		o.write(gzipHeader)
	}
	return o
}

func (o *output) write(b []byte) {
	if o.err == nil {
		_, o.err = o.w.Write(b)
	}
}

// flushPending writes the pending bytes; final ends the DEFLATE stream.
func (o *output) flushPending(final bool) {
	if !o.gz {
		o.write(o.pending.Bytes())
		o.pending.Reset()
		return
	}
	if o.pending.Len() == 0 && !final {
		return
	}
	o.crc = crc32.Update(o.crc, crc32.IEEETable, o.pending.Bytes())
	o.size += int64(o.pending.Len())
	if o.zw == nil {
		o.zw = scrapeWriters.Get().(*flate.Writer)
	}
	o.zw.Reset(o.w) // a fresh dictionary: the pieces between are not in it
	if o.err == nil {
		_, o.err = o.zw.Write(o.pending.Bytes())
	}
	var err error
	if final {
		err = o.zw.Close()
	} else {
		err = o.zw.Flush()
	}
	if o.err == nil {
		o.err = err
	}
	o.pending.Reset()
}

func (o *output) piece(p *Piece) {
	o.flushPending(false)
	if o.gz {
		o.crc = crc32Combine(o.crc, p.crc, p.size)
		o.size += p.size
		o.write(p.deflated)
		return
	}
	if p.plain != nil || o.err != nil {
		o.write(p.plain)
		return
	}
	if o.zr == nil {
		o.zr = inflaters.Get().(io.ReadCloser)
	}
	src := io.MultiReader(bytes.NewReader(p.deflated), bytes.NewReader(finalBlock))
	if o.err = o.zr.(flate.Resetter).Reset(src, nil); o.err != nil {
		return
	}
	var n int64
	n, o.err = io.Copy(o.w, o.zr)
	if o.err == nil && n != p.size {
		o.err = fmt.Errorf("a piece inflated to %d bytes, want %d", n, p.size)
	}
}

// close ends the body and flushes it.
func (o *output) close() error {
	o.flushPending(true)
	if o.gz {
		var trailer [8]byte
		binary.LittleEndian.PutUint32(trailer[:4], o.crc)
		binary.LittleEndian.PutUint32(trailer[4:], uint32(o.size)) // modulo 2^32, as gzip wants it
		o.write(trailer[:])
	}
	if o.zw != nil {
		scrapeWriters.Put(o.zw)
		o.zw = nil
	}
	if o.zr != nil {
		inflaters.Put(o.zr)
		o.zr = nil
	}
	if o.err == nil {
		o.err = o.w.Flush()
	}
	return o.err
}
