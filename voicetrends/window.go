package voicetrends

import "time"

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
