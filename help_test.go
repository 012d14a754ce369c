package main

import (
	"regexp"
	"strings"
	"testing"
)

// TestTopLevelHelpAndVersion: `voicetrends_exporter --help` runs serve by
// default, so its help must show serve's flags; --version must show a
// version. Both answer on stdout (`--help | less`), with nothing on stderr.
func TestTopLevelHelpAndVersion(t *testing.T) {
	t.Parallel()
	t.Run("help", func(t *testing.T) {
		e, out, logs := newEnv(t)
		if code := run([]string{"--help"}, e); code != 0 {
			t.Fatalf("--help exited %d", code)
		}
		if logs.String() != "" {
			t.Errorf("--help wrote to stderr: %q", logs.String())
		}
		help := out.String()
		for _, flag := range []string{"--[no-]demo", "--[no-]config.check", "--web.listen-address=:10141", "--web.config.file", "--[no-]web.systemd-socket", "--web.telemetry-path", "--config.file", "backfill", "simulator"} {
			if !strings.Contains(help, flag) {
				t.Errorf("top-level --help does not show %s:\n%s", flag, help)
			}
		}
		// backfill's flags belong to `backfill --help` only.
		if strings.Contains(help, "--from") && !strings.Contains(help, "backfill --from") {
			t.Errorf("top-level --help shows backfill's flags:\n%s", help)
		}
	})
	t.Run("version", func(t *testing.T) {
		e, out, logs := newEnv(t)
		if code := run([]string{"--version"}, e); code != 0 {
			t.Fatalf("--version exited %d", code)
		}
		if logs.String() != "" {
			t.Errorf("--version wrote to stderr: %q", logs.String())
		}
		if !regexp.MustCompile(`^voicetrends_exporter, version \S+`).MatchString(out.String()) {
			t.Errorf("--version shows no version:\n%s", out.String())
		}
	})
}
