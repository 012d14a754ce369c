// Package exposition serves /metrics from sample lines encoded ahead of the
// scrape. A producer encodes runs of one family's samples into Pieces when
// its data changes; a scrape copies the pieces, family by family, between
// the families gathered live from a registry. Each piece holds its lines in
// the text or OpenMetrics format exactly as expfmt writes them, and the same
// lines as a raw DEFLATE segment ended by a sync flush, so that a gzip scrape
// copies compressed bytes too and only compresses the small live part.
package exposition

import (
	"bytes"
	"compress/flate"
	"fmt"
	"sync"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// Format is one of the text formats a piece is encoded in.
type Format int

// The formats, as negotiated with the scraper.
const (
	Text        Format = iota // text/plain; version=0.0.4
	OpenMetrics               // application/openmetrics-text; version=1.0.0
	NumFormats
)

// expfmtFormat is the expfmt format each Format encodes with.
var expfmtFormat = [NumFormats]expfmt.Format{
	Text:        expfmt.NewFormat(expfmt.TypeTextPlain),
	OpenMetrics: expfmt.NewFormat(expfmt.TypeOpenMetrics),
}

// segmentLevel compresses pieces once per change, so that it can afford
// the level promhttp compresses every scrape with.
const segmentLevel = flate.DefaultCompression

// Piece is a run of sample lines of one family in one format, without the
// family's HELP and TYPE lines, plain and compressed. It is immutable.
type Piece struct {
	plain    []byte
	deflated []byte // a raw DEFLATE segment of plain, ended by a sync flush
}

// Encoder encodes pieces; it keeps buffers between calls and is not safe
// for concurrent use.
type Encoder struct {
	buf  bytes.Buffer
	zbuf bytes.Buffer
}

// A compressor holds about a megabyte: the encodings and the scrapes borrow
// theirs rather than make one each.
var (
	segmentWriters = sync.Pool{New: func() any { w, _ := flate.NewWriter(nil, segmentLevel); return w }}
	scrapeWriters  = sync.Pool{New: func() any { w, _ := flate.NewWriter(nil, flate.BestSpeed); return w }}
)

// Encode encodes mf's samples in format f: mf must hold at least one metric,
// its metrics in exposition order. The piece does not hold the family's
// header lines; Header does.
func (e *Encoder) Encode(f Format, mf *dto.MetricFamily) (Piece, error) {
	e.buf.Reset()
	if err := expfmt.NewEncoder(&e.buf, expfmtFormat[f]).Encode(mf); err != nil {
		return Piece{}, fmt.Errorf("encoding %s: %w", mf.GetName(), err)
	}
	return e.piece(withoutHeader(e.buf.Bytes()))
}

// piece compresses plain into a new Piece.
func (e *Encoder) piece(plain []byte) (Piece, error) {
	e.zbuf.Reset()
	zw := segmentWriters.Get().(*flate.Writer)
	defer segmentWriters.Put(zw)
	zw.Reset(&e.zbuf)
	if _, err := zw.Write(plain); err != nil {
		return Piece{}, err
	}
	// Flush, never Close: a final block would end the stream.
	if err := zw.Flush(); err != nil {
		return Piece{}, err
	}
	return Piece{
		plain:    bytes.Clone(plain),
		deflated: bytes.Clone(e.zbuf.Bytes()),
	}, nil
}

// withoutHeader drops the comment lines expfmt writes before a family's
// samples; no sample line starts with '#'.
func withoutHeader(b []byte) []byte {
	for len(b) > 0 && b[0] == '#' {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			return nil
		}
		b = b[i+1:]
	}
	return b
}

// Family is a family whose samples come in pieces: its name, HELP and type.
type Family struct {
	Name string
	Help string
	Type dto.MetricType
}

// headers are a family's HELP and TYPE lines per format, as pieces.
type headers [NumFormats]Piece

// header encodes f's header lines in each format, as expfmt writes them
// before the family's samples.
func header(f Family) (headers, error) {
	var h headers
	var e Encoder
	mf := &dto.MetricFamily{Name: &f.Name, Help: &f.Help, Type: f.Type.Enum(), Metric: []*dto.Metric{dummy(f.Type)}}
	for ft := range NumFormats {
		e.buf.Reset()
		if err := expfmt.NewEncoder(&e.buf, expfmtFormat[ft]).Encode(mf); err != nil {
			return h, fmt.Errorf("encoding the header of %s: %w", f.Name, err)
		}
		b := e.buf.Bytes()
		p, err := e.piece(b[:len(b)-len(withoutHeader(b))])
		if err != nil {
			return h, err
		}
		h[ft] = p
	}
	return h, nil
}

// dummy is a sample of type t, for encoding a header.
func dummy(t dto.MetricType) *dto.Metric {
	v := 0.0
	switch t {
	case dto.MetricType_GAUGE:
		return &dto.Metric{Gauge: &dto.Gauge{Value: &v}}
	case dto.MetricType_COUNTER:
		return &dto.Metric{Counter: &dto.Counter{Value: &v}}
	}
	return &dto.Metric{Untyped: &dto.Untyped{Value: &v}}
}
