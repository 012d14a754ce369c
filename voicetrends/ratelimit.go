package voicetrends

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The API's rate limits: what its X-RateLimit-* headers say, and the
// aligned windows it counts requests in.

// RateLimit is what the X-RateLimit-* headers of one response said.
// A header that was absent is unknown, never zero.
type RateLimit struct {
	Limit     int       // X-RateLimit-Limit; -1 when absent
	Remaining int       // X-RateLimit-Remaining; -1 when absent
	Reset     time.Time // X-RateLimit-Reset; zero when absent
}

// Known reports whether any of the three headers was present.
func (r RateLimit) Known() bool { return r.Limit >= 0 || r.Remaining >= 0 || !r.Reset.IsZero() }

var unknownRateLimit = RateLimit{Limit: -1, Remaining: -1}

// ParseRateLimit reads the X-RateLimit-* headers. A missing or malformed
// header is unknown: -1 for the counts, zero for Reset.
func ParseRateLimit(h http.Header) RateLimit {
	rl := unknownRateLimit
	if v, err := strconv.Atoi(strings.TrimSpace(h.Get("X-RateLimit-Limit"))); err == nil && v >= 0 {
		rl.Limit = v
	}
	if v, err := strconv.Atoi(strings.TrimSpace(h.Get("X-RateLimit-Remaining"))); err == nil && v >= 0 {
		rl.Remaining = v
	}
	if v, err := strconv.ParseInt(strings.TrimSpace(h.Get("X-RateLimit-Reset")), 10, 64); err == nil && v > 0 && v <= maxTimestamp {
		rl.Reset = time.Unix(v, 0).UTC()
	}
	return rl
}

// AlignedWindow returns the fixed window of length d that holds t, aligned
// to multiples of d since the Unix epoch, as the API's rate limits are (the
// documented X-RateLimit-Reset values fall on quarter hours). The window is
// [start, end). A d of zero or less is treated as one second.
func AlignedWindow(t time.Time, d time.Duration) (start, end time.Time) {
	if d <= 0 {
		d = time.Second
	}
	n := t.UnixNano()
	w := int64(d)
	off := n % w
	if off < 0 { // before 1970: floor, not truncate toward zero
		off += w
	}
	start = time.Unix(0, n-off).UTC()
	return start, start.Add(d)
}
