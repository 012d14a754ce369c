package voicetrends

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// MaxBodyBytes caps a Call Volume body. Ten years of daily buckets take
// well under 1 MiB, so anything larger is a broken or hostile server, and
// reading it whole would cost unbounded memory.
const MaxBodyBytes = 4 << 20

// maxTimestamp is 9999-12-31T23:59:59Z; later keys cannot be a bucket start
// that a YYYYMMDD date selects.
const maxTimestamp = 253402300799

// ErrBodyTooLarge is returned for a volume body above MaxBodyBytes: ask for a
// shorter date range.
var ErrBodyTooLarge = errors.New("volume body too large")

// DecodeVolume decodes a Call Volume body into buckets sorted by Start,
// merging the six series by timestamp. Starts are in UTC; convert them to
// the account's zone with time.Time.In.
//
// It survives the API's PHP backend: a series may be an object keyed by
// Unix-seconds strings, or [] / {} / null when empty; values may be JSON
// numbers or numeric strings; a null value leaves that figure absent;
// unknown fields are ignored. A key that is not a timestamp, a value that is
// not a finite number, or a body over MaxBodyBytes is an error naming the
// field and key. A whole body of [] (an empty PHP array) means no buckets.
func DecodeVolume(r io.Reader) ([]Bucket, error) {
	body, err := io.ReadAll(io.LimitReader(r, MaxBodyBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading volume body: %w", err)
	}
	if len(body) > MaxBodyBytes {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrBodyTooLarge, MaxBodyBytes)
	}
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil, errors.New("volume body is empty")
	}
	if isEmptyArray(body) {
		return nil, nil
	}
	if body[0] != '{' {
		return nil, fmt.Errorf("volume body is not a JSON object: starts %s", snippet(body, 32))
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		return nil, fmt.Errorf("volume body is not valid JSON: %w", err)
	}
	if raw, ok := fields["error"]; ok {
		var msg string
		if json.Unmarshal(raw, &msg) == nil && msg != "" {
			return nil, fmt.Errorf("volume body reports an error: %s", snippet([]byte(msg), 200))
		}
	}

	byStart := make(map[int64]*Bucket)
	for _, f := range Figures {
		raw, ok := fields[f.Key()]
		if !ok {
			continue
		}
		if err := decodeSeries(f, raw, byStart); err != nil {
			return nil, err
		}
	}

	starts := make([]int64, 0, len(byStart))
	for ts := range byStart {
		starts = append(starts, ts)
	}
	sort.Slice(starts, func(i, j int) bool { return starts[i] < starts[j] })
	buckets := make([]Bucket, len(starts))
	for i, ts := range starts {
		buckets[i] = *byStart[ts]
	}
	return buckets, nil
}

// decodeSeries adds one figure's series to byStart.
func decodeSeries(f Figure, raw json.RawMessage, byStart map[int64]*Bucket) error {
	raw = bytes.TrimSpace(raw)
	switch {
	case bytes.Equal(raw, []byte("null")), isEmptyArray(raw):
		return nil // PHP's empty associative array
	case len(raw) == 0 || raw[0] != '{':
		return fmt.Errorf("field %q: want an object keyed by Unix timestamps, got %s", f.Key(), snippet(raw, 32))
	}
	var series map[string]json.RawMessage
	if err := json.Unmarshal(raw, &series); err != nil {
		return fmt.Errorf("field %q: %w", f.Key(), err)
	}
	for key, val := range series {
		ts, err := strconv.ParseInt(key, 10, 64)
		if err != nil || ts < 0 || ts > maxTimestamp {
			return fmt.Errorf("field %q key %q: not a Unix timestamp in seconds", f.Key(), snippet([]byte(key), 32))
		}
		v, present, err := decodeNumber(val)
		if err != nil {
			return fmt.Errorf("field %q key %q: %w", f.Key(), key, err)
		}
		b := byStart[ts]
		if b == nil {
			b = &Bucket{Start: time.Unix(ts, 0).UTC()}
			byStart[ts] = b
		}
		if present {
			b.Set(f, v)
		}
	}
	return nil
}

// decodeNumber reads a JSON number, a numeric string or null (absent).
func decodeNumber(raw json.RawMessage) (v float64, present bool, err error) {
	raw = bytes.TrimSpace(raw)
	if bytes.Equal(raw, []byte("null")) {
		return 0, false, nil
	}
	text := raw
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return 0, false, fmt.Errorf("value %s is not a number", snippet(raw, 32))
		}
		text = []byte(strings.TrimSpace(s))
	}
	// Parsing as JSON rather than with strconv keeps the grammar strict:
	// no NaN, Inf, hex floats or underscores, whether quoted or not.
	if len(text) == 0 || text[0] == '"' || bytes.Equal(text, []byte("null")) || json.Unmarshal(text, &v) != nil || math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, false, fmt.Errorf("value %s is not a finite number", snippet(raw, 32))
	}
	return v, true, nil
}

// isEmptyArray reports whether b is [] with any whitespace inside.
func isEmptyArray(b []byte) bool {
	return len(b) >= 2 && b[0] == '[' && b[len(b)-1] == ']' && len(bytes.TrimSpace(b[1:len(b)-1])) == 0
}
