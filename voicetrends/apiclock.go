package voicetrends

import (
	"net/http"
	"sync"
	"time"
)

// APIClock learns how far the API's clock is from the client's. The API
// counts its rate-limit windows, and dates X-RateLimit-Reset, by its own
// clock: a budget that plans windows by the exporter's clock spends some
// requests in the API's next window when the clocks differ by seconds.
//
// Each answer of the API dates itself with a Date header, truncated to the
// second, written between the request leaving and the answer arriving; so
// the API's clock minus the client's lies in [Date - received, Date + 1s -
// sent]. The bounds of the answers seen so far are intersected; when an
// answer falls outside them, a clock was set since, and it starts them anew.
// Only answers with X-RateLimit-* headers count: an error page from a proxy
// is dated by the proxy's clock.
//
// The zero value knows nothing yet. An APIClock is safe for concurrent use.
type APIClock struct {
	mu     sync.Mutex
	known  bool
	lo, hi time.Duration
	rtt    time.Duration // a decaying maximum of recent round trips
}

// Observe learns from one answer of the API: sent and received are the
// client's clock when the request left and when the answer's headers came.
// An answer without a usable Date header teaches only its round trip.
func (c *APIClock) Observe(sent, received time.Time, h http.Header) {
	rtt := max(received.Sub(sent), 0)
	date, err := http.ParseTime(h.Get("Date"))
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rtt = max(rtt, c.rtt-c.rtt/16)
	if err != nil {
		return
	}
	lo, hi := date.Sub(received), date.Add(time.Second).Sub(sent)
	if c.known && lo <= c.hi && hi >= c.lo {
		c.lo, c.hi = max(c.lo, lo), min(c.hi, hi)
		return
	}
	c.known, c.lo, c.hi = true, lo, hi
}

// Offset returns bounds on the API's clock minus the client's: when the
// client's clock reads t, the API's reads between t+lo and t+hi. ok is false
// until an answer has told; the bounds are then zero.
func (c *APIClock) Offset() (lo, hi time.Duration, ok bool) {
	if c == nil {
		return 0, 0, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lo, c.hi, c.known
}

// RoundTrip returns the longest of the recent round trips: how much later
// than it was sent a request may reach the API.
func (c *APIClock) RoundTrip() time.Duration {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rtt
}
