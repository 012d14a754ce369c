package main

import (
	"runtime/debug"
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
