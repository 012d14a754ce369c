package main

import (
	"os"
	"runtime/debug"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/common/version"
)

func TestFromBuildInfo(t *testing.T) {
	t.Parallel()
	settings := func(kv ...string) []debug.BuildSetting {
		var s []debug.BuildSetting
		for i := 0; i < len(kv); i += 2 {
			s = append(s, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return s
	}
	const rev = "6523c1c6080f26f113e9d03ad8e5ef8804f9803f"
	tests := []struct {
		name     string
		main     string
		settings []debug.BuildSetting
		set      buildVersion
		want     buildVersion
	}{{
		name:     "go build in a clone: pseudo-version and VCS stamp",
		main:     "v0.0.0-20261126052721-6523c1c6080f",
		settings: settings("vcs", "git", "vcs.revision", rev, "vcs.time", "2026-11-26T05:27:21Z", "vcs.modified", "false"),
		want:     buildVersion{"v0.0.0-20261126052721-6523c1c6080f", rev, "2026-11-26T05:27:21Z"},
	}, {
		name:     "go build with uncommitted changes",
		main:     "v0.0.0-20261126052721-6523c1c6080f+dirty",
		settings: settings("vcs.revision", rev, "vcs.time", "2026-11-26T05:27:21Z", "vcs.modified", "true"),
		want:     buildVersion{"v0.0.0-20261126052721-6523c1c6080f+dirty", rev + "-modified", "2026-11-26T05:27:21Z"},
	}, {
		name: "go install of a tag from the module proxy: no VCS stamp",
		main: "v1.2.3",
		want: buildVersion{Version: "v1.2.3"},
	}, {
		name: "go install of a commit from the module proxy: the revision is in the pseudo-version",
		main: "v1.2.4-0.20261126052721-6523c1c6080f",
		want: buildVersion{"v1.2.4-0.20261126052721-6523c1c6080f", "6523c1c6080f", ""},
	}, {
		name: "no version recorded (-buildvcs=false, a source tarball)",
		main: "(devel)",
		want: buildVersion{Version: "devel"},
	}, {
		name:     "-ldflags win, as in the Dockerfile",
		main:     "(devel)",
		settings: settings("vcs.revision", rev, "vcs.time", "2026-11-26T05:27:21Z"),
		set:      buildVersion{"1.0.0", "abc", "20261126-05:27:21"},
		want:     buildVersion{"1.0.0", "abc", "20261126-05:27:21"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info := &debug.BuildInfo{Main: debug.Module{Path: "github.com/voicetrends/voicetrends_exporter", Version: tt.main}, Settings: tt.settings}
			if got := fromBuildInfo(info, tt.set); got != tt.want {
				t.Errorf("fromBuildInfo = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestVersionIsNeverEmpty: the test binary has no -ldflags either, so init
// must have filled the version that --version and build_info show.
func TestVersionIsNeverEmpty(t *testing.T) {
	t.Parallel()
	if version.Version == "" {
		t.Fatal("version.Version is empty after init; --version and build_info would show version=")
	}
}

// TestVersionText: --version prints what the build knows and leaves out
// what it does not, rather than an empty "branch: ," or "build user:".
func TestVersionText(t *testing.T) {
	t.Parallel()
	const rev = "6523c1c6080f26f113e9d03ad8e5ef8804f9803f"
	tests := []struct {
		name string
		v    versionFields
		want string
	}{{
		name: "packaged: every field stamped",
		v:    versionFields{"1.2.3", "main", rev, "ci@build", "20261126-05:27:21", "go1.26.1", "linux/amd64", "timetzdata"},
		want: "voicetrends_exporter, version 1.2.3 (branch: main, revision: " + rev + ")\n" +
			"  build user:       ci@build\n" +
			"  build date:       20261126-05:27:21\n" +
			"  go version:       go1.26.1\n" +
			"  platform:         linux/amd64\n" +
			"  tags:             timetzdata",
	}, {
		name: "go build in a clone: no branch, no user, no tags",
		v:    versionFields{Version: "v0.0.0-20261126052721-6523c1c6080f", Revision: rev, BuildDate: "2026-11-26T05:27:21Z", GoVersion: "go1.26.1", Platform: "linux/amd64", Tags: "unknown"},
		want: "voicetrends_exporter, version v0.0.0-20261126052721-6523c1c6080f (revision: " + rev + ")\n" +
			"  build date:       2026-11-26T05:27:21Z\n" +
			"  go version:       go1.26.1\n" +
			"  platform:         linux/amd64",
	}, {
		name: "no VCS information at all",
		v:    versionFields{Version: "devel", Revision: "unknown", GoVersion: "go1.26.1", Platform: "linux/amd64", Tags: "unknown"},
		want: "voicetrends_exporter, version devel\n" +
			"  go version:       go1.26.1\n" +
			"  platform:         linux/amd64",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := versionText("voicetrends_exporter", tt.v); got != tt.want {
				t.Errorf("versionText =\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

// TestPackageRecipesStampTheVersion: every .deb recipe builds the binary
// with the VERSION it packages, so that the packaged binary's --version
// names the package's version rather than "devel".
func TestPackageRecipesStampTheVersion(t *testing.T) {
	t.Parallel()
	for _, file := range []string{"docs/install.md", "packaging/nfpm.yaml", ".ci/package.sh"} {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(string(b), "\n")
		found := false
		for i, line := range lines {
			if !strings.Contains(line, "packaging/build.sh dist/") {
				continue
			}
			// The recipe: the build, then nfpm within a few lines.
			end := min(i+4, len(lines))
			nfpm := slices.IndexFunc(lines[i:end], func(l string) bool { return strings.Contains(l, "go run") && strings.Contains(l, "nfpm") })
			if nfpm < 0 {
				continue
			}
			found = true
			exported := slices.ContainsFunc(lines[max(0, i-3):i], func(l string) bool { return strings.Contains(l, "export VERSION=") })
			if !exported && !strings.Contains(line, "VERSION=") {
				t.Errorf("%s:%d: the .deb recipe builds the binary without the package's VERSION: %s", file, i+1, strings.TrimSpace(line))
			}
		}
		if !found {
			t.Errorf("%s: no .deb recipe (packaging/build.sh, then nfpm) found", file)
		}
	}
}
