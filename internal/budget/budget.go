// Package budget keeps one account's data requests inside the API's rate
// limit, which the exporter shares with every other client of the account.
package budget

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/voicetrends/voicetrends_exporter/internal/clock"
	"github.com/voicetrends/voicetrends_exporter/voicetrends"
)

// ReserveFraction of the API's limit is left to the account's other clients:
// once the API says no more than that remains, the budget waits for the reset.
const ReserveFraction = 0.05

// Spreading is the reason Delay gives for the routine wait between two
// requests of the even spread, as opposed to a hold worth telling.
const Spreading = "spreading requests evenly"

// ClearOfTheEdge is the reason Delay gives for the routine wait at the end
// of the API's window, while a request might reach the API in either window.
const ClearOfTheEdge = "keeping clear of the edge of the API's window"

// Routine reports whether a reason Delay gave is a routine wait, not a hold
// worth telling people about.
func Routine(why string) bool { return why == Spreading || why == ClearOfTheEdge }

// Budget spends at most PerWindow data requests in any window of the API's
// clock-aligned windows, spread evenly with a small start-up burst, and
// pauses when the API's headers or a 429 say the account's budget is spent.
// The windows, and the resets the API announces, are on the API's clock,
// which the client that sends the requests teaches the budget's APIClock:
// a request is counted in the window it reaches the API in, and none is sent
// while it might reach the API in either of two windows.
// It implements voicetrends.DataLimiter.
type Budget struct {
	clock clock.Clock
	api   *voicetrends.APIClock

	mu           sync.Mutex
	perWindow    int
	window       time.Duration
	limiter      *rate.Limiter
	windowStart  time.Time // start of the API's window spent is counted in, on the API's clock
	spent        int
	blockedUntil time.Time // on the API's clock
	blockReason  string
}

// New returns a budget of perWindow requests per window.
func New(perWindow int, window time.Duration, c clock.Clock) *Budget {
	if c == nil {
		c = clock.Real{}
	}
	b := &Budget{clock: c, api: &voicetrends.APIClock{}}
	b.Set(perWindow, window)
	return b
}

// APIClock returns the API's clock as the budget knows it, for the client
// that sends the budget's requests to teach (voicetrends.Config.APIClock).
func (b *Budget) APIClock() *voicetrends.APIClock { return b.api }

// arrival returns the earliest time the API's clock may read when a request
// sent at now reaches it, and how much later it may read then: the
// uncertainty of the offset and a round trip, at most a quarter window.
func (b *Budget) arrival(now time.Time) (first time.Time, spread time.Duration) {
	lo, hi, _ := b.api.Offset()
	return now.Add(lo), min(hi-lo+b.api.RoundTrip(), b.window/4)
}

// Burst is how many requests may go at once after a quiet spell, so that the
// first figures arrive within seconds of start-up.
func Burst(perWindow int) int { return max(1, min(perWindow, 10)) }

// Set changes the budget, keeping what was spent in the current window.
func (b *Budget) Set(perWindow int, window time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if perWindow == b.perWindow && window == b.window {
		return
	}
	b.perWindow, b.window = perWindow, window
	b.limiter = rate.NewLimiter(rate.Limit(float64(perWindow)/window.Seconds()), Burst(perWindow))
}

// windowOf returns the start of the API's rate-limit window holding t, a
// time on the API's clock.
func (b *Budget) windowOf(t time.Time) time.Time {
	start, _ := voicetrends.AlignedWindow(t, b.window)
	return start
}

// Delay returns how long until a data request may be sent, without
// spending anything, and why it must wait.
func (b *Budget) Delay() (time.Duration, string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.delayLocked(b.clock.Now())
}

func (b *Budget) delayLocked(now time.Time) (time.Duration, string) {
	first, spread := b.arrival(now)
	if first.Before(b.blockedUntil) {
		return b.blockedUntil.Sub(first), b.blockReason
	}
	if ws := b.windowOf(first); !ws.Equal(b.windowStart) {
		b.windowStart, b.spent = ws, 0
	}
	end := b.windowStart.Add(b.window)
	if b.spent >= b.perWindow {
		return end.Sub(first), fmt.Sprintf("%d of %d requests spent in this window", b.spent, b.perWindow)
	}
	if !first.Add(spread).Before(end) {
		return end.Sub(first), ClearOfTheEdge
	}
	if tokens := b.limiter.TokensAt(now); tokens < 1 {
		d := time.Duration(math.Ceil((1 - tokens) / float64(b.limiter.Limit()) * float64(time.Second)))
		return max(d, time.Millisecond), Spreading
	}
	return 0, ""
}

// Wait blocks until one data request may be sent and counts it as spent.
func (b *Budget) Wait(ctx context.Context) error {
	for {
		b.mu.Lock()
		now := b.clock.Now()
		d, why := b.delayLocked(now)
		if d <= 0 {
			b.limiter.AllowN(now, 1)
			b.spent++
			b.mu.Unlock()
			return nil
		}
		b.mu.Unlock()
		if err := b.clock.Sleep(ctx, d); err != nil {
			return fmt.Errorf("waiting %s for the data budget (%s): %w", d.Round(time.Second), why, err)
		}
	}
}

// Observe reads the API's verdict on a request Wait allowed: past the
// reserve, or after a 429, nothing is sent until the API's window resets,
// as the API's clock counts it.
func (b *Budget) Observe(rl voicetrends.RateLimit, code int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	apiNow, _ := b.arrival(b.clock.Now()) // the earliest the API's clock may read
	reserve := 0
	if rl.Limit > 0 {
		reserve = int(math.Ceil(float64(rl.Limit) * ReserveFraction))
	}
	var why string
	switch {
	case code == 429:
		why = "the API answered 429"
	case rl.Remaining >= 0 && rl.Remaining <= reserve:
		why = fmt.Sprintf("the API reports %d requests left, the reserve kept for other clients is %d", rl.Remaining, reserve)
	default:
		return
	}
	until := rl.Reset // on the API's clock, as blockedUntil
	if !until.After(apiNow) {
		// No usable reset time: the API's windows are aligned to its clock.
		until = b.windowOf(apiNow).Add(b.window)
	}
	if until.After(b.blockedUntil) {
		b.blockedUntil, b.blockReason = until, why
	}
}

// Spent returns the data requests spent in the API's current window, the
// budget and when the window ends on the exporter's clock, for people to
// read (the landing page).
func (b *Budget) Spent() (spent, perWindow int, windowEnd time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.clock.Now()
	first, _ := b.arrival(now)
	ws := b.windowOf(first)
	if ws.Equal(b.windowStart) {
		spent = b.spent
	}
	return spent, b.perWindow, now.Add(ws.Add(b.window).Sub(first))
}
