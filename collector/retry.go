package collector

import (
	"time"

	"golang.org/x/time/rate"

	"github.com/voicetrends/voicetrends_exporter/voicetrends"
)

// A failed refresh is tried again soon rather than a whole interval later:
// 30 s after the failure, then 1, 2, 4 … minutes after each further one,
// until the gap reaches the effective interval and the target is back to
// its ordinary turn. A retry waits behind the targets whose turn came
// before it, and retries spend at most a tenth of requests_per_window per
// window (at least one request), so however many targets fail, the others
// keep nine tenths of the budget.

const (
	retryFirst = 30 * time.Second
	retryShare = 10 // retries spend at most 1/retryShare of requests_per_window
)

// retryAfter returns how long after its latest attempt a target is tried
// again when that many attempts in a row failed.
func retryAfter(failures int, interval time.Duration) time.Duration {
	if failures <= 0 || failures > 20 { // 30 s << 20 is a year: no interval is longer
		return interval
	}
	return min(retryFirst<<(failures-1), interval)
}

// retryable reports whether a failed refresh is worth trying before its
// turn. A 400 says the request itself is wrong (a phone the account does
// not own): it would fail again the same way.
func retryable(err error) bool { return !voicetrends.IsBadRequest(err) }

// retryPacer holds the retries to their share of the budget.
type retryPacer struct{ limiter *rate.Limiter }

func newRetryPacer(perWindow int, window time.Duration) retryPacer {
	share := max(1, perWindow/retryShare)
	return retryPacer{rate.NewLimiter(rate.Limit(float64(share)/window.Seconds()), share)}
}

// take reserves one retry at now. When the share is spent it reserves
// nothing and returns how long until it is not.
func (r retryPacer) take(now time.Time) (*rate.Reservation, time.Duration) {
	res := r.limiter.ReserveN(now, 1)
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		return nil, d
	}
	return res, 0
}
