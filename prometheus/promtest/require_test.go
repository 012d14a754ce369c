package promtest

import (
	"fmt"
	"testing"
)

// stopRecorder is a testing.TB that records the first Fatal or Skip, which
// would stop the test, instead of stopping; later ones are ignored.
type stopRecorder struct {
	testing.TB
	fatal, skip string
}

func (r *stopRecorder) Fatal(args ...any) {
	if r.fatal == "" && r.skip == "" {
		r.fatal = fmt.Sprint(args...)
	}
}

func (r *stopRecorder) Skip(args ...any) {
	if r.fatal == "" && r.skip == "" {
		r.skip = fmt.Sprint(args...)
	}
}

// TestRequireFrom: a missing binary fails the test under CI=true and skips
// it elsewhere, naming the Debian package either way; -short skips first.
func TestRequireFrom(t *testing.T) {
	const want = "no-such-binary-here not found on PATH: install the Debian package chromium (apt-get install chromium) to run this test"
	for _, ci := range []string{"true", ""} {
		t.Setenv("CI", ci)
		r := &stopRecorder{TB: t}
		RequireFrom(r, "chromium", "a browser test", "no-such-binary-here")
		switch {
		case testing.Short():
			if r.skip != "a browser test: not run with -short" || r.fatal != "" {
				t.Errorf("CI=%q, -short: skip %q, fatal %q", ci, r.skip, r.fatal)
			}
		case ci == "true":
			if r.fatal != want {
				t.Errorf("CI=true: fatal %q, want %q", r.fatal, want)
			}
		default:
			if r.skip != want || r.fatal != "" {
				t.Errorf("CI unset: skip %q, fatal %q; want the skip %q", r.skip, r.fatal, want)
			}
		}
	}
	r := &stopRecorder{TB: t}
	if RequireFrom(r, "coreutils", "a test", "sh"); !testing.Short() && (r.fatal != "" || r.skip != "") {
		t.Errorf("sh is on PATH, yet: fatal %q, skip %q", r.fatal, r.skip)
	}
}
