// Package clock is the time source of everything that reasons about "now":
// the budget, the pollers, the backfill and the simulator. Production code
// takes a Clock so that tests can run at any instant, without sleeping.
package clock

import (
	"context"
	"sync"
	"time"
)

// Clock tells the time and waits.
type Clock interface {
	Now() time.Time
	// Sleep waits for d or until ctx ends, whichever is first.
	Sleep(ctx context.Context, d time.Duration) error
}

// Real is the wall clock.
type Real struct{}

// Now implements Clock.
func (Real) Now() time.Time { return time.Now() }

// Sleep implements Clock.
func (Real) Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Shifted is the wall clock moved by a fixed offset: it runs at real speed
// from another instant. The demo uses it to show any date, and tests to run
// a whole daemon (HTTP timeouts and all) at a chosen instant.
type Shifted struct{ offset time.Duration }

// StartingAt returns a clock that reads t now and then runs at real speed.
func StartingAt(t time.Time) Shifted { return Shifted{offset: time.Until(t)} }

// Now implements Clock.
func (s Shifted) Now() time.Time { return time.Now().Add(s.offset) }

// Sleep implements Clock.
func (Shifted) Sleep(ctx context.Context, d time.Duration) error { return Real{}.Sleep(ctx, d) }

// Manual is a clock that moves only when told to, or when a sleeper
// sleeps: Sleep advances it by the whole duration at once. It suits tests and
// simulations driven from a single goroutine.
type Manual struct {
	mu  sync.Mutex
	now time.Time
}

// NewManual returns a clock showing t.
func NewManual(t time.Time) *Manual { return &Manual{now: t} }

// Now implements Clock.
func (c *Manual) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *Manual) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// Set moves the clock to t.
func (c *Manual) Set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

// Sleep implements Clock by advancing the clock.
func (c *Manual) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d > 0 {
		c.Advance(d)
	}
	return nil
}
