package main

import (
	"os"
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

// TestDocumentedCommandsParse: the commands the README and docs/simulator.md
// give run as written on a fresh clone: they run the binary `go build` made
// (./voicetrends_exporter, not one on PATH) with flags it knows.
func TestDocumentedCommandsParse(t *testing.T) {
	t.Parallel()
	for _, file := range []string{"README.md", "docs/simulator.md"} {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, cmd := range shellCommands(string(b)) {
			fields := strings.Fields(cmd)
			switch {
			case fields[0] == exporterName:
				t.Errorf("%s: %q runs %s from PATH; after go build in a clone it is ./%s", file, cmd, exporterName, exporterName)
			case fields[0] == "./"+exporterName:
				n++
				e, _, logs := newEnv(t)
				if _, _, code := parse(fields[1:], e); code >= 0 {
					t.Errorf("%s: %q does not parse (exit %d): %s", file, cmd, code, logs)
				}
			}
		}
		if n == 0 {
			t.Errorf("%s: no ./%s command found", file, exporterName)
		}
	}
}

// shellCommands returns the commands of the ```sh blocks of a Markdown
// text, continuation lines joined and comments dropped.
func shellCommands(md string) []string {
	var cmds []string
	in, cur := false, ""
	for _, line := range strings.Split(md, "\n") {
		switch {
		case strings.HasPrefix(line, "```sh"):
			in = true
			continue
		case strings.HasPrefix(line, "```"):
			in = false
			continue
		case !in:
			continue
		}
		if i := strings.Index(line, " #"); i >= 0 {
			line = line[:i]
		}
		line = strings.TrimSpace(line)
		if rest, cont := strings.CutSuffix(line, "\\"); cont {
			cur += rest + " "
			continue
		}
		if cur += line; strings.TrimSpace(cur) != "" {
			cmds = append(cmds, strings.TrimSpace(cur))
		}
		cur = ""
	}
	return cmds
}
