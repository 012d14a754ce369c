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

	"github.com/voicetrends/voicetrends_exporter/voicetrends"
	"github.com/voicetrends/voicetrends_exporter/voicetrends/clock"
)

// ReserveFraction of the API's limit is left to the account's other clients:
// once the API says no more than that remains, the budget waits for the reset.
const ReserveFraction = 0.05

// Spreading is the reason Delay gives for the routine wait between two
// requests of the even spread, as opposed to a hold worth telling.
const Spreading = "spreading requests evenly"

// Budget spends at most PerWindow data requests in any window of the API's
// clock-aligned windows, spread evenly with a small start-up burst, and
// pauses when the API's headers or a 429 say the account's budget is spent.
// It implements voicetrends.DataLimiter.
type Budget struct {
	clock clock.Clock

	mu           sync.Mutex
	perWindow    int
	window       time.Duration
	limiter      *rate.Limiter
	windowStart  time.Time // start of the aligned window spent is counted in
	spent        int
	blockedUntil time.Time
	blockReason  string
}

// New returns a budget of perWindow requests per window.
func New(perWindow int, window time.Duration, c clock.Clock) *Budget {
	if c == nil {
		c = clock.Real{}
	}
	b := &Budget{clock: c}
	b.Set(perWindow, window)
	return b
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

// windowOf returns the start of the API's rate-limit window holding t.
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
	if now.Before(b.blockedUntil) {
		return b.blockedUntil.Sub(now), b.blockReason
	}
	if ws := b.windowOf(now); !ws.Equal(b.windowStart) {
		b.windowStart, b.spent = ws, 0
	}
	if b.spent >= b.perWindow {
		return b.windowStart.Add(b.window).Sub(now), fmt.Sprintf("%d of %d requests spent in this window", b.spent, b.perWindow)
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
// reserve, or after a 429, nothing is sent until the API's window resets.
func (b *Budget) Observe(rl voicetrends.RateLimit, code int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.clock.Now()
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
	until := rl.Reset
	if !until.After(now) {
		// No usable reset time: the API's windows are aligned to the clock.
		until = b.windowOf(now).Add(b.window)
	}
	if until.After(b.blockedUntil) {
		b.blockedUntil, b.blockReason = until, why
	}
}

// Spent returns the data requests spent in the current window, the budget
// and when the window ends, for people to read (the landing page).
func (b *Budget) Spent() (spent, perWindow int, windowEnd time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.clock.Now()
	ws := b.windowOf(now)
	if ws.Equal(b.windowStart) {
		spent = b.spent
	}
	return spent, b.perWindow, ws.Add(b.window)
}
