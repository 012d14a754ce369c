// Package clocktest pins the instant that tests take for "now", so that the
// suites that reason about dates can be run at awkward instants (just after a
// midnight, on a DST change day, on the first of a month) on demand: set
// VOICETRENDS_TEST_NOW to an RFC 3339 time. Unset, tests run at the wall
// clock's time, as a user's machine would.
package clocktest

import (
	"os"
	"testing"
	"time"

	"github.com/voicetrends/voicetrends_exporter/internal/clock"
)

// EnvVar names the variable that pins the tests' "now".
const EnvVar = "VOICETRENDS_TEST_NOW"

// Now returns the pinned instant, or the wall clock's time when none is set.
func Now(t testing.TB) time.Time {
	t.Helper()
	s := os.Getenv(EnvVar)
	if s == "" {
		return time.Now()
	}
	now, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatalf("%s=%q: use an RFC 3339 time such as 2026-11-01T05:01:00Z: %v", EnvVar, s, err)
	}
	return now
}

// Clock returns a clock that reads Now(t) at once and then runs at real
// speed, for tests that run a whole daemon with its real timeouts.
func Clock(t testing.TB) clock.Shifted { return clock.StartingAt(Now(t)) }
