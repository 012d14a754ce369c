package main

import (
	"regexp"
	"runtime/debug"

	"github.com/prometheus/common/version"
)

// A plain `go build` or `go install` sets no -ldflags, so prometheus/common's
// version would be empty on --version, the landing page and build_info; the
// module's build information knows the version, revision and commit time.
func init() {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return
	}
	v := fromBuildInfo(info, buildVersion{Version: version.Version, Revision: version.Revision, BuildDate: version.BuildDate})
	version.Version, version.Revision, version.BuildDate = v.Version, v.Revision, v.BuildDate
}

// buildVersion is what the version metric and --version show.
type buildVersion struct{ Version, Revision, BuildDate string }

// pseudoRevision is the commit at the end of a Go pseudo-version such as
// v0.0.0-20261126052721-6523c1c6080f, which is all `go install …@<commit>`
// from the module proxy records of the commit.
var pseudoRevision = regexp.MustCompile(`^v[0-9]+\.[0-9]+\.[0-9]+-(?:.*\.)?[0-9]{14}-([0-9a-f]{12})(?:\+.*)?$`)

// fromBuildInfo fills what -ldflags left empty from the build information:
// the module version (a tag, a pseudo-version, or "devel" when Go recorded
// none), the VCS revision (or the pseudo-version's) and the commit time.
// What -ldflags set, as the Dockerfile does, wins.
func fromBuildInfo(info *debug.BuildInfo, set buildVersion) buildVersion {
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	v := set
	if v.Version == "" {
		v.Version = info.Main.Version
		if v.Version == "" || v.Version == "(devel)" {
			v.Version = "devel"
		}
	}
	if v.Revision == "" {
		if rev := settings["vcs.revision"]; rev != "" {
			v.Revision = rev
			if settings["vcs.modified"] == "true" {
				v.Revision += "-modified"
			}
		} else if m := pseudoRevision.FindStringSubmatch(info.Main.Version); m != nil {
			v.Revision = m[1]
		}
	}
	if v.BuildDate == "" {
		v.BuildDate = settings["vcs.time"]
	}
	return v
}
