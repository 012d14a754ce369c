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
	"hash/crc32"
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
// family's HELP and TYPE lines. It keeps them compressed, about a tenth of
// their size, for gzip scrapes to copy, and plain when asked to: a plain
// scrape inflates the pieces without, which costs less than encoding them
// did but more than copying. It is immutable.
type Piece struct {
	plain    []byte // the lines, when asked for; nil: inflate deflated
	deflated []byte // a raw DEFLATE segment of the lines, ended by a sync flush
	crc      uint32 // CRC-32 (IEEE) of the lines
	size     int64  // length of the lines
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

// Encode encodes mf's samples in format f, keeping the plain lines when
// plain: mf must hold at least one metric, its metrics in exposition order.
// The piece does not hold the family's header lines.
func (e *Encoder) Encode(f Format, mf *dto.MetricFamily, plain bool) (Piece, error) {
	e.buf.Reset()
	if err := expfmt.NewEncoder(&e.buf, expfmtFormat[f]).Encode(mf); err != nil {
		return Piece{}, fmt.Errorf("encoding %s: %w", mf.GetName(), err)
	}
	return e.piece(withoutHeader(e.buf.Bytes()), plain)
}

// piece compresses lines into a new Piece.
func (e *Encoder) piece(lines []byte, plain bool) (Piece, error) {
	e.zbuf.Reset()
	zw := segmentWriters.Get().(*flate.Writer)
	defer segmentWriters.Put(zw)
	zw.Reset(&e.zbuf)
	if _, err := zw.Write(lines); err != nil {
		return Piece{}, err
	}
	// Flush, never Close: a final block would end the stream.
	if err := zw.Flush(); err != nil {
		return Piece{}, err
	}
	p := Piece{deflated: bytes.Clone(e.zbuf.Bytes()), crc: crc32.ChecksumIEEE(lines), size: int64(len(lines))}
	if plain {
		p.plain = bytes.Clone(lines)
	}
	return p, nil
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
		p, err := e.piece(b[:len(b)-len(withoutHeader(b))], true)
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
